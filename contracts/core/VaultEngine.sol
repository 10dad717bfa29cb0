// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {VaultEngineBase} from "./VaultEngineBase.sol";
import {IVaultEngine} from "../interfaces/IVaultEngine.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IKeelUSD} from "../interfaces/IKeelUSD.sol";
import {IPositionNFT} from "../interfaces/IPositionNFT.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title VaultEngine
/// @notice Positions, collateral, debt, accrual and margin checks (see IVaultEngine). Holds every collateral token.
/// Margin calls and liquidation run in the LiquidationModule, on this contract's storage, through DELEGATECALL.
contract VaultEngine is VaultEngineBase, IVaultEngine, AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The cross class's fee, ceiling, the global limits and the liquidation terms at deployment.
    struct Setup {
        uint256 crossStabilityFee; // [ray]
        uint256 crossDebtCeiling; // [wad]
        uint256 globalDebtCeiling; // [wad]
        uint256 dust; // [wad]
        LiquidationParams liquidation;
    }

    /// @dev Selector of LiquidationModule.LiquidationPreview(uint256,uint256,uint256,uint256).
    bytes4 private constant PREVIEW_SELECTOR = bytes4(keccak256("LiquidationPreview(uint256,uint256,uint256,uint256)"));

    /// @notice Runs margin calls and liquidations on this contract's storage; fixed at deployment.
    address public immutable liquidationModule;

    /// @notice The module was built for another kUSD, NFT, risk model, oracle or surplus buffer.
    error ModuleMismatch(address module);

    constructor(
        address authority,
        IKeelUSD kusd_,
        IPositionNFT nft_,
        IRiskModel risk_,
        IPriceOracle oracle_,
        address surplusBuffer_,
        address liquidationModule_,
        Setup memory setup
    ) VaultEngineBase(kusd_, nft_, risk_, oracle_, surplusBuffer_) AccessManaged(authority) {
        VaultEngineBase m = VaultEngineBase(liquidationModule_);
        if (
            liquidationModule_.code.length == 0 || m.kusd() != kusd_ || m.nft() != nft_ || m.risk() != risk_
                || m.oracle() != oracle_ || m.surplusBuffer() != surplusBuffer_
        ) revert ModuleMismatch(liquidationModule_);
        liquidationModule = liquidationModule_;
        _createClass(CROSS_CLASS, setup.crossStabilityFee, setup.crossDebtCeiling);
        _setGlobalDebtCeiling(setup.globalDebtCeiling);
        _setDust(setup.dust);
        _setLiquidationParams(setup.liquidation);
    }

    // ================================================================ positions

    /// @inheritdoc IVaultEngine
    function open(Mode mode, address asset, address owner) external returns (uint256 id) {
        if (_paused) revert Paused();
        if (owner == address(0)) revert ZeroAddress();
        address classKey = CROSS_CLASS;
        if (mode == Mode.Isolated) {
            _requireListed(asset);
            classKey = asset;
        } else {
            asset = address(0);
        }
        id = ++_lastId;
        _positions[id].classKey = classKey;
        _setOpenedFor(id, msg.sender, owner);
        emit PositionOpened(id, owner, mode, asset);
        nft.mint(owner, id);
    }

    /// @inheritdoc IVaultEngine
    function deposit(uint256 id, address asset, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint120).max) revert AmountTooLarge(amount);
        Position memory p = _requirePosition(id);
        Collateral memory c = _requireListed(asset);
        bool cross = p.classKey == CROSS_CLASS;
        if (!cross && asset != p.classKey) revert WrongAsset(id, asset);

        uint256 held = _collateral[id][asset];
        // Only the owner's side adds an asset to a basket: a stranger could otherwise fill it (L-3) or plant an asset
        // whose price fails, to block the owner's borrows and withdrawals (M-2). Topping up a holding is open to all.
        if (cross && held == 0) _requireAuthorized(id);

        uint256 received = _pull(IERC20(asset), amount);
        if (received == 0) revert ZeroAmount();
        uint256 total = c.total + received;
        if (total > c.supplyCap) revert SupplyCapExceeded(asset, total, c.supplyCap);
        if (cross && held == 0) _addToBasket(id, asset);

        _collateral[id][asset] = held + received;
        _collaterals[asset].total = uint120(total);
        emit PositionUpdated(id, Operation.Deposit, asset, held + received, p.normDebt);
        // Without debt there is no open call: a repayment to zero or a full liquidation clears it.
        if (p.normDebt != 0 && _callDeadline[id] != 0) {
            _tryClearCall(id, p.classKey, KeelMath.toDebtUp(p.normDebt, _currentRate(_classes[p.classKey])));
        }
    }

    /// @inheritdoc IVaultEngine
    function withdraw(uint256 id, address asset, uint256 amount, address to) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        Position memory p = _requirePosition(id);
        _requireAuthorized(id);
        bool cross = p.classKey == CROSS_CLASS;
        if (!cross && asset != p.classKey) revert WrongAsset(id, asset);
        uint256 held = _collateral[id][asset];
        if (amount > held) revert InsufficientCollateral(id, asset, held);

        _collateral[id][asset] = held - amount;
        _collaterals[asset].total -= uint120(amount);
        if (cross && held == amount) _removeFromBasket(id, asset);
        if (p.normDebt != 0) {
            (, uint256 rate) = _accrue(p.classKey);
            _requireInitialHealth(id, p.classKey, KeelMath.toDebtUp(p.normDebt, rate));
            _clearCallIfOpen(id);
        }
        emit PositionUpdated(id, Operation.Withdraw, asset, held - amount, p.normDebt);
        IERC20(asset).safeTransfer(to, amount);
    }

    /// @inheritdoc IVaultEngine
    function borrow(uint256 id, uint256 amount, address to) external nonReentrant {
        if (_paused) revert Paused();
        if (amount == 0) revert ZeroAmount();
        if (amount > MAX_DEBT_CEILING) revert AmountTooLarge(amount);
        if (to == address(0)) revert ZeroAddress();
        Position memory p = _requirePosition(id);
        _requireAuthorized(id);

        (DebtClass storage c, uint256 rate) = _accrue(p.classKey);
        uint256 added = KeelMath.toNormDebtUp(amount, rate);
        uint256 normDebt = p.normDebt + added;
        uint256 debt = KeelMath.toDebtUp(normDebt, rate);
        if (debt < _dust) revert DustDebt(id, debt, _dust);
        _addClassDebt(p.classKey, c, rate, added);

        _positions[id].normDebt = uint96(normDebt);
        _requireInitialHealth(id, p.classKey, debt);
        if (p.normDebt != 0) _clearCallIfOpen(id);
        emit PositionUpdated(id, Operation.Borrow, address(0), 0, normDebt);
        kusd.mint(to, amount);
    }

    /// @inheritdoc IVaultEngine
    function repay(uint256 id, uint256 amount) external nonReentrant returns (uint256 repaid) {
        if (amount == 0) revert ZeroAmount();
        Position memory p = _requirePosition(id);
        if (p.normDebt == 0) revert NoDebt(id);

        (DebtClass storage c, uint256 rate) = _accrue(p.classKey);
        uint256 debt = KeelMath.toDebtUp(p.normDebt, rate);
        uint256 removed;
        if (amount >= debt) {
            (repaid, removed) = (debt, p.normDebt);
        } else {
            (repaid, removed) = (amount, KeelMath.toNormDebtDown(amount, rate));
            if (removed == 0) revert ZeroAmount();
            uint256 rest = KeelMath.toDebtUp(p.normDebt - removed, rate);
            if (rest < _dust) revert DustDebt(id, rest, _dust);
        }
        uint256 normDebt = p.normDebt - removed;
        _removeClassDebt(c, rate, removed);
        _positions[id].normDebt = uint96(normDebt);
        emit PositionUpdated(id, Operation.Repay, address(0), 0, normDebt);
        if (_callDeadline[id] != 0) _tryClearCall(id, p.classKey, KeelMath.toDebtUp(normDebt, rate));
        kusd.burn(msg.sender, repaid);
    }

    /// @inheritdoc IVaultEngine
    function close(uint256 id, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        Position memory p = _requirePosition(id);
        _requireAuthorized(id);

        uint256 repaid;
        if (p.normDebt != 0) {
            (DebtClass storage c, uint256 rate) = _accrue(p.classKey);
            repaid = KeelMath.toDebtUp(p.normDebt, rate);
            _removeClassDebt(c, rate, p.normDebt);
        }
        (address[] memory assets, uint256[] memory amounts) = _holdings(id, p.classKey);
        for (uint256 i; i < assets.length; ++i) {
            _collaterals[assets[i]].total -= uint120(amounts[i]);
            delete _collateral[id][assets[i]];
        }
        if (p.classKey == CROSS_CLASS) delete _basket[id];
        delete _positions[id];
        _clearCallIfOpen(id);

        emit PositionUpdated(id, Operation.Close, address(0), 0, 0);
        emit PositionClosed(id);
        if (repaid != 0) kusd.burn(msg.sender, repaid);
        nft.burn(id);
        for (uint256 i; i < assets.length; ++i) {
            if (amounts[i] != 0) IERC20(assets[i]).safeTransfer(to, amounts[i]);
        }
    }

    /// @inheritdoc IVaultEngine
    function collectFees() external nonReentrant {
        address[] memory assets = risk.listedAssets();
        for (uint256 i; i < assets.length; ++i) {
            _accrue(assets[i]);
        }
        _accrue(CROSS_CLASS);
        uint256 amount = _fees;
        if (amount == 0) revert NothingToCollect();
        _fees = 0;
        emit FeesCollected(amount);
        kusd.mint(surplusBuffer, amount);
    }

    // ================================================================ margin calls and liquidation (module)

    /// @inheritdoc IVaultEngine
    function marginCall(uint256) external nonReentrant {
        _delegateToModule();
    }

    /// @inheritdoc IVaultEngine
    function clearMarginCall(uint256) external nonReentrant {
        _delegateToModule();
    }

    /// @inheritdoc IVaultEngine
    function liquidate(uint256, address, uint256, address, bytes calldata)
        external
        nonReentrant
        returns (uint256 repaid, uint256 seized)
    {
        return abi.decode(_delegateToModule(), (uint256, uint256));
    }

    /// @inheritdoc IVaultEngine
    function coverDeficit(uint256) external nonReentrant returns (uint256 covered) {
        return abi.decode(_delegateToModule(), (uint256));
    }

    /// @inheritdoc IVaultEngine
    function previewLiquidation(uint256, address, uint256)
        external
        nonReentrant
        returns (uint256 repaid, uint256 seized, uint256 fee, uint256 badDebt)
    {
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory result) = liquidationModule.delegatecall(msg.data);
        // The module always reverts: with LiquidationPreview(...) on success, or with the reason it cannot liquidate.
        if (ok || result.length != 132 || bytes4(result) != PREVIEW_SELECTOR) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
        assembly ("memory-safe") {
            repaid := mload(add(result, 36))
            seized := mload(add(result, 68))
            fee := mload(add(result, 100))
            badDebt := mload(add(result, 132))
        }
    }

    // ================================================================ governance

    /// @inheritdoc IVaultEngine
    function listAsset(address asset, Listing calldata listing) external restricted {
        if (asset == address(0) || asset == CROSS_CLASS) revert ZeroAddress();
        if (asset == address(kusd)) revert AssetNotListable(asset);
        if (_collaterals[asset].listed) revert AssetAlreadyListed(asset);
        _checkSupplyCap(listing.engine.supplyCap);
        oracle.setFeed(asset, listing.feed);
        risk.listAsset(asset, listing.risk, listing.correlations);
        oracle.getPrice(asset);
        _collaterals[asset] = Collateral({supplyCap: uint128(listing.engine.supplyCap), total: 0, listed: true});
        _createClass(asset, listing.engine.stabilityFee, listing.engine.debtCeiling);
        emit AssetListed(asset, listing.engine);
    }

    /// @inheritdoc IVaultEngine
    function setStabilityFee(address classKey, uint256 stabilityFee) external restricted {
        DebtClass storage c = _requireClass(classKey);
        _checkStabilityFee(stabilityFee);
        if (stabilityFee == c.stabilityFee) revert NoChange();
        _accrue(classKey);
        c.stabilityFee = uint104(stabilityFee);
        emit StabilityFeeSet(classKey, stabilityFee);
    }

    /// @inheritdoc IVaultEngine
    function setDebtCeiling(address classKey, uint256 debtCeiling) external restricted {
        DebtClass storage c = _requireClass(classKey);
        _checkDebtCeiling(debtCeiling);
        if (debtCeiling == c.debtCeiling) revert NoChange();
        c.debtCeiling = uint128(debtCeiling);
        emit DebtCeilingSet(classKey, debtCeiling);
    }

    /// @inheritdoc IVaultEngine
    function setSupplyCap(address asset, uint256 supplyCap) external restricted {
        Collateral memory c = _requireListed(asset);
        _checkSupplyCap(supplyCap);
        if (supplyCap == c.supplyCap) revert NoChange();
        _collaterals[asset].supplyCap = uint128(supplyCap);
        emit SupplyCapSet(asset, supplyCap);
    }

    /// @inheritdoc IVaultEngine
    function setGlobalDebtCeiling(uint256 debtCeiling) external restricted {
        if (debtCeiling == _globalDebtCeiling) revert NoChange();
        _setGlobalDebtCeiling(debtCeiling);
    }

    /// @inheritdoc IVaultEngine
    function setDust(uint256 newDust) external restricted {
        if (newDust == _dust) revert NoChange();
        _setDust(newDust);
    }

    /// @inheritdoc IVaultEngine
    function setLiquidationParams(LiquidationParams calldata params) external restricted {
        if (keccak256(abi.encode(params)) == keccak256(abi.encode(liquidationParams()))) revert NoChange();
        _setLiquidationParams(params);
    }

    /// @inheritdoc IVaultEngine
    function setPaused(bool pause) external restricted {
        if (pause == _paused) revert NoChange();
        _paused = pause;
        emit PausedSet(pause);
    }

    // ================================================================ views

    /// @inheritdoc IVaultEngine
    function debtOf(uint256 id) external view returns (uint256) {
        Position memory p = _positions[id];
        if (p.normDebt == 0) return 0;
        return KeelMath.toDebtUp(p.normDebt, _currentRate(_classes[p.classKey]));
    }

    /// @inheritdoc IVaultEngine
    function collateralOf(uint256 id, address asset) external view returns (uint256) {
        return _collateral[id][asset];
    }

    /// @inheritdoc IVaultEngine
    function collateralAssets(uint256 id) external view returns (address[] memory assets) {
        (assets,) = _holdings(id, _requirePosition(id).classKey);
    }

    /// @inheritdoc IVaultEngine
    function healthFactor(uint256 id) external view returns (uint256 hf, uint256 hfInitial) {
        Position memory p = _requirePosition(id);
        if (p.normDebt == 0) return (KeelMath.INFINITE_HEALTH, KeelMath.INFINITE_HEALTH);
        uint256 debt = KeelMath.toDebtUp(p.normDebt, _currentRate(_classes[p.classKey]));
        IRiskModel.Valuation memory v = _valuation(id, p.classKey);
        hf = KeelMath.healthFactorDown(v.value, v.maintenanceLoss, debt);
        hfInitial = KeelMath.healthFactorDown(v.value, v.initialLoss, debt);
    }

    /// @inheritdoc IVaultEngine
    function positionInfo(uint256 id) external view returns (Mode mode, address classKey, uint256 normDebt) {
        Position memory p = _requirePosition(id);
        mode = p.classKey == CROSS_CLASS ? Mode.Cross : Mode.Isolated;
        return (mode, p.classKey, p.normDebt);
    }

    /// @inheritdoc IVaultEngine
    function deficit() external view returns (uint256) {
        return _badDebt;
    }

    /// @inheritdoc IVaultEngine
    function accruedFees() external view returns (uint256 fees) {
        fees = _fees + _pendingFees(CROSS_CLASS);
        address[] memory assets = risk.listedAssets();
        for (uint256 i; i < assets.length; ++i) {
            fees += _pendingFees(assets[i]);
        }
    }

    /// @inheritdoc IVaultEngine
    function globalDebt() external view returns (uint256) {
        return _globalDebt;
    }

    /// @inheritdoc IVaultEngine
    function debtClass(address classKey) external view returns (DebtClass memory) {
        return _classes[classKey];
    }

    /// @inheritdoc IVaultEngine
    function currentRate(address classKey) external view returns (uint256) {
        return _currentRate(_requireClass(classKey));
    }

    /// @inheritdoc IVaultEngine
    function collateralConfig(address asset) external view returns (uint256 supplyCap, uint256 total, bool listed) {
        Collateral memory c = _collaterals[asset];
        return (c.supplyCap, c.total, c.listed);
    }

    /// @inheritdoc IVaultEngine
    function lastPositionId() external view returns (uint256) {
        return _lastId;
    }

    /// @inheritdoc IVaultEngine
    function globalDebtCeiling() external view returns (uint256) {
        return _globalDebtCeiling;
    }

    /// @inheritdoc IVaultEngine
    function dust() external view returns (uint256) {
        return _dust;
    }

    /// @inheritdoc IVaultEngine
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @inheritdoc IVaultEngine
    function stateOf(uint256 id) external view returns (State state, uint256 deadline, uint256 hf) {
        Position memory p = _requirePosition(id);
        deadline = _callDeadline[id];
        if (p.normDebt == 0) return (State.Safe, deadline, KeelMath.INFINITE_HEALTH);
        uint256 debt = KeelMath.toDebtUp(p.normDebt, _currentRate(_classes[p.classKey]));
        IRiskModel.Valuation memory v = _marginValuation(id, p.classKey);
        hf = KeelMath.healthFactorDown(v.value, v.maintenanceLoss, debt);
        state = _stateAt(hf, deadline);
    }

    /// @inheritdoc IVaultEngine
    function callDeadline(uint256 id) external view returns (uint256) {
        return _callDeadline[id];
    }

    /// @inheritdoc IVaultEngine
    function liquidationParams() public view returns (LiquidationParams memory) {
        return LiquidationParams({
            gracePeriod: _gracePeriod,
            criticalHF: _criticalHF,
            targetHF: _targetHF,
            closeFactor: _closeFactor,
            protocolShare: _protocolShare
        });
    }

    // ================================================================ internal

    /// @dev Runs this call's calldata in the liquidation module on this contract's storage; bubbles up reverts.
    function _delegateToModule() internal returns (bytes memory result) {
        bool ok;
        // solhint-disable-next-line avoid-low-level-calls
        (ok, result) = liquidationModule.delegatecall(msg.data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// @dev Adds normalized debt to `classKey`, enforcing its ceiling and the global one.
    function _addClassDebt(address classKey, DebtClass storage c, uint256 rate, uint256 added) internal {
        uint256 before = c.normDebt;
        uint256 classDebt = KeelMath.toDebtUp(before + added, rate);
        if (classDebt > c.debtCeiling) revert DebtCeilingExceeded(classKey, classDebt, c.debtCeiling);
        uint256 global = _globalDebt + classDebt - KeelMath.toDebtUp(before, rate);
        if (global > _globalDebtCeiling) revert DebtCeilingExceeded(address(0), global, _globalDebtCeiling);
        c.normDebt = uint112(before + added);
        _globalDebt = global;
    }

    function _pendingFees(address classKey) internal view returns (uint256) {
        DebtClass memory c = _classes[classKey];
        return KeelMath.toDebtUp(c.normDebt, _currentRate(c)) - KeelMath.toDebtUp(c.normDebt, c.rate);
    }

    function _createClass(address classKey, uint256 stabilityFee, uint256 debtCeiling) internal {
        _checkStabilityFee(stabilityFee);
        _checkDebtCeiling(debtCeiling);
        _classes[classKey] = DebtClass({
            rate: KeelMath.RAY,
            normDebt: 0,
            updatedAt: uint40(block.timestamp),
            stabilityFee: uint104(stabilityFee),
            debtCeiling: uint128(debtCeiling)
        });
        emit StabilityFeeSet(classKey, stabilityFee);
        emit DebtCeilingSet(classKey, debtCeiling);
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

    function _addToBasket(uint256 id, address asset) internal {
        address[] storage basket = _basket[id];
        if (basket.length == MAX_CROSS_ASSETS) revert TooManyAssets(id);
        basket.push(asset);
    }

    function _checkStabilityFee(uint256 stabilityFee) internal pure {
        if (stabilityFee < KeelMath.RAY || stabilityFee > MAX_STABILITY_FEE) {
            revert InvalidParameter("stabilityFee", stabilityFee);
        }
    }

    function _checkDebtCeiling(uint256 debtCeiling) internal pure {
        if (debtCeiling > MAX_DEBT_CEILING) revert InvalidParameter("debtCeiling", debtCeiling);
    }

    function _checkSupplyCap(uint256 supplyCap) internal pure {
        if (supplyCap > type(uint120).max) revert InvalidParameter("supplyCap", supplyCap);
    }

    function _setGlobalDebtCeiling(uint256 debtCeiling) internal {
        _checkDebtCeiling(debtCeiling);
        _globalDebtCeiling = uint128(debtCeiling);
        emit GlobalDebtCeilingSet(debtCeiling);
    }

    function _setDust(uint256 dust_) internal {
        if (dust_ > MAX_DUST) revert InvalidParameter("dust", dust_);
        _dust = uint88(dust_);
        emit DustSet(dust_);
    }

    function _setLiquidationParams(LiquidationParams memory params) internal {
        if (params.gracePeriod > MAX_GRACE_PERIOD) revert InvalidParameter("gracePeriod", params.gracePeriod);
        if (params.criticalHF < MIN_CRITICAL_HF || params.criticalHF >= KeelMath.WAD) {
            revert InvalidParameter("criticalHF", params.criticalHF);
        }
        if (params.targetHF <= KeelMath.WAD || params.targetHF > MAX_TARGET_HF) {
            revert InvalidParameter("targetHF", params.targetHF);
        }
        if (params.closeFactor == 0 || params.closeFactor > KeelMath.WAD) {
            revert InvalidParameter("closeFactor", params.closeFactor);
        }
        if (params.protocolShare > KeelMath.WAD) revert InvalidParameter("protocolShare", params.protocolShare);
        if (address(risk).code.length != 0) risk.checkCriticalHF(params.criticalHF);
        _gracePeriod = uint32(params.gracePeriod);
        _criticalHF = uint64(params.criticalHF);
        _targetHF = uint64(params.targetHF);
        _closeFactor = uint64(params.closeFactor);
        _protocolShare = uint64(params.protocolShare);
        emit LiquidationParamsSet(params);
    }

    function _setOpenedFor(uint256 id, address opener, address owner) internal {
        bytes32 slot = keccak256(abi.encode(id, opener, OPENER_SLOT));
        assembly ("memory-safe") {
            tstore(slot, owner)
        }
    }
}
