// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IVaultEngineTypes, CROSS_CLASS_KEY} from "../interfaces/IVaultEngineTypes.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IKeelUSD} from "../interfaces/IKeelUSD.sol";
import {IPositionNFT} from "../interfaces/IPositionNFT.sol";
import {KeelMath} from "../libraries/KeelMath.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title VaultEngineBase
/// @notice The VaultEngine's storage and the internal rules shared by the engine and its LiquidationModule.
/// @dev Both contracts inherit this first, so the module, reached by DELEGATECALL, sees the engine's storage at the
/// same slots (checked by test/unit/StorageLayout.test.ts). Accounting (docs/spec.md §6): `_globalDebt` is kept equal to
/// Σ_class ceil(normDebt × rate) at each class's last accrual; every borrow adds at least what it mints, every
/// repayment removes at most what it burns, and accrual adds to `_globalDebt` and `_fees` alike. Hence kUSD supply
/// ≤ Σ debt − fees + bad debt, the gap being rounding in the protocol's favour.
// solhint-disable-next-line max-states-count
abstract contract VaultEngineBase is IVaultEngineTypes {
    using SafeERC20 for IERC20;

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

    /// @notice Debt class of every cross position.
    address public constant CROSS_CLASS = CROSS_CLASS_KEY;
    uint256 public constant MAX_CROSS_ASSETS = 8;
    /// @notice 100% a year, compounded per second: 2^(1 / 31,536,000) [ray].
    uint256 public constant MAX_STABILITY_FEE = 1_000_000_021_979_553_151_239_153_027;
    /// @notice Largest debt ceiling [wad]: 10 billion kUSD, so normalized debt always fits 96 bits.
    uint256 public constant MAX_DEBT_CEILING = 1e28;
    uint256 public constant MAX_DUST = 1e24;
    uint256 public constant MAX_GRACE_PERIOD = 7 days;
    uint256 public constant MIN_CRITICAL_HF = 0.5e18;
    uint256 public constant MAX_TARGET_HF = 1.5e18;
    /// @notice The value a liquidation receiver returns to acknowledge the callback.
    bytes32 public constant CALLBACK_SUCCESS = keccak256("ILiquidationReceiver.onKeelLiquidation");

    IKeelUSD public immutable kusd;
    IPositionNFT public immutable nft;
    IRiskModel public immutable risk;
    IPriceOracle public immutable oracle;
    /// @notice Receives collected fees and the protocol's share of liquidation penalties; first loss on bad debt.
    address public immutable surplusBuffer;

    mapping(uint256 id => Position) internal _positions;
    mapping(uint256 id => mapping(address asset => uint256)) internal _collateral; // token decimals
    mapping(uint256 id => address[]) internal _basket; // cross positions: assets with a non-zero amount
    mapping(address asset => Collateral) internal _collaterals;
    mapping(address classKey => DebtClass) internal _classes;
    mapping(uint256 id => uint256) internal _callDeadline; // [s]; 0 = no open call

    // A full word: at the maximum fee over decades, debt outgrows 128 bits.
    uint256 internal _globalDebt; // [wad] Σ_class ceil(normDebt × rate) at last accrual
    // Fees share a slot with the id counter, which is never zero once a position exists: accrual never pays for
    // re-dirtying a zero slot after fees are collected. 192 bits hold 6e39 kUSD.
    uint64 internal _lastId;
    uint192 internal _fees; // [wad] accrued, not yet collected
    uint128 internal _globalDebtCeiling; // [wad]
    uint88 internal _dust; // [wad]
    bool internal _paused;
    uint32 internal _gracePeriod; // [s]
    uint64 internal _criticalHF; // [wad]
    uint64 internal _targetHF; // [wad]
    uint64 internal _closeFactor; // [wad]
    uint64 internal _protocolShare; // [wad]
    uint256 internal _badDebt; // [wad] uncovered

    /// @dev Transient map (id, opener) → the owner the position was opened for, in this transaction.
    bytes32 internal constant OPENER_SLOT = keccak256("keel.engine.opener");

    constructor(IKeelUSD kusd_, IPositionNFT nft_, IRiskModel risk_, IPriceOracle oracle_, address surplusBuffer_) {
        if (surplusBuffer_ == address(0)) revert ZeroAddress();
        kusd = kusd_;
        nft = nft_;
        risk = risk_;
        oracle = oracle_;
        surplusBuffer = surplusBuffer_;
    }

    /// @dev Brings `classKey` up to now: rate × fee^dt, adding the class's new debt to fees and global debt.
    function _accrue(address classKey) internal returns (DebtClass storage c, uint256 rate) {
        c = _classes[classKey];
        rate = c.rate;
        uint256 elapsed = block.timestamp - c.updatedAt;
        if (elapsed == 0) return (c, rate);
        uint256 next = KeelMath.accrueRateUp(rate, c.stabilityFee, elapsed);
        c.updatedAt = uint40(block.timestamp);
        if (next == rate) return (c, rate);
        c.rate = next;
        uint256 normDebt = c.normDebt;
        if (normDebt != 0) {
            uint256 added = KeelMath.toDebtUp(normDebt, next) - KeelMath.toDebtUp(normDebt, rate);
            _fees += SafeCast.toUint192(added);
            _globalDebt += added;
            emit Accrued(classKey, next, added);
        }
        rate = next;
    }

    function _removeClassDebt(DebtClass storage c, uint256 rate, uint256 removed) internal {
        uint256 before = c.normDebt;
        _globalDebt -= KeelMath.toDebtUp(before, rate) - KeelMath.toDebtUp(before - removed, rate);
        c.normDebt = uint112(before - removed);
    }

    function _currentRate(DebtClass memory c) internal view returns (uint256) {
        return KeelMath.accrueRateUp(c.rate, c.stabilityFee, block.timestamp - c.updatedAt);
    }

    function _valuation(uint256 id, address classKey) internal view returns (IRiskModel.Valuation memory) {
        if (classKey != CROSS_CLASS) return risk.assessOne(classKey, _collateral[id][classKey]);
        (address[] memory assets, uint256[] memory amounts) = _holdings(id, classKey);
        return risk.assess(assets, amounts);
    }

    /// @dev The valuation margin calls and liquidation use (docs/spec.md §4, liveness): a cross holding whose price fails
    /// counts as worth nothing. An isolated position's only price must be available.
    function _marginValuation(uint256 id, address classKey) internal view returns (IRiskModel.Valuation memory) {
        if (classKey != CROSS_CLASS) return risk.assessOne(classKey, _collateral[id][classKey]);
        (address[] memory assets, uint256[] memory amounts) = _holdings(id, classKey);
        return risk.assessForMargin(assets, amounts);
    }

    /// @dev `_marginValuation`, or `ok = false` when a price fails. A valuation starved of gas reverts instead: a
    /// deposit or repayment sent with too little gas must not go through while silently leaving a cured position's
    /// margin call open (L-2). A call that ran out of gas leaves its caller about 1/64 of the gas per call level
    /// (EIP-150), so a failure with less than 1/8 of the gas left is taken as starved; a real price failure costs a
    /// few oracle reads.
    function _tryMarginValuation(uint256 id, address classKey)
        internal
        view
        returns (bool ok, IRiskModel.Valuation memory v)
    {
        uint256 gasBefore = gasleft();
        if (classKey != CROSS_CLASS) {
            try risk.assessOne(classKey, _collateral[id][classKey]) returns (IRiskModel.Valuation memory r) {
                return (true, r);
            } catch {}
        } else {
            (address[] memory assets, uint256[] memory amounts) = _holdings(id, classKey);
            try risk.assessForMargin(assets, amounts) returns (IRiskModel.Valuation memory r) {
                return (true, r);
            } catch {}
        }
        if (gasleft() < gasBefore / 8) revert ValuationOutOfGas(id);
        return (false, v);
    }

    /// @dev The position's assets and amounts: one entry for isolated positions, the basket for cross ones.
    function _holdings(uint256 id, address classKey)
        internal
        view
        returns (address[] memory assets, uint256[] memory amounts)
    {
        if (classKey == CROSS_CLASS) {
            assets = _basket[id];
        } else {
            assets = new address[](1);
            assets[0] = classKey;
        }
        amounts = new uint256[](assets.length);
        for (uint256 i; i < assets.length; ++i) {
            amounts[i] = _collateral[id][assets[i]];
        }
    }

    function _stateAt(uint256 hf, uint256 deadline) internal view returns (State) {
        if (hf < _criticalHF) return State.Liquidatable;
        if (hf >= KeelMath.WAD) return State.Safe;
        if (deadline == 0) return State.Callable;
        return block.timestamp >= deadline ? State.Liquidatable : State.Called;
    }

    /// @dev Accrues and returns the position's health factor (infinite without debt). Reads the oracle.
    function _accruedHealth(uint256 id, Position memory p) internal returns (uint256) {
        if (p.normDebt == 0) return KeelMath.INFINITE_HEALTH;
        (, uint256 rate) = _accrue(p.classKey);
        IRiskModel.Valuation memory v = _marginValuation(id, p.classKey);
        return KeelMath.healthFactorDown(v.value, v.maintenanceLoss, KeelMath.toDebtUp(p.normDebt, rate));
    }

    function _clearCallIfOpen(uint256 id) internal {
        if (_callDeadline[id] != 0) _clearCall(id);
    }

    function _clearCall(uint256 id) internal {
        delete _callDeadline[id];
        emit MarginCallCleared(id);
    }

    /// @dev After a deposit or repayment: clears an open call when the position is healthy again. A failing price
    /// leaves the call open instead of blocking the deposit or repayment.
    function _tryClearCall(uint256 id, address classKey, uint256 debt) internal {
        if (debt == 0) return _clearCall(id);
        (bool ok, IRiskModel.Valuation memory v) = _tryMarginValuation(id, classKey);
        if (ok && KeelMath.healthFactorDown(v.value, v.maintenanceLoss, debt) >= KeelMath.WAD) _clearCall(id);
    }

    function _removeFromBasket(uint256 id, address asset) internal {
        address[] storage basket = _basket[id];
        uint256 last = basket.length - 1;
        for (uint256 i; i <= last; ++i) {
            if (basket[i] == asset) {
                basket[i] = basket[last];
                basket.pop();
                return;
            }
        }
    }

    function _requirePosition(uint256 id) internal view returns (Position memory p) {
        p = _positions[id];
        if (p.classKey == address(0)) revert PositionNotFound(id);
    }

    function _requireListed(address asset) internal view returns (Collateral memory c) {
        c = _collaterals[asset];
        if (!c.listed) revert AssetNotListed(asset);
    }

    function _requireClass(address classKey) internal view returns (DebtClass storage c) {
        c = _classes[classKey];
        if (c.rate == 0) revert AssetNotListed(classKey);
    }

    /// @dev Owner, approved, operator, or the account that opened `id` earlier in this transaction for the owner that
    /// still holds it: the opener's authority ends with a transfer of the NFT (L-1), so a contract cannot open, sell
    /// the position and keep acting on the buyer's collateral.
    function _requireAuthorized(uint256 id) internal view {
        address openedFor = _openedFor(id, msg.sender);
        if (openedFor != address(0) && nft.ownerOf(id) == openedFor) return;
        if (!nft.isAuthorized(msg.sender, id)) revert NotAuthorized(id, msg.sender);
    }

    /// @dev The owner `opener` opened `id` for in this transaction, or zero.
    function _openedFor(uint256 id, address opener) internal view returns (address owner) {
        bytes32 slot = keccak256(abi.encode(id, opener, OPENER_SLOT));
        assembly ("memory-safe") {
            owner := tload(slot)
        }
    }
}
