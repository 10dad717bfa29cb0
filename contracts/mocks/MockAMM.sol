// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ISwapVenue} from "../interfaces/ISwapVenue.sol";

/// @title MockAMM
/// @notice The local swap venue: one constant-product pool (x · y = k) of kUSD against each asset, with a fee on
/// the input. Liquidity added is permanent (there are no LP shares): it exists to give local networks and tests a
/// market whose price moves with size. Never deploy to a live network.
contract MockAMM is ISwapVenue {
    using SafeERC20 for IERC20;

    struct Pool {
        uint256 assetReserve; // asset decimals
        uint256 kusdReserve; // [wad]
    }

    uint256 public constant BPS = 10_000;

    IERC20 public immutable kusd;
    /// @notice Fee on the input amount, in basis points.
    uint256 public immutable feeBps;

    mapping(address asset => Pool) public pools;

    event LiquidityAdded(address indexed asset, uint256 assetAmount, uint256 kusdAmount);
    event Swapped(address indexed tokenIn, address indexed tokenOut, uint256 amountIn, uint256 amountOut, address to);

    error UnsupportedPair(address tokenIn, address tokenOut);
    error InsufficientOutput(uint256 amountOut, uint256 minOut);
    error EmptyPool(address asset);
    error ZeroAmount();
    error FeeTooHigh(uint256 feeBps);

    constructor(IERC20 kusd_, uint256 feeBps_) {
        if (feeBps_ >= BPS) revert FeeTooHigh(feeBps_);
        kusd = kusd_;
        feeBps = feeBps_;
    }

    /// @notice Adds `assetAmount` of `asset` and `kusdAmount` kUSD to the asset's pool (both pulled from the caller).
    /// The first deposit sets the price; later ones should match it or they donate to arbitrageurs.
    function addLiquidity(address asset, uint256 assetAmount, uint256 kusdAmount) external {
        if (assetAmount == 0 || kusdAmount == 0) revert ZeroAmount();
        if (asset == address(kusd)) revert UnsupportedPair(asset, asset);
        Pool storage p = pools[asset];
        p.assetReserve += assetAmount;
        p.kusdReserve += kusdAmount;
        emit LiquidityAdded(asset, assetAmount, kusdAmount);
        IERC20(asset).safeTransferFrom(msg.sender, address(this), assetAmount);
        kusd.safeTransferFrom(msg.sender, address(this), kusdAmount);
    }

    /// @inheritdoc ISwapVenue
    function swapExactIn(address tokenIn, address tokenOut, uint256 amountIn, uint256 minOut, address to)
        external
        returns (uint256 amountOut)
    {
        if (amountIn == 0) revert ZeroAmount();
        (Pool storage p, bool sellAsset) = _pool(tokenIn, tokenOut);
        amountOut = _quote(p, sellAsset, amountIn);
        if (amountOut < minOut) revert InsufficientOutput(amountOut, minOut);
        if (sellAsset) {
            p.assetReserve += amountIn;
            p.kusdReserve -= amountOut;
        } else {
            p.kusdReserve += amountIn;
            p.assetReserve -= amountOut;
        }
        emit Swapped(tokenIn, tokenOut, amountIn, amountOut, to);
        IERC20(tokenIn).safeTransferFrom(msg.sender, address(this), amountIn);
        IERC20(tokenOut).safeTransfer(to, amountOut);
    }

    /// @inheritdoc ISwapVenue
    function quoteExactIn(address tokenIn, address tokenOut, uint256 amountIn) external view returns (uint256) {
        (Pool storage p, bool sellAsset) = _pool(tokenIn, tokenOut);
        return _quote(p, sellAsset, amountIn);
    }

    /// @notice Marginal price [wad] of one whole `asset` in kUSD.
    function spotPrice(address asset) external view returns (uint256) {
        Pool storage p = pools[asset];
        if (p.assetReserve == 0) revert EmptyPool(asset);
        return p.kusdReserve * 10 ** IERC20Metadata(asset).decimals() / p.assetReserve;
    }

    function _pool(address tokenIn, address tokenOut) internal view returns (Pool storage p, bool sellAsset) {
        if (tokenOut == address(kusd) && tokenIn != address(kusd)) (p, sellAsset) = (pools[tokenIn], true);
        else if (tokenIn == address(kusd) && tokenOut != address(kusd)) (p, sellAsset) = (pools[tokenOut], false);
        else revert UnsupportedPair(tokenIn, tokenOut);
        if (p.assetReserve == 0) revert EmptyPool(sellAsset ? tokenIn : tokenOut);
    }

    /// @dev out = in·(1 − fee)·R_out / (R_in + in·(1 − fee)), rounded down.
    function _quote(Pool storage p, bool sellAsset, uint256 amountIn) internal view returns (uint256) {
        (uint256 reserveIn, uint256 reserveOut) =
            sellAsset ? (p.assetReserve, p.kusdReserve) : (p.kusdReserve, p.assetReserve);
        uint256 inAfterFee = amountIn * (BPS - feeBps);
        return inAfterFee * reserveOut / (reserveIn * BPS + inAfterFee);
    }
}
