// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {vm} from "../utils/Vm.sol";
import {Assertions} from "../utils/Assertions.sol";
import {KeelFixture} from "../utils/KeelFixture.sol";
import {Handler} from "../handlers/Handler.sol";
import {IVaultEngineTypes, CROSS_CLASS_KEY} from "../../../contracts/interfaces/IVaultEngineTypes.sol";
import {IRiskModel} from "../../../contracts/interfaces/IRiskModel.sol";
import {KeelMath} from "../../../contracts/libraries/KeelMath.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";

/// @title KeelInvariants
/// @notice Keel's Foundry invariant campaign: the Handler drives every state-changing entry point; after every call
/// each `invariant_*` below must hold, and each names itself in its failure message. Liveness is checked in full by
/// default; KEEL_KNOWN_LIVENESS_BUGS=1 skips the failure cases of the liveness bugs fixed in issue 15 (for running
/// this campaign against a build from before the fix, docs/known-issues.md).
contract KeelInvariants is KeelFixture, Assertions {
    Handler internal h;
    bool internal knownLivenessBugs;
    address internal constant LIVENESS_LIQUIDATOR = address(0x11D0);

    function setUp() public {
        _deployKeel();
        h = Handler(vm.deployCode("Handler.sol:Handler", abi.encode(k, assets)));
        knownLivenessBugs = vm.envOr("KEEL_KNOWN_LIVENESS_BUGS", false);
    }

    /// @notice The fuzzer's only target (forge-std's StdInvariant protocol).
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(h);
    }

    // ================================================================ accounting (docs/spec.md §6)

    /// @notice I1: kUSD supply == TD − F + B + P (P = psm.debt(), docs/spec.md §6), the gap being rounding in the
    /// protocol's favour: at most 3 wei per debt operation plus 1 per open position (each position's debt rounds up).
    /// The PSM adds no rounding: P and the supply move by the same scaled amount.
    function invariant_ledger() public view {
        uint256[] memory open = h.openIds();
        uint256 totalDebt;
        for (uint256 j; j < open.length; ++j) {
            totalDebt += k.engine.debtOf(open[j]);
        }
        uint256 supply = k.kusd.totalSupply();
        uint256 owed = totalDebt + k.engine.deficit() + k.psm.debt();
        uint256 fees = k.engine.accruedFees();
        _le(supply + fees, owed, "invariant_ledger", "kUSD supply + F > TD + B + P");
        uint256 slack = owed - fees - supply;
        _le(slack, 3 * h.debtOps() + open.length + 2, "invariant_ledger", "rounding margin TD - F + B + P - supply");
    }

    /// @notice Per asset: the recorded total equals Σ positions' collateral, and the engine holds at least that.
    function invariant_collateralTotals() public view {
        uint256[] memory sums = new uint256[](assets.length);
        uint256[] memory open = h.openIds();
        for (uint256 j; j < open.length; ++j) {
            address[] memory basket = k.engine.collateralAssets(open[j]);
            for (uint256 b; b < basket.length; ++b) {
                sums[_assetIndex(basket[b])] += k.engine.collateralOf(open[j], basket[b]);
            }
        }
        for (uint256 i; i < assets.length; ++i) {
            address asset = address(assets[i].token);
            (, uint256 total,) = k.engine.collateralConfig(asset);
            _eq(total, sums[i], "invariant_collateralTotals", string.concat("recorded total vs sum of positions of ", _s(asset)));
            _le(sums[i], assets[i].token.balanceOf(address(k.engine)), "invariant_collateralTotals", "sum of positions vs engine balance");
        }
    }

    /// @notice Each class's normalized debt is the sum of its positions' normalized debt.
    function invariant_classDebt() public view {
        uint256[] memory open = h.openIds();
        address[] memory classes = _classKeys();
        for (uint256 c; c < classes.length; ++c) {
            uint256 sum;
            for (uint256 j; j < open.length; ++j) {
                (, address classKey, uint256 normDebt) = k.engine.positionInfo(open[j]);
                if (classKey == classes[c]) sum += normDebt;
            }
            _eq(k.engine.debtClass(classes[c]).normDebt, sum, "invariant_classDebt", string.concat("class ", _s(classes[c])));
        }
    }

    /// @notice globalDebt == Σ_class ceil(normDebt × rate) at each class's last accrual.
    function invariant_globalDebtSum() public view {
        address[] memory classes = _classKeys();
        uint256 sum;
        for (uint256 c; c < classes.length; ++c) {
            IVaultEngineTypes.DebtClass memory d = k.engine.debtClass(classes[c]);
            sum += KeelMath.toDebtUp(d.normDebt, d.rate);
        }
        _eq(k.engine.globalDebt(), sum, "invariant_globalDebtSum", "globalDebt vs sum of classes");
    }

    /// @notice Borrowing never leaves a class or the global debt over its ceiling; only accrual, or governance
    /// lowering a ceiling, can put debt above one.
    function invariant_debtCeilings() public view {
        _noViolation("invariant_debtCeilings");
    }

    /// @notice The deficit is exactly the bad debt liquidations recorded, less what the surplus buffer and payers
    /// covered.
    function invariant_deficitMatchesGhost() public view {
        _eq(k.engine.deficit(), h.ghostDeficit(), "invariant_deficitMatchesGhost", "deficit vs ghost");
    }

    /// @notice No rate accumulator ever decreases (checked after every action against the last value seen).
    function invariant_ratesNeverDecrease() public view {
        _noViolation("invariant_ratesNeverDecrease");
        address[] memory classes = _classKeys();
        for (uint256 c; c < classes.length; ++c) {
            _le(h.lastRate(classes[c]), k.engine.currentRate(classes[c]), "invariant_ratesNeverDecrease", _s(classes[c]));
            _le(KeelMath.RAY, k.engine.currentRate(classes[c]), "invariant_ratesNeverDecrease", "rate below RAY");
        }
    }

    // ================================================================ peg and savings (docs/spec.md §10)

    /// @notice I21: the PSM holds its reserve for all it minted: gem balance × scale ≥ P, and P is what the handler's
    /// sales and purchases moved (Σ sold − Σ bought, scaled).
    function invariant_pegReserveBacksDebt() public view {
        uint256 pegDebt = k.psm.debt();
        uint256 reserve = assets[USDC_INDEX].token.balanceOf(address(k.psm));
        _le(pegDebt, reserve * k.psm.scale(), "invariant_pegReserveBacksDebt", "P vs the reserve held x scale");
        _eq(pegDebt, h.ghostPegDebt(), "invariant_pegReserveBacksDebt", "P vs the ghost of sales less purchases");
    }

    /// @notice I22: sKUSD's share price, (totalAssets + 1) / (totalSupply + 10^6), never falls below the highest
    /// seen (the handler checks it after every call and keeps the high).
    function invariant_sharePriceNeverFalls() public view {
        _noViolation("invariant_sharePriceNeverFalls");
        (uint256 a, uint256 sh) = h.sharePriceTerms();
        if (a * h.maxPriceShares() < h.maxPriceAssets() * sh) {
            _fail("invariant_sharePriceNeverFalls", string.concat("share price ", _s(a), "/", _s(sh), " under the high ", _s(h.maxPriceAssets()), "/", _s(h.maxPriceShares())));
        }
    }

    /// @notice I23: the vault's assets never exceed what actors deposited, less what they withdrew, plus the interest
    /// the surplus buffer paid; each savings action moves them by exactly its flow plus that interest.
    function invariant_savingsFunded() public view {
        _noViolation("invariant_savingsFunded");
        uint256 funded = h.savingsDeposited() + h.savingsPaid();
        _le(h.savingsWithdrawn(), funded, "invariant_savingsFunded", "withdrawn vs deposited + interest paid");
        _le(k.savings.totalAssets(), funded - h.savingsWithdrawn(), "invariant_savingsFunded", "vault assets vs deposits - withdrawals + interest paid");
    }

    /// @notice I24: kUSD is minted and burnt only by the engine and the PSM (the one registered peg module; neither
    /// the vault, the buffer nor any periphery or actor is one), and every PSM swap moved the supply and P by exactly
    /// its scaled amount, every savings action by nothing (handler); the engine's share is the ledger's (I1).
    function invariant_kusdMinters() public view {
        _noViolation("invariant_kusdMinters");
        _check(k.kusd.engine() == address(k.engine), "invariant_kusdMinters", "kUSD's engine");
        _check(k.kusd.isPegModule(address(k.psm)), "invariant_kusdMinters", "the PSM is not a peg module");
        address[9] memory others = [
            address(k.savings), address(k.surplus), address(k.manager), address(k.flashLiquidator), address(k.amm),
            address(k.receiver), address(k.flashBorrower), k.governor, h.stranger()
        ];
        for (uint256 i; i < others.length; ++i) {
            _check(!k.kusd.isPegModule(others[i]), "invariant_kusdMinters", string.concat(_s(others[i]), " is a peg module"));
        }
        for (uint256 a; a < 5; ++a) {
            _check(!k.kusd.isPegModule(h.actors(a)), "invariant_kusdMinters", string.concat("actor ", _s(h.actors(a)), " is a peg module"));
        }
    }

    // ================================================================ positions

    /// @notice No actor holds more of any token than it was given plus what the protocol reported moving to it
    /// (liquidation seizures, positions handed over), and no actor's kUSD minus its debt exceeds its kUSD credit.
    function invariant_noActorRicher() public view {
        _noViolation("invariant_noActorRicher");
        uint256 nActors = 5;
        uint256[] memory held = new uint256[](nActors * assets.length); // [actor][asset]
        int256[] memory net = new int256[](nActors);
        uint256[] memory open = h.openIds();
        for (uint256 j; j < open.length; ++j) {
            uint256 a = _actorIndex(k.nft.ownerOf(open[j]));
            if (a == type(uint256).max) continue;
            net[a] -= int256(k.engine.debtOf(open[j]));
            address[] memory basket = k.engine.collateralAssets(open[j]);
            for (uint256 b; b < basket.length; ++b) {
                held[a * assets.length + _assetIndex(basket[b])] += k.engine.collateralOf(open[j], basket[b]);
            }
        }
        for (uint256 a; a < nActors; ++a) {
            address actor = h.actors(a);
            for (uint256 i; i < assets.length; ++i) {
                address token = address(assets[i].token);
                uint256 total = held[a * assets.length + i] + assets[i].token.balanceOf(actor) + (i == 0 ? actor.balance : 0);
                if (int256(total) > h.credit(actor, token)) {
                    _fail("invariant_noActorRicher", string.concat(_s(actor), " holds more ", _s(token), " than it put in or earned"));
                }
            }
            if (net[a] + int256(k.kusd.balanceOf(actor)) > h.creditKusd(actor)) {
                _fail("invariant_noActorRicher", string.concat(_s(actor), " kUSD minus debt above its credit"));
            }
        }
    }

    function _actorIndex(address who) internal view returns (uint256) {
        for (uint256 a; a < 5; ++a) {
            if (h.actors(a) == who) return a;
        }
        return type(uint256).max;
    }

    function _assetIndex(address asset) internal view returns (uint256) {
        for (uint256 i; i < assets.length; ++i) {
            if (address(assets[i].token) == asset) return i;
        }
        revert("unknown asset");
    }

    /// @notice A position's debt is 0 or at least the dust in force when its debt last changed (governance may
    /// raise dust later).
    function invariant_dust() public view {
        uint256[] memory open = h.openIds();
        for (uint256 j; j < open.length; ++j) {
            uint256 debt = k.engine.debtOf(open[j]);
            if (debt != 0 && debt < h.dustFloor(open[j])) {
                _fail("invariant_dust", string.concat("position ", _s(open[j]), " debt ", _s(debt), " under dust ", _s(h.dustFloor(open[j]))));
            }
        }
    }

    /// @notice A position exists iff its NFT does, owned by whom the ghost says; closed positions hold nothing.
    function invariant_positionOwnership() public view {
        uint256 n = h.idsLength();
        _eq(k.engine.lastPositionId(), n, "invariant_positionOwnership", "ids issued vs ids the handler opened");
        for (uint256 j; j < n; ++j) {
            uint256 id = h.ids(j);
            (bool exists,) = address(k.engine).staticcall(abi.encodeCall(k.engine.positionInfo, (id)));
            (bool minted, bytes memory owner) = address(k.nft).staticcall(abi.encodeCall(k.nft.ownerOf, (id)));
            _check(exists == h.isOpen(id), "invariant_positionOwnership", string.concat("position ", _s(id), " existence vs ghost"));
            _check(minted == exists, "invariant_positionOwnership", string.concat("position ", _s(id), " NFT vs position"));
            if (minted) {
                _check(abi.decode(owner, (address)) == h.ghostOwner(id), "invariant_positionOwnership", string.concat("owner of ", _s(id)));
            } else {
                _eq(k.engine.debtOf(id), 0, "invariant_positionOwnership", "closed position with debt");
                _eq(k.engine.callDeadline(id), 0, "invariant_positionOwnership", "closed position with a call");
            }
        }
    }

    /// @notice Margin state agrees with HF and the call's deadline (docs/spec.md §4); a position without debt has no call.
    function invariant_stateMachine() public view {
        uint256[] memory open = h.openIds();
        uint256 critical = k.engine.liquidationParams().criticalHF;
        for (uint256 j; j < open.length; ++j) {
            uint256 id = open[j];
            uint256 deadline = k.engine.callDeadline(id);
            if (k.engine.debtOf(id) == 0) {
                _eq(deadline, 0, "invariant_stateMachine", string.concat("position ", _s(id), " without debt has a call"));
                continue;
            }
            try k.engine.stateOf(id) returns (IVaultEngineTypes.State state, uint256 d, uint256 hf) {
                _eq(d, deadline, "invariant_stateMachine", "stateOf deadline");
                IVaultEngineTypes.State expected = hf < critical
                    ? IVaultEngineTypes.State.Liquidatable
                    : hf >= KeelMath.WAD
                        ? IVaultEngineTypes.State.Safe
                        : deadline == 0
                            ? IVaultEngineTypes.State.Callable
                            : block.timestamp >= deadline ? IVaultEngineTypes.State.Liquidatable : IVaultEngineTypes.State.Called;
                _eq(uint256(state), uint256(expected), "invariant_stateMachine", string.concat("state of ", _s(id)));
                // healthFactor needs every price; stateOf values a failed cross holding at zero (issue 15).
                try k.engine.healthFactor(id) returns (uint256 hf2, uint256) {
                    _eq(hf, hf2, "invariant_stateMachine", "stateOf hf vs healthFactor");
                } catch {}
            } catch {}
        }
    }

    /// @notice The engine's health factor equals RiskModel's for every priced position (one margin formula).
    function invariant_healthMatchesRiskModel() public view {
        uint256[] memory open = h.openIds();
        for (uint256 j; j < open.length; ++j) {
            try k.engine.healthFactor(open[j]) returns (uint256 hf, uint256 hfi) {
                (uint256 rhf, uint256 rhfi) = k.risk.healthFactor(open[j]);
                _eq(hf, rhf, "invariant_healthMatchesRiskModel", string.concat("hf of ", _s(open[j])));
                _eq(hfi, rhfi, "invariant_healthMatchesRiskModel", string.concat("hfInitial of ", _s(open[j])));
                _le(hfi, hf, "invariant_healthMatchesRiskModel", "hfInitial above hf");
            } catch {}
        }
    }

    /// @notice The σ margin uses moves at most maxStep per hour (checked after every action; a governance change
    /// of σ bounds or of the step restarts the check).
    function invariant_sigmaStep() public view {
        _noViolation("invariant_sigmaStep");
    }

    /// @notice Every action's own postconditions held: a borrow or withdrawal leaves HFi ≥ 1, a repayment burns at
    /// most the debt, a manager open opens exactly one position.
    function invariant_actionPostconditions() public view {
        _noViolation("invariant_actionPostconditions");
    }

    /// @notice The FlashLiquidator and the PositionManager hold nothing between transactions.
    function invariant_peripheryHoldsNothing() public view {
        address[2] memory periphery = [address(k.flashLiquidator), address(k.manager)];
        for (uint256 p; p < 2; ++p) {
            _eq(k.kusd.balanceOf(periphery[p]), 0, "invariant_peripheryHoldsNothing", string.concat(_s(periphery[p]), " kUSD"));
            _eq(periphery[p].balance, 0, "invariant_peripheryHoldsNothing", string.concat(_s(periphery[p]), " ether"));
            for (uint256 i; i < assets.length; ++i) {
                _eq(assets[i].token.balanceOf(periphery[p]), 0, "invariant_peripheryHoldsNothing", string.concat(_s(periphery[p]), " ", _s(address(assets[i].token))));
            }
        }
    }

    // ================================================================ liveness (docs/spec.md §4, issue 15)

    /// @notice Every Liquidatable position whose working-price collateral pays for its debt × (1 + ℓ) can be
    /// liquidated until it is no longer Liquidatable (zero debt, or back to health), with zero bad debt, by a
    /// sequence of `liquidate` calls found here (the richest asset first, then the others), tried on a snapshot and
    /// reverted. A cross position with a failing feed is judged on its other assets (the failed one valued at zero);
    /// an isolated position whose only feed fails waits for it. Known failures (issue 15) while
    /// KEEL_KNOWN_LIVENESS_BUGS=1: positions holding a failing-feed asset, and debts at or under twice the dust.
    /// forge-config: default.invariant.check_interval = 5
    function invariant_liquidationLiveness() public {
        uint256[] memory open = h.openIds();
        for (uint256 j; j < open.length; ++j) {
            uint256 id = open[j];
            (bool due, bool heldFailing) = _liquidatableAndCovered(id);
            if (!due) continue;
            bool nearDust = k.engine.debtOf(id) <= 2 * k.engine.dust();
            if (knownLivenessBugs && (heldFailing || nearDust)) continue;
            string memory stuck = _liquidateFully(id);
            if (bytes(stuck).length != 0) _fail("invariant_liquidationLiveness", stuck);
        }
    }

    /// @notice Every owner can always repay all its debt, deposit more of what it holds (supply cap permitting) and
    /// then withdraw everything: no feed failure, pause, stranger deposit or transfer blocks it. On a snapshot,
    /// reverted.
    /// forge-config: default.invariant.check_interval = 5
    function invariant_ownerCanExit() public {
        uint256[] memory open = h.openIds();
        uint256 snapshot = vm.snapshotState();
        for (uint256 j; j < open.length; ++j) {
            string memory stuck = _exit(open[j]);
            if (bytes(stuck).length != 0) {
                vm.revertToStateAndDelete(snapshot);
                _fail("invariant_ownerCanExit", stuck);
            }
        }
        vm.revertToStateAndDelete(snapshot);
    }

    /// @notice A margin call on a position seen at HF ≥ 1 (by a keeper's call attempt) never lets it be liquidated
    /// without a fresh grace period:
    /// no position is Liquidatable (above criticalHF) on a call it recovered from, and no liquidation went through
    /// on one. Known failure (issue 15: calls are not reset after recovery) while KEEL_KNOWN_LIVENESS_BUGS=1.
    function invariant_freshGraceAfterRecovery() public view {
        if (knownLivenessBugs) return;
        _check(!h.liquidationSucceededOnStaleCall(), "invariant_freshGraceAfterRecovery", "a liquidation went through on a call the position had recovered from");
        uint256[] memory open = h.openIds();
        uint256 critical = k.engine.liquidationParams().criticalHF;
        for (uint256 j; j < open.length; ++j) {
            uint256 id = open[j];
            uint256 deadline = k.engine.callDeadline(id);
            if (deadline == 0 || h.healthySinceCall(id) != deadline || block.timestamp < deadline) continue;
            try k.engine.healthFactor(id) returns (uint256 hf, uint256) {
                if (hf < KeelMath.WAD && hf >= critical) {
                    _fail("invariant_freshGraceAfterRecovery", string.concat("position ", _s(id), " is Liquidatable on a call it recovered from"));
                }
            } catch {}
        }
    }

    // ================================================================ helpers

    function _noViolation(string memory name) internal view {
        string memory v = h.violation(name);
        if (bytes(v).length != 0) _fail(name, v);
    }

    function _classKeys() internal view returns (address[] memory classes) {
        classes = new address[](assets.length + 1);
        for (uint256 i; i < assets.length; ++i) {
            classes[i] = address(assets[i].token);
        }
        classes[assets.length] = CROSS_CLASS_KEY;
    }

    /// @dev Whether `id` is due for liquidation (by its working-price holdings) and they pay for debt × (1 + ℓ);
    /// and whether it holds an asset whose price fails.
    function _liquidatableAndCovered(uint256 id) internal view returns (bool due, bool heldFailing) {
        uint256 debt = k.engine.debtOf(id);
        if (debt == 0) return (false, false);
        address[] memory held = k.engine.collateralAssets(id);
        uint256 working;
        for (uint256 i; i < held.length; ++i) {
            if (_priced(held[i])) ++working;
        }
        heldFailing = working < held.length;
        if (working == 0 || (heldFailing && held.length == 1)) return (false, heldFailing);
        address[] memory priced = new address[](working);
        uint256[] memory amounts = new uint256[](working);
        uint256 n;
        for (uint256 i; i < held.length; ++i) {
            if (!_priced(held[i])) continue;
            priced[n] = held[i];
            amounts[n] = k.engine.collateralOf(id, held[i]);
            ++n;
        }
        IRiskModel.Valuation memory v = k.risk.assess(priced, amounts);
        uint256 hf = KeelMath.healthFactorDown(v.value, v.maintenanceLoss, debt);
        // Each holding pays for debt at its bonus at this HF, as the liquidation prices it.
        uint256 coverable;
        for (uint256 i; i < n; ++i) {
            IRiskModel.LiquidationTerms memory t = k.risk.liquidationTerms(priced[i]);
            uint256 bonus = KeelMath.penaltyAtDown(hf, t.minPenalty, t.penalty, t.fullPenaltyHF);
            coverable += KeelMath.repayForDown(amounts[i], bonus, t.price, t.unit);
        }
        if (coverable < debt) return (false, heldFailing);
        uint256 deadline = k.engine.callDeadline(id);
        due = hf < k.engine.liquidationParams().criticalHF
            || (hf < KeelMath.WAD && deadline != 0 && block.timestamp >= deadline);
    }

    function _priced(address asset) internal view returns (bool ok) {
        (ok,) = address(k.oracle).staticcall(abi.encodeCall(k.oracle.getPrice, (asset)));
    }

    /// @dev On a snapshot: liquidates `id` step by step (richest working asset first) until it is not Liquidatable;
    /// returns why it got stuck, or "" when it went through without bad debt.
    function _liquidateFully(uint256 id) internal returns (string memory stuck) {
        uint256 snapshot = vm.snapshotState();
        uint256 deficit = k.engine.deficit();
        uint256 funds = 2 * k.engine.debtOf(id) + 1e24;
        vm.prank(address(k.engine));
        k.kusd.mint(LIVENESS_LIQUIDATOR, funds);
        for (uint256 step; step < 24; ++step) {
            if (k.engine.debtOf(id) == 0) break;
            (bool due,) = _liquidatableAndCovered(id);
            if (!due) break;
            if (!_liquidateOnce(id)) {
                stuck = string.concat("Liquidatable position ", _s(id), " (debt ", _s(k.engine.debtOf(id)), ") cannot be liquidated further by any asset");
                break;
            }
        }
        if (bytes(stuck).length == 0 && k.engine.deficit() != deficit) {
            stuck = string.concat("liquidating position ", _s(id), " left bad debt although its collateral covered it");
        }
        vm.revertToStateAndDelete(snapshot);
    }

    function _liquidateOnce(uint256 id) internal returns (bool) {
        address[] memory held = k.engine.collateralAssets(id);
        // Richest first: order by value at the oracle price (failing ones last, they cannot be priced).
        uint256[] memory values = new uint256[](held.length);
        for (uint256 i; i < held.length; ++i) {
            try k.risk.assessOne(held[i], k.engine.collateralOf(id, held[i])) returns (IRiskModel.Valuation memory v) {
                values[i] = v.value;
            } catch {}
        }
        bool[] memory tried = new bool[](held.length);
        for (uint256 attempt; attempt < held.length; ++attempt) {
            uint256 best = type(uint256).max;
            for (uint256 i; i < held.length; ++i) {
                if (!tried[i] && (best == type(uint256).max || values[i] > values[best])) best = i;
            }
            tried[best] = true;
            vm.prank(LIVENESS_LIQUIDATOR);
            try k.engine.liquidate(id, held[best], type(uint256).max, LIVENESS_LIQUIDATOR, "") {
                return true;
            } catch {}
        }
        return false;
    }

    /// @dev On the caller's snapshot: the owner of `id` repays all, deposits one unit of a held asset, withdraws all.
    function _exit(uint256 id) internal returns (string memory) {
        address owner = k.nft.ownerOf(id);
        uint256 debt = k.engine.debtOf(id);
        if (debt != 0) {
            vm.prank(address(k.engine));
            k.kusd.mint(owner, debt);
            vm.prank(owner);
            try k.engine.repay(id, type(uint256).max) {}
            catch {
                return string.concat("owner of ", _s(id), " cannot repay its debt");
            }
        }
        address[] memory held = k.engine.collateralAssets(id);
        if (held.length != 0) {
            address asset = held[0];
            (uint256 cap, uint256 total,) = k.engine.collateralConfig(asset);
            if (total < cap) {
                MockERC20(asset).mint(owner, 1);
                vm.startPrank(owner);
                MockERC20(asset).approve(address(k.engine), 1);
                try k.engine.deposit(id, asset, 1) {}
                catch {
                    vm.stopPrank();
                    return string.concat("owner of ", _s(id), " cannot deposit ", _s(asset));
                }
                vm.stopPrank();
            }
        }
        for (uint256 i; i < held.length; ++i) {
            uint256 amount = k.engine.collateralOf(id, held[i]);
            if (amount == 0) continue;
            vm.prank(owner);
            try k.engine.withdraw(id, held[i], amount, owner) {}
            catch {
                return string.concat("owner of ", _s(id), " cannot withdraw ", _s(held[i]), " after repaying");
            }
        }
        return "";
    }
}
