// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {ISavingsKUSD} from "../interfaces/ISavingsKUSD.sol";
import {ISurplusBuffer} from "../interfaces/ISurplusBuffer.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title SavingsKUSD
/// @notice sKUSD: an ERC-4626 vault over kUSD whose savings rate is paid out of the surplus buffer (docs/spec.md §10).
/// @dev Interest is never minted, so the ledger of §6 needs no savings term: `drip` asks the buffer for the interest
/// accrued on the vault's assets since the last drip and the buffer pays what it has beyond the uncovered bad debt.
/// When the buffer runs dry holders earn nothing for that period; what was not paid is not owed later. The share
/// price never falls: assets leave only with the shares they back (ERC-4626 rounds in the vault's favour).
/// OpenZeppelin's virtual shares with a decimals offset of 6 make a first-depositor inflation attack cost the
/// attacker a million times what it could take.
contract SavingsKUSD is ISavingsKUSD, ERC4626, AccessManaged {
    uint256 internal constant RAY = 1e27;
    /// @notice Largest savings rate: 20% a year [ray per second, 1.2^(1/365 days)].
    uint256 public constant MAX_RATE = 1000000005781378656804591713;

    ISurplusBuffer public immutable surplusBuffer;

    /// @inheritdoc ISavingsKUSD
    uint256 public savingsRate; // [ray]
    /// @inheritdoc ISavingsKUSD
    uint256 public lastDrip; // [unix s]

    constructor(address authority, IERC20 kusd_, ISurplusBuffer surplusBuffer_, uint256 rate)
        ERC20("Savings kUSD", "sKUSD")
        ERC4626(kusd_)
        AccessManaged(authority)
    {
        if (address(surplusBuffer_) == address(0)) revert ZeroAddress();
        surplusBuffer = surplusBuffer_;
        lastDrip = block.timestamp;
        _setRate(rate);
    }

    /// @inheritdoc ISavingsKUSD
    function drip() public returns (uint256 paid) {
        uint256 elapsed = block.timestamp - lastDrip;
        if (elapsed == 0) return 0;
        lastDrip = block.timestamp;
        uint256 assets = totalAssets();
        if (assets == 0 || savingsRate == RAY) return 0;
        uint256 owed = KeelMath.mulDivDown(assets, KeelMath.rpowUp(savingsRate, elapsed) - RAY, RAY);
        if (owed == 0) return 0;
        paid = surplusBuffer.payInterest(address(this), owed);
        emit Dripped(owed, paid);
    }

    /// @inheritdoc ISavingsKUSD
    function setSavingsRate(uint256 rate) external restricted {
        if (rate == savingsRate) revert NoChange();
        drip();
        _setRate(rate);
    }

    /// @notice Deposits after paying the interest due, so a deposit never shares in interest accrued before it.
    function deposit(uint256 assets, address receiver) public override returns (uint256) {
        drip();
        return super.deposit(assets, receiver);
    }

    /// @notice Mints after paying the interest due.
    function mint(uint256 shares, address receiver) public override returns (uint256) {
        drip();
        return super.mint(shares, receiver);
    }

    /// @notice Withdraws after paying the interest due, so a holder leaving is paid up to now.
    function withdraw(uint256 assets, address receiver, address owner) public override returns (uint256) {
        drip();
        return super.withdraw(assets, receiver, owner);
    }

    /// @notice Redeems after paying the interest due.
    function redeem(uint256 shares, address receiver, address owner) public override returns (uint256) {
        drip();
        return super.redeem(shares, receiver, owner);
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    function _setRate(uint256 rate) internal {
        if (rate < RAY || rate > MAX_RATE) revert InvalidParameter("savingsRate", rate);
        savingsRate = rate;
        emit SavingsRateSet(rate);
    }
}
