// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVaultEngine} from "../interfaces/IVaultEngine.sol";
import {IVaultEngineTypes, CROSS_CLASS_KEY} from "../interfaces/IVaultEngineTypes.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IPositionNFT} from "../interfaces/IPositionNFT.sol";
import {IPegStabilityModule} from "../interfaces/IPegStabilityModule.sol";
import {ISavingsKUSD} from "../interfaces/ISavingsKUSD.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title Lens
/// @notice Batched read-only views of positions for keepers and front ends, with debt as of now (post-accrual).
/// @dev A failing price never makes a batch revert: the affected position is returned with `priced = false`.
/// One call covers at most `MAX_BATCH` ids, which stays well under a 16.7M-gas `eth_call`.
contract Lens {
    /// @notice One position, valued at current oracle prices.
    struct PositionView {
        uint256 id;
        address owner;
        IVaultEngineTypes.Mode mode;
        address[] assets;
        uint256[] amounts; // token decimals
        uint256[] assetValues; // [wad USD], rounded down; 0 where the price failed
        uint256 value; // [wad USD] Σ assetValues
        uint256 debt; // [wad] as of now
        uint256 hf; // [wad] margin HF; type(uint256).max without debt; 0 when not `valued`
        uint256 hfInitial; // [wad]; type(uint256).max without debt; 0 unless `priced` (borrowing needs every price)
        bool priced; // false when any oracle read for this position failed
        bool valued; // the margin HF could be computed: every price, or a cross position with a failed holding
        // valued at zero (docs/spec.md §4 liveness), as margin calls and liquidation value it
    }

    /// @notice A position's liquidation status, for keepers.
    struct LiquidationStatus {
        uint256 id;
        IVaultEngineTypes.State state;
        uint256 deadline; // [s] of the open margin call, 0 if none
        uint256 hf; // [wad]
        uint256 debt; // [wad] as of now
        address[] assets;
        uint256[] maxRepay; // [wad] per asset: what one liquidation seizing that asset repays now (0 if not liquidatable)
        uint256[] seizable; // per asset, token decimals: what that liquidation seizes
        uint256[] protocolFee; // [wad] per asset: the kUSD the liquidator pays on top of maxRepay
        uint256 badDebt; // [wad] bad debt a liquidation would record now (insolvent positions)
    }

    /// @notice Health of a range of positions with debt, in parallel arrays (see `healthScan`).
    struct HealthScan {
        uint256[] ids; // ascending
        uint256[] hf; // [wad] margin HF; 0 where `valued` is false
        uint256[] debt; // [wad] as of now
        bool[] priced; // false where an oracle read for the position failed
        bool[] valued; // false where the margin HF could not be computed (see PositionView.valued)
    }

    /// @notice Everything the margin formula reads for every listed asset and debt class, in one call: what a keeper
    /// needs to value positions it mirrors from events with `src/math`, exactly as the engine would now.
    struct MarketView {
        uint256 timestamp; // [s] the block the values are for
        address[] assets; // listing order
        uint256[] prices; // [wad]; 0 where `priced` is false
        bool[] priced; // false where the oracle refused the price
        uint256[] units; // 10^decimals
        uint256[] sigmas; // [wad] σ in force
        uint256[] maintenanceHaircuts; // [wad]
        uint256[] initialHaircuts; // [wad]
        uint256[] liquidationPenalties; // ℓ [wad]: the bonus at HF ≤ fullPenaltyHF
        uint256[] minLiquidationPenalties; // ℓmin [wad]: the bonus at HF = 1
        uint256[] fullPenaltyHFs; // [wad]
        uint256[] correlation; // row-major over `assets` [wad], ones on the diagonal
        uint256 zMaintenance; // [wad]
        uint256 zInitial; // [wad]
        address[] classes; // each asset's isolated class, then the cross class
        uint256[] rates; // [ray] accumulators of `classes` as of now
        IVaultEngineTypes.LiquidationParams liquidation;
    }

    /// @notice The peg stability module and the savings vault in one read (docs/spec.md §10).
    struct PegView {
        address reserve; // the PSM's reserve token
        uint256 debt; // [wad] P: kUSD minted against the reserve
        uint256 debtCeiling; // [wad]
        uint256 feeIn; // [wad]
        uint256 feeOut; // [wad]
        uint256 freezeThreshold; // [wad] distance from $1 that freezes selling
        bool sellGemFrozen; // paused, depegged or unpriced
        bool sellGemPaused; // by the guardian
        uint256 savingsRate; // [ray] 1 + per-second rate
        uint256 savingsAssets; // [wad] kUSD in the vault (before the next drip)
        uint256 savingsShares; // sKUSD supply [1e24 per kUSD at the start]
        uint256 bufferSpendable; // [wad] what the surplus buffer can pay savings now
    }

    uint256 public constant MAX_BATCH = 500;

    IVaultEngine public immutable engine;
    IRiskModel public immutable risk;
    IPriceOracle public immutable oracle;
    IPositionNFT public immutable nft;
    IPegStabilityModule public immutable psm;
    ISavingsKUSD public immutable savings;

    /// @notice A batch spans more than `MAX_BATCH` ids.
    error BatchTooLarge(uint256 span, uint256 max);

    constructor(
        IVaultEngine engine_,
        IRiskModel risk_,
        IPriceOracle oracle_,
        IPositionNFT nft_,
        IPegStabilityModule psm_,
        ISavingsKUSD savings_
    ) {
        engine = engine_;
        risk = risk_;
        oracle = oracle_;
        nft = nft_;
        psm = psm_;
        savings = savings_;
    }

    /// @dev Everything shared by the positions of one batch, read once: each listed asset's price (or its
    /// failure), unit, σ and haircuts, the correlation matrix, the confidence multipliers, and each class's rate.
    struct Market {
        address[] assets;
        uint256[] prices; // [wad]
        bool[] priced;
        uint256[] units;
        uint256[] sigmas; // [wad]
        uint256[] maintenanceHaircuts; // [wad]
        uint256[] initialHaircuts; // [wad]
        uint256[] correlation; // row-major over `assets` [wad]
        uint256 zMaintenance; // [wad]
        uint256 zInitial; // [wad]
        address[] classes; // debt classes seen so far in the batch (first `classCount` entries)
        uint256[] rates; // [ray] their accumulators as of now
        uint256 classCount;
    }

    /// @notice The market data of every listed asset and class, as of now (see `MarketView`).
    function market() external view returns (MarketView memory v) {
        Market memory m = _market();
        uint256 n = m.assets.length;
        v.timestamp = block.timestamp;
        (v.assets, v.prices, v.priced, v.units, v.sigmas) = (m.assets, m.prices, m.priced, m.units, m.sigmas);
        (v.maintenanceHaircuts, v.initialHaircuts, v.correlation) =
            (m.maintenanceHaircuts, m.initialHaircuts, m.correlation);
        (v.zMaintenance, v.zInitial) = (m.zMaintenance, m.zInitial);
        (v.liquidationPenalties, v.minLiquidationPenalties, v.fullPenaltyHFs) =
            (new uint256[](n), new uint256[](n), new uint256[](n));
        v.classes = new address[](n + 1);
        v.rates = new uint256[](n + 1);
        for (uint256 i; i < n; ++i) {
            IRiskModel.AssetRiskParams memory r = risk.assetRisk(m.assets[i]);
            (v.liquidationPenalties[i], v.minLiquidationPenalties[i], v.fullPenaltyHFs[i]) =
                (r.liquidationPenalty, r.minLiquidationPenalty, r.fullPenaltyHF);
            v.classes[i] = m.assets[i];
            v.rates[i] = engine.currentRate(m.assets[i]);
        }
        v.classes[n] = CROSS_CLASS_KEY;
        v.rates[n] = engine.currentRate(v.classes[n]);
        v.liquidation = engine.liquidationParams();
    }

    /// @notice Every open position with `fromId ≤ id ≤ toId` (closed or unknown ids are skipped).
    function positions(uint256 fromId, uint256 toId) external view returns (PositionView[] memory views) {
        if (toId < fromId) return views;
        uint256 gap = toId - fromId;
        if (gap >= MAX_BATCH) revert BatchTooLarge(gap == type(uint256).max ? gap : gap + 1, MAX_BATCH);
        uint256 last = engine.lastPositionId();
        if (toId > last) toId = last;
        views = new PositionView[](gap + 1);
        uint256 found;
        Market memory m = _market();
        for (uint256 id = fromId; id <= toId; ++id) {
            if (!_exists(id)) continue;
            views[found++] = _view(id, m);
        }
        assembly ("memory-safe") {
            mstore(views, found)
        }
    }

    /// @notice Health of every open position with debt among ids `fromId` .. `toId`, in parallel arrays: the
    /// compact form of `positions` that keepers sweep with (no owner, no per-asset detail, cheap to decode).
    function healthScan(uint256 fromId, uint256 toId) external view returns (HealthScan memory scan) {
        if (toId < fromId) return scan;
        uint256 gap = toId - fromId;
        if (gap >= MAX_BATCH) revert BatchTooLarge(gap == type(uint256).max ? gap : gap + 1, MAX_BATCH);
        uint256 last = engine.lastPositionId();
        if (toId > last) toId = last;
        uint256 n = gap + 1;
        scan = HealthScan(new uint256[](n), new uint256[](n), new uint256[](n), new bool[](n), new bool[](n));
        uint256 found;
        Market memory m = _market();
        for (uint256 id = fromId; id <= toId; ++id) {
            (bool withDebt, PositionView memory v) = _health(id, m);
            if (!withDebt) continue;
            (scan.ids[found], scan.hf[found], scan.debt[found]) = (id, v.hf, v.debt);
            (scan.priced[found], scan.valued[found]) = (v.priced, v.valued);
            ++found;
        }
        (uint256[] memory ids, uint256[] memory hf, uint256[] memory debt) = (scan.ids, scan.hf, scan.debt);
        (bool[] memory priced, bool[] memory valued) = (scan.priced, scan.valued);
        assembly ("memory-safe") {
            mstore(ids, found)
            mstore(hf, found)
            mstore(debt, found)
            mstore(priced, found)
            mstore(valued, found)
        }
    }

    /// @notice The positions held by `owner` among ids `fromId` .. `fromId + scan − 1`, and the id to continue from
    /// (0 when the last id was reached).
    /// @dev PositionNFT is not enumerable (enumeration would add ~40k gas to every open); page through ids instead.
    function positionsOf(address owner, uint256 fromId, uint256 scan)
        external
        view
        returns (PositionView[] memory views, uint256 nextId)
    {
        if (scan == 0 || scan > MAX_BATCH) revert BatchTooLarge(scan, MAX_BATCH);
        uint256 last = engine.lastPositionId();
        views = new PositionView[](scan);
        uint256 found;
        Market memory m = _market();
        uint256 id = fromId == 0 ? 1 : fromId;
        uint256 end = id + scan;
        for (; id < end && id <= last; ++id) {
            if (!_exists(id) || nft.ownerOf(id) != owner) continue;
            views[found++] = _view(id, m);
        }
        assembly ("memory-safe") {
            mstore(views, found)
        }
        nextId = id > last ? 0 : id;
    }

    /// @notice One position. Reverts with `PositionNotFound` for an unknown or closed id.
    function position(uint256 id) external view returns (PositionView memory) {
        return _view(id, _market());
    }

    /// @notice Liquidation status of every open position with debt among ids `fromId` .. `toId`.
    /// @dev The maxima come from `engine.previewLiquidation`, the liquidation's own planning code. Positions that
    /// cannot be valued (an isolated price or every cross price fails) are skipped.
    function liquidationStatuses(uint256 fromId, uint256 toId)
        external
        view
        returns (LiquidationStatus[] memory out)
    {
        if (toId < fromId) return out;
        uint256 span = toId - fromId + 1;
        if (span > MAX_BATCH) revert BatchTooLarge(span, MAX_BATCH);
        uint256 last = engine.lastPositionId();
        if (toId > last) toId = last;
        out = new LiquidationStatus[](span);
        uint256 found;
        for (uint256 id = fromId; id <= toId; ++id) {
            if (!_exists(id) || engine.debtOf(id) == 0) continue;
            try this.liquidationStatus(id) returns (LiquidationStatus memory s) {
                out[found++] = s;
            } catch {}
        }
        assembly ("memory-safe") {
            mstore(out, found)
        }
    }

    /// @notice Liquidation status of position `id`: its state, and per asset the repayment and seizure one
    /// liquidation would make now. Reverts if a price fails.
    function liquidationStatus(uint256 id) public view returns (LiquidationStatus memory s) {
        s.id = id;
        s.debt = engine.debtOf(id);
        (s.state, s.deadline, s.hf) = engine.stateOf(id);
        s.assets = engine.collateralAssets(id);
        s.maxRepay = new uint256[](s.assets.length);
        s.seizable = new uint256[](s.assets.length);
        s.protocolFee = new uint256[](s.assets.length);
        if (s.state != IVaultEngineTypes.State.Liquidatable) return s;
        for (uint256 i; i < s.assets.length; ++i) {
            try engine.previewLiquidation(id, s.assets[i], type(uint256).max) returns (
                uint256 repaid, uint256 seized, uint256 fee, uint256 badDebt
            ) {
                (s.maxRepay[i], s.seizable[i], s.protocolFee[i]) = (repaid, seized, fee);
                s.badDebt = badDebt;
            } catch {}
        }
    }

    /// @notice Profit [wad kUSD, negative for a loss] of liquidating `id` by seizing `asset` now and selling the
    /// seized amount at `venuePrice` [wad kUSD per whole token], before gas.
    function profitAt(uint256 id, address asset, uint256 venuePrice) external view returns (int256) {
        (uint256 repaid, uint256 seized, uint256 fee,) = engine.previewLiquidation(id, asset, type(uint256).max);
        uint256 proceeds = KeelMath.valueDown(seized, venuePrice, risk.unitOf(asset));
        return int256(proceeds) - int256(repaid + fee);
    }

    /// @notice The peg's state: the PSM's debt, ceiling, fees and freeze, the savings rate and the vault's size.
    function peg() external view returns (PegView memory v) {
        v.reserve = psm.gem();
        (v.debt, v.debtCeiling) = (psm.debt(), psm.debtCeiling());
        (v.feeIn, v.feeOut, v.freezeThreshold) = (psm.feeIn(), psm.feeOut(), psm.freezeThreshold());
        (v.sellGemFrozen, v.sellGemPaused) = (psm.sellGemFrozen(), psm.sellGemPaused());
        v.savingsRate = savings.savingsRate();
        v.savingsAssets = IERC4626(address(savings)).totalAssets();
        v.savingsShares = IERC4626(address(savings)).totalSupply();
        v.bufferSpendable = savings.surplusBuffer().spendable();
    }

    /// @notice Current prices [wad] of `assets`; `ok[i]` is false where the oracle refused a price.
    function prices(address[] calldata assets) external view returns (uint256[] memory values, bool[] memory ok) {
        return _prices(assets);
    }

    function _market() internal view returns (Market memory m) {
        m.assets = risk.listedAssets();
        uint256 n = m.assets.length;
        (m.prices, m.priced) = _prices(m.assets);
        m.units = new uint256[](n);
        m.sigmas = new uint256[](n);
        m.maintenanceHaircuts = new uint256[](n);
        m.initialHaircuts = new uint256[](n);
        m.correlation = new uint256[](n * n);
        for (uint256 i; i < n; ++i) {
            IRiskModel.AssetRiskParams memory r = risk.assetRisk(m.assets[i]);
            (m.units[i], m.sigmas[i]) = (risk.unitOf(m.assets[i]), risk.sigma(m.assets[i]));
            (m.maintenanceHaircuts[i], m.initialHaircuts[i]) = (r.maintenanceHaircut, r.initialHaircut);
            for (uint256 j = i + 1; j < n; ++j) {
                m.correlation[i * n + j] = risk.correlation(m.assets[i], m.assets[j]);
                m.correlation[j * n + i] = m.correlation[i * n + j];
            }
            m.correlation[i * n + i] = KeelMath.WAD;
        }
        (m.zMaintenance, m.zInitial) = risk.confidence();
        m.classes = new address[](n + 1); // every isolated class and the cross class
        m.rates = new uint256[](n + 1);
    }

    /// @dev A position valued with the batch's market data and KeelMath: the same numbers the engine computes.
    function _view(uint256 id, Market memory m) internal view returns (PositionView memory v) {
        (IVaultEngineTypes.Mode mode, address classKey, uint256 normDebt) = engine.positionInfo(id);
        v.id = id;
        v.owner = nft.ownerOf(id);
        v.mode = mode;
        _value(v, classKey, normDebt, m);
    }

    /// @dev Fills assets, amounts, values, debt and health of `v` (whose id is set).
    function _value(PositionView memory v, address classKey, uint256 normDebt, Market memory m) internal view {
        uint256 id = v.id;
        v.assets = engine.collateralAssets(id);
        uint256 k = v.assets.length;
        v.amounts = new uint256[](k);
        v.assetValues = new uint256[](k);
        v.debt = normDebt == 0 ? 0 : KeelMath.toDebtUp(normDebt, _rate(m, classKey));
        v.priced = true;
        bool anyPriced;
        uint256[] memory idx = new uint256[](k);
        for (uint256 i; i < k; ++i) {
            v.amounts[i] = engine.collateralOf(id, v.assets[i]);
            idx[i] = _indexOf(m, v.assets[i]);
            if (!m.priced[idx[i]]) {
                v.priced = false;
                continue;
            }
            anyPriced = anyPriced || v.amounts[i] != 0;
            v.assetValues[i] = KeelMath.valueDown(v.amounts[i], m.prices[idx[i]], m.units[idx[i]]);
            v.value += v.assetValues[i];
        }
        // As RiskModel.marginInputs: a cross basket is valued without its failed holdings while any other has a price.
        v.valued = v.priced || (classKey == CROSS_CLASS_KEY && anyPriced);
        if (v.debt == 0) {
            (v.hf, v.hfInitial) = (KeelMath.INFINITE_HEALTH, KeelMath.INFINITE_HEALTH);
        } else if (v.valued) {
            (uint256 lm, uint256 li) = _losses(m, v, idx);
            v.hf = KeelMath.healthFactorDown(v.value, lm, v.debt);
            if (v.priced) v.hfInitial = KeelMath.healthFactorDown(v.value, li, v.debt);
        }
    }

    /// @dev `id` valued without its owner, when it exists and has debt.
    function _health(uint256 id, Market memory m) internal view returns (bool withDebt, PositionView memory v) {
        try engine.positionInfo(id) returns (IVaultEngineTypes.Mode mode, address classKey, uint256 normDebt) {
            if (normDebt == 0) return (false, v);
            (v.id, v.mode) = (id, mode);
            _value(v, classKey, normDebt, m);
            return (true, v);
        } catch {
            return (false, v);
        }
    }

    /// @dev The margin formula's losses (KeelMath.marginLossesUp, as the RiskModel computes them) over the batch's
    /// market data.
    function _losses(Market memory m, PositionView memory v, uint256[] memory idx)
        internal
        pure
        returns (uint256 lm, uint256 li)
    {
        uint256 k = idx.length;
        uint256[] memory rho = new uint256[](k * k);
        for (uint256 i; i < k; ++i) {
            for (uint256 j; j < k; ++j) {
                rho[i * k + j] = m.correlation[idx[i] * m.assets.length + idx[j]];
            }
        }
        return KeelMath.marginLossesUp(
            v.assetValues,
            _pick(m.sigmas, idx),
            _pick(m.maintenanceHaircuts, idx),
            _pick(m.initialHaircuts, idx),
            rho,
            m.zMaintenance,
            m.zInitial
        );
    }

    function _pick(uint256[] memory all, uint256[] memory idx) internal pure returns (uint256[] memory out) {
        out = new uint256[](idx.length);
        for (uint256 i; i < idx.length; ++i) {
            out[i] = all[idx[i]];
        }
    }

    function _indexOf(Market memory m, address asset) internal pure returns (uint256 i) {
        while (m.assets[i] != asset) ++i;
    }

    /// @dev The class's accumulator as of now, fetched once per class per batch.
    function _rate(Market memory m, address classKey) internal view returns (uint256 rate) {
        for (uint256 i; i < m.classCount; ++i) {
            if (m.classes[i] == classKey) return m.rates[i];
        }
        rate = engine.currentRate(classKey);
        (m.classes[m.classCount], m.rates[m.classCount]) = (classKey, rate);
        ++m.classCount;
    }

    function _prices(address[] memory assets) internal view returns (uint256[] memory values, bool[] memory ok) {
        values = new uint256[](assets.length);
        ok = new bool[](assets.length);
        for (uint256 i; i < assets.length; ++i) {
            try oracle.getPrice(assets[i]) returns (uint256 price) {
                (values[i], ok[i]) = (price, true);
            } catch {}
        }
    }

    function _exists(uint256 id) internal view returns (bool) {
        try engine.positionInfo(id) returns (IVaultEngineTypes.Mode, address, uint256) {
            return true;
        } catch {
            return false;
        }
    }
}
