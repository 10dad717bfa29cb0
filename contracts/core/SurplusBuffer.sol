// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IKeelUSD} from "../interfaces/IKeelUSD.sol";
import {ISurplusBuffer} from "../interfaces/ISurplusBuffer.sol";
import {IVaultEngine} from "../interfaces/IVaultEngine.sol";

/// @title SurplusBuffer
/// @notice Holds Keel's kUSD income: stability fees, flash-mint fees and liquidation penalty shares.
contract SurplusBuffer is ISurplusBuffer, AccessManaged {
    using SafeERC20 for IERC20;

    IERC20 public immutable kusd;

    constructor(address authority, IERC20 kusd_) AccessManaged(authority) {
        kusd = kusd_;
    }

    /// @inheritdoc ISurplusBuffer
    function spend(address to, uint256 amount) external restricted {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        emit SurplusSpent(to, amount);
        kusd.safeTransfer(to, amount);
    }

    /// @inheritdoc ISurplusBuffer
    function payInterest(address to, uint256 owed) external restricted returns (uint256 paid) {
        paid = Math.min(owed, spendable());
        emit InterestPaid(to, owed, paid);
        if (paid > 0) kusd.safeTransfer(to, paid);
    }

    /// @inheritdoc ISurplusBuffer
    function balance() external view returns (uint256) {
        return kusd.balanceOf(address(this));
    }

    /// @inheritdoc ISurplusBuffer
    function spendable() public view returns (uint256) {
        uint256 held = kusd.balanceOf(address(this));
        uint256 deficit = IVaultEngine(IKeelUSD(address(kusd)).engine()).deficit();
        return held > deficit ? held - deficit : 0;
    }
}
