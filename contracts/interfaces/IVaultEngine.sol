// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRiskModel} from "./IRiskModel.sol";
import {IPriceOracle} from "./IPriceOracle.sol";

/// @title IVaultEngine
/// @notice The core of Keel: positions, collateral, debt, accrual and margin checks (DESIGN §2, §3, §6).
/// @dev Units: collateral amounts in the token's own decimals, debt and kUSD in 18 decimals ([wad]), rates and
/// accumulators in [ray]. A position belongs to one debt class: its asset when isolated, `CROSS_CLASS` when cross.
interface IVaultEngine {
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
        Close
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
    /// @param debt The position's new debt [wad].
    event PositionUpdated(
        uint256 indexed id, Operation indexed op, address indexed asset, uint256 collateral, uint256 debt
    );
    /// @notice A position was closed: no debt, no collateral, NFT burnt.
    event PositionClosed(uint256 indexed id);
    /// @notice A debt class accrued: its accumulator moved to `rate`, adding `fees` [wad] to the accrued fees.
    event Accrued(address indexed classKey, uint256 rate, uint256 fees);
    /// @notice Accrued fees were minted to the surplus buffer.
    event FeesCollected(uint256 amount);
    /// @notice An asset was listed as collateral.
    event AssetListed(address indexed asset, AssetConfig config);
    event StabilityFeeSet(address indexed classKey, uint256 stabilityFee);
    event DebtCeilingSet(address indexed classKey, uint256 debtCeiling);
    event SupplyCapSet(address indexed asset, uint256 supplyCap);
    event GlobalDebtCeilingSet(uint256 debtCeiling);
    event DustSet(uint256 dust);
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
    error AssetNotListed(address asset);
    error AssetAlreadyListed(address asset);
    error TooManyAssets(uint256 id);
    /// @notice The asset is not the isolated position's asset.
    error WrongAsset(uint256 id, address asset);
    error PositionNotFound(uint256 id);
    error ZeroAmount();
    error ZeroAddress();
    error InsufficientCollateral(uint256 id, address asset, uint256 available);
    error NoDebt(uint256 id);
    /// @notice Opening and borrowing are paused by the guardian.
    error Paused();
    /// @notice An amount is too large for the engine's storage.
    error AmountTooLarge(uint256 amount);
    /// @notice A governance parameter is out of its allowed range.
    error InvalidParameter(bytes32 name, uint256 value);
    /// @notice A setter was called with the value already in force.
    error NoChange();
    /// @notice `collectFees` found no accrued fees.
    error NothingToCollect();

    // ---------------------------------------------------------------- positions

    /// @notice Opens a position and mints its NFT to `owner`. The caller may act on the new position for the rest
    /// of the transaction, so a router can open, deposit and borrow for a user in one call.
    /// @dev Warning: that transient authority survives a transfer of the NFT within the same transaction.
    /// @param asset The isolated collateral asset; ignored for `Mode.Cross`.
    /// @return id The position id, equal to the NFT's token id.
    function open(Mode mode, address asset, address owner) external returns (uint256 id);

    /// @notice Pulls `amount` of `asset` from the caller into position `id`; anyone may deposit. The position is
    /// credited with what actually arrived. Never reads the oracle.
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

    /// @notice Accrues every classKey and mints the accrued fees to the surplus buffer.
    function collectFees() external;

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

    /// @notice Pauses or resumes opening and borrowing. Never blocks deposit, repay, withdraw or close.
    function setPaused(bool pause) external;

    // ---------------------------------------------------------------- views

    /// @notice Debt [wad] of position `id` now, including fees accrued since the last update (rounded up).
    function debtOf(uint256 id) external view returns (uint256);

    /// @notice Amount (token decimals) of `asset` held by position `id`.
    function collateralOf(uint256 id, address asset) external view returns (uint256);

    /// @notice Assets held by position `id`: the isolated asset, or the cross basket in deposit order.
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

    /// @notice The debt class shared by every cross position.
    function CROSS_CLASS() external view returns (address);
}
