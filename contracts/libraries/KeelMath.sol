// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title KeelMath
/// @notice Every piece of Keel's arithmetic: fixed point, rate accrual, debt normalization, valuation and the
/// portfolio margin formula of docs/spec.md §3. Mirrored bit for bit by `src/math` (TypeScript, bigint).
/// @dev Every helper names its rounding direction. The rule: rounding always favours the protocol — debt and
/// losses round up, values and amounts paid out round down. Products go through 512-bit `Math.mulDiv`, so no
/// helper overflows unless its result does not fit in 256 bits.
library KeelMath {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant RAY = 1e27;
    /// @dev The portfolio variance is summed in WAD-scaled USD²; its square root is in units of 1e-9 USD.
    uint256 internal constant SQRT_WAD = 1e9;
    /// @dev Rounding slack [wad] of the positive semi-definiteness check: 1e-9.
    int256 internal constant PSD_TOLERANCE = 1e9;
    int256 private constant SIGNED_WAD = 1e18;
    /// @dev Health factor of a position without debt.
    uint256 internal constant INFINITE_HEALTH = type(uint256).max;

    // ---------------------------------------------------------------- fixed point

    /// @notice floor(x × y / d). Reverts when d = 0 or the result exceeds 256 bits.
    /// @dev The common case (x × y fits 256 bits) skips the 512-bit path; both give the same result.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        unchecked {
            uint256 p = x * y;
            if (x == 0 || p / x == y) return p / d;
        }
        return Math.mulDiv(x, y, d);
    }

    /// @notice ceil(x × y / d). Reverts when d = 0 or the result exceeds 256 bits.
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        unchecked {
            uint256 p = x * y;
            if (x == 0 || p / x == y) return p == 0 ? 0 / d : (p - 1) / d + 1;
        }
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    function mulWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivDown(x, y, WAD);
    }

    function mulWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, y, WAD);
    }

    function divWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivDown(x, WAD, y);
    }

    function mulRayUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, y, RAY);
    }

    /// @notice `x^n` for a RAY base, by squaring; every product rounds up, so the result is ≥ the exact power.
    function rpowUp(uint256 x, uint256 n) internal pure returns (uint256 z) {
        z = RAY;
        while (n != 0) {
            if (n & 1 != 0) z = mulRayUp(z, x);
            n >>= 1;
            if (n != 0) x = mulRayUp(x, x);
        }
    }

    // ---------------------------------------------------------------- rates and debt

    /// @notice The accumulator after `elapsed` seconds at `feePerSecond` ([ray], 1 + per-second fee): rate × fee^dt, up.
    function accrueRateUp(uint256 rate, uint256 feePerSecond, uint256 elapsed) internal pure returns (uint256) {
        if (elapsed == 0 || feePerSecond == RAY) return rate;
        return mulRayUp(rate, rpowUp(feePerSecond, elapsed));
    }

    /// @notice Debt [wad] of a normalized amount at `rate` [ray], rounded up (debt favours the protocol).
    function toDebtUp(uint256 normDebt, uint256 rate) internal pure returns (uint256) {
        return mulDivUp(normDebt, rate, RAY);
    }

    /// @notice Normalized debt added by borrowing `amount` [wad]: rounded up, the borrower owes at least `amount`.
    function toNormDebtUp(uint256 amount, uint256 rate) internal pure returns (uint256) {
        return mulDivUp(amount, RAY, rate);
    }

    /// @notice Normalized debt removed by repaying `amount` [wad]: rounded down, the repayer is credited at most `amount`.
    function toNormDebtDown(uint256 amount, uint256 rate) internal pure returns (uint256) {
        return mulDivDown(amount, RAY, rate);
    }

    // ---------------------------------------------------------------- valuation and margin

    /// @notice USD value [wad] of `amount` (token decimals) at `price` [wad per whole token], rounded down.
    /// @param unit 10^decimals of the token.
    function valueDown(uint256 amount, uint256 price, uint256 unit) internal pure returns (uint256) {
        return mulDivDown(amount, price, unit);
    }

    /// @notice Loss [wad] under stress of an isolated position: max(z·σ, h) × V, rounded up.
    function isolatedLossUp(uint256 value, uint256 sigma, uint256 z, uint256 haircut) internal pure returns (uint256) {
        return lossAtFactorUp(value, lossFactorUp(z, sigma, haircut));
    }

    /// @notice Stress loss per unit of value of one holding: max(z·σ, h) [wad], rounded up.
    function lossFactorUp(uint256 z, uint256 sigma, uint256 haircut) internal pure returns (uint256) {
        return Math.max(mulWadUp(z, sigma), haircut);
    }

    /// @notice Loss [wad] of one holding worth `value` at a precomputed `lossFactorUp`, rounded up.
    function lossAtFactorUp(uint256 value, uint256 factor) internal pure returns (uint256) {
        return mulWadUp(value, factor);
    }

    /// @notice Maintenance and initial losses [wad] of the margin formula (docs/spec.md §3) over valued holdings: the
    /// one-holding closed form `isolatedLossUp` when there is one holding, `basketLossesUp` otherwise. The one place
    /// the RiskModel and the Lens turn values into losses.
    function marginLossesUp(
        uint256[] memory values,
        uint256[] memory sigmas,
        uint256[] memory maintenanceHaircuts,
        uint256[] memory initialHaircuts,
        uint256[] memory correlation,
        uint256 zMaintenance,
        uint256 zInitial
    ) internal pure returns (uint256 maintenanceLoss, uint256 initialLoss) {
        if (values.length == 1) {
            return (
                isolatedLossUp(values[0], sigmas[0], zMaintenance, maintenanceHaircuts[0]),
                isolatedLossUp(values[0], sigmas[0], zInitial, initialHaircuts[0])
            );
        }
        return basketLossesUp(values, sigmas, maintenanceHaircuts, initialHaircuts, correlation, zMaintenance, zInitial);
    }

    /// @notice Standard deviation [wad USD] of a portfolio's value over the horizon, rounded up:
    /// sqrt(Σ_i Σ_j w_i w_j ρ_ij) with w_i = v_i σ_i.
    /// @param weighted w_i = mulWadUp(v_i, σ_i) [wad USD].
    /// @param correlation row-major n×n matrix ρ [wad], symmetric with ones on the diagonal; only i < j is read.
    /// @dev Each term is rounded up in WAD-scaled USD²; the square root is taken of that sum and scaled by 1e9, so
    /// the result is a multiple of 1e-9 USD and never below the exact value. Overflows only past ~1e29 USD.
    function portfolioDeviationUp(uint256[] memory weighted, uint256[] memory correlation)
        internal
        pure
        returns (uint256)
    {
        uint256 n = weighted.length;
        uint256 variance;
        for (uint256 i; i < n; ++i) {
            uint256 wi = weighted[i];
            if (wi == 0) continue;
            variance += mulWadUp(wi, wi);
            for (uint256 j = i + 1; j < n; ++j) {
                uint256 rho = correlation[i * n + j];
                if (rho == 0 || weighted[j] == 0) continue;
                // The off-diagonal pair counts twice (ρ_ij = ρ_ji).
                variance += 2 * mulWadUp(mulWadUp(wi, weighted[j]), rho);
            }
        }
        return Math.sqrt(variance, Math.Rounding.Ceil) * SQRT_WAD;
    }

    /// @notice Whether a correlation matrix is positive semi-definite: the portfolio deviation is a norm (convex,
    /// subadditive) only then, which the liquidation sizing bound for baskets relies on. An LDLᵀ factorization
    /// (Cholesky without square roots) in signed WAD fixed point, every division truncating toward zero: a pivot
    /// below −PSD_TOLERANCE fails; a pivot within ±PSD_TOLERANCE (a singular direction, e.g. ρ = 1 between two
    /// assets) requires the rest of its column to vanish within the tolerance. Borderline matrices are refused.
    /// @param rho Row-major n×n [wad], symmetric, ones on the diagonal; only i ≥ j is read.
    /// @return ok True when positive semi-definite.
    /// @return failedAt The first column whose pivot failed; n when `ok`.
    function choleskyPsd(uint256[] memory rho, uint256 n) internal pure returns (bool ok, uint256 failedAt) {
        int256[] memory lower = new int256[](n * n); // [wad] L below the diagonal
        int256[] memory d = new int256[](n); // [wad] pivots, 0 for a singular direction
        for (uint256 j; j < n; ++j) {
            int256 pivot = _ldlResidual(rho, lower, d, n, j, j);
            if (pivot < -PSD_TOLERANCE) return (false, j);
            bool singular = pivot <= PSD_TOLERANCE;
            if (!singular) d[j] = pivot;
            for (uint256 i = j + 1; i < n; ++i) {
                int256 a = _ldlResidual(rho, lower, d, n, i, j);
                if (!singular) lower[i * n + j] = a * SIGNED_WAD / pivot;
                else if (a > PSD_TOLERANCE || a < -PSD_TOLERANCE) return (false, j);
            }
        }
        return (true, n);
    }

    /// @dev ρ_ij − Σ_{k<j} L_ik L_jk d_k [wad], each product truncated toward zero.
    function _ldlResidual(
        uint256[] memory rho,
        int256[] memory lower,
        int256[] memory d,
        uint256 n,
        uint256 i,
        uint256 j
    )
        private
        pure
        returns (int256 a)
    {
        a = int256(rho[i * n + j]);
        for (uint256 k; k < j; ++k) {
            a -= lower[i * n + k] * lower[j * n + k] / SIGNED_WAD * d[k] / SIGNED_WAD;
        }
    }

    /// @notice Maintenance and initial losses [wad] of a basket of valued holdings (docs/spec.md §3), rounded up:
    /// max(z × sqrt(Σ_i Σ_j v_i v_j σ_i σ_j ρ_ij), Σ_c h_c v_c) with (zm, hm) and (zi, hi).
    /// @param values v_c [wad USD], already rounded down; zero entries contribute nothing.
    function basketLossesUp(
        uint256[] memory values,
        uint256[] memory sigmas,
        uint256[] memory maintenanceHaircuts,
        uint256[] memory initialHaircuts,
        uint256[] memory correlation,
        uint256 zMaintenance,
        uint256 zInitial
    ) internal pure returns (uint256 maintenanceLoss, uint256 initialLoss) {
        uint256 n = values.length;
        uint256[] memory weighted = new uint256[](n);
        uint256 floorMaintenance;
        uint256 floorInitial;
        for (uint256 i; i < n; ++i) {
            if (values[i] == 0) continue;
            weighted[i] = mulWadUp(values[i], sigmas[i]);
            floorMaintenance += mulWadUp(values[i], maintenanceHaircuts[i]);
            floorInitial += mulWadUp(values[i], initialHaircuts[i]);
        }
        uint256 deviation = portfolioDeviationUp(weighted, correlation);
        maintenanceLoss = stressLossUp(deviation, zMaintenance, floorMaintenance);
        initialLoss = stressLossUp(deviation, zInitial, floorInitial);
    }

    /// @notice Stress loss [wad]: max(z × deviation, floor), rounded up.
    /// @param floorLoss Σ h_c v_c, already rounded up.
    function stressLossUp(uint256 deviation, uint256 z, uint256 floorLoss) internal pure returns (uint256) {
        return Math.max(mulWadUp(z, deviation), floorLoss);
    }

    // ---------------------------------------------------------------- liquidation

    /// @notice (1 + ℓ)(1 − hm) [wad], rounded up: the lowest critical HF for which a partial liquidation of an asset
    /// with penalty ℓ and maintenance haircut hm always raises the health factor.
    function criticalHFFloorUp(uint256 penalty, uint256 maintenanceHaircut) internal pure returns (uint256) {
        return mulWadUp(WAD + penalty, WAD - maintenanceHaircut);
    }

    /// @notice The liquidation bonus [wad] at health factor `hf` (docs/spec.md §4.4): `minPenalty` at HF ≥ 1, `penalty`
    /// at HF ≤ `fullPenaltyHF`, linear in between, rounded down:
    ///   ℓ(HF) = ℓmin + (ℓ − ℓmin)(1 − HF)/(1 − fullPenaltyHF).
    /// Never increasing in HF, so a liquidation step that raises HF earns less on the next step, never more.
    function penaltyAtDown(uint256 hf, uint256 minPenalty, uint256 penalty, uint256 fullPenaltyHF)
        internal
        pure
        returns (uint256)
    {
        if (hf <= fullPenaltyHF) return penalty;
        if (hf >= WAD) return minPenalty;
        return minPenalty + mulDivDown(penalty - minPenalty, WAD - hf, WAD - fullPenaltyHF);
    }

    /// @notice Repayment [wad] that brings HF to `targetHF` when collateral worth repaid × (1 + ℓ) is seized from an
    /// asset whose value carries at most `factor` of maintenance loss, rounded down (never over-liquidates):
    ///   r = (T·D − (V − Lm)) / (T − (1 + ℓ)(1 − m)).
    /// Exact for isolated positions (L = m V); for baskets the true loss falls by at most m per unit of value
    /// removed, so the HF reached is at most T. Returns `debt` when no partial repayment can reach T.
    function targetRepayDown(
        uint256 targetHF,
        uint256 debt,
        uint256 value,
        uint256 maintenanceLoss,
        uint256 penalty,
        uint256 factor
    ) internal pure returns (uint256) {
        uint256 kept = mulWadDown(WAD + penalty, WAD - Math.min(factor, WAD));
        if (targetHF <= kept) return debt;
        uint256 needed = mulWadDown(targetHF, debt) + maintenanceLoss;
        if (needed <= value) return 0;
        return Math.min(mulDivDown(needed - value, WAD, targetHF - kept), debt);
    }

    /// @notice Collateral (token decimals) worth repaid × (1 + ℓ) at `price`, rounded down.
    function seizeDown(uint256 repaid, uint256 penalty, uint256 price, uint256 unit) internal pure returns (uint256) {
        return mulDivDown(mulWadDown(repaid, WAD + penalty), unit, price);
    }

    /// @notice Repayment [wad] that `amount` of collateral pays for at penalty ℓ: value / (1 + ℓ), rounded down.
    function repayForDown(uint256 amount, uint256 penalty, uint256 price, uint256 unit) internal pure returns (uint256) {
        return mulDivDown(valueDown(amount, price, unit), WAD, WAD + penalty);
    }

    /// @notice The protocol's part [wad] of the penalty on `repaid`: repaid × ℓ × share, rounded up.
    function protocolFeeUp(uint256 repaid, uint256 penalty, uint256 share) internal pure returns (uint256) {
        return mulWadUp(mulWadUp(repaid, penalty), share);
    }

    /// @notice Health factor [wad] = (V − L) / D, rounded down; 0 when L ≥ V; infinite without debt.
    function healthFactorDown(uint256 value, uint256 loss, uint256 debt) internal pure returns (uint256) {
        if (debt == 0) return INFINITE_HEALTH;
        if (loss >= value) return 0;
        return mulDivDown(value - loss, WAD, debt);
    }

    // ---------------------------------------------------------------- volatility (docs/spec.md §3, dynamic)

    /// @dev ln 2 [wad], rounded down.
    uint256 internal constant LN2 = 693_147_180_559_945_309;

    /// @notice Weight λ = 2^(−elapsed / halfLife) [wad] that an EWMA keeps on its old value after `elapsed` seconds,
    /// rounded down. Exact for irregular intervals: λ(a) × λ(b) = λ(a + b) up to rounding.
    /// @dev 2^(−k − f) = 2^(−f) >> k with k = ⌊elapsed / halfLife⌋ and f ∈ [0, 1); 2^(−f) = 1 / e^(f ln 2), where
    /// e^y (y < 0.7) is the Taylor series summed until a term rounds to zero (at most ~20 terms).
    function decayDown(uint256 elapsed, uint256 halfLife) internal pure returns (uint256) {
        uint256 halvings = elapsed / halfLife;
        if (halvings >= 64) return 0; // 2^-64 < 1 wei of WAD
        uint256 y = mulDivDown(elapsed % halfLife, LN2, halfLife);
        uint256 expY = WAD;
        uint256 term = WAD;
        for (uint256 n = 1; term != 0; ++n) {
            term = mulDivDown(term, y, n * WAD);
            expY += term;
        }
        return mulDivDown(WAD, WAD, expY) >> halvings;
    }

    /// @notice One return's contribution to the per-second variance [1e36 per second], rounded up:
    /// ((p1 − p0) / p0)² / elapsed, capped at `cap`.
    /// @dev The cap (the variance whose horizon σ is σmax) bounds what a single outlier return can do.
    function returnVarianceUp(uint256 previousPrice, uint256 price, uint256 elapsed, uint256 cap)
        internal
        pure
        returns (uint256)
    {
        uint256 move = price > previousPrice ? price - previousPrice : previousPrice - price;
        uint256 r = mulDivUp(move, WAD, previousPrice); // |return| [wad]
        if (r > type(uint128).max) return cap;
        return Math.min(mulDivUp(r, r, elapsed), cap);
    }

    /// @notice EWMA step λ × old + (1 − λ) × sample, rounded up.
    /// @param decay λ [wad] from `decayDown`.
    function ewmaUp(uint256 old, uint256 sample, uint256 decay) internal pure returns (uint256) {
        return mulDivUp(old, decay, WAD) + mulDivUp(sample, WAD - decay, WAD);
    }

    /// @notice Horizon volatility [wad] of a per-second variance [1e36 per second]: sqrt(variance × horizon),
    /// rounded up.
    function horizonSigmaUp(uint256 variance, uint256 horizon) internal pure returns (uint256) {
        return Math.sqrt(variance * horizon, Math.Rounding.Ceil);
    }

    /// @notice `from` moved toward `to` by at most `maxMove`.
    function stepToward(uint256 from, uint256 to, uint256 maxMove) internal pure returns (uint256) {
        if (to > from) return to - from > maxMove ? from + maxMove : to;
        return from - to > maxMove ? from - maxMove : to;
    }
}
