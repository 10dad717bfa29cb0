// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "./IKeelErrors.sol";
/// @title IRiskModel
/// @notice Risk-based portfolio margin of docs/spec.md §3, computed on-chain.
/// @dev For collateral values v_c = amount_c × price_c [wad USD], V = Σ v_c:
///   stress(z, h) = max( z × sqrt(Σ_i Σ_j v_i v_j σ_i σ_j ρ_ij), Σ_c h_c v_c )
///   Lm = stress(zm, hm), Li = stress(zi, hi); HF = (V − Lm)/D, HFi = (V − Li)/D.
/// One asset uses the closed form max(z σ, h) × V. Values round down, losses round up (KeelMath).
/// Correlations are restricted to [0, 1]: Keel grants diversification, never a hedge credit.
interface IRiskModel is IKeelErrors {
    /// @notice Risk parameters of one asset, all [wad].
    struct AssetRiskParams {
        uint256 sigmaMin; // horizon volatility used until the volatility oracle has a sample, and its floor
        uint256 sigmaMax; // cap on the horizon volatility
        uint256 maintenanceHaircut; // hm: floor of the maintenance loss per unit of value
        uint256 initialHaircut; // hi ≥ hm: floor of the initial loss per unit of value
        uint256 liquidationPenalty; // ℓ: the largest bonus paid to liquidators on repaid debt, at HF ≤ fullPenaltyHF
        uint256 minLiquidationPenalty; // ℓmin ≤ ℓ: the bonus at HF = 1; it rises linearly to ℓ at fullPenaltyHF
        uint256 fullPenaltyHF; // in [criticalHF, 1]: the HF at and under which the bonus is ℓ (1: always ℓ)
    }

    /// @notice A position's valuation at current prices.
    struct Valuation {
        uint256 value; // V [wad USD], rounded down
        uint256 maintenanceLoss; // Lm [wad USD], rounded up
        uint256 initialLoss; // Li [wad USD], rounded up
    }

    /// @notice Everything the margin formula reads for a basket, each price and σ read once: the inputs of
    /// `Margin.valuation`, by which the RiskModel, the Liquidation library and the Lens all value a basket.
    struct MarginInputs {
        uint256[] prices; // [wad] USD per whole token; 0 where the oracle refused a price (valued at zero)
        uint256[] units; // 10^decimals
        uint256[] sigmas; // [wad] σ in force; 0 where unpriced
        uint256[] maintenanceHaircuts; // hm [wad]
        uint256[] initialHaircuts; // hi [wad]
        uint256[] penalties; // ℓ [wad]; the Liquidation library replaces each with the bonus at the position's HF
        uint256[] minPenalties; // ℓmin [wad]
        uint256[] fullPenaltyHFs; // [wad]
        uint256[] correlation; // row-major n×n ρ [wad]; only the upper triangle (i < j) is filled
        uint256 zMaintenance; // [wad]
        uint256 zInitial; // [wad]
    }

    /// @notice What a liquidation of `asset` needs, read in one call.
    struct LiquidationTerms {
        uint256 price; // [wad] USD per whole token
        uint256 unit; // 10^decimals
        uint256 penalty; // ℓ [wad]
        uint256 minPenalty; // ℓmin [wad]
        uint256 fullPenaltyHF; // [wad]
        uint256 maintenanceFactor; // max(zm σ, hm) [wad]: the most maintenance loss one unit of value can carry
        uint256 sigma; // σ in force [wad]
        uint256 maintenanceHaircut; // hm [wad]
        uint256 zMaintenance; // zm [wad]
    }

    /// @notice `asset`'s risk parameters were set (at listing or by governance).
    event AssetRiskSet(address indexed asset, AssetRiskParams params);
    /// @notice ρ(assetA, assetB) was set [wad].
    event CorrelationSet(address indexed assetA, address indexed assetB, uint256 correlation);
    /// @notice The confidence multipliers zm and zi were set [wad].
    event ConfidenceSet(uint256 zMaintenance, uint256 zInitial);

    /// @notice `correlations` must hold one entry per listed asset.
    error CorrelationCountMismatch(uint256 expected, uint256 given);
    /// @notice `assets` and `amounts` differ in length.
    error LengthMismatch(uint256 assets, uint256 amounts);
    /// @notice The risk model already lists its maximum number of assets, `max`.
    error TooManyListedAssets(uint256 max);
    /// @notice (1 + ℓ)(1 − hm) of `asset` would exceed the engine's critical HF `criticalHF`, so a partial
    /// liquidation above the critical HF could lower the health factor.
    error PenaltyTooHighForCriticalHF(address asset, uint256 required, uint256 criticalHF);
    /// @notice `asset`'s fullPenaltyHF would lie under the engine's critical HF: a close-out step under criticalHF,
    /// which may lower HF, would then earn more than the step before it (docs/spec.md §4.4).
    error FullPenaltyHFBelowCriticalHF(address asset, uint256 fullPenaltyHF, uint256 criticalHF);
    /// @notice The correlation matrix would not be positive semi-definite (no real set of returns has it); the LDLᵀ
    /// factorization failed at `asset`'s column (KeelMath.choleskyPsd).
    error CorrelationNotPositiveSemiDefinite(address asset);
    /// @notice Reading the price of `asset` ran out of gas. Refused rather than taken for a failed feed, so that a
    /// caller cannot make a priced holding count as worth nothing by sending too little gas.
    error OracleOutOfGas(address asset);

