// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "./IKeelErrors.sol";
/// @title ISurplusBuffer
/// @notice Holds the protocol's kUSD income (stability fees, flash-mint fees, liquidation penalty shares) as the
/// first loss against bad debt. Governance may spend the surplus.
interface ISurplusBuffer is IKeelErrors {
    /// @notice Governance spent `amount` kUSD [wad] of the buffer, sent to `to`.
    event SurplusSpent(address indexed to, uint256 amount);


    /// @notice Sends `amount` kUSD [wad] of surplus to `to`. Governed.
    function spend(address to, uint256 amount) external;

    /// @notice The savings vault asked for `owed` kUSD [wad] of interest; the buffer paid `paid` to `to`.
    event InterestPaid(address indexed to, uint256 owed, uint256 paid);

    /// @notice Pays savings interest: at most `owed` [wad], and never more than the buffer holds beyond the
    /// engine's uncovered bad debt (bad debt is covered first). Governed (the savings vault's role).
    /// @return paid [wad] sent to `to`.
    function payInterest(address to, uint256 owed) external returns (uint256 paid);

    /// @notice kUSD [wad] the buffer can pay out: what it holds beyond the engine's uncovered bad debt.
    function spendable() external view returns (uint256);

    /// @notice kUSD [wad] held by the buffer.
    function balance() external view returns (uint256);
}
