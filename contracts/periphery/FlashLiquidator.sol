// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC3156FlashBorrower} from "@openzeppelin/contracts/interfaces/IERC3156FlashBorrower.sol";
import {IERC3156FlashLender} from "@openzeppelin/contracts/interfaces/IERC3156FlashLender.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IVaultEngine} from "../interfaces/IVaultEngine.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {ISwapVenue} from "../interfaces/ISwapVenue.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title FlashLiquidator
/// @notice Capital-free liquidation: flash-mints kUSD, liquidates, sells the seized collateral on a swap venue,
/// repays the flash mint and sends the profit to the caller — or reverts if the profit is below `minProfit`.
/// A keeper holding no kUSD can liquidate with it, one position at a time (`liquidate`) or many in one transaction
/// (`liquidateBatch`: one flash mint, one sale per asset, one profit check).
/// @dev Holds nothing between transactions. Only a flash mint it started itself is accepted as a callback.
contract FlashLiquidator is IERC3156FlashBorrower, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice One position of a batch.
    struct Target {
        uint256 id; // position id
        address asset; // the holding to seize (an insolvent position hands over every holding)
        uint256 maxRepay; // [wad] kUSD cap on this position's repayment; type(uint256).max: all that is due
    }

    bytes32 internal constant FLASH_SUCCESS = keccak256("ERC3156FlashBorrower.onFlashLoan");
    /// @dev Transient: which job this contract's own flash mint in flight carries (IDLE when none).
    bytes32 internal constant JOB_SLOT = keccak256("keel.flashLiquidator.active");
    /// @dev Transient: a batch's liquidated count and total repaid [wad], from the callback to `liquidateBatch`.
    bytes32 internal constant LIQUIDATED_SLOT = keccak256("keel.flashLiquidator.liquidated");
    bytes32 internal constant REPAID_SLOT = keccak256("keel.flashLiquidator.repaid");
    uint256 internal constant IDLE = 0;
    uint256 internal constant SINGLE = 1;
    uint256 internal constant BATCH = 2;

    IVaultEngine public immutable engine;
    IRiskModel public immutable risk;
    IERC20 public immutable kusd;

    /// @notice One capital-free liquidation: `repaid` kUSD of position `id`'s debt, `profit` kUSD to the keeper.
    event FlashLiquidated(uint256 indexed id, address indexed keeper, address indexed asset, uint256 repaid, uint256 profit);
    /// @notice A batch of `targets` positions by `keeper`: `liquidated` of them liquidated (each also emits the
    /// engine's `Liquidated`), `repaid` kUSD [wad] of debt repaid in all, `profit` kUSD [wad] to the keeper.
    event BatchLiquidated(address indexed keeper, uint256 targets, uint256 liquidated, uint256 repaid, uint256 profit);
    /// @notice A batch skipped position `id` (seizing `asset`): `reason` is the revert data of its liquidation (for
    /// example `NotLiquidatable(id, hf)`), or `NothingToRepay(id)` when it had no debt.
    event LiquidationSkipped(uint256 indexed id, address indexed asset, bytes reason);
    /// @notice Selling `amount` (token decimals) of seized `asset` on the batch's venue reverted with `reason`; the
    /// amount went to the keeper unsold.
    event SaleFailed(address indexed asset, uint256 amount, bytes reason);

    /// @notice The liquidation would pay `profit` kUSD, below the caller's `minProfit`.
    error Unprofitable(uint256 profit, uint256 minProfit);
    /// @notice A flash-loan callback this contract did not ask for.
    error UntrustedCallback(address lender, address initiator);
    /// @notice Selling the collateral raised `held` kUSD, short of the `owed` flash mint plus fee.
    error FlashRepaymentShort(uint256 held, uint256 owed);
    /// @notice Position `id` has no debt to repay.
    error NothingToRepay(uint256 id);
    /// @notice A batch with no target.
    error EmptyBatch();

    constructor(IVaultEngine engine_, IRiskModel risk_, IERC20 kusd_) {
        engine = engine_;
        risk = risk_;
        kusd = kusd_;
    }

    /// @notice Liquidates position `id` by seizing `asset`, repaying at most `maxRepay` kUSD with flash-minted kUSD,
    /// and selling every collateral received on `venue`. Reverts unless the caller earns at least `minProfit`.
    /// @return profit kUSD [wad] sent to the caller.
    function liquidate(uint256 id, address asset, uint256 maxRepay, ISwapVenue venue, uint256 minProfit)
        external
        nonReentrant
        returns (uint256 profit)
    {
        uint256 debt = engine.debtOf(id);
        if (debt == 0) revert NothingToRepay(id);
        uint256 repayCap = maxRepay < debt ? maxRepay : debt;
        // Borrow enough for the largest repayment plus the protocol's share of the largest bonus (ℓ) on it.
        uint256 fee = KeelMath.protocolFeeUp(
            repayCap, risk.assetRisk(asset).liquidationPenalty, engine.liquidationParams().protocolShare
        );
        bytes memory job = abi.encode(id, asset, repayCap, venue, engine.collateralAssets(id));
        _flashMint(SINGLE, repayCap + fee, job);

        profit = kusd.balanceOf(address(this));
        if (profit < minProfit) revert Unprofitable(profit, minProfit);
        emit FlashLiquidated(id, msg.sender, asset, repayCap, profit);
        if (profit != 0) kusd.safeTransfer(msg.sender, profit);
    }

    /// @notice Liquidates many positions with one flash mint: borrows, for every target with debt, its repayment cap
    /// `min(maxRepay, debt)` plus the protocol's share of the penalty on it; attempts each liquidation on its own
    /// (one that reverts — no longer Liquidatable, liquidated by someone else, nothing to seize — is skipped with
    /// `LiquidationSkipped` and its reason); sells each seized asset once for the whole batch on `venue`; repays the
    /// flash mint and sends the profit to the caller. Reverts unless the caller earns at least `minProfit`.
    /// @dev Warning: the flash fee is paid on every target's cap, liquidated or skipped, out of the batch's proceeds;
    /// a batch whose proceeds cannot repay the flash mint and its fee reverts `FlashRepaymentShort` (for example when
    /// every position recovered before it was mined). A sale that reverts does not fail the batch: that asset goes
    /// to the caller unsold (`SaleFailed`), not counted in the profit, and the other sales must repay the flash mint.
    /// Targets are attempted in order; a position listed twice is attempted twice.
    /// @return profit kUSD [wad] sent to the caller.
    function liquidateBatch(Target[] calldata targets, ISwapVenue venue, uint256 minProfit)
        external
        nonReentrant
        returns (uint256 profit)
    {
        if (targets.length == 0) revert EmptyBatch();
        (Target[] memory planned, address[] memory sell, uint256 loan) = _planBatch(targets);
        uint256 liquidated;
        uint256 repaid;
        if (loan != 0) {
            _flashMint(BATCH, loan, abi.encode(planned, sell, venue, msg.sender));
            (liquidated, repaid) = (_tload(LIQUIDATED_SLOT), _tload(REPAID_SLOT));
        }

        profit = kusd.balanceOf(address(this));
        if (profit < minProfit) revert Unprofitable(profit, minProfit);
        emit BatchLiquidated(msg.sender, targets.length, liquidated, repaid, profit);
        if (profit != 0) kusd.safeTransfer(msg.sender, profit);
    }

    /// @inheritdoc IERC3156FlashBorrower
    function onFlashLoan(address initiator, address, uint256 amount, uint256 fee, bytes calldata job)
        external
        returns (bytes32)
    {
        uint256 kind = _tload(JOB_SLOT);
        if (msg.sender != address(kusd) || initiator != address(this) || kind == IDLE) {
            revert UntrustedCallback(msg.sender, initiator);
        }
        if (kind == SINGLE) _runSingle(job);
        else _runBatch(job);
        uint256 owed = amount + fee;
        uint256 held = kusd.balanceOf(address(this));
        if (held < owed) revert FlashRepaymentShort(held, owed);
        kusd.forceApprove(address(kusd), owed);
        return FLASH_SUCCESS;
    }

    // ================================================================ internals

    function _flashMint(uint256 kind, uint256 amount, bytes memory job) internal {
        _tstore(JOB_SLOT, kind);
        IERC3156FlashLender(address(kusd)).flashLoan(this, address(kusd), amount, job);
        _tstore(JOB_SLOT, IDLE);
    }

    /// @dev One liquidation, then every asset the position held is sold (an insolvent position hands over all).
    function _runSingle(bytes calldata job) internal {
        (uint256 id, address asset, uint256 repayCap, ISwapVenue venue, address[] memory assets) =
            abi.decode(job, (uint256, address, uint256, ISwapVenue, address[]));
        engine.liquidate(id, asset, repayCap, address(this), "");
        for (uint256 i; i < assets.length; ++i) {
            uint256 amountIn = IERC20(assets[i]).balanceOf(address(this));
            if (amountIn == 0) continue;
            IERC20(assets[i]).forceApprove(address(venue), amountIn);
            venue.swapExactIn(assets[i], address(kusd), amountIn, 0, address(this));
        }
    }

    /// @dev Before the flash mint: each target's repayment cap (targets without debt, or whose asset has no risk
    /// parameters, are skipped here and left out), the loan (caps plus the protocol fee on each), and the distinct
    /// assets the attempted positions hold: the only tokens a liquidation can hand over, so the only ones to sell.
    /// @return planned The targets to attempt, `maxRepay` lowered to the cap.
    /// @return sell The distinct assets to sell afterwards.
    /// @return loan [wad] kUSD to flash-mint.
    function _planBatch(Target[] calldata targets)
        internal
        returns (Target[] memory planned, address[] memory sell, uint256 loan)
    {
        uint256 share = engine.liquidationParams().protocolShare;
        planned = new Target[](targets.length);
        sell = new address[](1); // grows by doubling: a batch usually sells one or a few assets
        (uint256 n, uint256 sellCount) = (0, 0);
        (address pricedAsset, uint256 penalty) = (address(0), 0); // the last asset's penalty [wad], read once per run
        for (uint256 i; i < targets.length; ++i) {
            Target calldata t = targets[i];
            uint256 debt = engine.debtOf(t.id);
            if (debt == 0) {
                emit LiquidationSkipped(t.id, t.asset, abi.encodeWithSelector(NothingToRepay.selector, t.id));
                continue;
            }
            if (t.asset != pricedAsset || pricedAsset == address(0)) {
                try risk.assetRisk(t.asset) returns (IRiskModel.AssetRiskParams memory r) {
                    (pricedAsset, penalty) = (t.asset, r.liquidationPenalty);
                } catch (bytes memory reason) {
                    emit LiquidationSkipped(t.id, t.asset, reason);
                    continue;
                }
            }
            uint256 cap = t.maxRepay < debt ? t.maxRepay : debt;
            loan += cap + KeelMath.protocolFeeUp(cap, penalty, share);
            planned[n++] = Target({id: t.id, asset: t.asset, maxRepay: cap});
            address[] memory held = engine.collateralAssets(t.id);
            for (uint256 j; j < held.length; ++j) {
                (sell, sellCount) = _addOnce(sell, sellCount, held[j]);
            }
        }
        _shrink(planned, n);
        _shrink(sell, sellCount);
    }

    /// @dev Every planned liquidation in a try (a revert skips that position), then one sale per asset.
    function _runBatch(bytes calldata job) internal {
        (Target[] memory targets, address[] memory sell, ISwapVenue venue, address keeper) =
            abi.decode(job, (Target[], address[], ISwapVenue, address));
        uint256 liquidated;
        uint256 repaidTotal;
        for (uint256 i; i < targets.length; ++i) {
            Target memory t = targets[i];
            try engine.liquidate(t.id, t.asset, t.maxRepay, address(this), "") returns (uint256 repaid, uint256) {
                ++liquidated;
                repaidTotal += repaid;
            } catch (bytes memory reason) {
                emit LiquidationSkipped(t.id, t.asset, reason);
            }
        }
        _tstore(LIQUIDATED_SLOT, liquidated);
        _tstore(REPAID_SLOT, repaidTotal);
        for (uint256 j; j < sell.length; ++j) {
            _sellOrHandOver(IERC20(sell[j]), venue, keeper);
        }
    }

    /// @dev Sells all of `asset` held for kUSD; if the venue reverts, sends it to `keeper` instead.
    function _sellOrHandOver(IERC20 asset, ISwapVenue venue, address keeper) internal {
        uint256 amountIn = asset.balanceOf(address(this));
        if (amountIn == 0) return;
        asset.forceApprove(address(venue), amountIn);
        try venue.swapExactIn(address(asset), address(kusd), amountIn, 0, address(this)) {}
        catch (bytes memory reason) {
            asset.forceApprove(address(venue), 0);
            emit SaleFailed(address(asset), amountIn, reason);
            asset.safeTransfer(keeper, amountIn);
        }
    }

    /// @dev `set` with `a` appended unless it holds it among its first `n`; grows when full.
    function _addOnce(address[] memory set, uint256 n, address a) internal pure returns (address[] memory, uint256) {
        for (uint256 k; k < n; ++k) {
            if (set[k] == a) return (set, n);
        }
        if (n == set.length) {
            address[] memory grown = new address[](2 * n);
            for (uint256 k; k < n; ++k) {
                grown[k] = set[k];
            }
            set = grown;
        }
        set[n] = a;
        return (set, n + 1);
    }

    /// @dev Lowers a memory array's length to its first `n` entries (the rest stays allocated, unread).
    function _shrink(Target[] memory a, uint256 n) internal pure {
        assembly ("memory-safe") {
            mstore(a, n)
        }
    }

    function _shrink(address[] memory a, uint256 n) internal pure {
        assembly ("memory-safe") {
            mstore(a, n)
        }
    }

    function _tstore(bytes32 slot, uint256 value) internal {
        assembly ("memory-safe") {
            tstore(slot, value)
        }
    }

    function _tload(bytes32 slot) internal view returns (uint256 value) {
        assembly ("memory-safe") {
            value := tload(slot)
        }
    }
}
