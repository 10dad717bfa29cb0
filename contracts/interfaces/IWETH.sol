// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IWETH
/// @notice Wrapped ether (WETH9).
interface IWETH is IERC20 {
    /// @notice Wraps the attached ether 1:1.
    function deposit() external payable;

    /// @notice Unwraps `amount` wei of WETH and sends the ether to the caller.
    function withdraw(uint256 amount) external;
}
