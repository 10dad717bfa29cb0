// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ISwapVenue
/// @notice The small interface the FlashLiquidator sells seized collateral through: an AMM, an aggregator adapter,
/// or the local MockAMM.
interface ISwapVenue {
    /// @notice Sells exactly `amountIn` of `tokenIn` (pulled from the caller) for at least `minOut` of `tokenOut`,
    /// sent to `to`.
    /// @return amountOut Amount of `tokenOut` sent.
    function swapExactIn(address tokenIn, address tokenOut, uint256 amountIn, uint256 minOut, address to)
        external
        returns (uint256 amountOut);

    /// @notice What `swapExactIn` would pay now for `amountIn`.
    function quoteExactIn(address tokenIn, address tokenOut, uint256 amountIn) external view returns (uint256);
}
