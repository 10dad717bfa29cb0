// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "../interfaces/IKeelErrors.sol";
import {IVaultEngineTypes, CROSS_CLASS_KEY} from "../interfaces/IVaultEngineTypes.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @dev A position as stored: one slot. `classKey` is the isolated asset or CROSS_CLASS; zero means no position.
struct Position {
    address classKey; // debt class, which also fixes the mode
    uint96 normDebt; // [wad] debt / rate of the class
}

/// @dev Per-asset collateral bookkeeping: one slot.
struct Collateral {
    uint128 supplyCap; // token decimals
    uint120 total; // token decimals: Σ over positions
    bool listed;
}

/// @dev Everything the VaultEngine stores, in one struct so that the Liquidation library it calls works on the
/// same storage (docs/spec.md §7). Accounting (§6): `globalDebt` is kept equal to Σ_class ceil(normDebt × rate) at
/// each class's last accrual; every borrow adds at least what it mints, every repayment removes at most what it
/// burns, and accrual adds to `globalDebt` and `fees` alike. Hence kUSD supply ≤ Σ debt − fees + bad debt.
struct EngineState {
    mapping(uint256 id => Position) positions;
    mapping(uint256 id => mapping(address asset => uint256)) collateral; // token decimals
    mapping(uint256 id => address[]) basket; // cross positions: assets with a non-zero amount
    mapping(address asset => Collateral) collaterals;
    mapping(address classKey => IVaultEngineTypes.DebtClass) classes;
    mapping(uint256 id => uint256) callDeadline; // [s]; 0 = no open call
    // A full word: at the maximum fee over decades, debt outgrows 128 bits.
    uint256 globalDebt; // [wad] Σ_class ceil(normDebt × rate) at last accrual
    // Fees share a slot with the id counter, which is never zero once a position exists: accrual never pays for
    // re-dirtying a zero slot after fees are collected. 192 bits hold 6e39 kUSD.
    uint64 lastId;
    uint192 fees; // [wad] accrued, not yet collected
    // What a borrow reads besides its position and class: one slot.
    uint128 globalDebtCeiling; // [wad]
    uint88 dust; // [wad]
    bool paused;
    uint32 gracePeriod; // [s]
    // What a liquidation reads: one slot.
    uint64 criticalHF; // [wad]
    uint64 targetHF; // [wad]
    uint64 closeFactor; // [wad]
    uint64 protocolShare; // [wad]
    uint256 badDebt; // [wad] uncovered
}

