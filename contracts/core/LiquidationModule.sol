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
/// @notice Margin calls and liquidation of DESIGN §4, run by the VaultEngine through DELEGATECALL on the engine's
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
        if (deadline != 0) revert AlreadyCalled(id, deadline);
        uint256 hf = _accruedHealth(id, p);
        if (hf >= KeelMath.WAD) revert NotCallable(id, hf);
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

    function _requireLiquidatable(uint256 id, address classKey, uint256 debt) internal view returns (uint256 hf) {
        if (debt == 0) revert NotLiquidatable(id, KeelMath.INFINITE_HEALTH);
        IRiskModel.Valuation memory v = _valuation(id, classKey);
        hf = KeelMath.healthFactorDown(v.value, v.maintenanceLoss, debt);
        if (_stateAt(hf, _callDeadline[id]) != State.Liquidatable) revert NotLiquidatable(id, hf);
    }

    /// @dev Checks, sizes and books a liquidation: debt first, then collateral. Insolvent positions send their
    /// other assets to `receiver` here; the caller sends `seized` of `asset`.
    function _settleLiquidation(uint256 id, address asset, uint256 maxRepay, address receiver)
        internal
        returns (Settlement memory s)
    {
        Position memory p = _requirePosition(id);
        (, uint256 rate) = _accrue(p.classKey);
        uint256 debt = KeelMath.toDebtUp(p.normDebt, rate);
        uint256 hf = _requireLiquidatable(id, p.classKey, debt);
        if (_coverable(id, p.classKey) < debt) {
            _removeClassDebt(_classes[p.classKey], rate, p.normDebt);
            _positions[id].normDebt = 0;
            (s.repaid, s.seized) = _seizeAll(id, p.classKey, asset, maxRepay, receiver);
            s.badDebt = debt - s.repaid;
            _badDebt += s.badDebt;
        } else {
            s = _liquidateSolvent(id, asset, debt, hf, maxRepay);
        }
        _afterLiquidation(id, p.classKey, hf, s.repaid < debt);
    }

    /// @dev The partial (or, under criticalHF or near dust, full) liquidation of a solvent position.
    function _liquidateSolvent(uint256 id, address asset, uint256 debt, uint256 hf, uint256 maxRepay)
        internal
        returns (Settlement memory s)
    {
        Position memory p = _positions[id];
        uint256 rate = _classes[p.classKey].rate; // accrued by the caller
        IRiskModel.LiquidationTerms memory t = risk.liquidationTerms(asset);
        (s.repaid, s.seized) = _sizeLiquidation(id, asset, debt, hf, maxRepay, t);
        uint256 removed = s.repaid == debt ? p.normDebt : KeelMath.toNormDebtDown(s.repaid, rate);
        _removeClassDebt(_classes[p.classKey], rate, removed);
        _positions[id].normDebt = uint96(p.normDebt - removed);
        _takeCollateral(id, p.classKey, asset, s.seized);
        s.fee = KeelMath.protocolFeeUp(s.repaid, t.penalty, _protocolShare);
    }

    /// @dev Σ over the position's assets of what each pays for at its penalty: below the debt means insolvent.
    function _coverable(uint256 id, address classKey) internal view returns (uint256 total) {
        (address[] memory assets, uint256[] memory amounts) = _holdings(id, classKey);
        for (uint256 i; i < assets.length; ++i) {
            IRiskModel.LiquidationTerms memory t = risk.liquidationTerms(assets[i]);
            total += KeelMath.repayForDown(amounts[i], t.penalty, t.price, t.unit);
        }
    }

    /// @dev Repayment and seizure of a solvent position: up to what restores targetHF, capped by the close factor
    /// (all of the debt under criticalHF or when the rest would be dust), by `maxRepay`, and by what `asset` can
    /// pay for; never leaving a non-zero debt under dust.
    function _sizeLiquidation(
        uint256 id,
        address asset,
        uint256 debt,
        uint256 hf,
        uint256 maxRepay,
        IRiskModel.LiquidationTerms memory t
    ) internal view returns (uint256 repaid, uint256 seized) {
        uint256 held = _collateral[id][asset];
        if (held == 0) revert NothingToSeize(id, asset);
        if (hf < _criticalHF) {
            repaid = debt;
        } else {
            IRiskModel.Valuation memory v = _valuation(id, _positions[id].classKey);
            repaid = KeelMath.targetRepayDown(_targetHF, debt, v.value, v.maintenanceLoss, t.penalty, t.maintenanceFactor);
            repaid = Math.min(repaid, KeelMath.mulWadDown(debt, _closeFactor));
        }
        if (debt - repaid < _dust) repaid = debt;
        repaid = Math.min(repaid, maxRepay);
        repaid = Math.min(repaid, KeelMath.repayForDown(held, t.penalty, t.price, t.unit));
        if (repaid < debt && debt - repaid < _dust) repaid = debt - _dust;
        if (repaid == 0) revert NotLiquidatable(id, hf);
        seized = Math.min(KeelMath.seizeDown(repaid, t.penalty, t.price, t.unit), held);
    }

    /// @dev Insolvent position: every asset goes to `receiver` for what it is worth net of its penalty; the rest of
    /// the debt becomes bad debt. Returns the amount of `asset` among the seized collateral.
    function _seizeAll(uint256 id, address classKey, address asset, uint256 maxRepay, address receiver)
        internal
        returns (uint256 repaid, uint256 seized)
    {
        (address[] memory assets, uint256[] memory amounts) = _holdings(id, classKey);
        for (uint256 i; i < assets.length; ++i) {
            if (amounts[i] == 0) continue;
            IRiskModel.LiquidationTerms memory t = risk.liquidationTerms(assets[i]);
            repaid += KeelMath.repayForDown(amounts[i], t.penalty, t.price, t.unit);
            _takeCollateral(id, classKey, assets[i], amounts[i]);
            if (assets[i] == asset) seized = amounts[i];
            else IERC20(assets[i]).safeTransfer(receiver, amounts[i]);
        }
        if (repaid > maxRepay) revert MaxRepayTooLow(id, repaid);
    }

    function _takeCollateral(uint256 id, address classKey, address asset, uint256 amount) internal {
        uint256 left = _collateral[id][asset] - amount;
        _collateral[id][asset] = left;
        _collaterals[asset].total -= uint120(amount);
        if (classKey == CROSS_CLASS && left == 0) _removeFromBasket(id, asset);
        emit PositionUpdated(id, Operation.Liquidate, asset, left, _positions[id].normDebt);
    }

    /// @dev A partial liquidation must raise HF; a position back at HF ≥ 1 (or without debt) has its call cleared.
    function _afterLiquidation(uint256 id, address classKey, uint256 hfBefore, bool isPartial) internal {
        uint256 normDebt = _positions[id].normDebt;
        if (!isPartial || normDebt == 0) {
            _clearCallIfOpen(id);
            return;
        }
        IRiskModel.Valuation memory v = _valuation(id, classKey);
        uint256 debt = KeelMath.toDebtUp(normDebt, _classes[classKey].rate);
        uint256 hfAfter = KeelMath.healthFactorDown(v.value, v.maintenanceLoss, debt);
        if (hfAfter <= hfBefore) revert LiquidationWouldLowerHealth(id, hfBefore, hfAfter);
        if (hfAfter >= KeelMath.WAD) _clearCallIfOpen(id);
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
