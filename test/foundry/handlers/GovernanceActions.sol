// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {vm} from "../utils/Vm.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {IRiskModel} from "../../../contracts/interfaces/IRiskModel.sol";
import {IVolatilityOracle} from "../../../contracts/interfaces/IVolatilityOracle.sol";
import {KeelMath} from "../../../contracts/libraries/KeelMath.sol";

/// @title GovernanceActions
/// @notice Governed changes within their valid ranges, as the timelock would send them: fees, ceilings, caps,
/// dust, liquidation terms, risk parameters, correlations, confidence, volatility parameters, flash-mint terms, and
/// the guardian's pause. Each keeps the parameter checks satisfiable (for example (1 + ℓ)(1 − hm) ≤ criticalHF).
abstract contract GovernanceActions is HandlerBase {
    uint256[5] internal _fees = [
        1e27,
        1_000_000_000_315_522_921_573_372_068,
        1_000_000_000_627_937_192_491_029_810,
        1_000_000_001_547_125_957_863_212_448,
        1_000_000_003_022_265_980_097_387_650
    ];

    function _setStabilityFee(uint256 classSeed, uint256 feeSeed) internal {
        address[] memory classes = _classes();
        _govern("setStabilityFee", address(k.engine), abi.encodeCall(k.engine.setStabilityFee, (classes[classSeed % classes.length], _fees[feeSeed % 5])));
    }

    function _setDebtCeiling(uint256 classSeed, uint256 ceilingSeed) internal {
        address[] memory classes = _classes();
        uint256 ceiling = _bound(ceilingSeed, 100_000e18, 20_000_000e18);
        _govern("setDebtCeiling", address(k.engine), abi.encodeCall(k.engine.setDebtCeiling, (classes[classSeed % classes.length], ceiling)));
    }

    function _setGlobalDebtCeiling(uint256 ceilingSeed) internal {
        _govern("setGlobalDebtCeiling", address(k.engine), abi.encodeCall(k.engine.setGlobalDebtCeiling, (_bound(ceilingSeed, 1_000_000e18, 60_000_000e18))));
    }

    /// @notice A supply cap: unlimited, near the current total (deposits soon refused), or zero (frozen).
    function _setSupplyCap(uint256 assetSeed, uint256 capSeed) internal {
        address asset = address(_token(_assetIndex(assetSeed)));
        (, uint256 total,) = k.engine.collateralConfig(asset);
        uint256 cap = capSeed % 3 == 0 ? type(uint120).max : capSeed % 3 == 1 ? total + total / 10 : 0;
        _govern("setSupplyCap", address(k.engine), abi.encodeCall(k.engine.setSupplyCap, (asset, cap)));
    }

    /// @notice Dust from 0 to 2,000 kUSD (raising it leaves smaller debts in place).
    function _setDust(uint256 dustSeed) internal {
        _govern("setDust", address(k.engine), abi.encodeCall(k.engine.setDust, (_bound(dustSeed, 0, 2000) * 1e18)));
    }

    function _setLiquidationParams(uint256 graceSeed, uint256 criticalSeed, uint256 targetSeed, uint256 shareSeed) internal {
        LiquidationParams memory p = LiquidationParams({
            gracePeriod: _bound(graceSeed, 0, 2 days),
            criticalHF: _bound(criticalSeed, 0.95e18, 0.99e18),
            targetHF: _bound(targetSeed, 1.01e18, 1.5e18),
            closeFactor: _bound(shareSeed, 0.1e18, 1e18),
            protocolShare: _bound(shareSeed / 7, 0, 0.5e18)
        });
        _govern("setLiquidationParams", address(k.engine), abi.encodeCall(k.engine.setLiquidationParams, (p)));
    }

    /// @notice New σ bounds, haircuts and penalty for one asset, around its listing values.
    function _setAssetRisk(uint256 assetSeed, uint256 sigmaSeed, uint256 haircutSeed, uint256 penaltySeed) internal {
        address asset = address(_token(_assetIndex(assetSeed)));
        IRiskModel.AssetRiskParams memory r = k.risk.assetRisk(asset);
        uint256 sigmaMin = _bound(sigmaSeed, 0.005e18, 0.10e18);
        uint256 hm = _bound(haircutSeed, 0.05e18, 0.2e18);
        uint256 critical = k.engine.liquidationParams().criticalHF;
        // Largest ℓ with (1 + ℓ)(1 − hm) ≤ criticalHF, capped at 10%.
        uint256 maxPenalty = KeelMath.mulDivDown(critical, 1e18, 1e18 - hm) - 1e18;
        r.sigmaMin = sigmaMin;
        r.sigmaMax = sigmaMin + _bound(sigmaSeed / 3, 0, 0.4e18);
        r.maintenanceHaircut = hm;
        r.initialHaircut = hm + _bound(haircutSeed / 5, 0, 0.1e18);
        r.liquidationPenalty = _bound(penaltySeed, 0, maxPenalty < 0.1e18 ? maxPenalty : 0.1e18);
        // A bonus curve from ℓmin at HF 1 up to ℓ at fullPenaltyHF ∈ [criticalHF, 1] (docs/spec.md §4.4).
        r.minLiquidationPenalty = _bound(penaltySeed >> 64, 0, r.liquidationPenalty);
        r.fullPenaltyHF = _bound(penaltySeed >> 128, critical, 1e18);
        _govern("setAssetRisk", address(k.risk), abi.encodeCall(k.risk.setAssetRisk, (asset, r)), true);
    }

    function _setCorrelation(uint256 aSeed, uint256 bSeed, uint256 rhoSeed) internal {
        address a = address(_token(_assetIndex(aSeed)));
        address b = address(_token(_assetIndex(bSeed)));
        if (a == b) return;
        _govern("setCorrelation", address(k.risk), abi.encodeCall(k.risk.setCorrelation, (a, b, _bound(rhoSeed, 0, 1e18))));
    }

    function _setConfidence(uint256 zSeed, uint256 gapSeed) internal {
        uint256 zm = _bound(zSeed, 1.5e18, 3e18);
        uint256 zi = zm + _bound(gapSeed, 0.1e18, 1.5e18);
        _govern("setConfidence", address(k.risk), abi.encodeCall(k.risk.setConfidence, (zm, zi)));
    }

    function _setVolatilityParams(uint256 horizonSeed, uint256 halfLifeSeed, uint256 stepSeed) internal {
        IVolatilityOracle.Params memory p = IVolatilityOracle.Params({
            horizon: uint32(_bound(horizonSeed, 1 hours, 7 days)),
            halfLife: uint32(_bound(halfLifeSeed, 1 hours, 30 days)),
            minInterval: uint32(_bound(halfLifeSeed / 3, 1 minutes, 6 hours)),
            maxStep: uint64(_bound(stepSeed, 1e14, 0.1e18))
        });
        _govern("setVolatilityParams", address(k.vol), abi.encodeCall(k.vol.setParams, (p)), true);
    }

    function _setFlashMintTerms(uint256 feeSeed, uint256 capSeed) internal {
        _govern("setFlashFee", address(k.kusd), abi.encodeCall(k.kusd.setFlashFee, (_bound(feeSeed, 0, 0.01e18))));
        _govern("setFlashCap", address(k.kusd), abi.encodeCall(k.kusd.setFlashCap, (_bound(capSeed, 0, 100_000_000e18))));
    }

    /// @notice The guardian pauses (one time in three) or resumes opening and borrowing.
    function _setPaused(bool pause) internal {
        _govern("setPaused", address(k.engine), abi.encodeCall(k.engine.setPaused, (pause)));
    }

    /// @notice The PSM's fees (≤ 1% each), ceiling (0–100M kUSD, so it can fall under P), freeze threshold (0.1%–10%),
    /// the guardian's sellGem pause (one time in three) or resume, or sKUSD's rate (0–20% a year; it drips first,
    /// so the buffer's payment is counted as interest).
    function _setPegTerms(uint256 kindSeed, uint256 a, uint256 b) internal {
        uint256 kind = kindSeed % 5;
        if (kind == 0) {
            _govern("psm.setFees", address(k.psm), abi.encodeCall(k.psm.setFees, (_bound(a, 0, 0.01e18), _bound(b, 0, 0.01e18))));
        } else if (kind == 1) {
            _govern("psm.setDebtCeiling", address(k.psm), abi.encodeCall(k.psm.setDebtCeiling, (_bound(a, 0, 100_000_000e18))));
        } else if (kind == 2) {
            _govern("psm.setFreezeThreshold", address(k.psm), abi.encodeCall(k.psm.setFreezeThreshold, (_bound(a, 0.001e18, 0.1e18))));
        } else if (kind == 3) {
            _govern("psm.setSellGemPaused", address(k.psm), abi.encodeCall(k.psm.setSellGemPaused, (a % 3 == 0)));
        } else {
            uint256 buffer = k.kusd.balanceOf(address(k.surplus));
            uint256 rate = _bound(a, KeelMath.RAY, k.savings.MAX_RATE());
            (bool ok,) = _as(k.governor, address(k.savings), abi.encodeCall(k.savings.setSavingsRate, (rate)));
            if (ok) _countInterest(buffer);
            _count("savings.setSavingsRate", ok);
            _observe();
        }
    }

    /// @notice One governed change (one selector, so governance is about as frequent as any one user action): fees,
    /// ceilings, supply caps, dust, liquidation terms, risk parameters, correlations, confidence, volatility
    /// parameters, flash-mint terms, pause, the PSM's terms and the savings rate.
    function govern(uint256 which, uint256 a, uint256 b, uint256 c, uint256 d) external {
        which %= 13;
        if (which == 0) _setStabilityFee(a, b);
        else if (which == 1) _setDebtCeiling(a, b);
        else if (which == 2) _setGlobalDebtCeiling(a);
        else if (which == 3) _setSupplyCap(a, b);
        else if (which == 4) _setDust(a);
        else if (which == 5) _setLiquidationParams(a, b, c, d);
        else if (which == 6) _setAssetRisk(a, b, c, d);
        else if (which == 7) _setCorrelation(a, b, c);
        else if (which == 8) _setConfidence(a, b);
        else if (which == 9) _setVolatilityParams(a, b, c);
        else if (which == 10) _setFlashMintTerms(a, b);
        else if (which == 11) _setPaused(a % 3 == 0);
        else _setPegTerms(d, a, b);
    }

    function _govern(string memory action, address target, bytes memory data) internal {
        _govern(action, target, data, false);
    }

    /// @dev Sends a governed call as the governor; `movesSigmaBounds` when it may move σ at once (new σ bounds or
    /// step limit), which restarts the σ step check.
    function _govern(string memory action, address target, bytes memory data, bool movesSigmaBounds) internal {
        (bool ok,) = _as(k.governor, target, data);
        if (ok && movesSigmaBounds) _resetSigmaBaseline();
        _count(action, ok);
        _observe();
    }
}
