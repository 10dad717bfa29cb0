// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {vm} from "../utils/Vm.sol";
import {Assertions} from "../utils/Assertions.sol";
import {KeelMath} from "../../../contracts/libraries/KeelMath.sol";
import {KeelMathHarness} from "../../../contracts/test/KeelMathHarness.sol";

/// @title KeelMathFuzz
/// @notice Stateless fuzz tests of KeelMath against exact reference results: 512-bit products for mulDiv (rounding
/// direction and the overflow bound), exact integer formulas for debt, value, seizure and health, monotonicity of
/// accrual and decay, and a plain reimplementation of the portfolio deviation.
contract KeelMathFuzz is Assertions {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant RAY = 1e27;
    KeelMathHarness internal harness;

    function setUp() public {
        harness = KeelMathHarness(vm.deployCode("KeelMathHarness.sol:KeelMathHarness", ""));
    }

    // ---------------------------------------------------------------- fixed point

    /// @dev q = floor(x·y/d) exactly: q·d ≤ x·y < q·d + d, compared as 512-bit numbers; reverts iff q ≥ 2^256.
    function testFuzz_mulDivDown_isFloorOfExactProduct(uint256 x, uint256 y, uint256 d) public {
        d = d == 0 ? 1 : d;
        (uint256 hi,) = _mul512(x, y);
        if (hi >= d) {
            vm.expectRevert();
            harness.mulDivDown(x, y, d);
            return;
        }
        uint256 q = KeelMath.mulDivDown(x, y, d);
        (uint256 qh, uint256 ql) = _mul512(q, d);
        (uint256 ph, uint256 pl) = _mul512(x, y);
        _check(_le512(qh, ql, ph, pl), "testFuzz_mulDivDown_isFloorOfExactProduct", "q*d > x*y");
        uint256 rest;
        unchecked {
            rest = pl - ql; // the 512-bit difference is < d, so its low word is all of it
        }
        _eq(mulmod(x, y, d), rest, "testFuzz_mulDivDown_isFloorOfExactProduct", "x*y - q*d is the remainder");
    }

    /// @dev Up = Down + 1 exactly when the division leaves a remainder.
    function testFuzz_mulDivUp_isDownPlusRemainder(uint256 x, uint256 y, uint256 d) public pure {
        d = d == 0 ? 1 : d;
        (uint256 hi,) = _mul512(x, y);
        vm.assume(hi < d);
        uint256 down = KeelMath.mulDivDown(x, y, d);
        vm.assume(down < type(uint256).max);
        uint256 up = KeelMath.mulDivUp(x, y, d);
        _eq(up, down + (mulmod(x, y, d) == 0 ? 0 : 1), "testFuzz_mulDivUp_isDownPlusRemainder", "up vs down");
    }

    // ---------------------------------------------------------------- rates and debt

    /// @dev rpowUp is an upper bound of x^n (≥ the product rounded down at every step), monotone in n for x ≥ 1.
    function testFuzz_rpowUp_boundsAndMonotone(uint256 x, uint256 n) public pure {
        x = _bound(x, RAY, RAY + 1e20); // up to ~+1e-7 per step: well past the largest fee
        n = _bound(n, 0, 64);
        uint256 low = RAY;
        uint256 high = RAY;
        for (uint256 i; i < n; ++i) {
            low = low * x / RAY;
            high = (high * x + RAY - 1) / RAY;
        }
        uint256 z = KeelMath.rpowUp(x, n);
        _le(low, z, "testFuzz_rpowUp_boundsAndMonotone", "rpowUp below the exact power");
        _le(z, high + n, "testFuzz_rpowUp_boundsAndMonotone", "rpowUp far above the exact power");
        if (n != 0) _le(KeelMath.rpowUp(x, n - 1), z, "testFuzz_rpowUp_boundsAndMonotone", "not monotone in n");
    }

    /// @dev Accrual never lowers a rate and grows with time and with the fee.
    function testFuzz_accrueRateUp_monotone(uint256 rate, uint256 fee, uint256 dt, uint256 extra) public pure {
        rate = _bound(rate, RAY, 10 * RAY);
        fee = _bound(fee, RAY, 1_000_000_021_979_553_151_239_153_027);
        dt = _bound(dt, 0, 10 * 365 days);
        extra = _bound(extra, 0, 365 days);
        uint256 r = KeelMath.accrueRateUp(rate, fee, dt);
        _le(rate, r, "testFuzz_accrueRateUp_monotone", "accrual lowered the rate");
        _le(r, KeelMath.accrueRateUp(rate, fee, dt + extra), "testFuzz_accrueRateUp_monotone", "not monotone in time");
        if (fee < 1_000_000_021_979_553_151_239_153_027) {
            _le(r, KeelMath.accrueRateUp(rate, fee + 1, dt), "testFuzz_accrueRateUp_monotone", "not monotone in fee");
        }
    }

    /// @dev A borrower owes at least what it borrowed; a repayer is credited at most what it paid.
    function testFuzz_debtNormalization_favoursProtocol(uint256 amount, uint256 rate) public pure {
        amount = _bound(amount, 0, 1e28);
        rate = _bound(rate, RAY, 100 * RAY);
        _le(amount, KeelMath.toDebtUp(KeelMath.toNormDebtUp(amount, rate), rate), "testFuzz_debtNormalization_favoursProtocol", "borrow owes less");
        _le(KeelMath.toDebtUp(KeelMath.toNormDebtDown(amount, rate), rate), amount, "testFuzz_debtNormalization_favoursProtocol", "repay credits more");
        _eq(KeelMath.toDebtUp(amount, rate), (amount * rate + RAY - 1) / RAY, "testFuzz_debtNormalization_favoursProtocol", "toDebtUp exact");
    }

    // ---------------------------------------------------------------- valuation and liquidation

    /// @dev Seized collateral is worth at most repaid × (1 + ℓ), and pays back at most `repaid`.
    function testFuzz_seizure_neverOverpays(uint256 repaid, uint256 penalty, uint256 price, uint8 decimals) public pure {
        repaid = _bound(repaid, 0, 1e30);
        penalty = _bound(penalty, 0, 0.25e18);
        price = _bound(price, 1, 1e30);
        uint256 unit = 10 ** _bound(decimals, 0, 36);
        uint256 seized = KeelMath.seizeDown(repaid, penalty, price, unit);
        uint256 worth = repaid * (WAD + penalty) / WAD;
        _le(KeelMath.valueDown(seized, price, unit), worth, "testFuzz_seizure_neverOverpays", "seized worth more than repaid x (1 + l)");
        _le(KeelMath.repayForDown(seized, penalty, price, unit), repaid, "testFuzz_seizure_neverOverpays", "seized pays for more than repaid");
        _eq(KeelMath.valueDown(seized, price, unit), seized * price / unit, "testFuzz_seizure_neverOverpays", "valueDown exact");
    }

    /// @dev HF = floor((V − L)·WAD / D), 0 when L ≥ V; monotone up in V and down in D.
    function testFuzz_healthFactorDown_exact(uint256 value, uint256 loss, uint256 debt) public pure {
        value = _bound(value, 0, 1e30);
        loss = _bound(loss, 0, 1e30);
        debt = _bound(debt, 1, 1e30);
        uint256 hf = KeelMath.healthFactorDown(value, loss, debt);
        _eq(hf, loss >= value ? 0 : (value - loss) * WAD / debt, "testFuzz_healthFactorDown_exact", "hf");
        _le(hf, KeelMath.healthFactorDown(value + 1, loss, debt), "testFuzz_healthFactorDown_exact", "not monotone in V");
        _le(KeelMath.healthFactorDown(value, loss, debt + 1), hf, "testFuzz_healthFactorDown_exact", "not monotone in D");
        _eq(KeelMath.healthFactorDown(value, loss, 0), type(uint256).max, "testFuzz_healthFactorDown_exact", "no debt");
    }

    /// @dev Isolated closed form: repaying targetRepayDown's amount (and seizing repaid × (1 + ℓ)) never brings HF
    /// above the target (never over-liquidates), up to a few wei of rounding.
    function testFuzz_targetRepayDown_neverOverLiquidates(uint256 value, uint256 debt, uint256 m, uint256 penalty, uint256 target)
        public
        pure
    {
        value = _bound(value, 1e18, 1e28);
        debt = _bound(debt, 1e18, value);
        m = _bound(m, 0.01e18, 0.5e18);
        penalty = _bound(penalty, 0, 0.1e18);
        target = _bound(target, 1.01e18, 1.5e18);
        uint256 loss = KeelMath.mulWadUp(value, m);
        uint256 r = KeelMath.targetRepayDown(target, debt, value, loss, penalty, m);
        _le(r, debt, "testFuzz_targetRepayDown_neverOverLiquidates", "repays more than the debt");
        uint256 seizedValue = r * (WAD + penalty) / WAD;
        if (r == 0 || r == debt || seizedValue >= value) return;
        uint256 v2 = value - seizedValue;
        // V2 − L2 ≤ T × D2 up to a few wei of rounding (the repayment is rounded down, never up).
        _le(v2 - KeelMath.mulWadUp(v2, m), KeelMath.mulWadUp(target, debt - r) + 3, "testFuzz_targetRepayDown_neverOverLiquidates", "HF after exceeds the target");
    }

    // ---------------------------------------------------------------- volatility

    /// @dev λ(t) ∈ [0, 1], decreasing in t, and λ(a)·λ(b) ≈ λ(a + b).
    function testFuzz_decayDown_semigroup(uint256 a, uint256 b, uint256 halfLife) public pure {
        halfLife = _bound(halfLife, 1 hours, 365 days);
        a = _bound(a, 0, 30 * halfLife);
        b = _bound(b, 0, 30 * halfLife);
        uint256 la = KeelMath.decayDown(a, halfLife);
        uint256 lab = KeelMath.decayDown(a + b, halfLife);
        _le(la, WAD, "testFuzz_decayDown_semigroup", "decay above 1");
        _le(lab, la, "testFuzz_decayDown_semigroup", "decay not decreasing");
        uint256 product = la * KeelMath.decayDown(b, halfLife) / WAD;
        uint256 gap = product > lab ? product - lab : lab - product;
        _le(gap, 1e6, "testFuzz_decayDown_semigroup", "decay(a)*decay(b) far from decay(a + b)");
    }

    /// @dev stepToward moves by at most maxMove and never overshoots.
    function testFuzz_stepToward_bounded(uint256 from, uint256 to, uint256 maxMove) public pure {
        from = _bound(from, 0, 1e18);
        to = _bound(to, 0, 1e18);
        maxMove = _bound(maxMove, 0, 1e18);
        uint256 s = KeelMath.stepToward(from, to, maxMove);
        uint256 moved = s > from ? s - from : from - s;
        _le(moved, maxMove, "testFuzz_stepToward_bounded", "moved more than maxMove");
        _check((from <= s && s <= to) || (to <= s && s <= from), "testFuzz_stepToward_bounded", "overshot");
    }

    // ---------------------------------------------------------------- portfolio

    /// @dev portfolioDeviationUp ≥ the exact deviation sqrt(Σ w_i w_j ρ_ij), and within 1e-9 USD per term above it.
    function testFuzz_portfolioDeviationUp_boundsExact(uint256 seed, uint8 count) public pure {
        uint256 n = _bound(count, 1, 8);
        uint256[] memory w = new uint256[](n);
        uint256[] memory rho = new uint256[](n * n);
        for (uint256 i; i < n; ++i) {
            w[i] = _bound(uint256(keccak256(abi.encode(seed, i))), 0, 1e26);
            for (uint256 j = i + 1; j < n; ++j) {
                rho[i * n + j] = _bound(uint256(keccak256(abi.encode(seed, i, j))), 0, 1e18);
            }
        }
        // Exact variance in wad² units (36 decimals): Σ w_i² + 2 Σ_{i<j} w_i w_j ρ_ij / WAD; deviation = sqrt of it.
        uint256 variance;
        for (uint256 i; i < n; ++i) {
            variance += w[i] * w[i];
            for (uint256 j = i + 1; j < n; ++j) {
                variance += 2 * (w[i] * w[j] / WAD) * rho[i * n + j];
            }
        }
        uint256 exact = _sqrt(variance);
        uint256 d = KeelMath.portfolioDeviationUp(w, rho);
        _le(exact, d + n * n * 1e9, "testFuzz_portfolioDeviationUp_boundsExact", "deviation below the exact value");
        _le(d, exact + (n * n + 1) * 1e9, "testFuzz_portfolioDeviationUp_boundsExact", "deviation far above the exact value");
    }

    // ---------------------------------------------------------------- helpers

    function _mul512(uint256 a, uint256 b) internal pure returns (uint256 hi, uint256 lo) {
        unchecked {
            lo = a * b;
            uint256 mm = mulmod(a, b, type(uint256).max);
            hi = mm - lo - (mm < lo ? 1 : 0);
        }
    }

    function _le512(uint256 ah, uint256 al, uint256 bh, uint256 bl) internal pure returns (bool) {
        return ah < bh || (ah == bh && al <= bl);
    }

    function _sqrt(uint256 x) internal pure returns (uint256 y) {
        if (x == 0) return 0;
        y = x;
        uint256 z = (x + 1) / 2;
        while (z < y) {
            y = z;
            z = (x / z + z) / 2;
        }
    }
}
