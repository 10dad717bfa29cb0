// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {VaultEngineBase} from "./VaultEngineBase.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IKeelUSD} from "../interfaces/IKeelUSD.sol";
import {IPositionNFT} from "../interfaces/IPositionNFT.sol";
import {ILiquidationReceiver} from "../interfaces/ILiquidationReceiver.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title LiquidationModule
/// @notice Margin calls and liquidation of docs/spec.md §4, run by the VaultEngine through DELEGATECALL on the engine's
/// own storage (the engine alone would exceed the 24 KiB contract size limit). The engine's wrappers hold the
/// reentrancy guard; see IVaultEngine for each function's specification.
/// @dev Called directly rather than through the engine, every entry point reverts with `OnlyDelegateCall`.
contract LiquidationModule is VaultEngineBase {
    using SafeERC20 for IERC20;

    /// @dev The outcome of one liquidation, booked before any token moves.
    struct Settlement {
        uint256 repaid; // [wad] debt repaid
        uint256 seized; // token decimals: amount of the chosen asset for the receiver
        uint256 fee; // [wad] protocol share of the penalty, paid by the liquidator in kUSD
        uint256 badDebt; // [wad] debt an insolvent position's collateral could not cover
    }

    /// @dev A position as a liquidation sees it: accrued debt and every holding priced once.
    struct Book {
        uint256 id;
        address classKey;
        uint256 normDebt; // [wad]
        uint256 rate; // [ray], accrued to now
        uint256 debt; // [wad]
        address[] assets;
        uint256[] amounts; // token decimals
        IRiskModel.LiquidationTerms[] terms; // per asset
        uint256 coverable; // [wad] Σ what each priced holding pays for at its penalty; below debt means insolvent
        bool unpriced; // a cross holding's price failed: it is valued at zero and cannot be seized
        uint256 value; // [wad] V
        uint256 maintenanceLoss; // [wad] Lm
        uint256 hf; // [wad] before the liquidation
    }

    address private immutable _self;

    /// @notice The module was called directly instead of through the engine.
    error OnlyDelegateCall();
    /// @notice Carries a preview's result out of the reverted frame (never seen by callers of the engine).
    error LiquidationPreview(uint256 repaid, uint256 seized, uint256 fee, uint256 badDebt);

    constructor(IKeelUSD kusd_, IPositionNFT nft_, IRiskModel risk_, IPriceOracle oracle_, address surplusBuffer_)
        VaultEngineBase(kusd_, nft_, risk_, oracle_, surplusBuffer_)
    {
        _self = address(this);
    }

    modifier onlyDelegateCall() {
        if (address(this) == _self) revert OnlyDelegateCall();
        _;
    }

    function marginCall(uint256 id) external onlyDelegateCall {
        Position memory p = _requirePosition(id);
        uint256 deadline = _callDeadline[id];
        uint256 hf = _accruedHealth(id, p);
        if (hf >= KeelMath.WAD) {
            // A call attempt that sees the position healthy again ends the old call (L-2): the next dip gets a fresh
            // grace period instead of the lapsed deadline.
            if (deadline == 0) revert NotCallable(id, hf);
            return _clearCall(id);
        }
        if (deadline != 0) revert AlreadyCalled(id, deadline);
        deadline = block.timestamp + _gracePeriod;
        _callDeadline[id] = deadline;
        emit MarginCalled(id, deadline);
    }

    function clearMarginCall(uint256 id) external onlyDelegateCall {
        Position memory p = _requirePosition(id);
        if (_callDeadline[id] == 0) revert NotCalled(id);
        uint256 hf = _accruedHealth(id, p);
        if (hf < KeelMath.WAD) revert StillUnhealthy(id, hf);
        _clearCall(id);
    }

    function liquidate(uint256 id, address asset, uint256 maxRepay, address receiver, bytes calldata data)
        external
        onlyDelegateCall
        returns (uint256 repaid, uint256 seized)
    {
        if (maxRepay == 0) revert ZeroAmount();
        if (receiver == address(0)) revert ZeroAddress();
        Settlement memory s = _settleLiquidation(id, asset, maxRepay, receiver);
        emit Liquidated(id, msg.sender, asset, s.repaid, s.seized, s.badDebt);

        if (s.seized != 0) IERC20(asset).safeTransfer(receiver, s.seized);
        if (data.length != 0) _callback(receiver, id, asset, s.seized, s.repaid + s.fee, data);
        kusd.burn(msg.sender, s.repaid + s.fee);
        if (s.fee != 0) kusd.mint(surplusBuffer, s.fee);
        if (s.badDebt != 0) _coverFromSurplus();
        return (s.repaid, s.seized);
    }

    function coverDeficit(uint256 amount) external onlyDelegateCall returns (uint256 covered) {
        if (amount == 0) revert ZeroAmount();
        if (_badDebt == 0) revert NoDeficit();
        covered = Math.min(amount, _badDebt);
        _badDebt -= covered;
        emit DeficitCovered(msg.sender, 0, covered);
        kusd.burn(msg.sender, covered);
    }

    /// @notice Books the liquidation exactly as `liquidate` would, then reverts with the result, so every write is
    /// undone. The engine turns that revert into return values (IVaultEngine.previewLiquidation).
    function previewLiquidation(uint256 id, address asset, uint256 maxRepay) external onlyDelegateCall {
        if (maxRepay == 0) revert ZeroAmount();
        Settlement memory s = _settleLiquidation(id, asset, maxRepay, address(this));
        revert LiquidationPreview(s.repaid, s.seized, s.fee, s.badDebt);
    }

    // ================================================================ internal

    /// @dev Checks, sizes and books a liquidation: debt first, then collateral. Insolvent positions send their
    /// other assets to `receiver` here; the caller sends `seized` of `asset`.
    function _settleLiquidation(uint256 id, address asset, uint256 maxRepay, address receiver)
        internal
        returns (Settlement memory s)
    {
        Book memory b = _openBook(id);
        // Bad debt is booked only when every holding has a price: a holding whose feed fails is worth something the
        // book cannot see, so it stays with the position and the priced holdings are liquidated as if solvent.
        if (b.coverable < b.debt && !b.unpriced) {
            _removeClassDebt(_classes[b.classKey], b.rate, b.normDebt);
            _positions[id].normDebt = 0;
            b.normDebt = 0;
            (s.repaid, s.seized) = _seizeAll(b, asset, maxRepay, receiver);
            s.badDebt = b.debt - s.repaid;
            _badDebt += s.badDebt;
        } else {
            uint256 debtBefore = b.debt; // _liquidateSolvent moves the book to the debt left
            bool fullDue;
            (s, fullDue) = _liquidateSolvent(b, asset, maxRepay);
            if (s.repaid < debtBefore) {
                // When all of the debt is due (under criticalHF, or the rest would be dust) and one holding pays for
                // less, taking all of it may lower HF (the basket loses diversification) but moves the close-out on:
                // each such step empties an asset. Only a liquidation the liquidator capped with `maxRepay` must
                // raise HF.
                bool closingOut = fullDue && s.repaid < maxRepay;
                return _checkPartial(b, s, !closingOut);
            }
        }
        _clearCallIfOpen(id);
    }

    /// @dev Accrues, prices every holding once, and requires the position to be Liquidatable.
    function _openBook(uint256 id) internal returns (Book memory b) {
        Position memory p = _requirePosition(id);
        (, uint256 rate) = _accrue(p.classKey);
        b.id = id;
        b.classKey = p.classKey;
        b.normDebt = p.normDebt;
        b.rate = rate;
        b.debt = KeelMath.toDebtUp(p.normDebt, rate);
        if (b.debt == 0) revert NotLiquidatable(id, KeelMath.INFINITE_HEALTH);
        (b.assets, b.amounts) = _holdings(id, p.classKey);
        _priceBook(b);
        for (uint256 i; i < b.assets.length; ++i) {
            IRiskModel.LiquidationTerms memory t = b.terms[i];
            if (t.price == 0) b.unpriced = true;
            else b.coverable += KeelMath.repayForDown(b.amounts[i], t.penalty, t.price, t.unit);
        }
        b.hf = KeelMath.healthFactorDown(b.value, b.maintenanceLoss, b.debt);
        if (_stateAt(b.hf, _callDeadline[id]) != State.Liquidatable) revert NotLiquidatable(id, b.hf);
    }

    /// @dev Every holding's terms, V and Lm, in one read of each price. A cross holding whose price fails gets zero
    /// terms and no value (RiskModel.marginBook); an isolated position's only price must be available.
    function _priceBook(Book memory b) internal view {
        if (b.classKey == CROSS_CLASS) {
            IRiskModel.Valuation memory v;
            (v, b.terms) = risk.marginBook(b.assets, b.amounts);
            (b.value, b.maintenanceLoss) = (v.value, v.maintenanceLoss);
            return;
        }
        b.terms = new IRiskModel.LiquidationTerms[](1);
        b.terms[0] = risk.liquidationTerms(b.classKey);
        (b.value, b.maintenanceLoss) = _maintenance(b);
    }

    /// @dev V and Lm of the book's holdings as they stand. An isolated position needs no further call: with its
    /// terms, L = mulWadUp(V, max(zm σ, hm)) is exactly RiskModel's closed form.
    function _maintenance(Book memory b) internal view returns (uint256 value, uint256 loss) {
        if (b.classKey != CROSS_CLASS) {
            IRiskModel.LiquidationTerms memory t = b.terms[0];
            value = KeelMath.valueDown(b.amounts[0], t.price, t.unit);
            return (value, KeelMath.mulWadUp(value, t.maintenanceFactor));
        }
        IRiskModel.Valuation memory v = risk.assessForMargin(b.assets, b.amounts);
        return (v.value, v.maintenanceLoss);
    }

    /// @dev The partial (or, under criticalHF or near dust, full) liquidation of a solvent position.
    /// `fullDue`: all of the debt was due, before the caps.
    function _liquidateSolvent(Book memory b, address asset, uint256 maxRepay)
        internal
        returns (Settlement memory s, bool fullDue)
    {
        uint256 i = _indexOf(b, asset);
        IRiskModel.LiquidationTerms memory t = b.terms[i];
        (s.repaid, s.seized, fullDue) = _sizeLiquidation(b, b.amounts[i], maxRepay, t);
        // A few wei left of a holding can pay for debt yet round to no collateral: the liquidator would pay for
        // nothing and the position would not move. Refused; the other holdings (or all of it, insolvent) remain.
        if (s.seized == 0) revert NothingToSeize(b.id, asset);
        uint256 removed = s.repaid == b.debt ? b.normDebt : KeelMath.toNormDebtDown(s.repaid, b.rate);
        _removeClassDebt(_classes[b.classKey], b.rate, removed);
        b.normDebt -= removed;
        b.debt = KeelMath.toDebtUp(b.normDebt, b.rate);
        _positions[b.id].normDebt = uint96(b.normDebt);
        _takeCollateral(b.id, b.classKey, asset, s.seized);
        b.amounts[i] -= s.seized;
        s.fee = KeelMath.protocolFeeUp(s.repaid, t.penalty, _protocolShare);
    }

    /// @dev The chosen holding; one whose price fails cannot be seized, and the oracle says why.
    function _indexOf(Book memory b, address asset) internal view returns (uint256 i) {
        for (; i < b.assets.length; ++i) {
            if (b.assets[i] != asset || b.amounts[i] == 0) continue;
            if (b.terms[i].price == 0) oracle.getPrice(asset);
            return i;
        }
        revert NothingToSeize(b.id, asset);
    }

    /// @dev Repayment and seizure of a solvent position: what is due (up to targetHF within the close factor; all of
    /// the debt under criticalHF or when the rest would be dust), capped by what the holding pays for and by
    /// `maxRepay`.
    /// A step capped by the holding takes all of it and may leave less than the dust (M-1): the position is solvent,
    /// so its other holdings pay for the rest and the next call, which owes all of a sub-dust debt, clears it. Only
    /// the liquidator's own `maxRepay` may never leave a remainder under the dust: it stops at exactly the dust.
    function _sizeLiquidation(Book memory b, uint256 held, uint256 maxRepay, IRiskModel.LiquidationTerms memory t)
        internal
        view
        returns (uint256 repaid, uint256 seized, bool fullDue)
    {
        uint256 debt = b.debt;
        uint256 due = debt;
        if (b.hf >= _criticalHF) {
            due = KeelMath.targetRepayDown(_targetHF, debt, b.value, b.maintenanceLoss, t.penalty, t.maintenanceFactor);
            due = Math.min(due, KeelMath.mulWadDown(debt, _closeFactor));
            if (debt - due < _dust) due = debt;
        }
        repaid = Math.min(due, KeelMath.repayForDown(held, t.penalty, t.price, t.unit));
        if (maxRepay < repaid) {
            uint256 limited = debt - maxRepay < _dust ? (debt > _dust ? debt - _dust : 0) : maxRepay;
            if (limited == 0) revert MaxRepayTooLow(b.id, repaid);
            repaid = limited;
        }
        if (repaid == 0) revert NotLiquidatable(b.id, b.hf);
        seized = Math.min(KeelMath.seizeDown(repaid, t.penalty, t.price, t.unit), held);
        fullDue = due == debt;
    }

    /// @dev Insolvent position: every asset goes to `receiver` for what it is worth net of its penalty; the rest of
    /// the debt becomes bad debt. Returns the amount of `asset` among the seized collateral.
    function _seizeAll(Book memory b, address asset, uint256 maxRepay, address receiver)
        internal
        returns (uint256 repaid, uint256 seized)
    {
        repaid = b.coverable;
        if (repaid > maxRepay) revert MaxRepayTooLow(b.id, repaid);
        for (uint256 i; i < b.assets.length; ++i) {
            uint256 amount = b.amounts[i];
            if (amount == 0) continue;
            _takeCollateral(b.id, b.classKey, b.assets[i], amount);
            b.amounts[i] = 0;
            if (b.assets[i] == asset) seized = amount;
            else IERC20(b.assets[i]).safeTransfer(receiver, amount);
        }
    }

    function _takeCollateral(uint256 id, address classKey, address asset, uint256 amount) internal {
        uint256 left = _collateral[id][asset] - amount;
        _collateral[id][asset] = left;
        _collaterals[asset].total -= uint120(amount);
        if (classKey == CROSS_CLASS && left == 0) _removeFromBasket(id, asset);
        emit PositionUpdated(id, Operation.Liquidate, asset, left, _positions[id].normDebt);
    }

    /// @dev A partial liquidation must raise HF (unless it is a step of a close-out under criticalHF); one that
    /// brings HF back to 1 or more clears the call.
    /// With no priced holding left (the rest all have failing feeds) HF after counts as 0: it waits for the feeds.
    function _checkPartial(Book memory b, Settlement memory s, bool mustRaise) internal returns (Settlement memory) {
        uint256 hfAfter;
        if (!b.unpriced || _pricedLeft(b)) {
            (uint256 value, uint256 loss) = _maintenance(b);
            hfAfter = KeelMath.healthFactorDown(value, loss, b.debt);
        }
        if (mustRaise && hfAfter <= b.hf) revert LiquidationWouldLowerHealth(b.id, b.hf, hfAfter);
        if (hfAfter >= KeelMath.WAD) _clearCallIfOpen(b.id);
        return s;
    }

    function _pricedLeft(Book memory b) internal pure returns (bool) {
        for (uint256 i; i < b.assets.length; ++i) {
            if (b.amounts[i] != 0 && b.terms[i].price != 0) return true;
        }
        return false;
    }

    function _callback(address receiver, uint256 id, address asset, uint256 seized, uint256 owed, bytes calldata data)
        internal
    {
        bytes32 ack = ILiquidationReceiver(receiver).onKeelLiquidation(msg.sender, id, asset, seized, owed, data);
        if (ack != CALLBACK_SUCCESS) revert LiquidationCallbackFailed(receiver);
    }

    /// @dev Burns the surplus buffer's kUSD against bad debt, as far as it goes.
    function _coverFromSurplus() internal {
        uint256 amount = Math.min(_badDebt, kusd.balanceOf(surplusBuffer));
        if (amount == 0) return;
        _badDebt -= amount;
        emit DeficitCovered(surplusBuffer, amount, 0);
        kusd.burn(surplusBuffer, amount);
    }
}
