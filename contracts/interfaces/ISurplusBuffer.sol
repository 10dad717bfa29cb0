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

    /// @notice kUSD [wad] held by the buffer.
    function balance() external view returns (uint256);
}
