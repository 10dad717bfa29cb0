// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "./IKeelErrors.sol";
import {ISurplusBuffer} from "./ISurplusBuffer.sol";

/// @title ISavingsKUSD
/// @notice sKUSD: an ERC-4626 vault over kUSD paying a governed savings rate out of the surplus buffer. Interest is
/// never minted: `drip` moves what the buffer can pay (after its bad-debt cover) into the vault.
interface ISavingsKUSD is IKeelErrors {
    /// @notice Interest accrued since the last drip was `owed` [wad]; the buffer paid `paid` [wad] of it.
    event Dripped(uint256 owed, uint256 paid);
    /// @notice The savings rate was set [ray, 1 + per-second rate].
    event SavingsRateSet(uint256 rate);

    /// @notice Pays the interest accrued since the last drip, as far as the buffer can. Anyone; deposits and
    /// withdrawals run it first.
    /// @return paid [wad] moved from the buffer into the vault.
    function drip() external returns (uint256 paid);

    /// @notice Sets the savings rate [ray per second, 1e27 = 0%], at most `MAX_RATE` (20% a year). Governed; drips first.
    function setSavingsRate(uint256 rate) external;

    /// @notice The savings rate [ray, 1 + per-second rate].
    function savingsRate() external view returns (uint256);

    /// @notice When interest was last paid [unix s].
    function lastDrip() external view returns (uint256);

    /// @notice The surplus buffer that pays the interest.
    function surplusBuffer() external view returns (ISurplusBuffer);
}
