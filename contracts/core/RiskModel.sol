// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IVaultEngine} from "../interfaces/IVaultEngine.sol";
import {IVolatilityOracle} from "../interfaces/IVolatilityOracle.sol";
import {KeelMath} from "../libraries/KeelMath.sol";
import {Margin} from "../libraries/Margin.sol";

/// @title RiskModel
/// @notice Risk parameters and the portfolio margin formula of docs/spec.md §3 (see IRiskModel).
contract RiskModel is IRiskModel, AccessManaged {
    /// @dev What margin reads of one asset, decoded from one storage word (`_riskWord`): σ bounds and haircuts in
    /// 60 bits each (every allowed value is ≤ 1e18 < 2^60), then decimals and the listed flag. One cold read per asset
    /// on every borrow and withdrawal; the penalty curve, read by liquidations only, has its own slot.
    struct Risk {
        uint256 sigmaMin; // [wad]
        uint256 sigmaMax; // [wad]
        uint256 maintenanceHaircut; // [wad]
        uint256 initialHaircut; // [wad]
        uint8 decimals; // token decimals
        bool listed;
    }

    uint256 public constant MAX_ASSETS = 32;
    uint256 public constant MIN_SIGMA = 1e14; // 0.01%
    uint256 public constant MAX_SIGMA = 1e18; // 100% over the horizon
    uint256 public constant MIN_HAIRCUT = 1e15; // 0.1%
    uint256 public constant MAX_HAIRCUT = 0.99e18;
    uint256 public constant MAX_PENALTY = 0.25e18;
    uint256 public constant MIN_Z = 1e18;
    uint256 public constant MAX_Z = 10e18;
    uint8 public constant MAX_DECIMALS = 36;
    /// @dev 60 bits: one field of `_riskWord`.
    uint256 private constant FIELD_MASK = (1 << 60) - 1;
    /// @dev 64 bits: one field of `_penaltyCurve`.
    uint256 private constant CURVE_MASK = (1 << 64) - 1;

    IVaultEngine public immutable engine;
    IPriceOracle public immutable oracle;
    IVolatilityOracle public immutable volatility;

    /// @dev Bit layout: σmin [0, 60), σmax [60, 120), hm [120, 180), hi [180, 240), decimals [240, 248), listed 248.
    mapping(address asset => uint256) internal _riskWord;
    /// @dev Bit layout, each [wad] ≤ 1e18 < 2^64: ℓ [0, 64), ℓmin [64, 128), fullPenaltyHF [128, 192).
    mapping(address asset => uint256) internal _penaltyCurve;
    /// @dev Symmetric: stored under both orders. [wad] in [0, 1].
    mapping(address assetA => mapping(address assetB => uint256)) internal _correlation;
    address[] internal _assets;
    uint128 internal _zMaintenance; // [wad]
    uint128 internal _zInitial; // [wad]

    constructor(
        address authority,
        IVaultEngine engine_,
        IPriceOracle oracle_,
        IVolatilityOracle volatility_,
        uint256 zMaintenance,
        uint256 zInitial
    ) AccessManaged(authority) {
        engine = engine_;
        oracle = oracle_;
        volatility = volatility_;
        _setConfidence(zMaintenance, zInitial);
    }

    // ---------------------------------------------------------------- margin

    /// @inheritdoc IRiskModel
    function assess(address[] calldata assets, uint256[] calldata amounts) external view returns (Valuation memory) {
        return _assess(assets, amounts);
    }

    /// @inheritdoc IRiskModel
    function assessOne(address asset, uint256 amount) external view returns (Valuation memory) {
        return _assessOne(asset, amount);
    }

    /// @inheritdoc IRiskModel
    function marginInputs(address[] calldata assets, uint256[] calldata amounts)
        external
        view
        returns (MarginInputs memory)
    {
        return _marginInputs(assets, amounts);
    }

    /// @inheritdoc IRiskModel
    function assessForMargin(address[] calldata assets, uint256[] calldata amounts)
        external
        view
        returns (Valuation memory)
    {
        return Margin.valuation(_marginInputs(assets, amounts), amounts);
    }

    /// @inheritdoc IRiskModel
    function liquidationTerms(address asset) external view returns (LiquidationTerms memory) {
        return _terms(asset, _listedRisk(asset), oracle.getPrice(asset));
    }

    /// @inheritdoc IRiskModel
    function checkCriticalHF(uint256 criticalHF) external view {
        for (uint256 i; i < _assets.length; ++i) {
            address asset = _assets[i];
            (uint256 penalty,, uint256 fullPenaltyHF) = _curve(asset);
            _requirePenaltyFits(asset, penalty, fullPenaltyHF, _load(asset).maintenanceHaircut, criticalHF);
        }
    }

    /// @inheritdoc IRiskModel
    function healthFactor(uint256 id) external view returns (uint256 hf, uint256 hfInitial) {
        address[] memory assets = engine.collateralAssets(id);
        uint256[] memory amounts = new uint256[](assets.length);
        for (uint256 i; i < assets.length; ++i) {
            amounts[i] = engine.collateralOf(id, assets[i]);
        }
        uint256 debt = engine.debtOf(id);
        if (debt == 0) return (KeelMath.INFINITE_HEALTH, KeelMath.INFINITE_HEALTH);
        Valuation memory v = _assess(assets, amounts);
        hf = KeelMath.healthFactorDown(v.value, v.maintenanceLoss, debt);
        hfInitial = KeelMath.healthFactorDown(v.value, v.initialLoss, debt);
    }

    /// @inheritdoc IRiskModel
    function sigma(address asset) external view returns (uint256) {
        return _sigma(asset, _listedRisk(asset));
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IRiskModel
    function listAsset(address asset, AssetRiskParams calldata params, uint256[] calldata correlations) external {
        if (msg.sender != address(engine)) revert OnlyEngine(msg.sender);
        if (_load(asset).listed) revert AssetAlreadyListed(asset);
        uint256 listed = _assets.length;
        if (listed == MAX_ASSETS) revert TooManyListedAssets(MAX_ASSETS);
        if (correlations.length != listed) revert CorrelationCountMismatch(listed, correlations.length);
        uint8 decimals = _decimalsOf(asset);
        _store(asset, _toStored(params, decimals));
        _setCurve(asset, params);
        _assets.push(asset);
        emit AssetRiskSet(asset, params);
        for (uint256 i; i < listed; ++i) {
            _writeCorrelation(asset, _assets[i], correlations[i]);
        }
        _requireCorrelationsPsd();
    }

    /// @inheritdoc IRiskModel
    function setAssetRisk(address asset, AssetRiskParams calldata params) external restricted {
        Risk memory current = _load(asset);
        if (!current.listed) revert AssetNotListed(asset);
        Risk memory next = _toStored(params, current.decimals);
        bool sameCurve = _packCurve(params) == _penaltyCurve[asset];
        if (sameCurve && keccak256(abi.encode(next)) == keccak256(abi.encode(current))) revert NoChange();
        _store(asset, next);
        _setCurve(asset, params);
        emit AssetRiskSet(asset, params);
    }

    /// @inheritdoc IRiskModel
    function setCorrelation(address assetA, address assetB, uint256 rho) external restricted {
        if (!_setPair(assetA, assetB, rho)) revert NoChange();
        _requireCorrelationsPsd();
    }

    /// @inheritdoc IRiskModel
    function setCorrelations(address[] calldata assetsA, address[] calldata assetsB, uint256[] calldata rhos)
        external
        restricted
    {
        uint256 n = assetsA.length;
        if (assetsB.length != n) revert LengthMismatch(n, assetsB.length);
        if (rhos.length != n) revert LengthMismatch(n, rhos.length);
        bool changed;
        for (uint256 i; i < n; ++i) {
            changed = _setPair(assetsA[i], assetsB[i], rhos[i]) || changed;
        }
        if (!changed) revert NoChange();
        _requireCorrelationsPsd();
    }

    /// @inheritdoc IRiskModel
    function setConfidence(uint256 zMaintenance, uint256 zInitial) external restricted {
        if (zMaintenance == _zMaintenance && zInitial == _zInitial) revert NoChange();
        _setConfidence(zMaintenance, zInitial);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IRiskModel
    function assetRisk(address asset) external view returns (AssetRiskParams memory) {
        Risk memory r = _listedRisk(asset);
        (uint256 penalty, uint256 minPenalty, uint256 fullPenaltyHF) = _curve(asset);
        return AssetRiskParams({
            sigmaMin: r.sigmaMin,
            sigmaMax: r.sigmaMax,
            maintenanceHaircut: r.maintenanceHaircut,
            initialHaircut: r.initialHaircut,
            liquidationPenalty: penalty,
            minLiquidationPenalty: minPenalty,
            fullPenaltyHF: fullPenaltyHF
        });
    }

    /// @inheritdoc IRiskModel
    function correlation(address assetA, address assetB) external view returns (uint256) {
        if (assetA == assetB) return KeelMath.WAD;
        return _correlation[assetA][assetB];
    }

    /// @inheritdoc IRiskModel
    function confidence() external view returns (uint256 zMaintenance, uint256 zInitial) {
        return (_zMaintenance, _zInitial);
    }

    /// @inheritdoc IRiskModel
    function unitOf(address asset) external view returns (uint256) {
        return 10 ** _listedRisk(asset).decimals;
    }

    /// @inheritdoc IRiskModel
    function listedAssets() external view returns (address[] memory) {
        return _assets;
    }

    // ---------------------------------------------------------------- internal

    /// @dev Every price is required: any oracle failure reverts.
    function _assess(address[] memory assets, uint256[] memory amounts) internal view returns (Valuation memory) {
        uint256 n = assets.length;
        if (n != amounts.length) revert LengthMismatch(n, amounts.length);
        if (n == 1) return _assessOne(assets[0], amounts[0]);
        MarginInputs memory m = _newInputs(assets);
        for (uint256 i; i < n; ++i) {
            Risk memory r = _listedRisk(assets[i]);
            if (amounts[i] != 0) _fill(m, i, assets[i], r, oracle.getPrice(assets[i]));
        }
        return Margin.valuation(m, amounts);
    }

    /// @dev Prices what it can, each price and σ once; a failed price leaves a zero price (see `marginInputs`).
    function _marginInputs(address[] memory assets, uint256[] memory amounts)
        internal
        view
        returns (MarginInputs memory m)
    {
        uint256 n = assets.length;
        if (n != amounts.length) revert LengthMismatch(n, amounts.length);
        m = _newInputs(assets);
        address unpriced;
        bool anyPriced;
        for (uint256 i; i < n; ++i) {
            Risk memory r = _listedRisk(assets[i]);
            uint256 price = _tryPrice(assets[i]);
            if (price == 0) {
                if (amounts[i] != 0) unpriced = assets[i];
                continue;
            }
            if (amounts[i] != 0) anyPriced = true;
            _fill(m, i, assets[i], r, price);
            (m.penalties[i], m.minPenalties[i], m.fullPenaltyHFs[i]) = _curve(assets[i]);
        }
        // Nothing in the basket has a price: it cannot be valued at all, like an isolated position (§4).
        if (unpriced != address(0) && !anyPriced) oracle.getPrice(unpriced);
    }

    /// @dev Inputs for `assets` with the confidence multipliers and ρ filled, every per-asset entry zero.
    function _newInputs(address[] memory assets) internal view returns (MarginInputs memory m) {
        uint256 n = assets.length;
        (m.prices, m.units, m.sigmas) = (new uint256[](n), new uint256[](n), new uint256[](n));
        (m.maintenanceHaircuts, m.initialHaircuts, m.penalties) = (new uint256[](n), new uint256[](n), new uint256[](n));
        (m.minPenalties, m.fullPenaltyHFs) = (new uint256[](n), new uint256[](n));
        m.correlation = _correlationMatrix(assets);
        (m.zMaintenance, m.zInitial) = (_zMaintenance, _zInitial);
    }

    /// @dev Holding `i` priced at `price`: its unit, σ and haircuts.
    function _fill(MarginInputs memory m, uint256 i, address asset, Risk memory r, uint256 price) internal view {
        m.prices[i] = price;
        m.units[i] = 10 ** r.decimals;
        m.sigmas[i] = _sigma(asset, r);
        m.maintenanceHaircuts[i] = r.maintenanceHaircut;
        m.initialHaircuts[i] = r.initialHaircut;
    }

    /// @dev The one-asset closed form: L = max(z σ, h) × V.
    function _assessOne(address asset, uint256 amount) internal view returns (Valuation memory v) {
        Risk memory r = _listedRisk(asset);
        if (amount == 0) return v;
        return _assessOneAt(asset, r, amount, oracle.getPrice(asset));
    }

    function _assessOneAt(address asset, Risk memory r, uint256 amount, uint256 price)
        internal
        view
        returns (Valuation memory v)
    {
        if (amount == 0) return v;
        v.value = KeelMath.valueDown(amount, price, 10 ** r.decimals);
        uint256 s = _sigma(asset, r);
        v.maintenanceLoss = KeelMath.isolatedLossUp(v.value, s, _zMaintenance, r.maintenanceHaircut);
        v.initialLoss = KeelMath.isolatedLossUp(v.value, s, _zInitial, r.initialHaircut);
    }

    function _terms(address asset, Risk memory r, uint256 price) internal view returns (LiquidationTerms memory t) {
        t.price = price;
        t.unit = 10 ** r.decimals;
        (t.penalty, t.minPenalty, t.fullPenaltyHF) = _curve(asset);
        (t.sigma, t.maintenanceHaircut, t.zMaintenance) = (_sigma(asset, r), r.maintenanceHaircut, _zMaintenance);
        t.maintenanceFactor = KeelMath.lossFactorUp(t.zMaintenance, t.sigma, t.maintenanceHaircut);
    }

    /// @dev The oracle's price, or 0 when it refuses one. A read that ran out of gas is not a refusal: a starved call
    /// leaves its caller about 1/64 of the gas per call level (EIP-150), so a failure with less than 1/8 of the gas
    /// left reverts the whole call instead; a real refusal costs a few feed reads.
    function _tryPrice(address asset) internal view returns (uint256) {
        uint256 gasBefore = gasleft();
        try oracle.getPrice(asset) returns (uint256 price) {
            return price;
        } catch {
            if (gasleft() < gasBefore / 8) revert OracleOutOfGas(asset);
            return 0;
        }
    }

    /// @dev Row-major ρ matrix of `assets`; only the upper triangle is filled (the only part KeelMath reads).
    function _correlationMatrix(address[] memory assets) internal view returns (uint256[] memory rho) {
        uint256 n = assets.length;
        rho = new uint256[](n * n);
        for (uint256 i; i < n; ++i) {
            for (uint256 j = i + 1; j < n; ++j) {
                rho[i * n + j] = _correlation[assets[i]][assets[j]];
            }
        }
    }

    /// @dev The horizon volatility margin uses for an asset: the volatility oracle's step-limited σ, within this
    /// model's [σmin, σmax] (passed along, so the oracle need not call back).
    function _sigma(address asset, Risk memory r) internal view returns (uint256) {
        return volatility.sigmaWithin(asset, r.sigmaMin, r.sigmaMax);
    }

    /// @dev A storage pointer, so callers read only the fields they use (the first slot).
    function _listedRisk(address asset) internal view returns (Risk memory r) {
        r = _load(asset);
        if (!r.listed) revert AssetNotListed(asset);
    }

    function _criticalHF() internal view returns (uint256) {
        return engine.liquidationParams().criticalHF;
    }

    /// @dev The conditions that make every partial liquidation above criticalHF raise HF, and splitting never pay
    /// more than one step (docs/spec.md §4.4): the bonus at criticalHF is ℓ (fullPenaltyHF ≥ criticalHF), and
    /// (1 + ℓ)(1 − hm) ≤ criticalHF. HF − (1 + ℓ(HF))(1 − hm) grows with HF, so its value at criticalHF bounds the
    /// whole range [criticalHF, 1).
    function _requirePenaltyFits(
        address asset,
        uint256 penalty,
        uint256 fullPenaltyHF,
        uint256 haircut,
        uint256 criticalHF
    ) internal pure {
        if (fullPenaltyHF < criticalHF) revert FullPenaltyHFBelowCriticalHF(asset, fullPenaltyHF, criticalHF);
        uint256 required = KeelMath.criticalHFFloorUp(penalty, haircut);
        if (required > criticalHF) revert PenaltyTooHighForCriticalHF(asset, required, criticalHF);
    }

    /// @dev Checks and stores `asset`'s penalty curve (its fields are range-checked by `_toStored`).
    function _setCurve(address asset, AssetRiskParams calldata p) internal {
        _requirePenaltyFits(asset, p.liquidationPenalty, p.fullPenaltyHF, p.maintenanceHaircut, _criticalHF());
        _penaltyCurve[asset] = _packCurve(p);
    }

    function _packCurve(AssetRiskParams calldata p) internal pure returns (uint256) {
        return p.liquidationPenalty | (p.minLiquidationPenalty << 64) | (p.fullPenaltyHF << 128);
    }

    /// @return penalty ℓ [wad]
    /// @return minPenalty ℓmin [wad]
    /// @return fullPenaltyHF [wad]
    function _curve(address asset) internal view returns (uint256 penalty, uint256 minPenalty, uint256 fullPenaltyHF) {
        uint256 w = _penaltyCurve[asset];
        return (w & CURVE_MASK, (w >> 64) & CURVE_MASK, (w >> 128) & CURVE_MASK);
    }

    /// @dev Writes one pair after its checks; false when it already had that value.
    function _setPair(address assetA, address assetB, uint256 rho) internal returns (bool) {
        if (!_load(assetA).listed) revert AssetNotListed(assetA);
        if (!_load(assetB).listed) revert AssetNotListed(assetB);
        if (assetA == assetB) revert InvalidParameter("correlation", rho);
        if (_correlation[assetA][assetB] == rho) return false;
        _writeCorrelation(assetA, assetB, rho);
        return true;
    }

    /// @dev The matrix over every listed asset must be positive semi-definite (KeelMath.choleskyPsd).
    function _requireCorrelationsPsd() internal view {
        uint256 n = _assets.length;
        uint256[] memory rho = new uint256[](n * n);
        for (uint256 i; i < n; ++i) {
            rho[i * n + i] = KeelMath.WAD;
            for (uint256 j; j < i; ++j) {
                rho[i * n + j] = _correlation[_assets[i]][_assets[j]];
            }
        }
        (bool ok, uint256 column) = KeelMath.choleskyPsd(rho, n);
        if (!ok) revert CorrelationNotPositiveSemiDefinite(_assets[column]);
    }

    function _writeCorrelation(address assetA, address assetB, uint256 rho) internal {
        if (rho > KeelMath.WAD) revert InvalidParameter("correlation", rho);
        _correlation[assetA][assetB] = rho;
        _correlation[assetB][assetA] = rho;
        emit CorrelationSet(assetA, assetB, rho);
    }

    function _setConfidence(uint256 zMaintenance, uint256 zInitial) internal {
        if (zMaintenance < MIN_Z || zMaintenance > MAX_Z) revert InvalidParameter("zMaintenance", zMaintenance);
        if (zInitial <= zMaintenance || zInitial > MAX_Z) revert InvalidParameter("zInitial", zInitial);
        _zMaintenance = uint128(zMaintenance);
        _zInitial = uint128(zInitial);
        emit ConfidenceSet(zMaintenance, zInitial);
    }

    function _toStored(AssetRiskParams calldata p, uint8 decimals) internal pure returns (Risk memory) {
        if (p.sigmaMin < MIN_SIGMA || p.sigmaMin > MAX_SIGMA) revert InvalidParameter("sigmaMin", p.sigmaMin);
        if (p.sigmaMax < p.sigmaMin || p.sigmaMax > MAX_SIGMA) revert InvalidParameter("sigmaMax", p.sigmaMax);
        if (p.maintenanceHaircut < MIN_HAIRCUT || p.maintenanceHaircut > MAX_HAIRCUT) {
            revert InvalidParameter("maintenanceHaircut", p.maintenanceHaircut);
        }
        if (p.initialHaircut < p.maintenanceHaircut || p.initialHaircut > MAX_HAIRCUT) {
            revert InvalidParameter("initialHaircut", p.initialHaircut);
        }
        if (p.liquidationPenalty > MAX_PENALTY) revert InvalidParameter("liquidationPenalty", p.liquidationPenalty);
        if (p.minLiquidationPenalty > p.liquidationPenalty) {
            revert InvalidParameter("minLiquidationPenalty", p.minLiquidationPenalty);
        }
        if (p.fullPenaltyHF > KeelMath.WAD) revert InvalidParameter("fullPenaltyHF", p.fullPenaltyHF);
        return Risk({
            sigmaMin: p.sigmaMin,
            sigmaMax: p.sigmaMax,
            maintenanceHaircut: p.maintenanceHaircut,
            initialHaircut: p.initialHaircut,
            decimals: decimals,
            listed: true
        });
    }

    function _load(address asset) internal view returns (Risk memory r) {
        uint256 w = _riskWord[asset];
        r.sigmaMin = w & FIELD_MASK;
        r.sigmaMax = (w >> 60) & FIELD_MASK;
        r.maintenanceHaircut = (w >> 120) & FIELD_MASK;
        r.initialHaircut = (w >> 180) & FIELD_MASK;
        r.decimals = uint8(w >> 240);
        r.listed = (w >> 248) & 1 == 1;
    }

    /// @dev `r`'s fields are range-checked by `_toStored` (each ≤ 1e18 < 2^60).
    function _store(address asset, Risk memory r) internal {
        _riskWord[asset] = r.sigmaMin | (r.sigmaMax << 60) | (r.maintenanceHaircut << 120) | (r.initialHaircut << 180)
            | (uint256(r.decimals) << 240) | (r.listed ? 1 << 248 : 0);
    }

    function _decimalsOf(address asset) internal view returns (uint8 decimals) {
        (bool ok, bytes memory data) = asset.staticcall(abi.encodeWithSignature("decimals()"));
        if (!ok || data.length != 32) revert InvalidParameter("decimals", 0);
        uint256 d = abi.decode(data, (uint256));
        if (d > MAX_DECIMALS) revert InvalidParameter("decimals", d);
        decimals = uint8(d);
    }
}
