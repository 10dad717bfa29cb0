// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "./IKeelErrors.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IKeelUSD
/// @notice kUSD: ERC-20 with ERC-2612 permit and ERC-3156 flash mint. Only the engine and registered peg modules
/// mint and burn.
interface IKeelUSD is IKeelErrors, IERC20 {
    /// @notice The flash-mint fee was set [wad, share of the amount].
    event FlashFeeSet(uint256 fee);
    /// @notice The largest flash mint was set [wad kUSD].
    event FlashCapSet(uint256 cap);


    /// @notice Governance registered (or removed) a peg module as a kUSD minter.
    event PegModuleSet(address indexed module, bool registered);

    /// @notice Only the engine and registered peg modules mint and burn kUSD.
    error NotMinter(address caller);

    /// @notice Mints `amount` [wad] to `to`. The engine and peg modules only.
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` [wad] from `from` without allowance. The engine and peg modules only; each burns only
    /// from the account paying it in the same call.
    function burn(address from, uint256 amount) external;

    /// @notice Registers or removes a peg module (a PegStabilityModule) as a minter. Governed.
    function setPegModule(address module, bool registered) external;

    /// @notice Whether `module` is a registered peg module.
    function isPegModule(address module) external view returns (bool);

    /// @notice Sets the flash-mint fee [wad fraction of the amount], at most 1%.
    function setFlashFee(uint256 fee) external;

    /// @notice Sets the largest flash mint [wad].
    function setFlashCap(uint256 cap) external;

    /// @notice The VaultEngine, fixed at deployment.
    function engine() external view returns (address);
}
