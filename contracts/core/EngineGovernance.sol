// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "../interfaces/IKeelErrors.sol";
import {IVaultEngineTypes} from "../interfaces/IVaultEngineTypes.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IKeelUSD} from "../interfaces/IKeelUSD.sol";
import {KeelMath} from "../libraries/KeelMath.sol";
import {EngineState, Collateral, Ledger} from "./Ledger.sol";

/// @title EngineGovernance
/// @notice The VaultEngine's governed parameters (docs/spec.md §7): range checks and writes of listings, fees,
/// ceilings, caps, dust and liquidation terms over the engine's storage. The engine's setters hold the access control
/// (`restricted`) and call these; an external library keeps them out of the engine's code size. Every setter
/// range-checks, rejects no-ops and emits an event.
library EngineGovernance {
    using Ledger for EngineState;

    /// @notice 100% a year, compounded per second: 2^(1 / 31,536,000) [ray].
    uint256 internal constant MAX_STABILITY_FEE = 1_000_000_021_979_553_151_239_153_027;
    /// @notice Largest debt ceiling [wad]: 10 billion kUSD, so normalized debt always fits 96 bits.
    uint256 internal constant MAX_DEBT_CEILING = 1e28;
    uint256 internal constant MAX_DUST = 1e24; // [wad]
    uint256 internal constant MAX_GRACE_PERIOD = 7 days;
    uint256 internal constant MIN_CRITICAL_HF = 0.5e18; // [wad]
    uint256 internal constant MAX_TARGET_HF = 1.5e18; // [wad]

    /// @notice The contracts a listing configures besides the engine.
    struct Peers {
        IKeelUSD kusd;
        IRiskModel risk;
        IPriceOracle oracle;
    }

    /// @notice Lists `asset`: its feed in the oracle, its risk parameters in the risk model, its collateral entry and
    /// its isolated debt class here, as one call. The first price must be readable.
    function listAsset(
        EngineState storage s,
        Peers memory peers,
        address asset,
        IVaultEngineTypes.Listing calldata listing
    ) external {
        if (asset == address(0) || asset == Ledger.CROSS_CLASS) revert IKeelErrors.ZeroAddress();
        if (asset == address(peers.kusd)) revert IVaultEngineTypes.AssetNotListable(asset);
        if (s.collaterals[asset].listed) revert IKeelErrors.AssetAlreadyListed(asset);
        _checkSupplyCap(listing.engine.supplyCap);
        peers.oracle.setFeed(asset, listing.feed);
        peers.risk.listAsset(asset, listing.risk, listing.correlations);
        peers.oracle.getPrice(asset);
        s.collaterals[asset] = Collateral({supplyCap: uint128(listing.engine.supplyCap), total: 0, listed: true});
        createClass(s, asset, listing.engine.stabilityFee, listing.engine.debtCeiling);
        emit IVaultEngineTypes.AssetListed(asset, listing.engine);
    }

    /// @notice A new debt class with a fresh accumulator (RAY).
    function createClass(EngineState storage s, address classKey, uint256 stabilityFee, uint256 debtCeiling) public {
        _checkStabilityFee(stabilityFee);
        _checkDebtCeiling(debtCeiling);
        s.classes[classKey] = IVaultEngineTypes.DebtClass({
            rate: KeelMath.RAY,
            normDebt: 0,
            updatedAt: uint40(block.timestamp),
            stabilityFee: uint104(stabilityFee),
            debtCeiling: uint128(debtCeiling)
        });
        emit IVaultEngineTypes.StabilityFeeSet(classKey, stabilityFee);
        emit IVaultEngineTypes.DebtCeilingSet(classKey, debtCeiling);
    }

    /// @notice Accrues the class at its old fee, then sets the new one [ray per second].
    function setStabilityFee(EngineState storage s, address classKey, uint256 stabilityFee) external {
        IVaultEngineTypes.DebtClass storage c = s.requireClass(classKey);
        _checkStabilityFee(stabilityFee);
        if (stabilityFee == c.stabilityFee) revert IKeelErrors.NoChange();
        s.accrue(classKey);
        c.stabilityFee = uint104(stabilityFee);
        emit IVaultEngineTypes.StabilityFeeSet(classKey, stabilityFee);
    }

    function setDebtCeiling(EngineState storage s, address classKey, uint256 debtCeiling) external {
        IVaultEngineTypes.DebtClass storage c = s.requireClass(classKey);
        _checkDebtCeiling(debtCeiling);
        if (debtCeiling == c.debtCeiling) revert IKeelErrors.NoChange();
        c.debtCeiling = uint128(debtCeiling);
        emit IVaultEngineTypes.DebtCeilingSet(classKey, debtCeiling);
    }

    function setSupplyCap(EngineState storage s, address asset, uint256 supplyCap) external {
        Collateral storage c = s.requireListed(asset);
        _checkSupplyCap(supplyCap);
        if (supplyCap == c.supplyCap) revert IKeelErrors.NoChange();
        c.supplyCap = uint128(supplyCap);
        emit IVaultEngineTypes.SupplyCapSet(asset, supplyCap);
    }

    /// @dev The caller rejects a no-op (the constructor sets it from nothing).
    function setGlobalDebtCeiling(EngineState storage s, uint256 debtCeiling) public {
        _checkDebtCeiling(debtCeiling);
        s.globalDebtCeiling = uint128(debtCeiling);
        emit IVaultEngineTypes.GlobalDebtCeilingSet(debtCeiling);
    }

    /// @dev The caller rejects a no-op.
    function setDust(EngineState storage s, uint256 dust) public {
        if (dust > MAX_DUST) revert IKeelErrors.InvalidParameter("dust", dust);
        s.dust = uint88(dust);
        emit IVaultEngineTypes.DustSet(dust);
    }

    /// @dev The caller rejects a no-op. criticalHF must keep (1 + ℓ)(1 − hm) ≤ criticalHF for every listed asset
    /// (`risk.checkCriticalHF`; skipped while the risk model is not deployed yet, at the engine's construction).
    function setLiquidationParams(EngineState storage s, IRiskModel risk, IVaultEngineTypes.LiquidationParams memory p)
        public
    {
        if (p.gracePeriod > MAX_GRACE_PERIOD) revert IKeelErrors.InvalidParameter("gracePeriod", p.gracePeriod);
        if (p.criticalHF < MIN_CRITICAL_HF || p.criticalHF >= KeelMath.WAD) {
            revert IKeelErrors.InvalidParameter("criticalHF", p.criticalHF);
        }
        if (p.targetHF <= KeelMath.WAD || p.targetHF > MAX_TARGET_HF) {
            revert IKeelErrors.InvalidParameter("targetHF", p.targetHF);
        }
        if (p.closeFactor == 0 || p.closeFactor > KeelMath.WAD) {
            revert IKeelErrors.InvalidParameter("closeFactor", p.closeFactor);
        }
        if (p.protocolShare > KeelMath.WAD) revert IKeelErrors.InvalidParameter("protocolShare", p.protocolShare);
        if (address(risk).code.length != 0) risk.checkCriticalHF(p.criticalHF);
        s.gracePeriod = uint32(p.gracePeriod);
        s.criticalHF = uint64(p.criticalHF);
        s.targetHF = uint64(p.targetHF);
        s.closeFactor = uint64(p.closeFactor);
        s.protocolShare = uint64(p.protocolShare);
        emit IVaultEngineTypes.LiquidationParamsSet(p);
    }

    function _checkStabilityFee(uint256 stabilityFee) private pure {
        if (stabilityFee < KeelMath.RAY || stabilityFee > MAX_STABILITY_FEE) {
            revert IKeelErrors.InvalidParameter("stabilityFee", stabilityFee);
        }
    }

    function _checkDebtCeiling(uint256 debtCeiling) private pure {
        if (debtCeiling > MAX_DEBT_CEILING) revert IKeelErrors.InvalidParameter("debtCeiling", debtCeiling);
    }

    function _checkSupplyCap(uint256 supplyCap) private pure {
        if (supplyCap > type(uint120).max) revert IKeelErrors.InvalidParameter("supplyCap", supplyCap);
    }
}
