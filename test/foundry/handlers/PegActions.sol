// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {HandlerBase} from "./HandlerBase.sol";
import {IPegStabilityModule} from "../../../contracts/interfaces/IPegStabilityModule.sol";
import {KeelMath} from "../../../contracts/libraries/KeelMath.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";

/// @title PegActions
/// @notice The peg and savings (docs/spec.md §10): actors sell USDC to the PSM and buy it back, save kUSD in sKUSD
/// (deposit or mint) and take it out (withdraw or redeem), anyone drips. Each action predicts whether its call must
/// go through or may revert, and for which documented reason; a revert it predicted is undone like any other action,
/// any other outcome is a violation kept in state (reported by `invariant_actionPostconditions`). What went through
/// is checked exactly: kUSD out and in, the fee to the buffer, P and the supply moving by the scaled amount
/// (`invariant_kusdMinters`), the vault gaining exactly what the buffer paid (`invariant_savingsFunded`).
abstract contract PegActions is HandlerBase {
    // ---------------------------------------------------------------- PSM

    /// @notice An actor sells 1e-6 to 1e8 USDC (log-uniform; it is given the USDC first) to the PSM. May revert
    /// only while sellGem is frozen or paused (`ReserveDepegged`, `ReservePriceUnavailable`, `SellGemPaused`) or
    /// over the ceiling (`PegCeilingExceeded`).
    function sellGem(uint256 actorSeed, uint256 amountSeed) external {
        address actor = _actor(actorSeed);
        uint256 gemAmount = _bound(amountSeed >> 8, 1, 10 ** (1 + amountSeed % 14));
        _fund(actor, _indexOf(k.psm.gem()), gemAmount);
        uint256 amount = gemAmount * k.psm.scale();
        uint256 fee = KeelMath.mulWadUp(amount, k.psm.feeIn());
        Snapshot memory s = _snapshot(actor);
        bytes4 expected = k.psm.sellGemFrozen()
            ? bytes4(0xffffffff) // one of the freeze errors
            : s.pegDebt + amount > k.psm.debtCeiling() ? IPegStabilityModule.PegCeilingExceeded.selector : bytes4(0);
        (bool ok, bytes memory ret) = _as(actor, address(k.psm), abi.encodeCall(k.psm.sellGem, (actor, gemAmount)));
        if (ok) {
            uint256 kusdOut = abi.decode(ret, (uint256));
            ghostPegDebt += amount;
            credit[actor][k.psm.gem()] -= int256(gemAmount);
            creditKusd[actor] += int256(kusdOut);
            if (expected != bytes4(0)) _violate("invariant_actionPostconditions", "sellGem went through while frozen, paused or over the ceiling");
            _requireSwap("sellGem", s, actor, int256(amount), kusdOut, amount - fee, fee);
        } else if (!_sellRevertExpected(expected, _selector(ret))) {
            _violate("invariant_actionPostconditions", string.concat("sellGem of ", _s(gemAmount), " reverted for an undocumented reason"));
            ok = true; // keep the violation: only a predicted revert is undone
        }
        _count("sellGem", ok);
        _observe();
    }

    /// @notice An actor holding kUSD buys back USDC: a share of what P and its kUSD allow, or one unit more (one time in eight).
    /// May revert only for lack of P (`PegDebtTooLow`) or of kUSD (`ERC20InsufficientBalance`).
    function buyGem(uint256 actorSeed, uint256 shareSeed) external {
        address actor = _holder(actorSeed, address(k.kusd));
        Snapshot memory s = _snapshot(actor);
        (uint256 gemAmount, uint256 fee, bytes4 expected) = _planBuy(s, shareSeed);
        uint256 amount = gemAmount * k.psm.scale();
        (bool ok, bytes memory ret) = _as(actor, address(k.psm), abi.encodeCall(k.psm.buyGem, (actor, gemAmount)));
        if (ok) {
            uint256 kusdIn = abi.decode(ret, (uint256));
            ghostPegDebt -= amount;
            credit[actor][k.psm.gem()] += int256(gemAmount);
            creditKusd[actor] -= int256(kusdIn);
            if (expected != bytes4(0)) _violate("invariant_actionPostconditions", "buyGem went through beyond P or the buyer's kUSD");
            _requireSwap("buyGem", s, actor, -int256(amount), kusdIn, amount + fee, fee);
        } else if (expected == bytes4(0) || _selector(ret) != expected) {
            _violate("invariant_actionPostconditions", string.concat("buyGem of ", _s(gemAmount), " reverted for an undocumented reason"));
            ok = true;
        }
        _count("buyGem", ok);
        _observe();
    }

    // ---------------------------------------------------------------- savings

    /// @notice An actor holding kUSD saves a share of its kUSD in sKUSD, by `deposit` (assets) or `mint` (shares), or one wei
    /// more than it holds (one time in eight). May revert only for lack of kUSD (`ERC20InsufficientBalance`).
    function save(uint256 actorSeed, uint256 shareSeed, bool byShares) external {
        address actor = _holder(actorSeed, address(k.kusd));
        Snapshot memory s = _snapshot(actor);
        bool overshoot = shareSeed % 8 == 0 || s.kusd == 0;
        uint256 assets_ = overshoot ? s.kusd + 1 : _bound(shareSeed >> 3, 1, s.kusd);
        bool ok;
        bytes memory ret;
        if (byShares) {
            uint256 shares = k.savings.convertToShares(assets_);
            if (shares == 0) shares = 1;
            (ok, ret) = _as(actor, address(k.savings), abi.encodeCall(k.savings.mint, (shares, actor)));
        } else {
            (ok, ret) = _as(actor, address(k.savings), abi.encodeCall(k.savings.deposit, (assets_, actor)));
        }
        if (ok) {
            uint256 paid = _settleSavings(s);
            uint256 put = s.kusd - k.kusd.balanceOf(actor);
            savingsDeposited += put;
            creditKusd[actor] -= int256(put);
            _requireVaultMoved("save", s, int256(put), paid);
        } else if (_selector(ret) != IERC20Errors.ERC20InsufficientBalance.selector || (!overshoot && !byShares)) {
            // A mint's cost is priced after the drip, so even a share of the balance may fall short by rounding.
            _violate("invariant_actionPostconditions", string.concat("save of ", _s(assets_), " kUSD reverted for an undocumented reason"));
            ok = true;
        }
        _count(byShares ? "save.mint" : "save.deposit", ok);
        _observe();
    }

    /// @notice An actor holding sKUSD takes savings out by `redeem` (a share of its shares) or `withdraw` (a share of its
    /// maxWithdraw), or one unit more (one time in eight). May revert only beyond what it holds
    /// (`ERC4626ExceededMaxRedeem`, `ERC4626ExceededMaxWithdraw`).
    function unsave(uint256 actorSeed, uint256 shareSeed, bool byAssets) external {
        address actor = _holder(actorSeed, address(k.savings));
        Snapshot memory s = _snapshot(actor);
        bool overshoot = shareSeed % 8 == 0;
        bool ok;
        bytes memory ret;
        bytes4 allowed;
        if (byAssets) {
            uint256 max = k.savings.maxWithdraw(actor);
            uint256 assets_ = overshoot ? max + 1 : _bound(shareSeed >> 3, 1, max);
            allowed = ERC4626.ERC4626ExceededMaxWithdraw.selector;
            (ok, ret) = _as(actor, address(k.savings), abi.encodeCall(k.savings.withdraw, (assets_, actor, actor)));
            overshoot = overshoot || max == 0;
        } else {
            uint256 held = k.savings.balanceOf(actor);
            uint256 shares = overshoot ? held + 1 : _bound(shareSeed >> 3, 1, held);
            allowed = ERC4626.ERC4626ExceededMaxRedeem.selector;
            (ok, ret) = _as(actor, address(k.savings), abi.encodeCall(k.savings.redeem, (shares, actor, actor)));
            overshoot = overshoot || held == 0;
        }
        if (ok) {
            uint256 paid = _settleSavings(s);
            uint256 got = k.kusd.balanceOf(actor) - s.kusd;
            savingsWithdrawn += got;
            creditKusd[actor] += int256(got);
            _requireVaultMoved("unsave", s, -int256(got), paid);
        } else if (!overshoot || _selector(ret) != allowed) {
            _violate("invariant_actionPostconditions", "unsave within the holder's shares reverted");
            ok = true;
        }
        _count(byAssets ? "unsave.withdraw" : "unsave.redeem", ok);
        _observe();
    }

    /// @notice Anyone drips: the vault gains exactly what the surplus buffer pays. Never reverts.
    function drip(uint256 callerSeed) external {
        address caller = callerSeed % 6 == 5 ? stranger : _actor(callerSeed);
        Snapshot memory s = _snapshot(caller);
        (bool ok,) = _as(caller, address(k.savings), abi.encodeCall(k.savings.drip, ()));
        if (ok) {
            uint256 paid = _settleSavings(s);
            _requireVaultMoved("drip", s, 0, paid);
        } else {
            _violate("invariant_actionPostconditions", "drip reverted");
            ok = true;
        }
        _count("drip", ok);
        _observe();
    }

    // ---------------------------------------------------------------- helpers

    /// @dev An actor holding some `token` (the first from the seed's), else the seed's: most buys and savings
    /// actions then have something to act on.
    function _holder(uint256 seed, address token) internal view returns (address) {
        for (uint256 j; j < N_ACTORS; ++j) {
            address a = actors[(seed % N_ACTORS + j) % N_ACTORS];
            if (IERC20(token).balanceOf(a) != 0) return a;
        }
        return _actor(seed);
    }

    /// @dev How much USDC to buy back, its fee [wad], and the error it must revert with (0: it must go through).
    function _planBuy(Snapshot memory s, uint256 shareSeed)
        internal
        view
        returns (uint256 gemAmount, uint256 fee, bytes4 expected)
    {
        uint256 scale = k.psm.scale();
        uint256 feeOut = k.psm.feeOut();
        uint256 affordable = KeelMath.mulDivDown(s.kusd, KeelMath.WAD, (KeelMath.WAD + feeOut) * scale);
        uint256 cap = s.pegDebt / scale < affordable ? s.pegDebt / scale : affordable;
        gemAmount = shareSeed % 8 == 0 ? cap + 1 : _bound(shareSeed >> 3, 1, cap);
        uint256 amount = gemAmount * scale;
        fee = KeelMath.mulWadUp(amount, feeOut);
        expected = amount > s.pegDebt
            ? IPegStabilityModule.PegDebtTooLow.selector
            : amount + fee > s.kusd ? IERC20Errors.ERC20InsufficientBalance.selector : bytes4(0);
    }

    /// @dev What a peg or savings action is checked against.
    struct Snapshot {
        uint256 supply; // [wad] kUSD total supply
        uint256 buffer; // [wad] the surplus buffer's kUSD
        uint256 kusd; // [wad] the actor's kUSD
        uint256 pegDebt; // [wad] P
        uint256 vault; // [wad] sKUSD's total assets
    }

    function _snapshot(address actor) internal view returns (Snapshot memory) {
        return Snapshot({
            supply: k.kusd.totalSupply(),
            buffer: k.kusd.balanceOf(address(k.surplus)),
            kusd: k.kusd.balanceOf(actor),
            pegDebt: k.psm.debt(),
            vault: k.savings.totalAssets()
        });
    }

    /// @dev A swap moved supply and P by exactly `scaled` (+ sale, − purchase), the actor's kUSD by `actorKusd` (the
    /// function's return value, also checked), and the buffer by `fee`.
    function _requireSwap(
        string memory action,
        Snapshot memory s,
        address actor,
        int256 scaled,
        uint256 returned,
        uint256 actorKusd,
        uint256 fee
    ) internal {
        bool sale = scaled > 0;
        uint256 supplyNow = k.kusd.totalSupply();
        uint256 actorNow = k.kusd.balanceOf(actor);
        bool exact = int256(supplyNow) - int256(s.supply) == scaled
            && int256(k.psm.debt()) - int256(s.pegDebt) == scaled
            && k.kusd.balanceOf(address(k.surplus)) == s.buffer + fee && returned == actorKusd
            && (sale ? actorNow == s.kusd + actorKusd : actorNow + actorKusd == s.kusd);
        if (!exact) {
            _violate(
                "invariant_kusdMinters",
                string.concat(action, ": supply ", _s(s.supply), " -> ", _s(supplyNow), ", P ", _s(s.pegDebt), " -> ", _s(k.psm.debt()), ", kUSD to or from the actor ", _s(returned), " (expected ", _s(actorKusd), ")")
            );
        }
    }

    /// @dev The buffer's drop in a savings action is interest paid: counts it and returns it.
    function _settleSavings(Snapshot memory s) internal returns (uint256 paid) {
        _countInterest(s.buffer);
        uint256 bufferNow = k.kusd.balanceOf(address(k.surplus));
        paid = s.buffer > bufferNow ? s.buffer - bufferNow : 0;
    }

    /// @dev A savings action minted and burnt nothing, and the vault moved by exactly `flow` plus the interest paid.
    function _requireVaultMoved(string memory action, Snapshot memory s, int256 flow, uint256 paid) internal {
        if (k.kusd.totalSupply() != s.supply) {
            _violate("invariant_kusdMinters", string.concat(action, ": kUSD supply moved in a savings action"));
        }
        int256 moved = int256(k.savings.totalAssets()) - int256(s.vault);
        if (moved != flow + int256(paid)) {
            _violate("invariant_savingsFunded", string.concat(action, ": the vault's assets moved by other than the flow and the interest paid"));
        }
        if (k.kusd.balanceOf(address(k.surplus)) > s.buffer) {
            _violate("invariant_savingsFunded", string.concat(action, ": the surplus buffer gained in a savings action"));
        }
    }

    /// @dev A frozen sale reverts with a freeze error; any other predicted revert with exactly its error.
    function _sellRevertExpected(bytes4 expected, bytes4 got) internal pure returns (bool) {
        if (expected == bytes4(0xffffffff)) {
            return got == IPegStabilityModule.ReserveDepegged.selector
                || got == IPegStabilityModule.ReservePriceUnavailable.selector
                || got == IPegStabilityModule.SellGemPaused.selector;
        }
        return expected != bytes4(0) && got == expected;
    }

    function _selector(bytes memory ret) internal pure returns (bytes4 sel) {
        if (ret.length < 4) return bytes4(0);
        assembly ("memory-safe") {
            sel := mload(add(ret, 32))
        }
    }
}
