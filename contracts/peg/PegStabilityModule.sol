// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IKeelUSD} from "../interfaces/IKeelUSD.sol";
import {IPegStabilityModule} from "../interfaces/IPegStabilityModule.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title PegStabilityModule
/// @notice One reserve asset ("gem") swapped for kUSD at $1 less a fee, up to a debt ceiling (docs/spec.md §10).
/// @dev The module is a registered kUSD minter. `debt` counts only the scaled reserve amounts (P of the ledger);
/// fees are minted to (selling gem) or burnt from the payer and minted to (buying gem) the surplus buffer, so
/// kUSD.totalSupply() == TD − F + B + P stays exact. The reserve held is ≥ debt / scale always: debt rises only with
/// gem received (the received amount is checked) and falls before gem is paid out.
contract PegStabilityModule is IPegStabilityModule, AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Largest fee each way: 1% [wad].
    uint256 public constant MAX_FEE = 0.01e18;
    /// @notice Range of the freeze threshold [wad]: 0.1% to 10% from $1.
    uint256 public constant MIN_FREEZE_THRESHOLD = 0.001e18;
    uint256 public constant MAX_FREEZE_THRESHOLD = 0.1e18;
    uint256 public constant MAX_DEBT_CEILING = 1e28;

    IKeelUSD public immutable kusd;
    IERC20 internal immutable _gem;
    IPriceOracle public immutable oracle;
    address public immutable surplusBuffer;
    /// @notice 10^(18 − gem decimals): kUSD [wad] per unit of gem.
    uint256 public immutable scale;

    uint256 public feeIn; // [wad]
    uint256 public feeOut; // [wad]
    uint256 public freezeThreshold; // [wad]
    bool public sellGemPaused;
    uint256 internal _debt; // [wad]
    uint256 internal _debtCeiling; // [wad]

    constructor(
        address authority,
        IKeelUSD kusd_,
        IERC20 gem_,
        IPriceOracle oracle_,
        address surplusBuffer_,
        PegParams memory params
    ) AccessManaged(authority) {
        if (address(kusd_) == address(0) || address(gem_) == address(0) || surplusBuffer_ == address(0)) {
            revert ZeroAddress();
        }
        if (address(oracle_) == address(0)) revert ZeroAddress();
        uint8 decimals = IERC20Metadata(address(gem_)).decimals();
        if (decimals > 18) revert GemDecimalsUnsupported(decimals);
        kusd = kusd_;
        _gem = gem_;
        oracle = oracle_;
        surplusBuffer = surplusBuffer_;
        scale = 10 ** (18 - decimals);
        _setFees(params.feeIn, params.feeOut);
        _setDebtCeiling(params.debtCeiling);
        _setFreezeThreshold(params.freezeThreshold);
    }

    // ================================================================ swaps

    /// @inheritdoc IPegStabilityModule
    function sellGem(address to, uint256 gemAmount) external nonReentrant returns (uint256 kusdOut) {
        if (to == address(0)) revert ZeroAddress();
        if (gemAmount == 0) revert ZeroAmount();
        if (sellGemPaused) revert SellGemPaused();
        _requirePegged();
        uint256 amount = gemAmount * scale;
        uint256 fee = KeelMath.mulWadUp(amount, feeIn);
        if (amount <= fee) revert AmountTooSmall(gemAmount);
        uint256 debtAfter = _debt + amount;
        if (debtAfter > _debtCeiling) revert PegCeilingExceeded(debtAfter, _debtCeiling);
        _debt = debtAfter;
        kusdOut = amount - fee;
        uint256 before = _gem.balanceOf(address(this));
        _gem.safeTransferFrom(msg.sender, address(this), gemAmount);
        uint256 received = _gem.balanceOf(address(this)) - before;
        if (received != gemAmount) revert GemTransferShort(gemAmount, received);
        emit GemSold(msg.sender, to, gemAmount, kusdOut, fee);
        kusd.mint(to, kusdOut);
        if (fee > 0) kusd.mint(surplusBuffer, fee);
    }

    /// @inheritdoc IPegStabilityModule
    function buyGem(address to, uint256 gemAmount) external nonReentrant returns (uint256 kusdIn) {
        if (to == address(0)) revert ZeroAddress();
        if (gemAmount == 0) revert ZeroAmount();
        uint256 amount = gemAmount * scale;
        if (amount > _debt) revert PegDebtTooLow(amount, _debt);
        uint256 fee = KeelMath.mulWadUp(amount, feeOut);
        kusdIn = amount + fee;
        _debt -= amount;
        emit GemBought(msg.sender, to, gemAmount, kusdIn, fee);
        // Burn what the caller pays and mint the fee to the buffer: the same as a transfer of the fee, without an
        // allowance; supply falls by exactly `amount`, as P does.
        kusd.burn(msg.sender, kusdIn);
        if (fee > 0) kusd.mint(surplusBuffer, fee);
        _gem.safeTransfer(to, gemAmount);
    }

    // ================================================================ governance

    /// @inheritdoc IPegStabilityModule
    function setFees(uint256 feeIn_, uint256 feeOut_) external restricted {
        if (feeIn_ == feeIn && feeOut_ == feeOut) revert NoChange();
        _setFees(feeIn_, feeOut_);
    }

    /// @inheritdoc IPegStabilityModule
    function setDebtCeiling(uint256 ceiling) external restricted {
        if (ceiling == _debtCeiling) revert NoChange();
        _setDebtCeiling(ceiling);
    }

    /// @inheritdoc IPegStabilityModule
    function setFreezeThreshold(uint256 threshold) external restricted {
        if (threshold == freezeThreshold) revert NoChange();
        _setFreezeThreshold(threshold);
    }

    /// @inheritdoc IPegStabilityModule
    function setSellGemPaused(bool paused) external restricted {
        if (paused == sellGemPaused) revert NoChange();
        sellGemPaused = paused;
        emit SellGemPausedSet(paused);
    }

    // ================================================================ views

    /// @inheritdoc IPegStabilityModule
    function debt() external view returns (uint256) {
        return _debt;
    }

    /// @inheritdoc IPegStabilityModule
    function debtCeiling() external view returns (uint256) {
        return _debtCeiling;
    }

    /// @inheritdoc IPegStabilityModule
    function gem() external view returns (address) {
        return address(_gem);
    }

    /// @inheritdoc IPegStabilityModule
    function sellGemFrozen() external view returns (bool) {
        if (sellGemPaused) return true;
        try oracle.getPrice(address(_gem)) returns (uint256 price) {
            return _distanceFromDollar(price) > freezeThreshold;
        } catch {
            return true;
        }
    }

    // ================================================================ internal

    /// @dev No kUSD is minted against a reserve whose price fails or is off $1 by more than the threshold.
    function _requirePegged() internal view {
        uint256 price;
        try oracle.getPrice(address(_gem)) returns (uint256 p) {
            price = p;
        } catch {
            revert ReservePriceUnavailable();
        }
        if (_distanceFromDollar(price) > freezeThreshold) revert ReserveDepegged(price, freezeThreshold);
    }

    function _distanceFromDollar(uint256 price) internal pure returns (uint256) {
        return price > 1e18 ? price - 1e18 : 1e18 - price;
    }

    function _setFees(uint256 feeIn_, uint256 feeOut_) internal {
        if (feeIn_ > MAX_FEE) revert InvalidParameter("feeIn", feeIn_);
        if (feeOut_ > MAX_FEE) revert InvalidParameter("feeOut", feeOut_);
        feeIn = feeIn_;
        feeOut = feeOut_;
        emit PegFeesSet(feeIn_, feeOut_);
    }

    function _setDebtCeiling(uint256 ceiling) internal {
        if (ceiling > MAX_DEBT_CEILING) revert InvalidParameter("debtCeiling", ceiling);
        _debtCeiling = ceiling;
        emit PegDebtCeilingSet(ceiling);
    }

    function _setFreezeThreshold(uint256 threshold) internal {
        if (threshold < MIN_FREEZE_THRESHOLD || threshold > MAX_FREEZE_THRESHOLD) {
            revert InvalidParameter("freezeThreshold", threshold);
        }
        freezeThreshold = threshold;
        emit FreezeThresholdSet(threshold);
    }
}
