// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "./IKeelErrors.sol";
/// @title IVolatilityOracle
/// @notice Dynamic volatility of docs/spec.md §3: per asset, an EWMA of squared returns of the `PriceOracle` price,
/// normalized per second, sampled by permissionless pokes. Margin uses σ = clamp(sqrt(variance × horizon), σmin,
/// σmax), reached gradually: the σ in force moves toward that target by at most `maxStep` per hour.
/// @dev Manipulation limits:
/// - Rate: pokes of one asset are at least `minInterval` apart (`PokeTooSoon`).
/// - Outliers: one return contributes at most the variance whose horizon σ is σmax, and (after the first return,
///   which seeds the average) only with weight (1 − λ) = 1 − 2^(−elapsed/halfLife); the target is clamped to
///   [σmin, σmax] of the `RiskModel`.
/// - Speed: the σ in force is continuous in time. A poke changes the target, never σ itself, and σ moves at most
///   `maxStep` × elapsed / 1 hour between any two instants, up or down. A spike therefore cannot liquidate a book
///   in one block, and a calm stretch cannot drop margin in one block either.
/// - Sampling: the poker picks the instants, not the prices; each sample is the squared return divided by the
///   elapsed time, an unbiased estimate of the per-second variance whatever the spacing.
/// Until an asset's first return is sampled (two pokes), its σ is σmin. Changes of σmin and σmax (timelocked, in
/// the `RiskModel`) apply at once as a clamp.
interface IVolatilityOracle is IKeelErrors {
    /// @notice Governed parameters, shared by every asset.
    struct Params {
        uint32 horizon; // [s] H: the liquidation horizon σ is measured over
        uint32 halfLife; // [s] time for the weight of old samples to halve
        uint32 minInterval; // [s] least time between two pokes of one asset
        uint64 maxStep; // [wad per hour] most σ moves in an hour
    }

    /// @notice Volatility state of one asset. The first slot is all that reading σ needs.
    struct State {
        uint64 sigma; // [wad] σ in force at `anchoredAt`
        uint64 target; // [wad] clamp(sqrt(variance × horizon), σmin, σmax) as of `anchoredAt`
        uint64 maxStep; // [wad per hour] the step limit in force since `anchoredAt`
        uint40 anchoredAt; // [s] when `sigma`, `target` and `maxStep` were last recorded
        bool seeded; // a return has been sampled; until then σ = σmin
        uint128 variance; // [1e36 per second] EWMA of squared returns per second
        uint40 sampledAt; // [s] time of the last poke (0 = never)
        uint256 price; // [wad] price at the last poke
    }

    /// @notice A poke sampled `asset` at `price`: the new variance, the target σ it implies and the σ in force.
    event VolatilityUpdated(
        address indexed asset, uint256 price, uint256 variance, uint256 sigmaTarget, uint256 sigma
    );
    /// @notice `pokeAll` skipped `asset` because its price read failed with `reason`; its state is unchanged.
    event PokeFailed(address indexed asset, bytes reason);
    /// @notice The volatility model's parameters were set.
    event ParamsSet(Params params);

    /// @notice `asset` was poked less than `minInterval` ago; it can be poked again at `nextAt`.
    error PokeTooSoon(address asset, uint256 nextAt);

    /// @notice Samples the price of `asset` and updates its EWMA. Permissionless.
    /// @dev Reverts with `PokeTooSoon` within `minInterval` of the last poke, with `AssetNotListed` for an asset
    /// the `RiskModel` does not list, and with the `PriceOracle`'s error when the price read fails (state unchanged).
    function poke(address asset) external;

    /// @notice Pokes every listed asset that is due. An asset whose price read fails is skipped with `PokeFailed`.
    /// @return updated How many assets were sampled.
    function pokeAll() external returns (uint256 updated);

    /// @notice The horizon volatility [wad] margin uses now for `asset`, with its `RiskModel` bounds.
    function sigma(address asset) external view returns (uint256);

    /// @notice `sigma` with bounds the caller supplies: how the `RiskModel`, which holds σmin and σmax, reads it.
    function sigmaWithin(address asset, uint256 sigmaMin, uint256 sigmaMax) external view returns (uint256);

    /// @notice The target σ [wad] the σ in force is moving toward: clamp(sqrt(variance × horizon), σmin, σmax),
    /// computed at the last poke (or parameter change) and clamped to the current bounds.
    function sigmaTarget(address asset) external view returns (uint256);

    /// @notice Sets the shared parameters. Governed (risk role). Records every asset's σ in force first, so a
    /// new `maxStep` or `horizon` never applies retroactively, then recomputes each target with the new horizon.
    function setParams(Params calldata params) external;

    /// @notice The volatility model's parameters: horizon, half-life, minimum poke interval, step limit.
    function params() external view returns (Params memory);
    /// @notice `asset`'s stored volatility state (zero until its first poke).
    function stateOf(address asset) external view returns (State memory);
    /// @notice Earliest time `asset` can be poked again (0 if never poked).
    function nextPokeAt(address asset) external view returns (uint256);
}
