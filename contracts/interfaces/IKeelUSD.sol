// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "./IKeelErrors.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IKeelUSD
/// @notice kUSD: ERC-20 with ERC-2612 permit and ERC-3156 flash mint. Only the engine mints and burns.
interface IKeelUSD is IKeelErrors, IERC20 {
    /// @notice The flash-mint fee was set [wad, share of the amount].
    event FlashFeeSet(uint256 fee);
    /// @notice The largest flash mint was set [wad kUSD].
    event FlashCapSet(uint256 cap);


    /// @notice Mints `amount` [wad] to `to`. Engine only.
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` [wad] from `from` without allowance. Engine only: the engine burns from the payer.
    function burn(address from, uint256 amount) external;

    /// @notice Sets the flash-mint fee [wad fraction of the amount], at most 1%.
    function setFlashFee(uint256 fee) external;

    /// @notice Sets the largest flash mint [wad].
    function setFlashCap(uint256 cap) external;

    /// @notice The VaultEngine, fixed at deployment.
    function engine() external view returns (address);
}
