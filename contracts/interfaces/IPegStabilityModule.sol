// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "./IKeelErrors.sol";

/// @title IPegStabilityModule
/// @notice Swaps one reserve asset (the "gem", e.g. USDC) for kUSD one for one, less a fee, up to a debt ceiling:
/// the floor and the ceiling of kUSD's peg. Selling gem mints kUSD against the reserve; buying gem burns kUSD and pays
/// the reserve out. Fees go to the surplus buffer as kUSD. Selling gem freezes while the reserve's oracle price is
/// further from $1 than a governed threshold (or fails); buying gem never freezes.
interface IPegStabilityModule is IKeelErrors {
    /// @notice Governed terms [wad]: fees as shares of the amount, the ceiling on `debt()` in kUSD, the largest
    /// distance of the reserve's price from $1 at which selling gem stays open.
    struct PegParams {
        uint256 feeIn;
        uint256 feeOut;
        uint256 debtCeiling;
        uint256 freezeThreshold;
    }

    /// @notice `caller` sold `gemAmount` [gem decimals] of the reserve; `to` got `kusdOut` [wad], the buffer `fee`.
    event GemSold(address indexed caller, address indexed to, uint256 gemAmount, uint256 kusdOut, uint256 fee);
    /// @notice `caller` paid `kusdIn` [wad] (the scaled amount, burnt, plus `fee` to the buffer); `to` got `gemAmount`.
    event GemBought(address indexed caller, address indexed to, uint256 gemAmount, uint256 kusdIn, uint256 fee);
    /// @notice The fees were set [wad].
    event PegFeesSet(uint256 feeIn, uint256 feeOut);
    /// @notice The ceiling on `debt()` was set [wad kUSD].
    event PegDebtCeilingSet(uint256 ceiling);
    /// @notice The freeze threshold was set [wad, distance of the price from $1].
    event FreezeThresholdSet(uint256 threshold);
    /// @notice The guardian paused or resumed selling gem.
    event SellGemPausedSet(bool paused);

    /// @notice Selling gem would take `debt()` [wad] over the ceiling.
    error PegCeilingExceeded(uint256 debt, uint256 ceiling);
    /// @notice Buying `amount` [wad] of gem back is more than `debt()` [wad].
    error PegDebtTooLow(uint256 amount, uint256 debt);
    /// @notice The reserve's price [wad] is further from $1 than the threshold: selling gem is frozen.
    error ReserveDepegged(uint256 price, uint256 threshold);
    /// @notice The reserve's price cannot be read: selling gem is frozen.
    error ReservePriceUnavailable();
    /// @notice The guardian paused selling gem.
    error SellGemPaused();
    /// @notice The module received `received` of gem where `expected` was sent (a fee-on-transfer token).
    error GemTransferShort(uint256 expected, uint256 received);
    /// @notice The amount buys or sells no kUSD after the fee.
    error AmountTooSmall(uint256 gemAmount);
    /// @notice A reserve with more than 18 decimals cannot be scaled to kUSD.
    error GemDecimalsUnsupported(uint8 decimals);

    /// @notice Takes `gemAmount` [gem decimals] from the caller and mints its value in kUSD less `feeIn` to `to`.
    /// @return kusdOut [wad] minted to `to`.
    function sellGem(address to, uint256 gemAmount) external returns (uint256 kusdOut);

    /// @notice Burns the scaled `gemAmount` of kUSD from the caller, takes `feeOut` on top for the buffer, and sends
    /// `gemAmount` [gem decimals] of the reserve to `to`. No allowance needed: the module is a kUSD minter.
    /// @return kusdIn [wad] taken from the caller.
    function buyGem(address to, uint256 gemAmount) external returns (uint256 kusdIn);

    /// @notice Sets the fees [wad], each at most `MAX_FEE`. Governed.
    function setFees(uint256 feeIn, uint256 feeOut) external;

    /// @notice Sets the ceiling on `debt()` [wad]. Governed.
    function setDebtCeiling(uint256 ceiling) external;

    /// @notice Sets the freeze threshold [wad], from 0.1% to 10%. Governed.
    function setFreezeThreshold(uint256 threshold) external;

    /// @notice Pauses or resumes selling gem (buying gem cannot be paused). Guardian.
    function setSellGemPaused(bool paused) external;

    /// @notice kUSD [wad] minted against the reserve and not yet burnt back: P of the ledger (docs/spec.md §6).
    function debt() external view returns (uint256);

    /// @notice The ceiling on `debt()` [wad].
    function debtCeiling() external view returns (uint256);

    /// @notice Whether selling gem is refused now: paused, or the reserve's price is off $1 or unreadable.
    function sellGemFrozen() external view returns (bool);

    /// @notice The reserve token.
    function gem() external view returns (address);

    /// @notice Fee on selling gem [wad].
    function feeIn() external view returns (uint256);

    /// @notice Fee on buying gem [wad].
    function feeOut() external view returns (uint256);

    /// @notice Distance of the reserve's price from $1 [wad] beyond which selling gem freezes.
    function freezeThreshold() external view returns (uint256);

    /// @notice Whether the guardian paused selling gem.
    function sellGemPaused() external view returns (bool);

    /// @notice 10^(18 − gem decimals): kUSD [wad] per unit of gem.
    function scale() external view returns (uint256);
}