/// @title Ledger
/// @notice The engine's bookkeeping rules over `EngineState`, shared by the VaultEngine and its Liquidation library:
/// each pair of opposite operations (add/remove class debt, add/remove a basket asset) side by side.
library Ledger {
    /// @notice Debt class of every cross position.
    address internal constant CROSS_CLASS = CROSS_CLASS_KEY;
    uint256 internal constant MAX_CROSS_ASSETS = 8;

    // ---------------------------------------------------------------- positions

    /// @dev The stored position; reverts `PositionNotFound` for an id never opened or closed.
    function requirePosition(EngineState storage s, uint256 id) internal view returns (Position memory p) {
        p = s.positions[id];
        if (p.classKey == address(0)) revert IVaultEngineTypes.PositionNotFound(id);
    }

    /// @dev A listed asset's collateral entry; reverts `AssetNotListed` otherwise.
    function requireListed(EngineState storage s, address asset) internal view returns (Collateral storage c) {
        c = s.collaterals[asset];
        if (!c.listed) revert IKeelErrors.AssetNotListed(asset);
    }

    /// @dev The position's assets and amounts: one entry for isolated positions, the basket for cross ones.
    function holdings(EngineState storage s, uint256 id, address classKey)
        internal
        view
        returns (address[] memory assets, uint256[] memory amounts)
    {
        if (classKey == CROSS_CLASS) {
            assets = s.basket[id];
        } else {
            assets = new address[](1);
            assets[0] = classKey;
        }
        amounts = new uint256[](assets.length);
        for (uint256 i; i < assets.length; ++i) {
            amounts[i] = s.collateral[id][assets[i]];
        }
    }

    /// @dev A cross basket lists each asset it holds once, at most MAX_CROSS_ASSETS of them.
    function addToBasket(EngineState storage s, uint256 id, address asset) internal {
        address[] storage basket = s.basket[id];
        if (basket.length == MAX_CROSS_ASSETS) revert IVaultEngineTypes.TooManyAssets(id);
        basket.push(asset);
    }

    /// @dev Swap-and-pop: the basket's order is not meaningful.
    function removeFromBasket(EngineState storage s, uint256 id, address asset) internal {
        address[] storage basket = s.basket[id];
        uint256 last = basket.length - 1;
        for (uint256 i; i <= last; ++i) {
            if (basket[i] == asset) {
                basket[i] = basket[last];
                basket.pop();
                return;
            }
        }
    }

    /// @dev Removes `amount` of `asset` from position `id` (and the asset from a cross basket once it is empty).
    /// @return left What the position still holds (token decimals).
    function takeCollateral(EngineState storage s, uint256 id, address classKey, address asset, uint256 amount)
        internal
        returns (uint256 left)
    {
        left = s.collateral[id][asset] - amount;
        s.collateral[id][asset] = left;
        s.collaterals[asset].total -= uint120(amount);
        if (classKey == CROSS_CLASS && left == 0) removeFromBasket(s, id, asset);
    }

    // ---------------------------------------------------------------- debt classes

    /// @dev Brings `classKey` up to now: rate × fee^dt, adding the class's new debt to fees and global debt.
    /// @return rate [ray] the class accumulator as of now.
    function accrue(EngineState storage s, address classKey) internal returns (uint256 rate) {
        IVaultEngineTypes.DebtClass storage c = s.classes[classKey];
        rate = c.rate;
        uint256 elapsed = block.timestamp - c.updatedAt;
        if (elapsed == 0) return rate;
        uint256 next = KeelMath.accrueRateUp(rate, c.stabilityFee, elapsed);
        c.updatedAt = uint40(block.timestamp);
        if (next == rate) return rate;
        c.rate = next;
        uint256 normDebt = c.normDebt;
        if (normDebt != 0) {
            uint256 added = KeelMath.toDebtUp(normDebt, next) - KeelMath.toDebtUp(normDebt, rate);
            s.fees += SafeCast.toUint192(added);
            s.globalDebt += added;
            emit IVaultEngineTypes.Accrued(classKey, next, added);
        }
        rate = next;
    }

    /// @dev An existing debt class (a listed asset or the cross class); reverts `AssetNotListed` otherwise.
    function requireClass(EngineState storage s, address classKey)
        internal
        view
        returns (IVaultEngineTypes.DebtClass storage c)
    {
        c = s.classes[classKey];
        if (c.rate == 0) revert IKeelErrors.AssetNotListed(classKey);
    }

    /// @dev The class's accumulator as of now, without writing it.
    function currentRate(IVaultEngineTypes.DebtClass memory c) internal view returns (uint256) {
        return KeelMath.accrueRateUp(c.rate, c.stabilityFee, block.timestamp - c.updatedAt);
    }

    /// @dev Adds normalized debt to `classKey`, enforcing its ceiling and the global one.
    function addClassDebt(EngineState storage s, address classKey, uint256 rate, uint256 added) internal {
        IVaultEngineTypes.DebtClass storage c = s.classes[classKey];
        uint256 before = c.normDebt;
        uint256 classDebt = KeelMath.toDebtUp(before + added, rate);
        if (classDebt > c.debtCeiling) revert IVaultEngineTypes.DebtCeilingExceeded(classKey, classDebt, c.debtCeiling);
        uint256 global = s.globalDebt + classDebt - KeelMath.toDebtUp(before, rate);
        uint256 ceiling = s.globalDebtCeiling;
        if (global > ceiling) revert IVaultEngineTypes.DebtCeilingExceeded(address(0), global, ceiling);
        c.normDebt = uint112(before + added);
        s.globalDebt = global;
    }

    /// @dev The mirror of `addClassDebt`: removes at most what the repayment burns (rounding in the protocol's favour).
    function removeClassDebt(EngineState storage s, address classKey, uint256 rate, uint256 removed) internal {
        IVaultEngineTypes.DebtClass storage c = s.classes[classKey];
        uint256 before = c.normDebt;
        s.globalDebt -= KeelMath.toDebtUp(before, rate) - KeelMath.toDebtUp(before - removed, rate);
        c.normDebt = uint112(before - removed);
    }

    // ---------------------------------------------------------------- margin state

    /// @dev The margin state of docs/spec.md §4 for health `hf` and call deadline `deadline` (0 = no call).
    function stateAt(EngineState storage s, uint256 hf, uint256 deadline)
        internal
        view
        returns (IVaultEngineTypes.State)
    {
        if (hf < s.criticalHF) return IVaultEngineTypes.State.Liquidatable;
        if (hf >= KeelMath.WAD) return IVaultEngineTypes.State.Safe;
        if (deadline == 0) return IVaultEngineTypes.State.Callable;
        return block.timestamp >= deadline ? IVaultEngineTypes.State.Liquidatable : IVaultEngineTypes.State.Called;
    }

    /// @dev A healthy position (or one without debt) keeps no call open.
    function clearCallIfOpen(EngineState storage s, uint256 id) internal {
        if (s.callDeadline[id] != 0) clearCall(s, id);
    }

    function clearCall(EngineState storage s, uint256 id) internal {
        delete s.callDeadline[id];
        emit IVaultEngineTypes.MarginCallCleared(id);
    }
}
