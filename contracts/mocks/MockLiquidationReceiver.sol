// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILiquidationReceiver} from "../interfaces/ILiquidationReceiver.sol";

/// @title MockLiquidationReceiver
/// @notice A liquidation receiver for tests: acknowledges with a settable value and, when armed, calls `callTarget`
/// with `callPayload` from inside `onKeelLiquidation`, bubbling up its revert (to test re-entry into the engine).
contract MockLiquidationReceiver is ILiquidationReceiver {
    bytes32 public ack = keccak256("ILiquidationReceiver.onKeelLiquidation");
    address public callTarget; // zero: no call from the callback
    bytes public callPayload;
    uint256 public calls; // callbacks received

    /// @notice The callback ran: `seized` of `asset` had arrived and `owed` kUSD would be taken.
    event Called(address liquidator, uint256 id, address asset, uint256 seized, uint256 owed);

    /// @notice Sets the value returned by the callback. Anyone may: tests only.
    function setAck(bytes32 ack_) external {
        ack = ack_;
    }

    /// @notice Arms the callback to call `callTarget` with `callPayload` (zero `callTarget` disarms it).
    function setCall(address target_, bytes calldata payload_) external {
        callTarget = target_;
        callPayload = payload_;
    }

    /// @inheritdoc ILiquidationReceiver
    function onKeelLiquidation(address liquidator, uint256 id, address asset, uint256 seized, uint256 owed, bytes calldata)
        external
        returns (bytes32)
    {
        ++calls;
        emit Called(liquidator, id, asset, seized, owed);
        if (callTarget != address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory result) = callTarget.call(callPayload);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(result, 32), mload(result))
                }
            }
        }
        return ack;
    }
}
