// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVaultEngine} from "../interfaces/IVaultEngine.sol";
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
        IVaultEngine.Mode mode;
        address[] assets;
        uint256[] amounts; // token decimals
        uint256[] values; // [wad USD], rounded down; 0 where the price failed
        uint256 value; // [wad USD] Σ values
        uint256 debt; // [wad] as of now
        uint256 hf; // [wad]; type(uint256).max without debt; 0 when not priced
        uint256 hfInitial; // [wad]; as hf
        bool priced; // false when any oracle read for this position failed
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
        (IVaultEngine.Mode mode,,) = engine.positionInfo(id);
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
        try engine.positionInfo(id) returns (IVaultEngine.Mode, address, uint256) {
            return true;
        } catch {
            return false;
        }
    }
}