    /// @notice Values and stress losses of a basket at current oracle prices. Reverts on any oracle failure.
    /// @param assets Listed assets, distinct.
    /// @param amounts Amounts in each token's decimals.
    function assess(address[] calldata assets, uint256[] calldata amounts) external view returns (Valuation memory);

    /// @notice `assess` of a single holding (the isolated closed form), without array encoding.
    function assessOne(address asset, uint256 amount) external view returns (Valuation memory);

    /// @notice The inputs of the margin formula for a basket as margin calls and liquidation value it (docs/spec.md §4,
    /// liveness): a holding whose price fails has a zero price and counts as worth nothing, so one failing feed can
    /// neither block a liquidation that the rest of the basket pays for nor hide a shortfall.
    /// @dev Warning: never for borrowing or withdrawing, which need every price (`assess`). Reverts with the oracle's
    /// error when no holding with a non-zero amount has a price (nothing to value), and with `OracleOutOfGas` when a
    /// price read was starved of gas.
    /// @param amounts Amounts in each token's decimals (only which are non-zero matters here).
    function marginInputs(address[] calldata assets, uint256[] calldata amounts)
        external
        view
        returns (MarginInputs memory);

    /// @notice The basket's valuation at `marginInputs`: what margin calls and the margin state use. With every price
    /// available it equals `assess` exactly.
    function assessForMargin(address[] calldata assets, uint256[] calldata amounts)
        external
        view
        returns (Valuation memory);

    /// @notice Price, unit, penalty and maintenance factor of `asset`. Reverts on any oracle failure.
    function liquidationTerms(address asset) external view returns (LiquidationTerms memory);

    /// @notice Reverts with `PenaltyTooHighForCriticalHF` unless every listed asset satisfies
    /// (1 + ℓ)(1 − hm) ≤ `criticalHF`, and with `FullPenaltyHFBelowCriticalHF` unless its fullPenaltyHF ≥ `criticalHF`.
    function checkCriticalHF(uint256 criticalHF) external view;

    /// @notice Health factor and initial health factor [wad] of an engine position.
    function healthFactor(uint256 id) external view returns (uint256 hf, uint256 hfInitial);

    /// @notice The horizon volatility [wad] that margin uses now for `asset`.
    function sigma(address asset) external view returns (uint256);

    /// @notice Registers a new asset with its risk parameters and ρ against every listed asset (listing order).
    function listAsset(address asset, AssetRiskParams calldata params, uint256[] calldata correlations) external;

    /// @notice Sets `asset`'s risk parameters; each within its range, (1 + ℓ)(1 − hm) ≤ criticalHF and
    /// criticalHF ≤ fullPenaltyHF.
    function setAssetRisk(address asset, AssetRiskParams calldata params) external;
    /// @notice Sets ρ(assetA, assetB) in [0, 1]; the whole matrix must stay positive semi-definite.
    function setCorrelation(address assetA, address assetB, uint256 correlation) external;
    /// @notice Sets several correlations, then checks the whole matrix once: a change that is positive
    /// semi-definite only as a whole (a new cluster of correlated assets) needs no refused intermediate step.
    /// Reverts `NoChange` when no pair changes.
    function setCorrelations(address[] calldata assetsA, address[] calldata assetsB, uint256[] calldata rhos) external;
    /// @notice Sets the confidence multipliers [wad]: 1 ≤ zm < zi ≤ 10.
    function setConfidence(uint256 zMaintenance, uint256 zInitial) external;

    /// @notice `asset`'s risk parameters [wad]; reverts `AssetNotListed` for an unlisted asset.
    function assetRisk(address asset) external view returns (AssetRiskParams memory);
    /// @notice ρ(assetA, assetB) [wad]; 1 for an asset with itself.
    function correlation(address assetA, address assetB) external view returns (uint256);
    /// @notice Confidence multipliers [wad]: zm for maintenance, zi > zm for initial margin.
    function confidence() external view returns (uint256 zMaintenance, uint256 zInitial);
    /// @notice 10^decimals of `asset`, cached at listing.
    function unitOf(address asset) external view returns (uint256);
    /// @notice Every listed asset, in listing order (the order of `Listing.correlations`).
    function listedAssets() external view returns (address[] memory);
}
