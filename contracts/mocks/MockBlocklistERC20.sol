// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MockERC20} from "./MockERC20.sol";

/// @title MockBlocklistERC20
/// @notice A MockERC20 whose transfers to or from a blocklisted account revert, like USDC's blacklist. Anyone may
/// edit the list: tests only.
contract MockBlocklistERC20 is MockERC20 {
    mapping(address account => bool) public blocked;

    error Blocklisted(address account);

    constructor(string memory name, string memory symbol, uint8 decimals_) MockERC20(name, symbol, decimals_) {}

    /// @notice Adds or removes `account` from the blocklist.
    function setBlocked(address account, bool isBlocked) external {
        blocked[account] = isBlocked;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert Blocklisted(from);
        if (blocked[to]) revert Blocklisted(to);
        super._update(from, to, value);
    }
}
