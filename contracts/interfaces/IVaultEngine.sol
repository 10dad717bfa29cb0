// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVaultEngineTypes} from "./IVaultEngineTypes.sol";

/// @title IVaultEngine
/// @notice The core of Keel: positions, collateral, debt, accrual, margin checks, margin calls and liquidation
/// (docs/spec.md §2–§4, §6).
/// @dev Units: collateral amounts in the token's own decimals, debt and kUSD in 18 decimals ([wad]), rates and
/// accumulators in [ray]. A position belongs to one debt class: its asset when isolated, `CROSS_CLASS` when cross.
interface IVaultEngine is IVaultEngineTypes {
    // ---------------------------------------------------------------- positions

    /// @notice Opens a position and mints its NFT to `owner`. The caller may act on the new position for the rest
    /// of the transaction while `owner` still holds the NFT, so a router can open, deposit and borrow for a user in
    /// one call; a transfer of the NFT ends that authority (a seller cannot act on the buyer's position).
    /// @param asset The isolated collateral asset; ignored for `Mode.Cross`.
    /// @return id The position id, equal to the NFT's token id.
    function open(Mode mode, address asset, address owner) external returns (uint256 id);

    /// @notice Pulls `amount` of `asset` from the caller into position `id`. Anyone may top up a holding; only the
    /// owner's side (owner, approved, operator, or the opener in the same transaction) adds a new asset to a cross
    /// basket, so no one can fill or plant in another owner's basket (docs/spec.md §4 liveness). The position is credited
    /// with what actually arrived. Reads the oracle only to clear an open call, and never fails on a price.
    /// @dev Reverts `ValuationOutOfGas` when clearing the call ran out of gas (send more).
    function deposit(uint256 id, address asset, uint256 amount) external;

    /// @notice Sends `amount` of `asset` from position `id` to `to`. Owner or approved only. With debt, requires
    /// the initial health factor ≥ 1 afterwards (reads the oracle); without debt, never reads the oracle.
    function withdraw(uint256 id, address asset, uint256 amount, address to) external;

    /// @notice Mints `amount` kUSD to `to` as debt of position `id`. Owner or approved only; requires the initial
    /// health factor ≥ 1 afterwards, debt ≥ dust, and every ceiling respected.
    function borrow(uint256 id, uint256 amount, address to) external;

    /// @notice Burns up to `amount` kUSD from the caller against position `id`'s debt; anyone may repay.
    /// Never reads the oracle.
    /// @param amount kUSD [wad]; `type(uint256).max` (or anything ≥ the debt) repays all.
    /// @return repaid kUSD burnt [wad].
    function repay(uint256 id, uint256 amount) external returns (uint256 repaid);

    /// @notice Repays all debt from the caller, sends all collateral to `to`, burns the NFT. Owner or approved only.
    function close(uint256 id, address to) external;

    /// @notice Accrues every class and mints the accrued fees to the surplus buffer.
    function collectFees() external;

    // ---------------------------------------------------------------- margin calls and liquidation

    /// @notice Opens a margin call on a Callable position (HF < 1, no open call): it becomes liquidatable after
    /// the grace period unless cured. On a position with an open call that is healthy again (HF ≥ 1) it clears the
    /// call instead, so the next dip gets a fresh grace period. Anyone may call. Values a cross basket with each
    /// holding whose price fails at zero; an isolated position needs its price.
    function marginCall(uint256 id) external;

    /// @notice Clears the margin call of position `id` if its HF is now ≥ 1. Anyone may call.
    function clearMarginCall(uint256 id) external;

    /// @notice Liquidates position `id`: the caller repays kUSD and `receiver` gets collateral `asset` worth
    /// repaid × (1 + penalty) at the oracle price, rounded down. The caller also pays the protocol's share of the
    /// penalty in kUSD. A non-empty `data` calls `receiver.onKeelLiquidation` after the collateral is sent and
    /// before payment is taken. Insolvent positions lose all their collateral and the rest of the debt becomes
    /// bad debt, covered from the surplus buffer first. A partial liquidation must raise HF
    /// (`LiquidationWouldLowerHealth`), except when the whole debt is due (under criticalHF, or the rest would be
    /// dust) and the step is limited only by what `asset` can pay for: it takes all of one asset, even if HF falls
    /// as the basket empties, and may leave less than the dust, which the other holdings pay for in the next call.
    /// A cross holding whose price fails is valued at zero and cannot be chosen (the oracle's error); while any
    /// holding is unpriced no bad debt is booked: the priced ones are liquidated as if solvent (docs/spec.md §4 liveness).
    /// `maxRepay` never leaves a remainder under the dust: it stops at the dust (`MaxRepayTooLow` when the debt is
    /// at or under it).
    /// @param maxRepay Most kUSD [wad] the caller is willing to repay.
    /// @return repaid kUSD [wad] of debt repaid.
    /// @return seized Amount of `asset` (token decimals) sent to `receiver`.
    function liquidate(uint256 id, address asset, uint256 maxRepay, address receiver, bytes calldata data)
        external
        returns (uint256 repaid, uint256 seized);

