// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ILiquidationReceiver
/// @notice Called by `VaultEngine.liquidate` when `data` is non-empty: after the seized collateral has been sent to
/// the receiver and before the liquidator's kUSD is taken, so the collateral can be sold first.
interface ILiquidationReceiver {
    /// @param liquidator The account whose kUSD pays (the caller of `liquidate`).
    /// @param id The liquidated position.
    /// @param asset The collateral seized.
    /// @param seized Amount of `asset` (token decimals) already sent to the receiver.
    /// @param owed kUSD [wad] the engine will burn from `liquidator` when this returns: repaid plus protocol fee.
    /// @param data The bytes passed to `liquidate`.
    /// @return Must be keccak256("ILiquidationReceiver.onKeelLiquidation").
    function onKeelLiquidation(
        address liquidator,
        uint256 id,
        address asset,
        uint256 seized,
        uint256 owed,
        bytes calldata data
    ) external returns (bytes32);
}
