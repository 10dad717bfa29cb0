// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MockERC20} from "./MockERC20.sol";

/// @title MockFeeOnTransferERC20
/// @notice A token for tests that burns `feeBps` basis points of every transfer between two accounts (mints and
/// burns are free): the recipient receives less than the amount sent.
contract MockFeeOnTransferERC20 is MockERC20 {
    uint256 public constant BPS = 10_000;
    uint256 public feeBps; // [bps] burnt from every transfer

    /// @notice The fee is above 100%.
    error FeeTooHigh(uint256 feeBps);

    constructor(string memory name, string memory symbol, uint8 decimals_, uint256 feeBps_)
        MockERC20(name, symbol, decimals_)
    {
        setFee(feeBps_);
    }

    /// @notice Sets the fee [bps]. Anyone may: tests only.
    function setFee(uint256 feeBps_) public {
        if (feeBps_ > BPS) revert FeeTooHigh(feeBps_);
        feeBps = feeBps_;
    }

    /// @notice The fee [token decimals] a transfer of `amount` pays, rounded down.
    function feeOf(uint256 amount) public view returns (uint256) {
        return amount * feeBps / BPS;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = feeOf(value);
        super._update(from, to, value - fee);
        if (fee != 0) super._update(from, address(0), fee);
    }
}
