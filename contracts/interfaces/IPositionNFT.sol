// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "./IKeelErrors.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";

/// @title IPositionNFT
/// @notice One ERC-721 token per position; the token id is the position id. Whoever holds the token controls the
/// position. Only the engine mints and burns.
interface IPositionNFT is IKeelErrors, IERC721 {

    /// @notice Mints token `id` to `to` (no receiver callback). Engine only.
    function mint(address to, uint256 id) external;

    /// @notice Burns token `id`. Engine only.
    function burn(uint256 id) external;

    /// @notice Whether `spender` is the owner of `id`, approved for it, or an operator of its owner.
    /// @dev Reverts with `ERC721NonexistentToken` for an unknown id.
    function isAuthorized(address spender, uint256 id) external view returns (bool);

    /// @notice The VaultEngine, fixed at deployment.
    function engine() external view returns (address);
}
