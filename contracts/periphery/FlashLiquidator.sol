// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC3156FlashBorrower} from "@openzeppelin/contracts/interfaces/IERC3156FlashBorrower.sol";
import {IERC3156FlashLender} from "@openzeppelin/contracts/interfaces/IERC3156FlashLender.sol";
import {IVaultEngine} from "../interfaces/IVaultEngine.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {ISwapVenue} from "../interfaces/ISwapVenue.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title FlashLiquidator
/// @notice Capital-free liquidation: flash-mints kUSD, liquidates, sells the seized collateral on a swap venue,
/// repays the flash mint and sends the profit to the caller — or reverts if the profit is below `minProfit`.
/// A keeper holding no kUSD can liquidate with it.
/// @dev Holds nothing between transactions. Only a flash mint it started itself is accepted as a callback.
contract FlashLiquidator is IERC3156FlashBorrower {
    using SafeERC20 for IERC20;

    bytes32 internal constant FLASH_SUCCESS = keccak256("ERC3156FlashBorrower.onFlashLoan");
    /// @dev Transient: set while this contract's own flash mint is in flight.
    bytes32 internal constant ACTIVE_SLOT = keccak256("keel.flashLiquidator.active");

    IVaultEngine public immutable engine;
    IRiskModel public immutable risk;
    IERC20 public immutable kusd;

    /// @notice One capital-free liquidation: `repaid` kUSD of position `id`'s debt, `profit` kUSD to the keeper.
    event FlashLiquidated(uint256 indexed id, address indexed keeper, address indexed asset, uint256 repaid, uint256 profit);

    /// @notice The liquidation would pay `profit` kUSD, below the caller's `minProfit`.
    error Unprofitable(uint256 profit, uint256 minProfit);
    /// @notice A flash-loan callback this contract did not ask for.
    error UntrustedCallback(address lender, address initiator);
    /// @notice Selling the collateral raised `held` kUSD, short of the `owed` flash mint plus fee.
    error FlashRepaymentShort(uint256 held, uint256 owed);
    /// @notice Position `id` has no debt to repay.
    error NothingToRepay(uint256 id);

    constructor(IVaultEngine engine_, IRiskModel risk_, IERC20 kusd_) {
        engine = engine_;
        risk = risk_;
        kusd = kusd_;
    }

    /// @notice Liquidates position `id` by seizing `asset`, repaying at most `maxRepay` kUSD with flash-minted kUSD,
    /// and selling every collateral received on `venue`. Reverts unless the caller earns at least `minProfit`.
    /// @return profit kUSD [wad] sent to the caller.
    function liquidate(uint256 id, address asset, uint256 maxRepay, ISwapVenue venue, uint256 minProfit)
        external
        returns (uint256 profit)
    {
        uint256 debt = engine.debtOf(id);
        if (debt == 0) revert NothingToRepay(id);
        uint256 repayCap = maxRepay < debt ? maxRepay : debt;
        // Borrow enough for the largest repayment plus the protocol's share of the penalty on it.
        uint256 fee = KeelMath.protocolFeeUp(
            repayCap, risk.assetRisk(asset).liquidationPenalty, engine.liquidationParams().protocolShare
        );
        bytes memory job = abi.encode(id, asset, repayCap, venue, engine.collateralAssets(id));
        _setActive(true);
        IERC3156FlashLender(address(kusd)).flashLoan(this, address(kusd), repayCap + fee, job);
        _setActive(false);

        profit = kusd.balanceOf(address(this));
        if (profit < minProfit) revert Unprofitable(profit, minProfit);
        emit FlashLiquidated(id, msg.sender, asset, repayCap, profit);
        if (profit != 0) kusd.safeTransfer(msg.sender, profit);
    }

    /// @inheritdoc IERC3156FlashBorrower
    function onFlashLoan(address initiator, address, uint256 amount, uint256 fee, bytes calldata job)
        external
        returns (bytes32)
    {
        if (msg.sender != address(kusd) || initiator != address(this) || !_active()) {
            revert UntrustedCallback(msg.sender, initiator);
        }
        (uint256 id, address asset, uint256 repayCap, ISwapVenue venue, address[] memory assets) =
            abi.decode(job, (uint256, address, uint256, ISwapVenue, address[]));
        engine.liquidate(id, asset, repayCap, address(this), "");
        // An insolvent position hands over every asset: sell whatever arrived.
        for (uint256 i; i < assets.length; ++i) {
            uint256 amountIn = IERC20(assets[i]).balanceOf(address(this));
            if (amountIn == 0) continue;
            IERC20(assets[i]).forceApprove(address(venue), amountIn);
            venue.swapExactIn(assets[i], address(kusd), amountIn, 0, address(this));
        }
        uint256 owed = amount + fee;
        uint256 held = kusd.balanceOf(address(this));
        if (held < owed) revert FlashRepaymentShort(held, owed);
        kusd.forceApprove(address(kusd), owed);
        return FLASH_SUCCESS;
    }

    function _setActive(bool active) internal {
        bytes32 slot = ACTIVE_SLOT;
        assembly ("memory-safe") {
            tstore(slot, active)
        }
    }

    function _active() internal view returns (bool active) {
        bytes32 slot = ACTIVE_SLOT;
        assembly ("memory-safe") {
            active := tload(slot)
        }
    }
}
