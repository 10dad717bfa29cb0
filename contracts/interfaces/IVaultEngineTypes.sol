// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "./IKeelErrors.sol";
import {IRiskModel} from "./IRiskModel.sol";
import {IPriceOracle} from "./IPriceOracle.sol";

/// @dev The debt class of every cross position (an isolated position's class is its asset): a fixed address no
/// token can have, shared by the engine and the periphery.
address constant CROSS_CLASS_KEY = address(uint160(uint256(keccak256("keel.class.cross"))));

/// @title IVaultEngineTypes
/// @notice Types, events and custom errors of the VaultEngine (see IVaultEngine).
/// @dev Units: collateral amounts in the token's own decimals, debt and kUSD in 18 decimals ([wad]), rates and
/// accumulators in [ray]. A position belongs to one debt class: its asset when isolated, `CROSS_CLASS` when cross.
interface IVaultEngineTypes is IKeelErrors {
    /// @notice Isolated: exactly one collateral asset, fixed at open. Cross: up to 8 listed assets backing one debt.
    enum Mode {
        Isolated,
        Cross
    }

    /// @notice What changed a position, tagged on every `PositionUpdated` event.
    enum Operation {
        Deposit,
        Withdraw,
        Borrow,
        Repay,
        Close,
        Liquidate
    }

    /// @notice Margin state of a position (docs/spec.md §4). Positions without debt are Safe.
    enum State {
        Safe, // HF ≥ 1
        Callable, // HF < 1, no open call
        Called, // a call is open and its deadline has not passed
        Liquidatable // called and past the deadline with HF < 1, or HF < criticalHF
    }

    /// @notice Liquidation terms, set by governance.
    struct LiquidationParams {
        uint256 gracePeriod; // [s] from a margin call to liquidation; 0 = classic immediate liquidation
        uint256 criticalHF; // [wad] below it a position is liquidatable at once and in full
        uint256 targetHF; // [wad] > 1: a partial liquidation repays at most what restores this HF
        uint256 closeFactor; // [wad] largest share of the debt one partial liquidation repays
        uint256 protocolShare; // [wad] share of the penalty paid to the surplus buffer
    }

    /// @notice Per-asset engine configuration set at listing.
    struct AssetConfig {
        uint256 stabilityFee; // [ray] per-second fee factor (1 + rate); RAY means no fee
        uint256 debtCeiling; // [wad] cap on isolated debt backed by this asset
        uint256 supplyCap; // token decimals: cap on the asset held across all positions
    }

    /// @notice Everything needed to list an asset, validated as one governed call.
    struct Listing {
        AssetConfig engine;
        IPriceOracle.FeedParams feed;
        IRiskModel.AssetRiskParams risk;
        /// @dev ρ [wad] against every already-listed asset, in listing order (`listedAssets()`).
        uint256[] correlations;
    }

    /// @notice A rate accumulator shared by all positions of one class.
    struct DebtClass {
        uint256 rate; // [ray] accumulated fee factor since the class was created
        uint112 normDebt; // [wad] Σ normalized debt of the class
        uint40 updatedAt; // [s] last accrual
        uint104 stabilityFee; // [ray] per-second fee factor, ≥ RAY
        uint128 debtCeiling; // [wad] cap on ceil(normDebt × rate)
    }

    // ---------------------------------------------------------------- events

    /// @notice A position was opened; the PositionNFT with token id `id` was minted to `owner`.
    /// @param asset The isolated asset, or zero for a cross position.
    event PositionOpened(uint256 indexed id, address indexed owner, Mode mode, address asset);
    /// @notice A position's collateral or debt changed.
    /// @param asset The collateral asset that changed, or zero when only debt changed.
    /// @param collateral The position's new amount of `asset` (token decimals).
    /// @param normDebt The position's new normalized debt [wad]; its debt is normDebt × rate of its class (rounded up).
    event PositionUpdated(
        uint256 indexed id, Operation indexed op, address indexed asset, uint256 collateral, uint256 normDebt
    );
    /// @notice A position was closed: no debt, no collateral, NFT burnt.
    event PositionClosed(uint256 indexed id);
    /// @notice A margin call was opened on position `id`; it becomes liquidatable at `deadline` if still short.
    event MarginCalled(uint256 indexed id, uint256 deadline);
    /// @notice The margin call on position `id` was cleared: it was seen with HF ≥ 1.
    event MarginCallCleared(uint256 indexed id);
    /// @notice Position `id` was liquidated: `repaid` kUSD [wad] of its debt for `seized` of `asset` (token
    /// decimals); `badDebt` [wad] is the debt left uncovered by an insolvent position's collateral.
    event Liquidated(
        uint256 indexed id,
        address indexed liquidator,
        address indexed asset,
        uint256 repaid,
        uint256 seized,
        uint256 badDebt
    );
    /// @notice Bad debt was covered: `fromSurplus` [wad] burnt from the surplus buffer, `byPayer` [wad] burnt by `payer`.
    event DeficitCovered(address indexed payer, uint256 fromSurplus, uint256 byPayer);
    /// @notice The liquidation terms were set.
    event LiquidationParamsSet(LiquidationParams params);
    /// @notice A debt class accrued: its accumulator moved to `rate`, adding `fees` [wad] to the accrued fees.
    event Accrued(address indexed classKey, uint256 rate, uint256 fees);
    /// @notice Accrued fees were minted to the surplus buffer.
    event FeesCollected(uint256 amount);
    /// @notice An asset was listed as collateral.
    event AssetListed(address indexed asset, AssetConfig config);
    /// @notice Debt class `classKey`'s per-second fee factor was set [ray].
    event StabilityFeeSet(address indexed classKey, uint256 stabilityFee);
    /// @notice Debt class `classKey`'s ceiling was set [wad].
    event DebtCeilingSet(address indexed classKey, uint256 debtCeiling);
    /// @notice `asset`'s supply cap was set (token decimals).
    event SupplyCapSet(address indexed asset, uint256 supplyCap);
    /// @notice The ceiling on all debt was set [wad].
    event GlobalDebtCeilingSet(uint256 debtCeiling);
    /// @notice The minimum non-zero debt of a position was set [wad].
    event DustSet(uint256 dust);
    /// @notice Opening and borrowing were paused (true) or resumed (false) by the guardian.
    event PausedSet(bool paused);

