// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC3156FlashBorrower} from "@openzeppelin/contracts/interfaces/IERC3156FlashBorrower.sol";
import {IERC3156FlashLender} from "@openzeppelin/contracts/interfaces/IERC3156FlashLender.sol";

/// @title MockFlashBorrower
/// @notice An ERC-3156 borrower for tests: flash-mints kUSD, calls `callTarget` with `callPayload` inside the callback
/// (bubbling up its revert), then approves the lender for the loan plus fee, if `repay` is set.
contract MockFlashBorrower is IERC3156FlashBorrower {
    bytes32 internal constant FLASH_SUCCESS = keccak256("ERC3156FlashBorrower.onFlashLoan");

    IERC3156FlashLender public immutable lender;
    address public callTarget;
    bytes public callPayload;
    bool public repay = true;

    constructor(IERC3156FlashLender lender_) {
        lender = lender_;
    }

    /// @notice Arms the callback to call `callTarget` with `callPayload`; `repay_` false leaves the loan unapproved.
    function setCall(address target_, bytes calldata payload_, bool repay_) external {
        callTarget = target_;
        callPayload = payload_;
        repay = repay_;
    }

    /// @notice Flash-mints `amount` of `token` from the lender.
    function flash(address token, uint256 amount) external {
        lender.flashLoan(this, token, amount, "");
    }

    /// @inheritdoc IERC3156FlashBorrower
    function onFlashLoan(address, address token, uint256 amount, uint256 fee, bytes calldata)
        external
        returns (bytes32)
    {
        if (callTarget != address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory result) = callTarget.call(callPayload);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(result, 32), mload(result))
                }
            }
        }
        if (repay) IERC20(token).approve(msg.sender, amount + fee);
        return FLASH_SUCCESS;
    }
}
