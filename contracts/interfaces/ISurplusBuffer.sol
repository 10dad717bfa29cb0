// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ISurplusBuffer
/// @notice Holds the protocol's kUSD income (stability fees, flash-mint fees, liquidation penalty shares) as the
/// first loss against bad debt. Governance may spend the surplus.
interface ISurplusBuffer {
    event SurplusSpent(address indexed to, uint256 amount);

    error ZeroAddress();
    error ZeroAmount();

    /// @notice Sends `amount` kUSD [wad] of surplus to `to`. Governed.
    function spend(address to, uint256 amount) external;

    /// @notice kUSD [wad] held by the buffer.
    function balance() external view returns (uint256);
}
