// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVaultEngine} from "../interfaces/IVaultEngine.sol";
import {IVaultEngineTypes} from "../interfaces/IVaultEngineTypes.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IPositionNFT} from "../interfaces/IPositionNFT.sol";
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
        uint256[] values; // [wad USD], rounded down; 0 where the price failed
        uint256 value; // [wad USD] Σ values
        uint256 debt; // [wad] as of now
        uint256 hf; // [wad]; type(uint256).max without debt; 0 when not priced
        uint256 hfInitial; // [wad]; as hf
        bool priced; // false when any oracle read for this position failed
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

    uint256 public constant MAX_BATCH = 500;

    IVaultEngine public immutable engine;
    IRiskModel public immutable risk;
    IPriceOracle public immutable oracle;
    IPositionNFT public immutable nft;

    /// @notice A batch spans more than `MAX_BATCH` ids.
    error BatchTooLarge(uint256 span, uint256 max);

    constructor(IVaultEngine engine_, IRiskModel risk_, IPriceOracle oracle_, IPositionNFT nft_) {
        engine = engine_;
        risk = risk_;
        oracle = oracle_;
        nft = nft_;
    }

    /// @notice Every open position with `fromId ≤ id ≤ toId` (closed or unknown ids are skipped).
    function positions(uint256 fromId, uint256 toId) external view returns (PositionView[] memory views) {
        if (toId < fromId) return views;
        uint256 span = toId - fromId + 1;
        if (span > MAX_BATCH) revert BatchTooLarge(span, MAX_BATCH);
        uint256 last = engine.lastPositionId();
        if (toId > last) toId = last;
        views = new PositionView[](span);
        uint256 found;
        for (uint256 id = fromId; id <= toId; ++id) {
            if (!_exists(id)) continue;
            views[found++] = position(id);
        }
        assembly ("memory-safe") {
            mstore(views, found)
        }
    }

    /// @notice The positions held by `owner` among ids `fromId` .. `fromId + scan − 1`, and the id to continue from.
    /// @dev PositionNFT is not enumerable (enumeration would add ~40k gas to every open); page through ids instead.
    function positionsOf(address owner, uint256 fromId, uint256 scan)
        external
        view
        returns (PositionView[] memory views, uint256 nextId)
    {
        if (scan > MAX_BATCH) revert BatchTooLarge(scan, MAX_BATCH);
        uint256 last = engine.lastPositionId();
        views = new PositionView[](scan);
        uint256 found;
        uint256 id = fromId == 0 ? 1 : fromId;
        uint256 end = id + scan;
        for (; id < end && id <= last; ++id) {
            if (!_exists(id) || nft.ownerOf(id) != owner) continue;
            views[found++] = position(id);
        }
        assembly ("memory-safe") {
            mstore(views, found)
        }
        nextId = id > last ? 0 : id;
    }

    /// @notice One position. Reverts with `PositionNotFound` for an unknown or closed id.
    function position(uint256 id) public view returns (PositionView memory v) {
        (IVaultEngineTypes.Mode mode,,) = engine.positionInfo(id);
        v.id = id;
        v.owner = nft.ownerOf(id);
        v.mode = mode;
        v.assets = engine.collateralAssets(id);
        v.amounts = new uint256[](v.assets.length);
        v.values = new uint256[](v.assets.length);
        v.debt = engine.debtOf(id);
        v.priced = true;
        for (uint256 i; i < v.assets.length; ++i) {
            v.amounts[i] = engine.collateralOf(id, v.assets[i]);
            try oracle.getPrice(v.assets[i]) returns (uint256 price) {
                v.values[i] = KeelMath.valueDown(v.amounts[i], price, risk.unitOf(v.assets[i]));
                v.value += v.values[i];
            } catch {
                v.priced = false;
            }
        }
        if (v.debt == 0) {
            (v.hf, v.hfInitial) = (KeelMath.INFINITE_HEALTH, KeelMath.INFINITE_HEALTH);
        } else if (v.priced) {
            (v.hf, v.hfInitial) = engine.healthFactor(id);
        }
    }

    /// @notice Liquidation status of every open position with debt among ids `fromId` .. `toId`.
    /// @dev Not a view: the maxima come from `engine.previewLiquidation`, which runs and undoes each liquidation.
    /// Call it with eth_call. Positions whose price fails are skipped.
    function liquidationStatuses(uint256 fromId, uint256 toId) external returns (LiquidationStatus[] memory out) {
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
    function liquidationStatus(uint256 id) public returns (LiquidationStatus memory s) {
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
    function profitAt(uint256 id, address asset, uint256 venuePrice) external returns (int256) {
        (uint256 repaid, uint256 seized, uint256 fee,) = engine.previewLiquidation(id, asset, type(uint256).max);
        uint256 proceeds = KeelMath.valueDown(seized, venuePrice, risk.unitOf(asset));
        return int256(proceeds) - int256(repaid + fee);
    }

    /// @notice Current prices [wad] of `assets`; `ok[i]` is false where the oracle refused a price.
    function prices(address[] calldata assets) external view returns (uint256[] memory values, bool[] memory ok) {
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