    // ---------------------------------------------------------------- errors

    /// @notice The caller is neither the owner of position `id` nor approved for it.
    error NotAuthorized(uint256 id, address caller);
    /// @notice After a borrow or a withdrawal the position's initial health factor [wad] would be below 1.
    error Unhealthy(uint256 id, uint256 hfInitial);
    /// @notice Debt would be non-zero and below the minimum.
    error DustDebt(uint256 id, uint256 debt, uint256 dust);
    /// @notice Borrowing would push `classKey` (an asset, `CROSS_CLASS`, or zero for the global cap) over its ceiling.
    error DebtCeilingExceeded(address classKey, uint256 debt, uint256 ceiling);
    /// @notice A deposit would push the asset over its supply cap.
    error SupplyCapExceeded(address asset, uint256 total, uint256 cap);
    /// @notice Valuing position `id` ran out of gas inside a step that may skip a failed price: send more gas.
    error ValuationOutOfGas(uint256 id);
    /// @notice `asset` can never be collateral: kUSD itself (debt backed by the debt token is no backing).
    error AssetNotListable(address asset);
    /// @notice Cross position `id` already holds `MAX_CROSS_ASSETS` (8) distinct assets.
    error TooManyAssets(uint256 id);
    /// @notice The asset is not the isolated position's asset.
    error WrongAsset(uint256 id, address asset);
    /// @notice There is no open position `id` (never opened, or closed).
    error PositionNotFound(uint256 id);
    /// @notice Position `id` holds only `available` of `asset` (token decimals).
    error InsufficientCollateral(uint256 id, address asset, uint256 available);
    /// @notice Position `id` has no debt to repay.
    error NoDebt(uint256 id);
    /// @notice Opening and borrowing are paused by the guardian.
    error Paused();
    /// @notice An amount is too large for the engine's storage.
    error AmountTooLarge(uint256 amount);
    /// @notice `collectFees` found no accrued fees.
    error NothingToCollect();
    /// @notice Position `id` is not liquidatable now; `hf` [wad] is its health factor.
    error NotLiquidatable(uint256 id, uint256 hf);
    /// @notice Position `id` cannot be margin-called: its health factor `hf` [wad] is at least 1.
    error NotCallable(uint256 id, uint256 hf);
    /// @notice Position `id` already has a margin call open until `deadline`.
    error AlreadyCalled(uint256 id, uint256 deadline);
    /// @notice Position `id` has no open margin call.
    error NotCalled(uint256 id);
    /// @notice The call on position `id` cannot be cleared: its health factor `hf` [wad] is still below 1.
    error StillUnhealthy(uint256 id, uint256 hf);
    /// @notice Position `id` holds none of `asset` to seize.
    error NothingToSeize(uint256 id, address asset);
    /// @notice A partial liquidation would leave position `id` with HF `hfAfter` ≤ `hfBefore` (not raised for a
    /// close-out step under criticalHF that takes all of one asset).
    error LiquidationWouldLowerHealth(uint256 id, uint256 hfBefore, uint256 hfAfter);
    /// @notice The liquidation receiver did not acknowledge the callback.
    error LiquidationCallbackFailed(address receiver);
    /// @notice There is no deficit to cover.
    error NoDeficit();
    /// @notice Liquidating insolvent position `id` needs a repayment of `required` [wad], above the caller's maxRepay.
    error MaxRepayTooLow(uint256 id, uint256 required);
}
