// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IKeelErrors
/// @notice The custom errors several Keel contracts share, declared once so each name has one signature (a keeper
/// decodes reverts by name across every contract's ABI; test/unit/Errors.test.ts holds the rule).
interface IKeelErrors {
    /// @notice A setter was called with the value already in force.
    error NoChange();
    /// @notice A governance parameter `name` is out of its allowed range.
    error InvalidParameter(bytes32 name, uint256 value);
    /// @notice An address argument that must be set is zero.
    error ZeroAddress();
    /// @notice An amount that must be positive is zero (or rounds to nothing).
    error ZeroAmount();
    /// @notice `asset` is not listed as collateral.
    error AssetNotListed(address asset);
    /// @notice `asset` is listed already.
    error AssetAlreadyListed(address asset);
    /// @notice Only the VaultEngine may call this; `caller` is not it.
    error OnlyEngine(address caller);
}
