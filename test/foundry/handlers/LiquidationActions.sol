// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {vm} from "../utils/Vm.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {IRiskModel} from "../../../contracts/interfaces/IRiskModel.sol";
import {ISwapVenue} from "../../../contracts/interfaces/ISwapVenue.sol";
import {FlashLiquidator} from "../../../contracts/periphery/FlashLiquidator.sol";
import {KeelMath} from "../../../contracts/libraries/KeelMath.sol";

/// @title LiquidationActions
/// @notice Margin calls and clears, liquidations (direct with the liquidator's kUSD, with a receiver callback, and
/// capital-free through the FlashLiquidator and the AMM, one position or a batch), bad debt and its cover, fee
/// collection, flash mints.
abstract contract LiquidationActions is HandlerBase {
    /// @notice Anyone margin-calls a position (succeeds only on a Callable one).
    function marginCall(uint256 idSeed, uint256 callerSeed) external {
        uint256 id = _positionIn(State.Callable, idSeed);
        if (id == 0) return;
        vm.prank(_actor(callerSeed));
        try k.engine.marginCall(id) {
            delete healthySinceCall[id];
            _count("marginCall", true);
        } catch {
            _count("marginCall", false);
        }
        _observe();
    }

    /// @notice Anyone clears a call of a position back at HF ≥ 1.
    function clearMarginCall(uint256 idSeed) external {
        uint256 id = _position(idSeed);
        if (id == 0) return;
        vm.prank(_actor(idSeed / 7));
        try k.engine.clearMarginCall(id) {
            _count("clearMarginCall", true);
        } catch {
            _count("clearMarginCall", false);
        }
        _observe();
    }

    /// @notice An actor liquidates with its own kUSD, capped at a share of its balance; one time in three the
    /// seized collateral goes to a receiver contract called back before payment.
    function liquidate(uint256 idSeed, uint256 assetSeed, uint256 shareSeed, uint256 liquidatorSeed) external {
        uint256 id = _positionIn(State.Liquidatable, idSeed);
        if (id == 0) return;
        address liquidator = _actor(liquidatorSeed);
        uint256 balance = k.kusd.balanceOf(liquidator);
        if (balance == 0) return;
        address asset = _assetOf(id, assetSeed, false);
        uint256 maxRepay = KeelMath.mulWadDown(balance, _bound(shareSeed, 0.5e18, 0.95e18));
        if (maxRepay == 0) return;
        bool callback = shareSeed % 3 == 0;
        address receiver = callback ? address(k.receiver) : liquidator;
        Before memory b = _before(id);
        bool stale = _onStaleCall(id);
        vm.prank(liquidator);
        try k.engine.liquidate(id, asset, maxRepay, receiver, callback ? bytes("x") : bytes("")) returns (
            uint256 repaid, uint256 seized
        ) {
            uint256 fee = _settle(id, asset, liquidator, receiver, repaid, seized, b);
            if (!(k.kusd.balanceOf(liquidator) == balance - repaid - fee)) _violate("invariant_noActorRicher", "liquidator paid other than repaid + fee");
            if (stale) liquidationSucceededOnStaleCall = true;
            _count(callback ? "liquidate.callback" : "liquidate", true);
        } catch {
            _count(callback ? "liquidate.callback" : "liquidate", false);
        }
        _observe();
    }

    /// @notice A keeper liquidates capital-free: flash-mint, liquidate, sell on the AMM, repay, keep the profit. The
    /// repayment is capped at $1k–$20k (one time in four: the whole debt), so the sale fits the AMM's $500k pools.
    function flashLiquidate(uint256 idSeed, uint256 assetSeed, uint256 keeperSeed) external {
        uint256 id = _positionIn(State.Liquidatable, idSeed);
        if (id == 0) return;
        address keeper = _actor(keeperSeed);
        address asset = _assetOf(id, assetSeed, false);
        Before memory b = _before(id);
        bool stale = _onStaleCall(id);
        uint256 maxRepay = keeperSeed % 4 == 0 ? b.debt : _bound(keeperSeed >> 8, 1_000e18, 20_000e18);
        (uint256 badDebt, uint256 fee) = _preview(id, asset, maxRepay < b.debt ? maxRepay : b.debt);
        vm.prank(keeper);
        try k.flashLiquidator.liquidate(id, asset, maxRepay, ISwapVenue(address(k.amm)), 0) returns (
            uint256 profit
        ) {
            creditKusd[keeper] += int256(profit);
            _settleOwner(id, b, badDebt, fee);
            if (stale) liquidationSucceededOnStaleCall = true;
            _count("flashLiquidate", true);
        } catch {
            _count("flashLiquidate", false);
        }
        _observe();
    }

    /// @notice A keeper liquidates a batch capital-free (`FlashLiquidator.liquidateBatch`): 2–6 distinct open
    /// positions, Liquidatable ones preferred (any other is skipped by the batch and reported), one flash mint, one
    /// sale per asset on the AMM. Each repayment is capped as in `flashLiquidate`, so the sales fit the $500k pools.
    function batchFlashLiquidate(uint256 idSeed, uint256 countSeed, uint256 keeperSeed) external {
        (uint256[] memory picked, uint256 n) = _pickDistinct(idSeed, _bound(countSeed, 2, 6));
        if (n == 0) return;
        address keeper = _actor(keeperSeed);
        FlashLiquidator.Target[] memory targets = new FlashLiquidator.Target[](n);
        Before[] memory bs = new Before[](n);
        uint256[] memory badDebts = new uint256[](n);
        uint256[] memory fees = new uint256[](n);
        bool stale;
        for (uint256 j; j < n; ++j) {
            uint256 id = picked[j];
            uint256 seed = uint256(keccak256(abi.encode(keeperSeed, j)));
            bs[j] = _before(id);
            stale = stale || _onStaleCall(id);
            uint256 maxRepay = seed % 4 == 0 ? bs[j].debt : _bound(seed >> 8, 1_000e18, 20_000e18);
            targets[j] = FlashLiquidator.Target({id: id, asset: _assetOf(id, seed >> 128, false), maxRepay: maxRepay});
            (badDebts[j], fees[j]) = _preview(id, targets[j].asset, maxRepay < bs[j].debt ? maxRepay : bs[j].debt);
        }
        uint256[] memory held = _balancesOf(keeper);
        vm.prank(keeper);
        try k.flashLiquidator.liquidateBatch(targets, ISwapVenue(address(k.amm)), 0) returns (uint256 profit) {
            creditKusd[keeper] += int256(profit);
            // A sale the venue refused hands the asset to the keeper unsold: credit what arrived.
            uint256[] memory heldAfter = _balancesOf(keeper);
            for (uint256 i; i < assets.length; ++i) {
                credit[keeper][address(_token(i))] += int256(heldAfter[i]) - int256(held[i]);
            }
            // In target order, as the engine booked them: each fee reaches the surplus buffer before the next
            // position's bad debt is covered from it.
            uint256 surplus = bs[0].surplus;
            bool any;
            for (uint256 j; j < n; ++j) {
                if (k.engine.debtOf(targets[j].id) == bs[j].debt) continue; // skipped by the batch
                any = true;
                uint256 deficitBefore = ghostDeficit;
                bs[j].surplus = surplus;
                _settleOwner(targets[j].id, bs[j], badDebts[j], fees[j]);
                surplus = surplus + fees[j] - (deficitBefore + badDebts[j] - ghostDeficit);
            }
            if (stale && any) liquidationSucceededOnStaleCall = true;
            _count("batchFlashLiquidate", true);
        } catch {
            _count("batchFlashLiquidate", false);
        }
        _observe();
    }

    /// @notice An actor burns kUSD against the deficit.
    function coverDeficit(uint256 actorSeed, uint256 shareSeed) external {
        address actor = _actor(actorSeed);
        uint256 amount = KeelMath.mulWadDown(k.kusd.balanceOf(actor), _bound(shareSeed, 0.01e18, 1e18));
        if (amount == 0) return;
        vm.prank(actor);
        try k.engine.coverDeficit(amount) returns (uint256 covered) {
            ghostDeficit -= covered;
            creditKusd[actor] -= int256(covered);
            _count("coverDeficit", true);
        } catch {
            _count("coverDeficit", false);
        }
        _observe();
    }

    /// @notice Anyone collects the accrued fees into the surplus buffer.
    function collectFees() external {
        try k.engine.collectFees() {
            ++debtOps;
            _count("collectFees", true);
        } catch {
            _count("collectFees", false);
        }
        _observe();
    }

    /// @notice A flash mint of up to 1M kUSD by a borrower that repays, its fee paid by an actor.
    function flashMint(uint256 actorSeed, uint256 amountSeed) external {
        address actor = _actor(actorSeed);
        uint256 amount = _bound(amountSeed, 1e18, 1_000_000e18);
        uint256 fee = k.kusd.flashFee(address(k.kusd), amount);
        if (k.kusd.balanceOf(actor) < fee) return;
        if (fee != 0) {
            vm.prank(actor);
            k.kusd.transfer(address(k.flashBorrower), fee);
            creditKusd[actor] -= int256(fee);
        }
        try k.flashBorrower.flash(address(k.kusd), amount) {
            _count("flashMint", true);
        } catch {
            _count("flashMint", false);
        }
        _observe();
    }

    /// @notice A keeper's sweep: a call attempt on every position. An attempt on a position with an open call and
    /// HF ≥ 1 "sees" it healthy: that call may no longer make it Liquidatable without a fresh grace period
    /// (invariant_freshGraceAfterRecovery).
    function keeperSweep() external {
        for (uint256 j; j < ids.length; ++j) {
            uint256 id = ids[j];
            if (!isOpen[id]) continue;
            uint256 deadline = k.engine.callDeadline(id);
            (bool priced, uint256 hf,) = _health(id);
            bool seenHealthy = deadline != 0 && priced && hf >= KeelMath.WAD;
            (bool called,) = address(k.engine).call(abi.encodeCall(k.engine.marginCall, (id)));
            if (called) delete healthySinceCall[id];
            else if (seenHealthy && k.engine.callDeadline(id) == deadline) healthySinceCall[id] = deadline;
        }
        _count("keeperSweep", true);
        _observe();
    }

    // ---------------------------------------------------------------- settlement bookkeeping

    /// @dev Up to `count` distinct open positions, each drawn as `liquidate` draws one; `n` of them found.
    function _pickDistinct(uint256 seed, uint256 count) internal view returns (uint256[] memory picked, uint256 n) {
        picked = new uint256[](count);
        for (uint256 j; j < count; ++j) {
            uint256 id = _positionIn(State.Liquidatable, uint256(keccak256(abi.encode(seed, j))));
            if (id == 0) break;
            bool seen;
            for (uint256 i; i < n; ++i) {
                if (picked[i] == id) seen = true;
            }
            if (!seen) picked[n++] = id;
        }
    }

    /// @dev `who`'s wallet balance of every listed asset.
    function _balancesOf(address who) internal view returns (uint256[] memory out) {
        out = new uint256[](assets.length);
        for (uint256 i; i < assets.length; ++i) {
            out[i] = _token(i).balanceOf(who);
        }
    }

    struct Before {
        address owner;
        uint256 debt;
        uint256 deficit;
        uint256 surplus;
        address[] assets;
        uint256[] amounts;
        uint256 hf; // [wad] as the liquidation values it: the HF its bonus is priced at
    }

    /// @dev Bad debt and protocol fee of liquidating `id` for up to `maxRepay`, by the engine's own preview.
    function _preview(uint256 id, address asset, uint256 maxRepay) internal returns (uint256 badDebt, uint256 fee) {
        if (maxRepay == 0) return (0, 0);
        try k.engine.previewLiquidation(id, asset, maxRepay) returns (uint256, uint256, uint256 f, uint256 bad) {
            return (bad, f);
        } catch {
            return (0, 0);
        }
    }

    function _before(uint256 id) internal view returns (Before memory b) {
        b.owner = ghostOwner[id];
        b.debt = k.engine.debtOf(id);
        b.deficit = k.engine.deficit();
        b.surplus = k.kusd.balanceOf(address(k.surplus));
        b.assets = k.engine.collateralAssets(id);
        b.amounts = new uint256[](b.assets.length);
        for (uint256 j; j < b.assets.length; ++j) {
            b.amounts[j] = k.engine.collateralOf(id, b.assets[j]);
        }
        b.hf = _marginHealth(b);
    }

    /// @dev HF as a liquidation values the position (a cross holding whose price fails counts as zero); 0 when it
    /// cannot be valued at all.
    function _marginHealth(Before memory b) internal view returns (uint256) {
        if (b.debt == 0) return KeelMath.INFINITE_HEALTH;
        try k.risk.assessForMargin(b.assets, b.amounts) returns (IRiskModel.Valuation memory v) {
            return KeelMath.healthFactorDown(v.value, v.maintenanceLoss, b.debt);
        } catch {
            return 0;
        }
    }

    /// @dev Whether position `id` sits on a margin call that was open when it was seen at HF ≥ 1.
    function _onStaleCall(uint256 id) internal view returns (bool) {
        uint256 deadline = k.engine.callDeadline(id);
        if (deadline == 0 || healthySinceCall[id] != deadline) return false;
        (bool ok, uint256 hf,) = _health(id);
        return ok && hf >= k.engine.liquidationParams().criticalHF;
    }

    /// @dev Books a direct liquidation: the liquidator received `seized` of `asset` (and, insolvent, every other
    /// holding) and paid repaid + the protocol fee; the owner lost that collateral and that debt; bad debt went to
    /// the deficit, less what the surplus buffer covered.
    function _settle(
        uint256 id,
        address asset,
        address liquidator,
        address receiver,
        uint256 repaid,
        uint256 seized,
        Before memory b
    ) internal returns (uint256 fee) {
        bool insolvent = repaid < b.debt && k.engine.debtOf(id) == 0 && _emptied(id, b);
        fee = insolvent ? 0 : _protocolFee(asset, repaid, b.hf);
        creditKusd[liquidator] -= int256(repaid + fee);
        for (uint256 j; j < b.assets.length; ++j) {
            uint256 taken = b.amounts[j] - k.engine.collateralOf(id, b.assets[j]);
            uint256 expected = b.assets[j] == asset ? seized : (insolvent ? b.amounts[j] : 0);
            if (taken != expected) {
                _violate("invariant_noActorRicher", string.concat("liquidation of ", _s(id), " took other than it reported"));
            }
            if (receiver == liquidator) credit[liquidator][b.assets[j]] += int256(expected);
        }
        _settleOwner(id, b, insolvent ? b.debt - repaid : 0, fee);
    }

    /// @dev The protocol's share of the bonus `asset` pays at HF `hf` on `repaid` (docs/spec.md §4.4).
    function _protocolFee(address asset, uint256 repaid, uint256 hf) internal view returns (uint256) {
        IRiskModel.AssetRiskParams memory r = k.risk.assetRisk(asset);
        uint256 bonus = KeelMath.penaltyAtDown(hf, r.minLiquidationPenalty, r.liquidationPenalty, r.fullPenaltyHF);
        return KeelMath.protocolFeeUp(repaid, bonus, k.engine.liquidationParams().protocolShare);
    }

    function _emptied(uint256 id, Before memory b) internal view returns (bool) {
        for (uint256 j; j < b.assets.length; ++j) {
            if (k.engine.collateralOf(id, b.assets[j]) != 0) return false;
        }
        return true;
    }

    /// @dev The owner's side of any liquidation (collateral and debt as they changed on chain) and the deficit:
    /// `badDebt` joins it, then the surplus buffer (holding its balance before plus `fee`) covers what it can.
    function _settleOwner(uint256 id, Before memory b, uint256 badDebt, uint256 fee) internal {
        uint256 debtAfter = k.engine.debtOf(id);
        for (uint256 j; j < b.assets.length; ++j) {
            uint256 taken = b.amounts[j] - k.engine.collateralOf(id, b.assets[j]);
            if (_isActor(b.owner)) credit[b.owner][b.assets[j]] -= int256(taken);
        }
        if (_isActor(b.owner)) creditKusd[b.owner] += int256(b.debt - debtAfter);
        if (badDebt != 0) {
            ghostDeficit += badDebt;
            uint256 surplus = b.surplus + fee;
            ghostDeficit -= ghostDeficit < surplus ? ghostDeficit : surplus;
        }
        _debtChanged(id);
    }
}
