// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IRiskModel
/// @notice Risk-based portfolio margin of docs/spec.md §3, computed on-chain.
/// @dev For collateral values v_c = amount_c × price_c [wad USD], V = Σ v_c:
///   stress(z, h) = max( z × sqrt(Σ_i Σ_j v_i v_j σ_i σ_j ρ_ij), Σ_c h_c v_c )
///   Lm = stress(zm, hm), Li = stress(zi, hi); HF = (V − Lm)/D, HFi = (V − Li)/D.
/// One asset uses the closed form max(z σ, h) × V. Values round down, losses round up (KeelMath).
/// Correlations are restricted to [0, 1]: Keel grants diversification, never a hedge credit.
interface IRiskModel {
    /// @notice Risk parameters of one asset, all [wad].
    struct AssetRiskParams {
        uint256 sigmaMin; // horizon volatility used until the volatility oracle has a sample, and its floor
        uint256 sigmaMax; // cap on the horizon volatility
        uint256 maintenanceHaircut; // hm: floor of the maintenance loss per unit of value
        uint256 initialHaircut; // hi ≥ hm: floor of the initial loss per unit of value
        uint256 liquidationPenalty; // ℓ: bonus paid to liquidators on repaid debt
    }

    /// @notice A position's valuation at current prices.
    struct Valuation {
        uint256 value; // V [wad USD], rounded down
        uint256 maintenanceLoss; // Lm [wad USD], rounded up
        uint256 initialLoss; // Li [wad USD], rounded up
    }

    /// @notice What a liquidation of `asset` needs, read in one call.
    struct LiquidationTerms {
        uint256 price; // [wad] USD per whole token
        uint256 unit; // 10^decimals
        uint256 penalty; // ℓ [wad]
        uint256 maintenanceFactor; // max(zm σ, hm) [wad]: the most maintenance loss one unit of value can carry
    }

    event AssetRiskSet(address indexed asset, AssetRiskParams params);
    event CorrelationSet(address indexed assetA, address indexed assetB, uint256 correlation);
    event ConfidenceSet(uint256 zMaintenance, uint256 zInitial);

    error AssetNotListed(address asset);
    error AssetAlreadyListed(address asset);
    /// @notice `correlations` must hold one entry per listed asset.
    error CorrelationCountMismatch(uint256 expected, uint256 given);
    /// @notice `assets` and `amounts` differ in length.
    error LengthMismatch(uint256 assets, uint256 amounts);
    error InvalidParameter(bytes32 name, uint256 value);
    error NoChange();
    /// @notice The risk model already lists its maximum number of assets, `max`.
    error TooManyListedAssets(uint256 max);
    /// @notice (1 + ℓ)(1 − hm) of `asset` would exceed the engine's critical HF `criticalHF`, so a partial
    /// liquidation above the critical HF could lower the health factor.
    error PenaltyTooHighForCriticalHF(address asset, uint256 required, uint256 criticalHF);
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

    /// @notice A basket valued for margin calls and liquidation (docs/spec.md §4, liveness): a holding whose price fails
    /// counts as worth nothing, so one failing feed can neither block a liquidation that the rest of the basket pays
    /// for nor hide a shortfall. With every price available it equals `assess` exactly.
    /// @dev Warning: never for borrowing or withdrawing, which need every price (`assess`). Reverts with the oracle's
    /// error when no holding with a non-zero amount has a price (nothing to value), and with `OracleOutOfGas` when a
    /// price read was starved of gas.
    /// @return v V and the losses over the priced holdings.
    /// @return terms Per asset, as `liquidationTerms`; all zero where the price failed (`price == 0` marks it).
    function marginBook(address[] calldata assets, uint256[] calldata amounts)
        external
        view
        returns (Valuation memory v, LiquidationTerms[] memory terms);

    /// @notice The valuation of `marginBook` alone: what margin calls and the margin state use.
    function assessForMargin(address[] calldata assets, uint256[] calldata amounts)
        external
        view
        returns (Valuation memory);

    /// @notice Price, unit, penalty and maintenance factor of `asset`. Reverts on any oracle failure.
    function liquidationTerms(address asset) external view returns (LiquidationTerms memory);

    /// @notice Reverts with `PenaltyTooHighForCriticalHF` unless every listed asset satisfies
    /// (1 + ℓ)(1 − hm) ≤ `criticalHF`.
    function checkCriticalHF(uint256 criticalHF) external view;

    /// @notice Health factor and initial health factor [wad] of an engine position.
    function healthFactor(uint256 id) external view returns (uint256 hf, uint256 hfInitial);

    /// @notice The horizon volatility [wad] that margin uses now for `asset`.
    function sigma(address asset) external view returns (uint256);

    /// @notice Registers a new asset with its risk parameters and ρ against every listed asset (listing order).
    function listAsset(address asset, AssetRiskParams calldata params, uint256[] calldata correlations) external;

    function setAssetRisk(address asset, AssetRiskParams calldata params) external;
    /// @notice Sets ρ(assetA, assetB) in [0, 1]; the whole matrix must stay positive semi-definite.
    function setCorrelation(address assetA, address assetB, uint256 correlation) external;
    /// @notice Sets several correlations, then checks the whole matrix once: a change that is positive
    /// semi-definite only as a whole (a new cluster of correlated assets) needs no refused intermediate step.
    /// Reverts `NoChange` when no pair changes.
    function setCorrelations(address[] calldata assetsA, address[] calldata assetsB, uint256[] calldata rhos) external;
    function setConfidence(uint256 zMaintenance, uint256 zInitial) external;

    function assetRisk(address asset) external view returns (AssetRiskParams memory);
    function correlation(address assetA, address assetB) external view returns (uint256);
    /// @notice Confidence multipliers [wad]: zm for maintenance, zi > zm for initial margin.
    function confidence() external view returns (uint256 zMaintenance, uint256 zInitial);
    /// @notice 10^decimals of `asset`, cached at listing.
    function unitOf(address asset) external view returns (uint256);
    function listedAssets() external view returns (address[] memory);
}
