// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {vm} from "../utils/Vm.sol";
import {Assertions} from "../utils/Assertions.sol";
import {Keel, Asset} from "../utils/KeelFixture.sol";
import {IVaultEngineTypes, CROSS_CLASS_KEY} from "../../../contracts/interfaces/IVaultEngineTypes.sol";
import {IRiskModel} from "../../../contracts/interfaces/IRiskModel.sol";
import {IVolatilityOracle} from "../../../contracts/interfaces/IVolatilityOracle.sol";
import {KeelMath} from "../../../contracts/libraries/KeelMath.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";

/// @title HandlerBase
/// @notice What every action shares: the deployment, the actors, bounded choices of positions, assets and amounts,
/// the ghost state the chain does not store, and the observation run after every action (rates, σ steps, margin
/// calls seen healthy). Actions live in the concept files (positions, market, liquidations, governance).
/// @dev Ghost ledger of value ("no actor richer"): `credit[actor][asset]` and `creditKusd[actor]` count, in token
/// amounts, what the handler gave each actor (faucet) and what the protocol reported moving to or from it
/// (liquidation returns, positions handed over with their collateral and debt, kUSD passed between actors). An
/// actor's holdings (wallet + its positions' collateral) may never exceed its credit, and its kUSD minus its
/// positions' debt may never exceed its kUSD credit.
abstract contract HandlerBase is Assertions, IVaultEngineTypes {
    uint256 internal constant N_ACTORS = 5;
    uint256 internal constant MAX_OPEN = 28;
    uint256 internal constant HOUR = 3600;

    /// @notice How a feed is failing: none, stale (old round), at the aggregator's bound, non-positive.
    enum FeedFault {
        None,
        Stale,
        Bound,
        NonPositive
    }

    Keel internal k;
    Asset[] internal assets;
    address[] public actors;
    address public stranger; // deposits dust into others' positions; not an actor
    address public lp; // seeds the AMM from its own position; not an actor

    // ---------------------------------------------------------------- ghost: positions
    uint256[] public ids; // every id ever opened
    mapping(uint256 id => bool) public isOpen;
    mapping(uint256 id => address) public ghostOwner;
    /// @dev The dust in force when the position's debt last changed (by a user or a liquidation) [wad].
    mapping(uint256 id => uint256) public dustFloor;
    uint256 public openCount;

    // ---------------------------------------------------------------- ghost: value ledger
    mapping(address actor => mapping(address asset => int256)) public credit; // token decimals
    mapping(address actor => int256) public creditKusd; // [wad]
    uint256 public ghostDeficit; // [wad] bad debt recorded by liquidations, less covered
    uint256 public debtOps; // operations that round debt or fees (borrow, repay, liquidation, accrual)

    // ---------------------------------------------------------------- ghost: rates, σ, calls
    mapping(address classKey => uint256) public lastRate; // [ray]
    mapping(address asset => uint256) public lastSigma; // [wad]
    mapping(address asset => uint256) public lastSigmaAt; // [s]
    /// @dev The call deadline of a position a keeper's call attempt saw at HF ≥ 1 while that call was open (0: none).
    mapping(uint256 id => uint256) public healthySinceCall;
    mapping(address asset => FeedFault) public fault;
    mapping(address asset => int256) public answer; // feed decimals: the last published (good) answer

    // ---------------------------------------------------------------- ghost: peg and savings (docs/spec.md §10)
    uint256 public ghostPegDebt; // [wad] P as the handler's sales and purchases moved it: Σ sold × scale − Σ bought × scale
    uint256 public savingsDeposited; // [wad] kUSD actors put into sKUSD
    uint256 public savingsWithdrawn; // [wad] kUSD actors took out of sKUSD
    uint256 public savingsPaid; // [wad] interest the surplus buffer paid the vault (its balance drop in a drip)
    /// @dev The highest sKUSD share price seen, as its virtual terms (totalAssets + 1, totalSupply + 10^6): the price
    /// is their ratio, compared by cross-multiplication, exactly.
    uint256 public maxPriceAssets = 1;
    uint256 public maxPriceShares = 1e6;

    // ---------------------------------------------------------------- ghost: postconditions and statistics
    /// @dev First violation recorded per invariant (by name); empty when none.
    mapping(string name => string) public violation;
    string internal _reverted; // the action whose protocol call reverted in this call, if any
    uint256 internal _sigmaTurn; // next asset whose σ step is checked
    bool public liquidationSucceededOnStaleCall; // known liveness bug (issue 15): see invariant_freshGraceAfterRecovery

    constructor(Keel memory keel, Asset[] memory listed) {
        k = keel;
        for (uint256 i; i < listed.length; ++i) {
            assets.push(listed[i]);
            answer[address(listed[i].token)] = listed[i].referenceAnswer;
        }
        for (uint256 i; i < N_ACTORS; ++i) {
            address a = vm.addr(0xA11CE + i);
            actors.push(a);
            vm.label(a, string.concat("actor", _s(i)));
        }
        stranger = vm.addr(0x5757);
        lp = vm.addr(0x1111);
        vm.label(stranger, "stranger");
        vm.label(lp, "lp");
        address[] memory classes = _classes();
        for (uint256 i; i < classes.length; ++i) {
            lastRate[classes[i]] = k.engine.currentRate(classes[i]);
        }
    }

    // ---------------------------------------------------------------- choices

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % N_ACTORS];
    }

    function _isActor(address a) internal view returns (bool) {
        for (uint256 i; i < N_ACTORS; ++i) {
            if (actors[i] == a) return true;
        }
        return false;
    }

    /// @dev An open position, or 0 when none is open.
    function _position(uint256 seed) internal view returns (uint256) {
        uint256 n = ids.length;
        if (openCount == 0) return 0;
        uint256 start = seed % n;
        for (uint256 j; j < n; ++j) {
            uint256 id = ids[(start + j) % n];
            if (isOpen[id]) return id;
        }
        return 0;
    }

    /// @dev An open position in `state` (three times in four, when one exists), else any open position: most
    /// margin calls and liquidations then meet a position they can act on.
    function _positionIn(State state, uint256 seed) internal view returns (uint256) {
        if (seed % 4 != 0) {
            uint256 n = ids.length;
            for (uint256 j; j < n; ++j) {
                uint256 id = ids[(seed + j) % n];
                if (!isOpen[id]) continue;
                try k.engine.stateOf(id) returns (State s, uint256, uint256) {
                    if (s == state) return id;
                } catch {}
            }
        }
        return _position(seed);
    }

    function _assetIndex(uint256 seed) internal view returns (uint256) {
        return seed % assets.length;
    }

    function _token(uint256 i) internal view returns (MockERC20) {
        return assets[i].token;
    }

    /// @dev The asset of `id` to act on: the isolated asset, or one of the basket (or any asset, to add one).
    function _assetOf(uint256 id, uint256 seed, bool mayAdd) internal view returns (address) {
        (, address classKey,) = k.engine.positionInfo(id);
        if (classKey != CROSS_CLASS_KEY) return classKey;
        address[] memory held = k.engine.collateralAssets(id);
        if (held.length == 0 || (mayAdd && seed % 3 == 0 && held.length < 8)) {
            return address(assets[(seed / 3) % assets.length].token);
        }
        return held[seed % held.length];
    }

    function _indexOf(address asset) internal view returns (uint256) {
        for (uint256 i; i < assets.length; ++i) {
            if (address(assets[i].token) == asset) return i;
        }
        revert("handler: unknown asset");
    }

    /// @dev Amount of asset `i` worth about `usd` [wad] at its reference price (works while its feed fails).
    function _amountForUsd(uint256 i, uint256 usd) internal view returns (uint256) {
        Asset storage a = assets[i];
        uint256 price = uint256(a.referenceAnswer) * 10 ** (18 - a.feedDecimals);
        if (address(a.baseFeed) != address(0)) price = price * 3000; // wstETH ≈ 1.18 × WETH's reference
        uint256 unit = 10 ** a.token.decimals();
        uint256 amount = KeelMath.mulDivDown(usd, unit, price);
        return amount == 0 ? 1 : amount;
    }

    function _price(address asset) internal view returns (bool ok, uint256 price) {
        try k.oracle.getPrice(asset) returns (uint256 p) {
            return (true, p);
        } catch {
            return (false, 0);
        }
    }

    function _health(uint256 id) internal view returns (bool ok, uint256 hf, uint256 hfInitial) {
        try k.engine.healthFactor(id) returns (uint256 h, uint256 hi) {
            return (true, h, hi);
        } catch {
            return (false, 0, 0);
        }
    }

    function _classes() internal view returns (address[] memory classes) {
        classes = new address[](assets.length + 1);
        for (uint256 i; i < assets.length; ++i) {
            classes[i] = address(assets[i].token);
        }
        classes[assets.length] = CROSS_CLASS_KEY;
    }

    function idsLength() external view returns (uint256) {
        return ids.length;
    }

    function assetCount() external view returns (uint256) {
        return assets.length;
    }

    function assetAt(uint256 i) external view returns (address) {
        return address(assets[i].token);
    }

    // ---------------------------------------------------------------- funding

    /// @dev Mints `amount` of asset `i` to `actor` and credits it (the value the actor "put in").
    function _fund(address actor, uint256 i, uint256 amount) internal {
        _token(i).mint(actor, amount);
        if (_isActor(actor)) credit[actor][address(_token(i))] += int256(amount);
    }

    function _approveAll(address owner, address spender) internal {
        vm.startPrank(owner);
        for (uint256 i; i < assets.length; ++i) {
            _token(i).approve(spender, type(uint256).max);
        }
        k.kusd.approve(spender, type(uint256).max);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- bookkeeping

    /// @notice The protocol call an action made reverted: the whole action is undone, and forge's metrics count it
    /// as a revert of that action's selector.
    error ActionReverted(string action);

    /// @dev Records the outcome of `action`'s protocol call; a revert undoes the action when it ends (`_observe`).
    function _count(string memory action, bool ok) internal {
        if (!ok && bytes(_reverted).length == 0) _reverted = action;
    }

    /// @dev Records the first violation of invariant `name` (checked by the invariant of that name).
    function _violate(string memory name, string memory detail) internal {
        if (bytes(violation[name]).length == 0) violation[name] = detail;
    }

    function _track(uint256 id, address owner) internal {
        ids.push(id);
        isOpen[id] = true;
        ghostOwner[id] = owner;
        ++openCount;
    }

    function _untrack(uint256 id) internal {
        isOpen[id] = false;
        ghostOwner[id] = address(0);
        --openCount;
        delete healthySinceCall[id];
    }

    /// @dev The position's debt changed through a user action or a liquidation: the dust now in force is its floor,
    /// or what a liquidation step capped by its holding left under it (the other holdings pay for that, issue 15).
    function _debtChanged(uint256 id) internal {
        uint256 dust = k.engine.dust();
        uint256 debt = k.engine.debtOf(id);
        dustFloor[id] = debt != 0 && debt < dust ? debt : dust;
        ++debtOps;
    }

    /// @dev Moves a position's collateral and debt between two actors' credits (a transfer, or an operator
    /// withdrawing or borrowing to itself).
    function _moveCredit(address from, address to, address asset, uint256 amount, uint256 kusdDebt) internal {
        if (_isActor(from)) {
            credit[from][asset] -= int256(amount);
            creditKusd[from] += int256(kusdDebt);
        }
        if (_isActor(to)) {
            credit[to][asset] += int256(amount);
            creditKusd[to] -= int256(kusdDebt);
        }
    }

    // ---------------------------------------------------------------- observation after every action

    /// @dev Run at the end of every action: accumulators never fall, σ moves at most maxStep per hour, a call that
    /// ended is forgotten. Then an action whose protocol call reverted is undone.
    function _observe() internal {
        address[] memory classes = _classes();
        for (uint256 i; i < classes.length; ++i) {
            uint256 rate = k.engine.currentRate(classes[i]);
            if (rate < lastRate[classes[i]]) {
                _violate(
                    "invariant_ratesNeverDecrease",
                    string.concat("class ", _s(classes[i]), " rate ", _s(lastRate[classes[i]]), " -> ", _s(rate))
                );
            }
            lastRate[classes[i]] = rate;
        }
        // σ: two assets per action, in turn (the bound grows with the time between two looks, so sampling is sound).
        uint256 maxStep = k.vol.params().maxStep;
        for (uint256 n; n < 2; ++n) {
            address a = address(assets[_sigmaTurn++ % assets.length].token);
            uint256 sigma = k.vol.sigma(a);
            uint256 since = lastSigmaAt[a];
            if (since != 0) {
                uint256 allowed = KeelMath.mulDivUp(maxStep, block.timestamp - since, HOUR) + 1;
                uint256 moved = sigma > lastSigma[a] ? sigma - lastSigma[a] : lastSigma[a] - sigma;
                if (moved > allowed) {
                    _violate(
                        "invariant_sigmaStep",
                        string.concat(
                            "asset ", _s(a), " sigma ", _s(lastSigma[a]), " -> ", _s(sigma), " in ",
                            _s(block.timestamp - since), " s (allowed ", _s(allowed), ")"
                        )
                    );
                }
            }
            (lastSigma[a], lastSigmaAt[a]) = (sigma, block.timestamp);
        }
        _observeSharePrice();
        for (uint256 j; j < ids.length; ++j) {
            uint256 id = ids[j];
            if (isOpen[id] && healthySinceCall[id] != 0 && k.engine.callDeadline(id) != healthySinceCall[id]) {
                delete healthySinceCall[id]; // that call ended
            }
        }
        if (bytes(_reverted).length != 0) revert ActionReverted(_reverted);
    }

    /// @dev sKUSD's share price never falls below the highest seen; a higher one becomes the new high.
    function _observeSharePrice() internal {
        (uint256 a, uint256 sh) = sharePriceTerms();
        if (a * maxPriceShares < maxPriceAssets * sh) {
            _violate(
                "invariant_sharePriceNeverFalls",
                string.concat("(assets + 1) / (shares + 1e6) fell from ", _s(maxPriceAssets), "/", _s(maxPriceShares), " to ", _s(a), "/", _s(sh))
            );
        } else {
            (maxPriceAssets, maxPriceShares) = (a, sh);
        }
    }

    /// @notice sKUSD's share price as OpenZeppelin's ERC-4626 prices it: (totalAssets + 1) / (totalSupply + 10^offset).
    function sharePriceTerms() public view returns (uint256 assets_, uint256 shares_) {
        return (k.savings.totalAssets() + 1, k.savings.totalSupply() + 1e6);
    }

    /// @dev The surplus buffer paid the vault interest during a savings action or a drip (measured on the buffer,
    /// not the vault, so the vault's bound is not checked against itself).
    function _countInterest(uint256 bufferBefore) internal {
        uint256 bufferAfter = k.kusd.balanceOf(address(k.surplus));
        if (bufferAfter < bufferBefore) savingsPaid += bufferBefore - bufferAfter;
    }

    /// @dev σ bounds or steps changed by governance: the step check restarts from the new σ.
    function _resetSigmaBaseline() internal {
        for (uint256 i; i < assets.length; ++i) {
            lastSigmaAt[address(assets[i].token)] = 0;
        }
    }

    /// @dev Runs `data` against `target` as `sender`; returns success and the return data (reverts are data).
    function _as(address sender, address target, bytes memory data) internal returns (bool ok, bytes memory ret) {
        vm.prank(sender);
        (ok, ret) = target.call(data);
    }
}
