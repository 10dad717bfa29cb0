// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MockERC20} from "./MockERC20.sol";

/// @title MockFalseReturnERC20
/// @notice A token for tests whose `transfer` and `transferFrom` return `false` instead of reverting when the
/// balance or the allowance is too low (as some older tokens do); successful transfers return `true`.
contract MockFalseReturnERC20 is MockERC20 {
    constructor(string memory name, string memory symbol, uint8 decimals_) MockERC20(name, symbol, decimals_) {}

    /// @notice Returns `false`, moving nothing, when the caller's balance is below `amount`.
    function transfer(address to, uint256 amount) public override returns (bool) {
        if (balanceOf(msg.sender) < amount) return false;
        return super.transfer(to, amount);
    }

    /// @notice Returns `false`, moving nothing, when `from`'s balance or the caller's allowance is below `amount`.
    function transferFrom(address from, address to, uint256 amount) public override returns (bool) {
        if (balanceOf(from) < amount || allowance(from, msg.sender) < amount) return false;
        return super.transferFrom(from, to, amount);
    }
}
