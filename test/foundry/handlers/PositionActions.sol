// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {vm} from "../utils/Vm.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {CROSS_CLASS_KEY} from "../../../contracts/interfaces/IVaultEngineTypes.sol";
import {IRiskModel} from "../../../contracts/interfaces/IRiskModel.sol";
import {KeelMath} from "../../../contracts/libraries/KeelMath.sol";
import {PositionManager} from "../../../contracts/periphery/PositionManager.sol";

/// @title PositionActions
/// @notice User actions: open (isolated and cross, directly and through the PositionManager, with ether),
/// deposit (by anyone, dust by a stranger), withdraw, borrow, repay (by anyone), close, NFT transfers and approvals,
/// multicalls, kUSD passed between actors. Sizes are relative to the position: a share of what can be borrowed,
/// withdrawn or repaid, so most actions go through and some overshoot on purpose.
abstract contract PositionActions is HandlerBase {
    // ---------------------------------------------------------------- open

    /// @notice Opens a position with collateral worth $150–$2.4M (log-uniform, so debts near the dust are common) in
    /// 1–8 assets and borrows a share of its room.
    function open(uint256 actorSeed, uint256 assetSeed, uint256 usdSeed, uint256 borrowSeed, bool cross) external {
        if (openCount >= MAX_OPEN) return;
        address actor = _actor(actorSeed);
        uint256 first = _assetIndex(assetSeed);
        Mode mode = cross ? Mode.Cross : Mode.Isolated;
        vm.prank(actor);
        try k.engine.open(mode, address(_token(first)), actor) returns (uint256 id) {
            _track(id, actor);
            uint256 n = cross ? 1 + (assetSeed / 11) % 8 : 1;
            uint256 usd = _logUniformUsd(usdSeed) / n;
            for (uint256 j; j < n; ++j) {
                uint256 i = (first + j * 5) % assets.length;
                _depositAs(actor, id, i, _amountForUsd(i, usd));
            }
            _borrowShare(id, actor, borrowSeed, false);
        } catch {
            _count("open", false);
        }
        _observe();
    }

    /// @notice PositionManager.openAndBorrow / openCrossAndBorrow / openWithEthAndBorrow in one call each.
    function openThroughManager(uint256 actorSeed, uint256 assetSeed, uint256 usdSeed, uint256 borrowSeed, uint8 kind)
        external
    {
        if (openCount >= MAX_OPEN) return;
        address actor = _actor(actorSeed);
        uint256 usd = _bound(usdSeed, 1_000e18, 500_000e18);
        uint256 debt = KeelMath.mulWadDown(usd, _bound(borrowSeed, 0, 0.8e18));
        uint256 before = k.engine.lastPositionId();
        bool ok;
        kind %= 3;
        if (kind == 0) {
            uint256 i = _assetIndex(assetSeed);
            uint256 amount = _amountForUsd(i, usd);
            _fund(actor, i, amount);
            (ok,) = _as(actor, address(k.manager), abi.encodeCall(PositionManager.openAndBorrow, (address(_token(i)), amount, debt, actor)));
        } else if (kind == 1) {
            ok = _openCrossThroughManager(actor, assetSeed, usd, debt);
        } else {
            uint256 eth = _amountForUsd(0, usd);
            vm.deal(actor, actor.balance + eth);
            credit[actor][address(_token(0))] += int256(eth);
            vm.prank(actor);
            (ok,) = address(k.manager).call{value: eth}(abi.encodeCall(PositionManager.openWithEthAndBorrow, (debt, actor)));
        }
        if (ok) {
            uint256 id = k.engine.lastPositionId();
            if (!(id == before + 1)) _violate("invariant_actionPostconditions", "manager open did not open exactly one position");
            _track(id, actor);
            if (debt != 0) _debtChanged(id);
        }
        _count(kind == 0 ? "openThroughManager.isolated" : kind == 1 ? "openThroughManager.cross" : "openThroughManager.eth", ok);
        _observe();
    }

    function _openCrossThroughManager(address actor, uint256 assetSeed, uint256 usd, uint256 debt)
        internal
        returns (bool ok)
    {
        uint256 n = 2 + assetSeed % 7;
        address[] memory basket = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        for (uint256 j; j < n; ++j) {
            uint256 i = (assetSeed / 7 + j) % assets.length;
            basket[j] = address(_token(i));
            amounts[j] = _amountForUsd(i, usd / n);
            _fund(actor, i, amounts[j]);
        }
        (ok,) = _as(actor, address(k.manager), abi.encodeCall(PositionManager.openCrossAndBorrow, (basket, amounts, debt, actor)));
    }

    // ---------------------------------------------------------------- collateral

    /// @notice Anyone (an actor, often not the owner) deposits into a position; cross positions may gain an asset.
    function deposit(uint256 actorSeed, uint256 idSeed, uint256 assetSeed, uint256 usdSeed) external {
        uint256 id = _position(idSeed);
        if (id == 0) return;
        address actor = _actor(actorSeed);
        uint256 i = _indexOf(_assetOf(id, assetSeed, true));
        bool ok = _depositAs(actor, id, i, _amountForUsd(i, _bound(usdSeed, 1e18, 300_000e18)));
        _count("deposit", ok);
        _observe();
    }

    /// @notice A stranger deposits a few wei of any listed asset into a cross position (dust, possibly of an asset
    /// whose feed fails, possibly filling the basket).
    function strangerDeposit(uint256 idSeed, uint256 assetSeed, uint256 weiSeed) external {
        uint256 id = _position(idSeed);
        if (id == 0) return;
        (, address classKey,) = k.engine.positionInfo(id);
        uint256 i = classKey == CROSS_CLASS_KEY ? _assetIndex(assetSeed) : _indexOf(classKey);
        bool ok = _depositAs(stranger, id, i, _bound(weiSeed, 1, 1000));
        _count("strangerDeposit", ok);
        _observe();
    }

    /// @notice The owner (or an approved actor) withdraws a share of one holding, up to all of it.
    function withdraw(uint256 idSeed, uint256 assetSeed, uint256 shareSeed, uint256 callerSeed) external {
        uint256 id = _position(idSeed);
        if (id == 0) return;
        address owner = ghostOwner[id];
        address caller = _authorized(id, owner, callerSeed);
        address asset = _assetOf(id, assetSeed, false);
        uint256 held = k.engine.collateralOf(id, asset);
        if (held == 0) return;
        uint256 amount = shareSeed % 4 == 0 ? held : KeelMath.mulWadUp(held, _bound(shareSeed, 0.01e18, 1e18));
        vm.prank(caller);
        try k.engine.withdraw(id, asset, amount, caller) {
            if (caller != owner) _moveCredit(owner, caller, asset, amount, 0);
            _requireInitialHealthAfter(id, "withdraw");
            _count("withdraw", true);
        } catch {
            _count("withdraw", false);
        }
        _observe();
    }

    // ---------------------------------------------------------------- debt

    /// @notice The owner (or an approved actor) borrows a share (5%–102%) of the position's room.
    function borrow(uint256 idSeed, uint256 shareSeed, uint256 callerSeed) external {
        uint256 id = _position(idSeed);
        if (id == 0) return;
        address owner = ghostOwner[id];
        _borrowShare(id, _authorized(id, owner, callerSeed), shareSeed, true);
        _observe();
    }

    /// @notice An actor repays a share of any position's debt, or all of it.
    function repay(uint256 actorSeed, uint256 idSeed, uint256 shareSeed) external {
        uint256 id = _position(idSeed);
        if (id == 0) return;
        address payer = _actor(actorSeed);
        uint256 debt = k.engine.debtOf(id);
        if (debt == 0) return;
        uint256 amount = shareSeed % 3 == 0 ? type(uint256).max : KeelMath.mulWadUp(debt, _bound(shareSeed, 0.01e18, 1e18));
        if (k.kusd.balanceOf(payer) < (amount > debt ? debt : amount)) return;
        vm.prank(payer);
        try k.engine.repay(id, amount) returns (uint256 repaid) {
            if (!(repaid <= debt)) _violate("invariant_actionPostconditions", "repay burnt more than the debt");
            _moveCredit(ghostOwner[id], payer, address(0), 0, repaid);
            _debtChanged(id);
            _count("repay", true);
        } catch {
            _count("repay", false);
        }
        _observe();
    }

    /// @notice The owner closes: repays everything from its kUSD, takes every asset back, the NFT is burnt.
    function close(uint256 idSeed) external {
        uint256 id = _position(idSeed);
        if (id == 0) return;
        address owner = ghostOwner[id];
        if (k.kusd.balanceOf(owner) < k.engine.debtOf(id)) return;
        vm.prank(owner);
        try k.engine.close(id, owner) {
            _untrack(id);
            _count("close", true);
        } catch {
            _count("close", false);
        }
        _observe();
    }

    // ---------------------------------------------------------------- NFT

    /// @notice The owner hands the position (its collateral and debt) to another actor.
    function transferPosition(uint256 idSeed, uint256 toSeed) external {
        uint256 id = _position(idSeed);
        if (id == 0) return;
        address from = ghostOwner[id];
        address to = _actor(toSeed);
        if (from == to || !_isActor(from)) return;
        uint256 debt = k.engine.debtOf(id);
        address[] memory held = k.engine.collateralAssets(id);
        vm.prank(from);
        k.nft.transferFrom(from, to, id);
        for (uint256 j; j < held.length; ++j) {
            _moveCredit(from, to, held[j], k.engine.collateralOf(id, held[j]), 0);
        }
        _moveCredit(from, to, address(0), 0, debt);
        ghostOwner[id] = to;
        _count("transferPosition", true);
        _observe();
    }

    /// @notice The owner approves another actor for one position, or as operator of all, or revokes.
    function approvePosition(uint256 idSeed, uint256 operatorSeed, uint8 kind) external {
        uint256 id = _position(idSeed);
        if (id == 0) return;
        address owner = ghostOwner[id];
        address operator = _actor(operatorSeed);
        if (operator == owner) return;
        vm.prank(owner);
        if (kind % 3 == 0) k.nft.approve(operator, id);
        else k.nft.setApprovalForAll(operator, kind % 3 == 1);
        _count("approvePosition", true);
        _observe();
    }

    /// @notice One actor pays another in kUSD.
    function transferKusd(uint256 fromSeed, uint256 toSeed, uint256 shareSeed) external {
        address from = _actor(fromSeed);
        address to = _actor(toSeed);
        uint256 amount = KeelMath.mulWadDown(k.kusd.balanceOf(from), _bound(shareSeed, 0, 1e18));
        if (from == to || amount == 0) return;
        vm.prank(from);
        k.kusd.transfer(to, amount);
        creditKusd[from] -= int256(amount);
        creditKusd[to] += int256(amount);
        _count("transferKusd", true);
        _observe();
    }

    // ---------------------------------------------------------------- PositionManager steps

    /// @notice A PositionManager multicall by the owner: deposit + borrow, or repay + withdraw, or close (to ether).
    function managerMulticall(uint256 idSeed, uint256 assetSeed, uint256 amountSeed, uint8 kind) external {
        uint256 id = _position(idSeed);
        if (id == 0) return;
        address owner = ghostOwner[id];
        address asset = _assetOf(id, assetSeed, false);
        uint256 i = _indexOf(asset);
        bool ok;
        kind %= 3;
        if (kind == 0) {
            uint256 amount = _amountForUsd(i, _bound(amountSeed, 10e18, 100_000e18));
            _fund(owner, i, amount);
            (bool roomOk, uint256 room) = _room(id);
            uint256 borrowAmount = roomOk ? room / 2 + k.engine.dust() : k.engine.dust();
            bytes[] memory steps = new bytes[](2);
            steps[0] = abi.encodeCall(PositionManager.deposit, (id, asset, amount));
            steps[1] = abi.encodeCall(PositionManager.borrow, (id, borrowAmount, owner));
            (ok,) = _as(owner, address(k.manager), abi.encodeCall(PositionManager.multicall, (steps)));
            if (ok) _debtChanged(id);
        } else if (kind == 1) {
            uint256 debt = k.engine.debtOf(id);
            uint256 pay = debt == 0 ? 0 : (amountSeed % 2 == 0 ? debt : debt / 2);
            if (k.kusd.balanceOf(owner) < pay) return;
            uint256 held = k.engine.collateralOf(id, asset);
            uint256 take = held / (2 + amountSeed % 5);
            bytes[] memory steps = new bytes[](pay == 0 ? 1 : 2);
            if (pay != 0) steps[0] = abi.encodeCall(PositionManager.repay, (id, pay));
            steps[steps.length - 1] = abi.encodeCall(PositionManager.withdraw, (id, asset, take == 0 ? held : take, owner));
            (ok,) = _as(owner, address(k.manager), abi.encodeCall(PositionManager.multicall, (steps)));
            if (ok && pay != 0) _debtChanged(id);
        } else {
            if (k.kusd.balanceOf(owner) < k.engine.debtOf(id)) return;
            bool toEth = amountSeed % 2 == 0;
            bytes memory call = toEth
                ? abi.encodeCall(PositionManager.closePositionToEth, (id, payable(owner)))
                : abi.encodeCall(PositionManager.closePosition, (id, owner));
            (ok,) = _as(owner, address(k.manager), call);
            if (ok) _untrack(id);
        }
        _count(kind == 0 ? "managerMulticall.depositBorrow" : kind == 1 ? "managerMulticall.repayWithdraw" : "managerMulticall.close", ok);
        _observe();
    }

    // ---------------------------------------------------------------- helpers

    /// @dev $150 × 2^k × (1 + f), k ∈ [0, 13], f ∈ [0, 1): from about the dust to a few million, evenly per decade.
    function _logUniformUsd(uint256 seed) internal pure returns (uint256) {
        uint256 base = 150e18 << (seed % 14);
        return base + KeelMath.mulWadDown(base, (seed >> 8) % 1e18);
    }

    /// @dev Funds `actor` with `amount` of asset `i` and deposits it into `id` (credit follows the collateral).
    function _depositAs(address actor, uint256 id, uint256 i, uint256 amount) internal returns (bool ok) {
        _fund(actor, i, amount);
        address asset = address(_token(i));
        vm.prank(actor);
        try k.engine.deposit(id, asset, amount) {
            address owner = ghostOwner[id];
            if (actor != owner) _moveCredit(actor, owner, asset, amount, 0);
            return true;
        } catch {
            return false;
        }
    }

    /// @dev The owner, or (one time in four) an actor the owner approved, if any.
    function _authorized(uint256 id, address owner, uint256 seed) internal view returns (address) {
        if (seed % 4 != 0) return owner;
        address candidate = _actor(seed / 4);
        return k.nft.isAuthorized(candidate, id) ? candidate : owner;
    }

    /// @dev What position `id` can still borrow with its initial health factor ≥ 1 [wad].
    function _room(uint256 id) internal view returns (bool ok, uint256 room) {
        address[] memory held = k.engine.collateralAssets(id);
        uint256[] memory amounts = new uint256[](held.length);
        for (uint256 j; j < held.length; ++j) {
            amounts[j] = k.engine.collateralOf(id, held[j]);
        }
        if (held.length == 0) return (true, 0);
        try k.risk.assess(held, amounts) returns (IRiskModel.Valuation memory v) {
            uint256 debt = k.engine.debtOf(id);
            if (v.value <= v.initialLoss + debt) return (true, 0);
            return (true, v.value - v.initialLoss - debt);
        } catch {
            return (false, 0);
        }
    }

    /// @dev Borrows a share of the room; `counted`: a revert undoes the action (else the borrow is an optional step).
    function _borrowShare(uint256 id, address caller, uint256 shareSeed, bool counted) internal {
        (bool ok, uint256 room) = _room(id);
        if (!ok) return;
        uint256 amount = KeelMath.mulWadDown(room, _bound(shareSeed, 0.05e18, 1.02e18));
        uint256 debt = k.engine.debtOf(id);
        uint256 dust = k.engine.dust();
        if (debt + amount < dust) amount = dust - debt + 1e18;
        if (amount == 0) return;
        address owner = ghostOwner[id];
        vm.prank(caller);
        try k.engine.borrow(id, amount, caller) {
            if (caller != owner) _moveCredit(caller, owner, address(0), 0, amount);
            _debtChanged(id);
            _requireInitialHealthAfter(id, "borrow");
            _requireCeilings(id);
        } catch {
            if (counted) _count("borrow", false);
        }
    }

    function _requireInitialHealthAfter(uint256 id, string memory action) internal {
        if (k.engine.debtOf(id) == 0) return;
        (bool ok,, uint256 hfInitial) = _health(id);
        if (ok && hfInitial < KeelMath.WAD) {
            _violate("invariant_actionPostconditions", string.concat(action, " left position ", _s(id), " with HFi ", _s(hfInitial)));
        }
    }

    /// @dev After a borrow: the class and global debt are within their ceilings (accrual alone may exceed them).
    function _requireCeilings(uint256 id) internal {
        (, address classKey,) = k.engine.positionInfo(id);
        uint256 global = k.engine.globalDebt();
        if (global > k.engine.globalDebtCeiling()) {
            _violate("invariant_debtCeilings", string.concat("a borrow left global debt ", _s(global), " over its ceiling"));
        }
        uint256 classDebt = KeelMath.toDebtUp(k.engine.debtClass(classKey).normDebt, k.engine.debtClass(classKey).rate);
        if (classDebt > k.engine.debtClass(classKey).debtCeiling) {
            _violate("invariant_debtCeilings", string.concat("a borrow left class ", _s(classKey), " over its ceiling"));
        }
    }
}
