// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ISwapVenue} from "../interfaces/ISwapVenue.sol";

/// @title MockReentrantVenue
/// @notice A hostile swap venue for tests: a sale of `attackAsset` calls `callTarget` with `callPayload` (for example
/// the FlashLiquidator again, or a flash mint aimed at it) and bubbles up its revert; every other sale is passed on
/// to `inner` (the tokens pulled from the seller first).
contract MockReentrantVenue is ISwapVenue {
    using SafeERC20 for IERC20;

    ISwapVenue public immutable inner;
    address public attackAsset;
    address public callTarget;
    bytes public callPayload;

    constructor(ISwapVenue inner_) {
        inner = inner_;
    }

    /// @notice Arms a sale of `asset` to call `target_` with `payload_`.
    function setCall(address asset, address target_, bytes calldata payload_) external {
        attackAsset = asset;
        callTarget = target_;
        callPayload = payload_;
    }

    /// @inheritdoc ISwapVenue
    function swapExactIn(address tokenIn, address tokenOut, uint256 amountIn, uint256 minOut, address to)
        external
        returns (uint256)
    {
        if (tokenIn == attackAsset) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory ret) = callTarget.call(callPayload);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
            return 0;
        }
        IERC20(tokenIn).safeTransferFrom(msg.sender, address(this), amountIn);
        IERC20(tokenIn).forceApprove(address(inner), amountIn);
        return inner.swapExactIn(tokenIn, tokenOut, amountIn, minOut, to);
    }

    /// @inheritdoc ISwapVenue
    function quoteExactIn(address tokenIn, address tokenOut, uint256 amountIn) external view returns (uint256) {
        return inner.quoteExactIn(tokenIn, tokenOut, amountIn);
    }
}
