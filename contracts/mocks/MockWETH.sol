// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MockERC20} from "./MockERC20.sol";
import {IWETH} from "../interfaces/IWETH.sol";

/// @title MockWETH
/// @notice Wrapped ether for local networks: WETH9's deposit/withdraw plus MockERC20's open mint.
contract MockWETH is MockERC20, IWETH {
    error EthTransferFailed();

    constructor() MockERC20("Wrapped Ether", "WETH", 18) {}

    receive() external payable {
        deposit();
    }

    /// @inheritdoc IWETH
    function deposit() public payable {
        _mint(msg.sender, msg.value);
    }

    /// @inheritdoc IWETH
    function withdraw(uint256 amount) external {
        _burn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert EthTransferFailed();
    }
}
