// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ISwapVenue} from "../interfaces/ISwapVenue.sol";

/// @title MockReentrantVenue
/// @notice A hostile swap venue for tests: `swapExactIn` calls `callTarget` with `callPayload` (for example the
/// FlashLiquidator again, or a flash mint aimed at it) and bubbles up its revert; it never swaps.
contract MockReentrantVenue is ISwapVenue {
    address public callTarget;
    bytes public callPayload;

    /// @notice Arms `swapExactIn` to call `target_` with `payload_`.
    function setCall(address target_, bytes calldata payload_) external {
        callTarget = target_;
        callPayload = payload_;
    }

    /// @inheritdoc ISwapVenue
    function swapExactIn(address, address, uint256, uint256, address) external returns (uint256) {
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory ret) = callTarget.call(callPayload);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        return 0;
    }

    /// @inheritdoc ISwapVenue
    function quoteExactIn(address, address, uint256) external pure returns (uint256) {
        return 0;
    }
}
