// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {vm} from "../utils/Vm.sol";
import {Keel, Asset} from "../utils/KeelFixture.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {PositionActions} from "./PositionActions.sol";
import {MarketActions} from "./MarketActions.sol";
import {LiquidationActions} from "./LiquidationActions.sol";
import {GovernanceActions} from "./GovernanceActions.sol";
import {PegActions} from "./PegActions.sol";

/// @title Handler
/// @notice The target of Keel's Foundry invariant campaign: every state-changing entry point of the protocol, by
/// five actors, a stranger and the governor, with bounded inputs. Set-up: every actor holds 100 ether and has
/// approved the engine, the PositionManager, the PSM and sKUSD; an LP position funds AMM pools of $500k per asset, so flash
/// liquidations can sell.
contract Handler is PositionActions, MarketActions, LiquidationActions, GovernanceActions, PegActions {
    constructor(Keel memory keel, Asset[] memory listed) HandlerBase(keel, listed) {
        for (uint256 i; i < N_ACTORS; ++i) {
            address a = actors[i];
            _approveAll(a, address(k.engine));
            _approveAll(a, address(k.manager));
            _approveAll(a, address(k.psm));
            _approveAll(a, address(k.savings));
            vm.prank(a);
            k.nft.setApprovalForAll(address(k.manager), true);
            vm.deal(a, 100 ether);
            credit[a][address(_token(0))] += 100e18;
        }
        _approveAll(stranger, address(k.engine));
        _seedAmm();
        _observe();
    }

    /// @dev The LP borrows 4.5M kUSD against 12M USDC and pairs $500k of it with each asset.
    function _seedAmm() internal {
        _approveAll(lp, address(k.engine));
        _approveAll(lp, address(k.amm));
        uint256 usdc = 2;
        vm.prank(lp);
        uint256 id = k.engine.open(Mode.Isolated, address(_token(usdc)), lp);
        _track(id, lp);
        uint256 amount = _amountForUsd(usdc, 12_000_000e18);
        _token(usdc).mint(lp, amount);
        vm.startPrank(lp);
        k.engine.deposit(id, address(_token(usdc)), amount);
        k.engine.borrow(id, 500_000e18 * assets.length, lp);
        for (uint256 i; i < assets.length; ++i) {
            uint256 side = _amountForUsd(i, 500_000e18);
            _token(i).mint(lp, side);
            k.amm.addLiquidity(address(_token(i)), side, 500_000e18);
        }
        vm.stopPrank();
        _debtChanged(id);
    }

    // ---------------------------------------------------------------- views for the invariants

    /// @notice The open positions' ids.
    function openIds() external view returns (uint256[] memory out) {
        out = new uint256[](openCount);
        uint256 n;
        for (uint256 j; j < ids.length; ++j) {
            if (isOpen[ids[j]]) out[n++] = ids[j];
        }
    }
}
