// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IVaultEngine} from "../interfaces/IVaultEngine.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IKeelUSD} from "../interfaces/IKeelUSD.sol";
import {IPositionNFT} from "../interfaces/IPositionNFT.sol";
import {ILiquidationReceiver} from "../interfaces/ILiquidationReceiver.sol";
import {KeelMath} from "../libraries/KeelMath.sol";
import {EngineState, Position, Collateral, Ledger} from "./Ledger.sol";
import {Liquidation} from "./Liquidation.sol";
import {EngineGovernance} from "./EngineGovernance.sol";

/// @title VaultEngine
/// @notice Positions, collateral, debt, accrual, margin checks, margin calls and liquidation (see IVaultEngine),
/// in the order money moves: open, deposit, borrow, withdraw, repay, close; margin call; liquidate, bad debt; fees.
/// Holds every collateral token. Liquidation sizing and booking run in the Liquidation library on this contract's
/// storage (`EngineState`); the bookkeeping both share is the Ledger library.
contract VaultEngine is IVaultEngine, AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Ledger for EngineState;

    /// @notice The cross class's fee, ceiling, the global limits and the liquidation terms at deployment.
    struct Setup {
        uint256 crossStabilityFee; // [ray]
        uint256 crossDebtCeiling; // [wad]
        uint256 globalDebtCeiling; // [wad]
        uint256 dust; // [wad]
        LiquidationParams liquidation;
    }

    /// @notice Debt class of every cross position.
    address public constant CROSS_CLASS = Ledger.CROSS_CLASS;
    uint256 public constant MAX_CROSS_ASSETS = Ledger.MAX_CROSS_ASSETS;
    /// @notice Bounds on governance parameters (EngineGovernance).
    uint256 public constant MAX_STABILITY_FEE = EngineGovernance.MAX_STABILITY_FEE;
    uint256 public constant MAX_DEBT_CEILING = EngineGovernance.MAX_DEBT_CEILING;
    uint256 public constant MAX_DUST = EngineGovernance.MAX_DUST;
    uint256 public constant MAX_GRACE_PERIOD = EngineGovernance.MAX_GRACE_PERIOD;
    uint256 public constant MIN_CRITICAL_HF = EngineGovernance.MIN_CRITICAL_HF;
    uint256 public constant MAX_TARGET_HF = EngineGovernance.MAX_TARGET_HF;
    /// @notice The value a liquidation receiver returns to acknowledge the callback.
    bytes32 public constant CALLBACK_SUCCESS = keccak256("ILiquidationReceiver.onKeelLiquidation");
    /// @dev Transient map (id, opener) → the owner the position was opened for, in this transaction.
    bytes32 internal constant OPENER_SLOT = keccak256("keel.engine.opener");

    IKeelUSD public immutable kusd;
    IPositionNFT public immutable nft;
    IRiskModel public immutable risk;
    IPriceOracle public immutable oracle;
    /// @notice Receives collected fees and the protocol's share of liquidation penalties; first loss on bad debt.
    address public immutable surplusBuffer;

    EngineState internal _s;

    constructor(
        address authority,
        IKeelUSD kusd_,
        IPositionNFT nft_,
        IRiskModel risk_,
        IPriceOracle oracle_,
        address surplusBuffer_,
        Setup memory setup
    ) AccessManaged(authority) {
        if (surplusBuffer_ == address(0)) revert ZeroAddress();
        kusd = kusd_;
        nft = nft_;
        risk = risk_;
        oracle = oracle_;
        surplusBuffer = surplusBuffer_;
        EngineGovernance.createClass(_s, CROSS_CLASS, setup.crossStabilityFee, setup.crossDebtCeiling);
        EngineGovernance.setGlobalDebtCeiling(_s, setup.globalDebtCeiling);
        EngineGovernance.setDust(_s, setup.dust);
        EngineGovernance.setLiquidationParams(_s, risk_, setup.liquidation);
    }

    // ================================================================ positions

    /// @inheritdoc IVaultEngine
    function open(Mode mode, address asset, address owner) external returns (uint256 id) {
        if (_s.paused) revert Paused();
        if (owner == address(0)) revert ZeroAddress();
        address classKey = CROSS_CLASS;
        if (mode == Mode.Isolated) {
            _s.requireListed(asset);
            classKey = asset;
        } else {
            asset = address(0);
        }
        id = ++_s.lastId;
        _s.positions[id].classKey = classKey;
        _setOpenedFor(id, msg.sender, owner);
        emit PositionOpened(id, owner, mode, asset);
        nft.mint(owner, id);
    }

    /// @inheritdoc IVaultEngine
    function deposit(uint256 id, address asset, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint120).max) revert AmountTooLarge(amount);
        Position memory p = _s.requirePosition(id);
        Collateral memory c = _s.requireListed(asset);
        bool cross = p.classKey == CROSS_CLASS;
        if (!cross && asset != p.classKey) revert WrongAsset(id, asset);

        uint256 held = _s.collateral[id][asset];
        // Only the owner's side adds an asset to a basket: a stranger could otherwise fill it (L-3) or plant an asset
        // whose price fails, to block the owner's borrows and withdrawals (M-2). Topping up a holding is open to all.
        if (cross && held == 0) _requireAuthorized(id);

        uint256 received = _pull(IERC20(asset), amount);
        if (received == 0) revert ZeroAmount();
        uint256 total = c.total + received;
        if (total > c.supplyCap) revert SupplyCapExceeded(asset, total, c.supplyCap);
        if (cross && held == 0) _s.addToBasket(id, asset);

        _s.collateral[id][asset] = held + received;
        _s.collaterals[asset].total = uint120(total);
        emit PositionUpdated(id, Operation.Deposit, asset, held + received, p.normDebt);
        // Without debt there is no open call: a repayment to zero or a full liquidation clears it.
        if (p.normDebt != 0 && _s.callDeadline[id] != 0) {
            _tryClearCall(id, p.classKey, KeelMath.toDebtUp(p.normDebt, Ledger.currentRate(_s.classes[p.classKey])));
        }
    }

    /// @inheritdoc IVaultEngine
    function borrow(uint256 id, uint256 amount, address to) external nonReentrant {
        if (_s.paused) revert Paused();
        if (amount == 0) revert ZeroAmount();
        if (amount > MAX_DEBT_CEILING) revert AmountTooLarge(amount);
        if (to == address(0)) revert ZeroAddress();
        Position memory p = _s.requirePosition(id);
        _requireAuthorized(id);

        uint256 rate = _s.accrue(p.classKey);
        uint256 added = KeelMath.toNormDebtUp(amount, rate);
        uint256 normDebt = p.normDebt + added;
        uint256 debt = KeelMath.toDebtUp(normDebt, rate);
        if (debt < _s.dust) revert DustDebt(id, debt, _s.dust);
        _s.addClassDebt(p.classKey, rate, added);

        _s.positions[id].normDebt = uint96(normDebt);
        _requireInitialHealth(id, p.classKey, debt);
        if (p.normDebt != 0) _s.clearCallIfOpen(id);
        emit PositionUpdated(id, Operation.Borrow, address(0), 0, normDebt);
        kusd.mint(to, amount);
    }

    /// @inheritdoc IVaultEngine
    function withdraw(uint256 id, address asset, uint256 amount, address to) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        Position memory p = _s.requirePosition(id);
        _requireAuthorized(id);
        bool cross = p.classKey == CROSS_CLASS;
        if (!cross && asset != p.classKey) revert WrongAsset(id, asset);
        uint256 held = _s.collateral[id][asset];
        if (amount > held) revert InsufficientCollateral(id, asset, held);

        uint256 left = _s.takeCollateral(id, p.classKey, asset, amount);
        if (p.normDebt != 0) {
            uint256 rate = _s.accrue(p.classKey);
            _requireInitialHealth(id, p.classKey, KeelMath.toDebtUp(p.normDebt, rate));
            _s.clearCallIfOpen(id);
        }
        emit PositionUpdated(id, Operation.Withdraw, asset, left, p.normDebt);
        IERC20(asset).safeTransfer(to, amount);
    }

    /// @inheritdoc IVaultEngine
    function repay(uint256 id, uint256 amount) external nonReentrant returns (uint256 repaid) {
        if (amount == 0) revert ZeroAmount();
        Position memory p = _s.requirePosition(id);
        if (p.normDebt == 0) revert NoDebt(id);

        uint256 rate = _s.accrue(p.classKey);
        uint256 debt = KeelMath.toDebtUp(p.normDebt, rate);
        uint256 removed;
        if (amount >= debt) {
            (repaid, removed) = (debt, p.normDebt);
        } else {
            (repaid, removed) = (amount, KeelMath.toNormDebtDown(amount, rate));
            if (removed == 0) revert ZeroAmount();
            uint256 rest = KeelMath.toDebtUp(p.normDebt - removed, rate);
            if (rest < _s.dust) revert DustDebt(id, rest, _s.dust);
        }
        uint256 normDebt = p.normDebt - removed;
        _s.removeClassDebt(p.classKey, rate, removed);
        _s.positions[id].normDebt = uint96(normDebt);
        emit PositionUpdated(id, Operation.Repay, address(0), 0, normDebt);
        if (_s.callDeadline[id] != 0) _tryClearCall(id, p.classKey, KeelMath.toDebtUp(normDebt, rate));
        kusd.burn(msg.sender, repaid);
    }

    /// @inheritdoc IVaultEngine
    function close(uint256 id, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        Position memory p = _s.requirePosition(id);
        _requireAuthorized(id);

        uint256 repaid;
        if (p.normDebt != 0) {
            uint256 rate = _s.accrue(p.classKey);
            repaid = KeelMath.toDebtUp(p.normDebt, rate);
            _s.removeClassDebt(p.classKey, rate, p.normDebt);
        }
        (address[] memory assets, uint256[] memory amounts) = _s.holdings(id, p.classKey);
        for (uint256 i; i < assets.length; ++i) {
            _s.collaterals[assets[i]].total -= uint120(amounts[i]);
            delete _s.collateral[id][assets[i]];
        }
        if (p.classKey == CROSS_CLASS) delete _s.basket[id];
        delete _s.positions[id];
        _s.clearCallIfOpen(id);

        emit PositionUpdated(id, Operation.Close, address(0), 0, 0);
        emit PositionClosed(id);
        if (repaid != 0) kusd.burn(msg.sender, repaid);
        nft.burn(id);
        for (uint256 i; i < assets.length; ++i) {
            if (amounts[i] != 0) IERC20(assets[i]).safeTransfer(to, amounts[i]);
        }
    }

    // ================================================================ margin calls

    /// @inheritdoc IVaultEngine
    function marginCall(uint256 id) external nonReentrant {
        Position memory p = _s.requirePosition(id);
        uint256 deadline = _s.callDeadline[id];
        uint256 hf = _accruedHealth(id, p);
        if (hf >= KeelMath.WAD) {
            // A call attempt that sees the position healthy again ends the old call (L-2): the next dip gets a fresh
            // grace period instead of the lapsed deadline.
            if (deadline == 0) revert NotCallable(id, hf);
            return _s.clearCall(id);
        }
        if (deadline != 0) revert AlreadyCalled(id, deadline);
        deadline = block.timestamp + _s.gracePeriod;
        _s.callDeadline[id] = deadline;
        emit MarginCalled(id, deadline);
    }

    /// @inheritdoc IVaultEngine
    function clearMarginCall(uint256 id) external nonReentrant {
        Position memory p = _s.requirePosition(id);
        if (_s.callDeadline[id] == 0) revert NotCalled(id);
        uint256 hf = _accruedHealth(id, p);
        if (hf < KeelMath.WAD) revert StillUnhealthy(id, hf);
        _s.clearCall(id);
    }

    // ================================================================ liquidation and bad debt

    /// @inheritdoc IVaultEngine
    function liquidate(uint256 id, address asset, uint256 maxRepay, address receiver, bytes calldata data)
        external
        nonReentrant
        returns (uint256 repaid, uint256 seized)
    {
        if (receiver == address(0)) revert ZeroAddress();
        _s.accrue(_s.requirePosition(id).classKey);
        uint256 fee;
        uint256 badDebt;
        (repaid, seized, fee, badDebt) = Liquidation.liquidate(_s, _context(), id, asset, maxRepay, receiver);
        emit Liquidated(id, msg.sender, asset, repaid, seized, badDebt);

        if (seized != 0) IERC20(asset).safeTransfer(receiver, seized);
        if (data.length != 0) _callback(receiver, id, asset, seized, repaid + fee, data);
        kusd.burn(msg.sender, repaid + fee);
        if (fee != 0) kusd.mint(surplusBuffer, fee);
        if (badDebt != 0) _coverFromSurplus();
    }

    /// @inheritdoc IVaultEngine
    function previewLiquidation(uint256 id, address asset, uint256 maxRepay)
        external
        view
        returns (uint256 repaid, uint256 seized, uint256 fee, uint256 badDebt)
    {
        Liquidation.Plan memory p = Liquidation.plan(_s, _context(), id, asset, maxRepay);
        return (p.repaid, p.seized, p.fee, p.badDebt);
    }

    /// @inheritdoc IVaultEngine
    function coverDeficit(uint256 amount) external nonReentrant returns (uint256 covered) {
        if (amount == 0) revert ZeroAmount();
        if (_s.badDebt == 0) revert NoDeficit();
        covered = Math.min(amount, _s.badDebt);
        _s.badDebt -= covered;
        emit DeficitCovered(msg.sender, 0, covered);
        kusd.burn(msg.sender, covered);
    }

    // ================================================================ fees

    /// @inheritdoc IVaultEngine
    function collectFees() external nonReentrant {
        address[] memory assets = risk.listedAssets();
        for (uint256 i; i < assets.length; ++i) {
            _s.accrue(assets[i]);
        }
        _s.accrue(CROSS_CLASS);
        uint256 amount = _s.fees;
        if (amount == 0) revert NothingToCollect();
        _s.fees = 0;
        emit FeesCollected(amount);
        kusd.mint(surplusBuffer, amount);
    }

    // ================================================================ governance (EngineGovernance checks and writes)

    /// @inheritdoc IVaultEngine
    function listAsset(address asset, Listing calldata listing) external restricted {
        EngineGovernance.listAsset(_s, EngineGovernance.Peers({kusd: kusd, risk: risk, oracle: oracle}), asset, listing);
    }

    /// @inheritdoc IVaultEngine
    function setStabilityFee(address classKey, uint256 stabilityFee) external restricted {
        EngineGovernance.setStabilityFee(_s, classKey, stabilityFee);
    }

    /// @inheritdoc IVaultEngine
    function setDebtCeiling(address classKey, uint256 debtCeiling) external restricted {
        EngineGovernance.setDebtCeiling(_s, classKey, debtCeiling);
    }

    /// @inheritdoc IVaultEngine
    function setSupplyCap(address asset, uint256 supplyCap) external restricted {
        EngineGovernance.setSupplyCap(_s, asset, supplyCap);
    }

    /// @inheritdoc IVaultEngine
    function setGlobalDebtCeiling(uint256 debtCeiling) external restricted {
        if (debtCeiling == _s.globalDebtCeiling) revert NoChange();
        EngineGovernance.setGlobalDebtCeiling(_s, debtCeiling);
    }

    /// @inheritdoc IVaultEngine
    function setDust(uint256 newDust) external restricted {
        if (newDust == _s.dust) revert NoChange();
        EngineGovernance.setDust(_s, newDust);
    }

    /// @inheritdoc IVaultEngine
    function setLiquidationParams(LiquidationParams calldata params) external restricted {
        if (keccak256(abi.encode(params)) == keccak256(abi.encode(liquidationParams()))) revert NoChange();
        EngineGovernance.setLiquidationParams(_s, risk, params);
    }

    /// @inheritdoc IVaultEngine
    function setPaused(bool pause) external restricted {
        if (pause == _s.paused) revert NoChange();
        _s.paused = pause;
        emit PausedSet(pause);
    }

    // ================================================================ views

    /// @inheritdoc IVaultEngine
    function debtOf(uint256 id) external view returns (uint256) {
        Position memory p = _s.positions[id];
        if (p.normDebt == 0) return 0;
        return KeelMath.toDebtUp(p.normDebt, Ledger.currentRate(_s.classes[p.classKey]));
    }

    /// @inheritdoc IVaultEngine
    function collateralOf(uint256 id, address asset) external view returns (uint256) {
        return _s.collateral[id][asset];
    }

    /// @inheritdoc IVaultEngine
    function collateralAssets(uint256 id) external view returns (address[] memory assets) {
        (assets,) = _s.holdings(id, _s.requirePosition(id).classKey);
    }

    /// @inheritdoc IVaultEngine
    function healthFactor(uint256 id) external view returns (uint256 hf, uint256 hfInitial) {
        Position memory p = _s.requirePosition(id);
        if (p.normDebt == 0) return (KeelMath.INFINITE_HEALTH, KeelMath.INFINITE_HEALTH);
        uint256 debt = KeelMath.toDebtUp(p.normDebt, Ledger.currentRate(_s.classes[p.classKey]));
        IRiskModel.Valuation memory v = _valuation(id, p.classKey);
        hf = KeelMath.healthFactorDown(v.value, v.maintenanceLoss, debt);
        hfInitial = KeelMath.healthFactorDown(v.value, v.initialLoss, debt);
    }

    /// @inheritdoc IVaultEngine
    function positionInfo(uint256 id) external view returns (Mode mode, address classKey, uint256 normDebt) {
        Position memory p = _s.requirePosition(id);
        mode = p.classKey == CROSS_CLASS ? Mode.Cross : Mode.Isolated;
        return (mode, p.classKey, p.normDebt);
    }

    /// @inheritdoc IVaultEngine
    function deficit() external view returns (uint256) {
        return _s.badDebt;
    }

    /// @inheritdoc IVaultEngine
    function accruedFees() external view returns (uint256 fees) {
        fees = _s.fees + _pendingFees(CROSS_CLASS);
        address[] memory assets = risk.listedAssets();
        for (uint256 i; i < assets.length; ++i) {
            fees += _pendingFees(assets[i]);
        }
    }

    /// @inheritdoc IVaultEngine
    function globalDebt() external view returns (uint256) {
        return _s.globalDebt;
    }

    /// @inheritdoc IVaultEngine
    function debtClass(address classKey) external view returns (DebtClass memory) {
        return _s.classes[classKey];
    }

    /// @inheritdoc IVaultEngine
    function currentRate(address classKey) external view returns (uint256) {
        return Ledger.currentRate(_s.requireClass(classKey));
    }

    /// @inheritdoc IVaultEngine
    function collateralConfig(address asset) external view returns (uint256 supplyCap, uint256 total, bool listed) {
        Collateral memory c = _s.collaterals[asset];
        return (c.supplyCap, c.total, c.listed);
    }

    /// @inheritdoc IVaultEngine
    function lastPositionId() external view returns (uint256) {
        return _s.lastId;
    }

    /// @inheritdoc IVaultEngine
    function globalDebtCeiling() external view returns (uint256) {
        return _s.globalDebtCeiling;
    }

    /// @inheritdoc IVaultEngine
    function dust() external view returns (uint256) {
        return _s.dust;
    }

    /// @inheritdoc IVaultEngine
    function paused() external view returns (bool) {
        return _s.paused;
    }

    /// @inheritdoc IVaultEngine
    function stateOf(uint256 id) external view returns (State state, uint256 deadline, uint256 hf) {
        Position memory p = _s.requirePosition(id);
        deadline = _s.callDeadline[id];
        if (p.normDebt == 0) return (State.Safe, deadline, KeelMath.INFINITE_HEALTH);
        uint256 debt = KeelMath.toDebtUp(p.normDebt, Ledger.currentRate(_s.classes[p.classKey]));
        IRiskModel.Valuation memory v = _marginValuation(id, p.classKey);
        hf = KeelMath.healthFactorDown(v.value, v.maintenanceLoss, debt);
        state = _s.stateAt(hf, deadline);
    }

    /// @inheritdoc IVaultEngine
    function callDeadline(uint256 id) external view returns (uint256) {
        return _s.callDeadline[id];
    }

    /// @inheritdoc IVaultEngine
    function liquidationParams() public view returns (LiquidationParams memory) {
        return LiquidationParams({
            gracePeriod: _s.gracePeriod,
            criticalHF: _s.criticalHF,
            targetHF: _s.targetHF,
            closeFactor: _s.closeFactor,
            protocolShare: _s.protocolShare
        });
    }

    // ================================================================ internal

    function _context() internal view returns (Liquidation.Context memory) {
        return Liquidation.Context({risk: risk, oracle: oracle});
    }

    /// @dev The valuation borrowing and withdrawing use: every price is required.
    function _valuation(uint256 id, address classKey) internal view returns (IRiskModel.Valuation memory) {
        if (classKey != CROSS_CLASS) return risk.assessOne(classKey, _s.collateral[id][classKey]);
        (address[] memory assets, uint256[] memory amounts) = _s.holdings(id, classKey);
        return risk.assess(assets, amounts);
    }

    /// @dev The valuation margin calls and liquidation use (docs/spec.md §4, liveness): a cross holding whose price fails
    /// counts as worth nothing. An isolated position's only price must be available.
    function _marginValuation(uint256 id, address classKey) internal view returns (IRiskModel.Valuation memory) {
        if (classKey != CROSS_CLASS) return risk.assessOne(classKey, _s.collateral[id][classKey]);
        (address[] memory assets, uint256[] memory amounts) = _s.holdings(id, classKey);
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
            try risk.assessOne(classKey, _s.collateral[id][classKey]) returns (IRiskModel.Valuation memory r) {
                return (true, r);
            } catch {}
        } else {
            (address[] memory assets, uint256[] memory amounts) = _s.holdings(id, classKey);
            try risk.assessForMargin(assets, amounts) returns (IRiskModel.Valuation memory r) {
                return (true, r);
            } catch {}
        }
        if (gasleft() < gasBefore / 8) revert ValuationOutOfGas(id);
        return (false, v);
    }

    /// @dev Accrues and returns the position's health factor (infinite without debt). Reads the oracle.
    function _accruedHealth(uint256 id, Position memory p) internal returns (uint256) {
        if (p.normDebt == 0) return KeelMath.INFINITE_HEALTH;
        uint256 rate = _s.accrue(p.classKey);
        IRiskModel.Valuation memory v = _marginValuation(id, p.classKey);
        return KeelMath.healthFactorDown(v.value, v.maintenanceLoss, KeelMath.toDebtUp(p.normDebt, rate));
    }

    /// @dev After a deposit or repayment: clears an open call when the position is healthy again. A failing price
    /// leaves the call open instead of blocking the deposit or repayment.
    function _tryClearCall(uint256 id, address classKey, uint256 debt) internal {
        if (debt == 0) return _s.clearCall(id);
        (bool ok, IRiskModel.Valuation memory v) = _tryMarginValuation(id, classKey);
        if (ok && KeelMath.healthFactorDown(v.value, v.maintenanceLoss, debt) >= KeelMath.WAD) _s.clearCall(id);
    }

    function _callback(address receiver, uint256 id, address asset, uint256 seized, uint256 owed, bytes calldata data)
        internal
    {
        bytes32 ack = ILiquidationReceiver(receiver).onKeelLiquidation(msg.sender, id, asset, seized, owed, data);
        if (ack != CALLBACK_SUCCESS) revert LiquidationCallbackFailed(receiver);
    }

    /// @dev Burns the surplus buffer's kUSD against bad debt, as far as it goes.
    function _coverFromSurplus() internal {
        uint256 amount = Math.min(_s.badDebt, kusd.balanceOf(surplusBuffer));
        if (amount == 0) return;
        _s.badDebt -= amount;
        emit DeficitCovered(surplusBuffer, amount, 0);
        kusd.burn(surplusBuffer, amount);
    }

    /// @dev Owner, approved, operator, or the account that opened `id` earlier in this transaction for the owner that
    /// still holds it: the opener's authority ends with a transfer of the NFT (L-1), so a contract cannot open, sell
    /// the position and keep acting on the buyer's collateral.
    function _requireAuthorized(uint256 id) internal view {
        address openedFor = _openedFor(id, msg.sender);
        if (openedFor != address(0) && nft.ownerOf(id) == openedFor) return;
        if (!nft.isAuthorized(msg.sender, id)) revert NotAuthorized(id, msg.sender);
    }

    /// @dev Records, for this transaction only, that `opener` opened `id` for `owner` (read by `_openedFor`).
    function _setOpenedFor(uint256 id, address opener, address owner) internal {
        bytes32 slot = keccak256(abi.encode(id, opener, OPENER_SLOT));
        assembly ("memory-safe") {
            tstore(slot, owner)
        }
    }

    /// @dev The owner `opener` opened `id` for in this transaction, or zero.
    function _openedFor(uint256 id, address opener) internal view returns (address owner) {
        bytes32 slot = keccak256(abi.encode(id, opener, OPENER_SLOT));
        assembly ("memory-safe") {
            owner := tload(slot)
        }
    }

    function _pendingFees(address classKey) internal view returns (uint256) {
        DebtClass memory c = _s.classes[classKey];
        return KeelMath.toDebtUp(c.normDebt, Ledger.currentRate(c)) - KeelMath.toDebtUp(c.normDebt, c.rate);
    }

    function _requireInitialHealth(uint256 id, address classKey, uint256 debt) internal view {
        IRiskModel.Valuation memory v = _valuation(id, classKey);
        uint256 hfInitial = KeelMath.healthFactorDown(v.value, v.initialLoss, debt);
        if (hfInitial < KeelMath.WAD) revert Unhealthy(id, hfInitial);
    }

    /// @dev Pulls `amount` from the caller and returns what actually arrived (fee-on-transfer safe).
    function _pull(IERC20 token, uint256 amount) internal returns (uint256) {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        return token.balanceOf(address(this)) - before;
    }
}
