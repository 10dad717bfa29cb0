// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IPositionNFT} from "../interfaces/IPositionNFT.sol";

/// @title PositionNFT
/// @notice ERC-721 positions of Keel (see IPositionNFT). Transferring the token transfers control of the position.
contract PositionNFT is IPositionNFT, ERC721 {
    /// @inheritdoc IPositionNFT
    address public immutable engine;

    constructor(address engine_) ERC721("Keel Position", "KEEL-POS") {
        engine = engine_;
    }

    modifier onlyEngine() {
        if (msg.sender != engine) revert OnlyEngine(msg.sender);
        _;
    }

    /// @inheritdoc IPositionNFT
    /// @dev No `onERC721Received` callback: minting never hands control to the receiver mid-transaction.
    function mint(address to, uint256 id) external onlyEngine {
        _mint(to, id);
    }

    /// @inheritdoc IPositionNFT
    function burn(uint256 id) external onlyEngine {
        _burn(id);
    }

    /// @inheritdoc IPositionNFT
    function isAuthorized(address spender, uint256 id) external view returns (bool) {
        return _isAuthorized(_requireOwned(id), spender, id);
    }
}