    /// @notice What `liquidate(id, asset, maxRepay, …)` would do now, computed by the same planning code
    /// (Liquidation.plan): the repayment, the amount of `asset` seized, the protocol fee [wad] the liquidator pays on
    /// top, and the bad debt. Reverts like `liquidate`.
    function previewLiquidation(uint256 id, address asset, uint256 maxRepay)
        external
        view
        returns (uint256 repaid, uint256 seized, uint256 fee, uint256 badDebt);

    /// @notice Burns up to `amount` kUSD from the caller against the deficit (uncovered bad debt).
    /// @return covered kUSD [wad] burnt.
    function coverDeficit(uint256 amount) external returns (uint256 covered);

    // ---------------------------------------------------------------- governance

    /// @notice Lists `asset` as collateral: price feed, risk parameters, correlations, stability fee, debt ceiling
    /// and supply cap, each validated, in one governed call. The feed must give a valid price at listing.
    function listAsset(address asset, Listing calldata listing) external;

    /// @notice Sets the per-second fee factor [ray] of `classKey` (an asset or CROSS_CLASS), accruing first.
    function setStabilityFee(address classKey, uint256 stabilityFee) external;

    /// @notice Sets the debt ceiling [wad] of `classKey`. Lowering it below current debt only blocks new borrowing.
    function setDebtCeiling(address classKey, uint256 debtCeiling) external;

    /// @notice Sets the supply cap (token decimals) of `asset`; zero freezes new deposits.
    function setSupplyCap(address asset, uint256 supplyCap) external;

    /// @notice Sets the cap [wad] on the sum of all debt.
    function setGlobalDebtCeiling(uint256 debtCeiling) external;

    /// @notice Sets the minimum non-zero debt [wad] of a position.
    function setDust(uint256 newDust) external;

    /// @notice Pauses or resumes opening and borrowing. Never blocks deposit, repay, withdraw, close, margin
    /// calls or liquidation.
    function setPaused(bool pause) external;

    /// @notice Sets the liquidation terms. `criticalHF` must be ≥ (1 + ℓ)(1 − hm) of every listed asset so that a
    /// partial liquidation above it always raises the health factor.
    function setLiquidationParams(LiquidationParams calldata params) external;

    // ---------------------------------------------------------------- views

    /// @notice Debt [wad] of position `id` now, including fees accrued since the last update (rounded up).
    function debtOf(uint256 id) external view returns (uint256);

    /// @notice Amount (token decimals) of `asset` held by position `id`.
    function collateralOf(uint256 id, address asset) external view returns (uint256);

    /// @notice Assets held by position `id`: the isolated asset, or the cross basket (order not significant).
    function collateralAssets(uint256 id) external view returns (address[] memory);

    /// @notice Health factor and initial health factor [wad] of position `id` at current prices and debt.
    /// @return hf (V − Lm) / D, or `type(uint256).max` without debt.
    /// @return hfInitial (V − Li) / D, or `type(uint256).max` without debt.
    function healthFactor(uint256 id) external view returns (uint256 hf, uint256 hfInitial);

    /// @notice Mode, debt class and normalized debt of position `id`.
    function positionInfo(uint256 id) external view returns (Mode mode, address classKey, uint256 normDebt);

    /// @notice Uncovered bad debt [wad].
    function deficit() external view returns (uint256);

    /// @notice Fees [wad] accrued and not yet collected, including accrual since each class's last update.
    function accruedFees() external view returns (uint256);

    /// @notice Σ over classes of ceil(normDebt × rate) at each class's last accrual [wad]; checked by the global ceiling.
    function globalDebt() external view returns (uint256);

    /// @notice A debt class as stored (accumulator as of its last accrual).
    function debtClass(address classKey) external view returns (DebtClass memory);

    /// @notice The accumulator [ray] of `classKey` as of now.
    function currentRate(address classKey) external view returns (uint256);

    /// @notice Supply cap, total deposited (token decimals) and listing status of `asset`.
    function collateralConfig(address asset) external view returns (uint256 supplyCap, uint256 total, bool listed);

    /// @notice The highest position id issued so far.
    function lastPositionId() external view returns (uint256);

    /// @notice The cap [wad] on the sum of all debt.
    function globalDebtCeiling() external view returns (uint256);

    /// @notice The minimum non-zero debt [wad] of a position.
    function dust() external view returns (uint256);

    /// @notice Whether opening and borrowing are paused.
    function paused() external view returns (bool);

    /// @notice Margin state of position `id`, its open call's deadline (0 if none) and its margin HF [wad]: a cross
    /// holding whose price fails counts as worth nothing; reverts with the oracle's error when nothing can be priced.
    function stateOf(uint256 id) external view returns (State state, uint256 deadline, uint256 hf);

    /// @notice Deadline [s] of the open margin call of position `id`, or 0.
    function callDeadline(uint256 id) external view returns (uint256);

    /// @notice The liquidation terms in force.
    function liquidationParams() external view returns (LiquidationParams memory);

}
