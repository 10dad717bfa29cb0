// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MockERC20} from "./MockERC20.sol";

/// @title MockZeroRevertERC20
/// @notice A token for tests that reverts on any transfer of zero (as some tokens do, e.g. LEND).
contract MockZeroRevertERC20 is MockERC20 {
    /// @notice A transfer of zero tokens was attempted.
    error ZeroTransfer(address from, address to);

    constructor(string memory name, string memory symbol, uint8 decimals_) MockERC20(name, symbol, decimals_) {}

    function _update(address from, address to, uint256 value) internal override {
        if (value == 0) revert ZeroTransfer(from, to);
        super._update(from, to, value);
    }
}
