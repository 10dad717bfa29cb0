// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IVaultEngine} from "../interfaces/IVaultEngine.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IKeelUSD} from "../interfaces/IKeelUSD.sol";
import {IPositionNFT} from "../interfaces/IPositionNFT.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title VaultEngine
/// @notice Positions, collateral, debt and accrual (see IVaultEngine). Holds every collateral token.
/// @dev Accounting (DESIGN §6): `globalDebt` is kept equal to Σ_class ceil(normDebt × rate) at each class's last
/// accrual; every borrow adds at least what it mints, every repayment removes at most what it burns, and accrual
/// adds to `globalDebt` and `accruedFees` alike. Hence kUSD supply ≤ Σ debt − fees + bad debt, the gap being
/// rounding in the protocol's favour.
contract VaultEngine is IVaultEngine, AccessManaged, ReentrancyGuardTransient {
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
    address public constant override CROSS_CLASS = address(uint160(uint256(keccak256("keel.classKey.cross"))));
    uint256 public constant MAX_CROSS_ASSETS = 8;
    /// @notice 100% a year, compounded per second: 2^(1 / 31,536,000) [ray].
    uint256 public constant MAX_STABILITY_FEE = 1_000_000_021_979_553_151_239_153_027;
    /// @notice Largest debt ceiling [wad]: 10 billion kUSD, so normalized debt always fits 96 bits.
    uint256 public constant MAX_DEBT_CEILING = 1e28;
    uint256 public constant MAX_DUST = 1e24;

    IKeelUSD public immutable kusd;
    IPositionNFT public immutable nft;
    IRiskModel public immutable risk;
    IPriceOracle public immutable oracle;
    /// @notice Receives collected fees.
    address public immutable surplusBuffer;

    mapping(uint256 id => Position) internal _positions;
    mapping(uint256 id => mapping(address asset => uint256)) internal _collateral; // token decimals
    mapping(uint256 id => address[]) internal _basket; // cross positions: assets with a non-zero amount
    mapping(address asset => Collateral) internal _collaterals;
    mapping(address classKey => DebtClass) internal _classes;

    uint128 internal _globalDebt; // [wad] Σ_class ceil(normDebt × rate) at last accrual
    uint128 internal _fees; // [wad] accrued, not yet collected
    uint128 internal _globalDebtCeiling; // [wad]
    uint120 internal _dust; // [wad]
    bool internal _paused;
    uint256 internal _badDebt; // [wad] uncovered
    uint256 internal _lastId;

    /// @dev Transient map id → the account that opened it in this transaction.
    bytes32 private constant OPENER_SLOT = keccak256("keel.engine.opener");

    /// @notice The cross class's fee, ceiling and the global limits at deployment.
    struct Setup {
        uint256 crossStabilityFee; // [ray]
        uint256 crossDebtCeiling; // [wad]
        uint256 globalDebtCeiling; // [wad]
        uint256 dust; // [wad]
    }

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
        _createClass(CROSS_CLASS, setup.crossStabilityFee, setup.crossDebtCeiling);
        _setGlobalDebtCeiling(setup.globalDebtCeiling);
        _setDust(setup.dust);
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
        _setOpener(id, msg.sender);
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

        uint256 received = _pull(IERC20(asset), amount);
        if (received == 0) revert ZeroAmount();
        uint256 total = c.total + received;
        if (total > c.supplyCap) revert SupplyCapExceeded(asset, total, c.supplyCap);
        uint256 held = _collateral[id][asset];
        if (cross && held == 0) _addToBasket(id, asset);

        _collateral[id][asset] = held + received;
        _collaterals[asset].total = uint120(total);
        emit PositionUpdated(id, Operation.Deposit, asset, held + received, p.normDebt);
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

    // ================================================================ governance

    /// @inheritdoc IVaultEngine
    function listAsset(address asset, Listing calldata listing) external restricted {
        if (asset == address(0) || asset == CROSS_CLASS) revert ZeroAddress();
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

    // ================================================================ internal: debt

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
            _fees += uint128(added);
            _globalDebt += uint128(added);
            emit Accrued(classKey, next, added);
        }
        rate = next;
    }

    /// @dev Adds normalized debt to `classKey`, enforcing its ceiling and the global one.
    function _addClassDebt(address classKey, DebtClass storage c, uint256 rate, uint256 added) internal {
        uint256 before = c.normDebt;
        uint256 classDebt = KeelMath.toDebtUp(before + added, rate);
        if (classDebt > c.debtCeiling) revert DebtCeilingExceeded(classKey, classDebt, c.debtCeiling);
        uint256 global = _globalDebt + classDebt - KeelMath.toDebtUp(before, rate);
        if (global > _globalDebtCeiling) revert DebtCeilingExceeded(address(0), global, _globalDebtCeiling);
        c.normDebt = uint112(before + added);
        _globalDebt = uint128(global);
    }

    function _removeClassDebt(DebtClass storage c, uint256 rate, uint256 removed) internal {
        uint256 before = c.normDebt;
        _globalDebt -= uint128(KeelMath.toDebtUp(before, rate) - KeelMath.toDebtUp(before - removed, rate));
        c.normDebt = uint112(before - removed);
    }

    function _currentRate(DebtClass memory c) internal view returns (uint256) {
        return KeelMath.accrueRateUp(c.rate, c.stabilityFee, block.timestamp - c.updatedAt);
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

    // ================================================================ internal: margin

    function _requireInitialHealth(uint256 id, address classKey, uint256 debt) internal view {
        IRiskModel.Valuation memory v = _valuation(id, classKey);
        uint256 hfInitial = KeelMath.healthFactorDown(v.value, v.initialLoss, debt);
        if (hfInitial < KeelMath.WAD) revert Unhealthy(id, hfInitial);
    }

    function _valuation(uint256 id, address classKey) internal view returns (IRiskModel.Valuation memory) {
        if (classKey != CROSS_CLASS) return risk.assessOne(classKey, _collateral[id][classKey]);
        (address[] memory assets, uint256[] memory amounts) = _holdings(id, classKey);
        return risk.assess(assets, amounts);
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

    // ================================================================ internal: collateral

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

    // ================================================================ internal: checks

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

    /// @dev Owner, approved, operator, or the account that opened `id` earlier in this transaction.
    function _requireAuthorized(uint256 id) internal view {
        if (_openerOf(id) == msg.sender) return;
        if (!nft.isAuthorized(msg.sender, id)) revert NotAuthorized(id, msg.sender);
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
        _dust = uint120(dust_);
        emit DustSet(dust_);
    }

    // ================================================================ internal: transient opener

    function _setOpener(uint256 id, address opener) internal {
        bytes32 slot = keccak256(abi.encode(id, OPENER_SLOT));
        assembly ("memory-safe") {
            tstore(slot, opener)
        }
    }

    function _openerOf(uint256 id) internal view returns (address opener) {
        bytes32 slot = keccak256(abi.encode(id, OPENER_SLOT));
        assembly ("memory-safe") {
            opener := tload(slot)
        }
    }
}
