// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IKeelErrors} from "../interfaces/IKeelErrors.sol";
import {IVaultEngineTypes} from "../interfaces/IVaultEngineTypes.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {KeelMath} from "../libraries/KeelMath.sol";
import {Margin} from "../libraries/Margin.sol";
import {EngineState, Ledger, Position} from "./Ledger.sol";

/// @title Liquidation
/// @notice Liquidation of docs/spec.md §4 over the VaultEngine's storage, in two halves: `plan` (a view) works out
/// what one liquidation would repay, seize, charge and write off, and `liquidate` books that plan. The engine's
/// `previewLiquidation` is `plan`; its `liquidate` is `liquidate` followed by the payments. An external library, so
/// the engine stays under the 24 KiB code size limit; it has no storage of its own.
library Liquidation {
    using SafeERC20 for IERC20;

    /// @notice The engine's collaborators a liquidation reads, passed in with its storage.
    struct Context {
        IRiskModel risk;
        IPriceOracle oracle;
    }

    /// @notice One liquidation, worked out before anything is written.
    struct Plan {
        uint256 id;
        address classKey;
        address asset; // the holding the liquidator chose to seize
        uint256 rate; // [ray] the class accumulator as of now
        uint256 normDebt; // [wad] the position's normalized debt after the liquidation
        uint256 removed; // [wad] normalized debt the liquidation removes from the class
        uint256 repaid; // [wad] debt repaid by the liquidator
        uint256 seized; // token decimals: amount of `asset` for the receiver
        uint256 fee; // [wad] protocol share of the bonus, paid by the liquidator in kUSD on top of `repaid`
        uint256 badDebt; // [wad] debt an insolvent position's collateral could not cover
        bool insolvent; // every holding is seized and the rest of the debt becomes bad debt
        bool clearsCall; // the position ends with HF ≥ 1 (or no debt): its margin call, if any, is cleared
        address[] assets; // the position's holdings
        uint256[] amounts; // token decimals: what each holding keeps after the liquidation
    }

    /// @dev A position as a liquidation sees it: accrued debt and every holding priced once.
    struct Book {
        uint256 debt; // [wad]
        IRiskModel.MarginInputs inputs; // every holding's price, σ, haircuts and bonus at `hf`, and ρ: read once
        uint256 coverable; // [wad] Σ what each priced holding pays for at its bonus; below debt means insolvent
        bool unpriced; // a cross holding's price failed: it is valued at zero and cannot be seized
        uint256 value; // [wad] V
        uint256 maintenanceLoss; // [wad] Lm
        uint256 hf; // [wad] before the liquidation
    }

    // ================================================================ plan (view)

    /// @notice What liquidating position `id` by seizing `asset`, repaying at most `maxRepay`, would do now. Reverts
    /// exactly as the liquidation would (not liquidatable, nothing to seize, maxRepay too low, HF not raised).
    function plan(EngineState storage s, Context memory ctx, uint256 id, address asset, uint256 maxRepay)
        public
        view
        returns (Plan memory p)
    {
        if (maxRepay == 0) revert IKeelErrors.ZeroAmount();
        Book memory b = _openBook(s, ctx, p, id);
        // Bad debt is booked only when every holding has a price: a holding whose feed fails is worth something the
        // book cannot see, so it stays with the position and the priced holdings are liquidated as if solvent.
        if (b.coverable < b.debt && !b.unpriced) return _planInsolvent(p, b, asset, maxRepay);
        _planSolvent(s, ctx, p, b, asset, maxRepay);
    }

    /// @dev Fills the plan's position fields, prices every holding once, and requires the position to be Liquidatable.
    function _openBook(EngineState storage s, Context memory ctx, Plan memory p, uint256 id)
        private
        view
        returns (Book memory b)
    {
        Position memory position = Ledger.requirePosition(s, id);
        (p.id, p.classKey, p.normDebt) = (id, position.classKey, position.normDebt);
        p.rate = Ledger.currentRate(s.classes[p.classKey]);
        b.debt = KeelMath.toDebtUp(p.normDebt, p.rate);
        if (b.debt == 0) revert IVaultEngineTypes.NotLiquidatable(id, KeelMath.INFINITE_HEALTH);
        (p.assets, p.amounts) = Ledger.holdings(s, id, p.classKey);
        // A cross holding whose price fails is valued at zero and cannot be seized; an isolated position's only price
        // must be available (both reads revert with the oracle's error).
        b.inputs = p.classKey == Ledger.CROSS_CLASS
            ? ctx.risk.marginInputs(p.assets, p.amounts)
            : _isolatedInputs(ctx.risk.liquidationTerms(p.classKey));
        IRiskModel.MarginInputs memory m = b.inputs;
        (b.value, b.maintenanceLoss) = _maintenance(p, m);
        b.hf = KeelMath.healthFactorDown(b.value, b.maintenanceLoss, b.debt);
        if (Ledger.stateAt(s, b.hf, s.callDeadline[id]) != IVaultEngineTypes.State.Liquidatable) {
            revert IVaultEngineTypes.NotLiquidatable(id, b.hf);
        }
        // From here on each holding's penalty is its bonus at this HF (§4.4): every step is priced where it starts.
        for (uint256 i; i < p.assets.length; ++i) {
            if (m.prices[i] == 0) {
                b.unpriced = true;
                continue;
            }
            m.penalties[i] = KeelMath.penaltyAtDown(b.hf, m.minPenalties[i], m.penalties[i], m.fullPenaltyHFs[i]);
            b.coverable += KeelMath.repayForDown(p.amounts[i], m.penalties[i], m.prices[i], m.units[i]);
        }
    }

    /// @dev One holding's inputs from its liquidation terms: a static call return, far cheaper to decode than
    /// `marginInputs`' arrays. Only maintenance is valued here, so the initial side repeats it.
    function _isolatedInputs(IRiskModel.LiquidationTerms memory t)
        private
        pure
        returns (IRiskModel.MarginInputs memory m)
    {
        m.prices = _one(t.price);
        m.units = _one(t.unit);
        m.sigmas = _one(t.sigma);
        m.maintenanceHaircuts = _one(t.maintenanceHaircut);
        m.initialHaircuts = m.maintenanceHaircuts;
        m.penalties = _one(t.penalty);
        m.minPenalties = _one(t.minPenalty);
        m.fullPenaltyHFs = _one(t.fullPenaltyHF);
        m.correlation = _one(KeelMath.WAD);
        (m.zMaintenance, m.zInitial) = (t.zMaintenance, t.zMaintenance);
    }

    function _one(uint256 x) private pure returns (uint256[] memory a) {
        a = new uint256[](1);
        a[0] = x;
    }

    /// @dev Insolvent position: every holding goes to the receiver for what it is worth net of its penalty; the rest
    /// of the debt becomes bad debt.
    function _planInsolvent(Plan memory p, Book memory b, address asset, uint256 maxRepay)
        private
        pure
        returns (Plan memory)
    {
        p.insolvent = true;
        p.asset = asset;
        p.repaid = b.coverable;
        if (p.repaid > maxRepay) revert IVaultEngineTypes.MaxRepayTooLow(p.id, p.repaid);
        p.removed = p.normDebt;
        p.normDebt = 0;
        p.badDebt = b.debt - p.repaid;
        for (uint256 i; i < p.assets.length; ++i) {
            if (p.assets[i] == asset) p.seized = p.amounts[i];
            p.amounts[i] = 0;
        }
        p.clearsCall = true;
        return p;
    }

    /// @dev The partial (or, under criticalHF or near dust, full) liquidation of a solvent position.
    function _planSolvent(
        EngineState storage s,
        Context memory ctx,
        Plan memory p,
        Book memory b,
        address asset,
        uint256 maxRepay
    ) private view {
        p.asset = asset;
        uint256 i = _indexOf(ctx, p, b, asset);
        bool fullDue;
        (p.repaid, p.seized, fullDue) = _size(s, p.id, b, i, p.amounts[i], maxRepay);
        // A few wei left of a holding can pay for debt yet round to no collateral: the liquidator would pay for
        // nothing and the position would not move. Refused; the other holdings (or all of it, insolvent) remain.
        if (p.seized == 0) revert IVaultEngineTypes.NothingToSeize(p.id, asset);
        p.removed = p.repaid == b.debt ? p.normDebt : KeelMath.toNormDebtDown(p.repaid, p.rate);
        p.normDebt -= p.removed;
        p.amounts[i] -= p.seized;
        p.fee = KeelMath.protocolFeeUp(p.repaid, b.inputs.penalties[i], s.protocolShare);
        if (p.repaid == b.debt) {
            p.clearsCall = true;
            return;
        }
        // When all of the debt is due (under criticalHF, or the rest would be dust) and one holding pays for less,
        // taking all of it may lower HF (the basket loses diversification) but moves the close-out on: each such
        // step empties an asset. Only a liquidation the liquidator capped with `maxRepay` must raise HF.
        bool closingOut = fullDue && p.repaid < maxRepay;
        uint256 hfAfter = _healthAfter(p, b);
        if (!closingOut && hfAfter <= b.hf) revert IVaultEngineTypes.LiquidationWouldLowerHealth(p.id, b.hf, hfAfter);
        p.clearsCall = hfAfter >= KeelMath.WAD;
    }

    /// @dev The chosen holding; one whose price fails cannot be seized, and the oracle says why.
    function _indexOf(Context memory ctx, Plan memory p, Book memory b, address asset)
        private
        view
        returns (uint256 i)
    {
        for (; i < p.assets.length; ++i) {
            if (p.assets[i] != asset || p.amounts[i] == 0) continue;
            if (b.inputs.prices[i] == 0) ctx.oracle.getPrice(asset);
            return i;
        }
        revert IVaultEngineTypes.NothingToSeize(p.id, asset);
    }

    /// @dev Repayment and seizure of a solvent position: what is due (`_due`), capped by what the holding pays for and
    /// by `maxRepay`.
    /// A step capped by the holding takes all of it and may leave less than the dust (M-1): the position is solvent,
    /// so its other holdings pay for the rest and the next call, which owes all of a sub-dust debt, clears it. Only
    /// the liquidator's own `maxRepay` may never leave a remainder under the dust: it stops at exactly the dust.
    /// `fullDue`: all of the debt was due, before the caps.
    function _size(EngineState storage s, uint256 id, Book memory b, uint256 i, uint256 held, uint256 maxRepay)
        private
        view
        returns (uint256 repaid, uint256 seized, bool fullDue)
    {
        IRiskModel.MarginInputs memory m = b.inputs;
        uint256 debt = b.debt;
        uint256 due = _due(s, b, i);
        repaid = Math.min(due, KeelMath.repayForDown(held, m.penalties[i], m.prices[i], m.units[i]));
        if (maxRepay < repaid) {
            uint256 dust = s.dust;
            uint256 limited = debt - maxRepay < dust ? (debt > dust ? debt - dust : 0) : maxRepay;
            if (limited == 0) revert IVaultEngineTypes.MaxRepayTooLow(id, repaid);
            repaid = limited;
        }
        if (repaid == 0) revert IVaultEngineTypes.NotLiquidatable(id, b.hf);
        seized = Math.min(KeelMath.seizeDown(repaid, m.penalties[i], m.prices[i], m.units[i]), held);
        fullDue = due == debt;
    }

    /// @dev What is due when seizing holding `i`: the repayment that brings HF to targetHF, within the close factor;
    /// all of the debt under criticalHF or when the rest would be dust.
    function _due(EngineState storage s, Book memory b, uint256 i) private view returns (uint256 due) {
        uint256 debt = b.debt;
        if (b.hf < s.criticalHF) return debt;
        uint256 factor = Margin.maintenanceFactor(b.inputs, i);
        due = KeelMath.targetRepayDown(s.targetHF, debt, b.value, b.maintenanceLoss, b.inputs.penalties[i], factor);
        due = Math.min(due, KeelMath.mulWadDown(debt, s.closeFactor));
        if (debt - due < s.dust) due = debt;
    }

    /// @dev HF after a partial liquidation, from the same inputs (prices do not move within the transaction). With no
    /// priced holding left (the rest all have failing feeds) it counts as 0: the position waits for its feeds.
    function _healthAfter(Plan memory p, Book memory b) private pure returns (uint256) {
        if (b.unpriced && !_pricedLeft(p, b)) return 0;
        (uint256 value, uint256 loss) = _maintenance(p, b.inputs);
        return KeelMath.healthFactorDown(value, loss, KeelMath.toDebtUp(p.normDebt, p.rate));
    }

    /// @dev V and Lm of the plan's holdings at `m` (Margin.valuation). One holding takes the closed form directly:
    /// L = V × max(zm σ, hm) is what Margin.valuation computes for it, without the basket's arrays.
    function _maintenance(Plan memory p, IRiskModel.MarginInputs memory m)
        private
        pure
        returns (uint256 value, uint256 loss)
    {
        if (p.amounts.length == 1) {
            value = KeelMath.valueDown(p.amounts[0], m.prices[0], m.units[0]);
            return (value, KeelMath.lossAtFactorUp(value, Margin.maintenanceFactor(m, 0)));
        }
        IRiskModel.Valuation memory v = Margin.valuation(m, p.amounts);
        return (v.value, v.maintenanceLoss);
    }

    function _pricedLeft(Plan memory p, Book memory b) private pure returns (bool) {
        for (uint256 i; i < p.assets.length; ++i) {
            if (p.amounts[i] != 0 && b.inputs.prices[i] != 0) return true;
        }
        return false;
    }

    // ================================================================ book (writes)

    /// @notice Plans the liquidation, then books it: debt first, then collateral, bad debt and the margin call. An
    /// insolvent position's holdings other than `asset` go to `receiver` here; the engine pays the rest (§4).
    /// @dev The engine accrues the position's class first, so the plan's rate is the stored one.
    /// @return repaid [wad] debt repaid.
    /// @return seized Amount of `asset` for the receiver (token decimals).
    /// @return fee [wad] the protocol's share of the penalty.
    /// @return badDebt [wad] debt written off.
    function liquidate(
        EngineState storage s,
        Context memory ctx,
        uint256 id,
        address asset,
        uint256 maxRepay,
        address receiver
    ) external returns (uint256 repaid, uint256 seized, uint256 fee, uint256 badDebt) {
        Plan memory p = plan(s, ctx, id, asset, maxRepay);
        Ledger.removeClassDebt(s, p.classKey, p.rate, p.removed);
        s.positions[id].normDebt = uint96(p.normDebt);
        if (p.insolvent) {
            _seizeAll(s, p, receiver);
            s.badDebt += p.badDebt;
        } else {
            uint256 left = Ledger.takeCollateral(s, id, p.classKey, asset, p.seized);
            emit IVaultEngineTypes.PositionUpdated(id, IVaultEngineTypes.Operation.Liquidate, asset, left, p.normDebt);
        }
        if (p.clearsCall) Ledger.clearCallIfOpen(s, id);
        return (p.repaid, p.seized, p.fee, p.badDebt);
    }

    /// @dev Takes every holding of an insolvent position; sends all but the chosen asset to `receiver`.
    function _seizeAll(EngineState storage s, Plan memory p, address receiver) private {
        (address[] memory assets, uint256[] memory amounts) = Ledger.holdings(s, p.id, p.classKey);
        for (uint256 i; i < assets.length; ++i) {
            uint256 amount = amounts[i];
            if (amount == 0) continue;
            Ledger.takeCollateral(s, p.id, p.classKey, assets[i], amount);
            emit IVaultEngineTypes.PositionUpdated(p.id, IVaultEngineTypes.Operation.Liquidate, assets[i], 0, 0);
            if (assets[i] != p.asset) IERC20(assets[i]).safeTransfer(receiver, amount);
        }
    }
}
