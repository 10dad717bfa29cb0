// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MockERC20} from "./MockERC20.sol";

/// @title MockReentrantERC20
/// @notice A token for tests with a transfer hook (like ERC-777's): when armed, every transfer between two accounts
/// calls `hookTarget` with `hookPayload` before moving the tokens and bubbles up the call's revert, so a test can check
/// that the engine refuses re-entry. The hook fires once per transfer and not from within itself.
contract MockReentrantERC20 is MockERC20 {
    address public hookTarget; // zero: disarmed
    bytes public hookPayload;
    bool internal _inHook;

    /// @notice The hook was armed with `hookTarget` and `hookPayload`.
    event HookSet(address indexed target, bytes payload);

    constructor(string memory name, string memory symbol, uint8 decimals_) MockERC20(name, symbol, decimals_) {}

    /// @notice Arms the hook (zero `hookTarget` disarms it). Anyone may: tests only.
    function setHook(address target_, bytes calldata payload_) external {
        hookTarget = target_;
        hookPayload = payload_;
        emit HookSet(target_, payload_);
    }

    function _update(address from, address to, uint256 value) internal override {
        address t = hookTarget;
        if (t != address(0) && from != address(0) && to != address(0) && !_inHook) {
            _inHook = true;
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory result) = t.call(hookPayload);
            _inHook = false;
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(result, 32), mload(result))
                }
            }
        }
        super._update(from, to, value);
    }
}
