// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {KeelMath} from "../libraries/KeelMath.sol";

/// @title KeelMathHarness
/// @notice Exposes KeelMath to tests, which compare it bit for bit with the TypeScript mirror in `src/math`.
contract KeelMathHarness {
    function mulDivDown(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return KeelMath.mulDivDown(x, y, d);
    }

    function mulDivUp(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return KeelMath.mulDivUp(x, y, d);
    }

    function rpowUp(uint256 x, uint256 n) external pure returns (uint256) {
        return KeelMath.rpowUp(x, n);
    }

    function accrueRateUp(uint256 rate, uint256 fee, uint256 elapsed) external pure returns (uint256) {
        return KeelMath.accrueRateUp(rate, fee, elapsed);
    }

    function penaltyAtDown(uint256 hf, uint256 minPenalty, uint256 penalty, uint256 fullPenaltyHF)
        external
        pure
        returns (uint256)
    {
        return KeelMath.penaltyAtDown(hf, minPenalty, penalty, fullPenaltyHF);
    }

    function toDebtUp(uint256 normDebt, uint256 rate) external pure returns (uint256) {
        return KeelMath.toDebtUp(normDebt, rate);
    }

    function toNormDebtUp(uint256 amount, uint256 rate) external pure returns (uint256) {
        return KeelMath.toNormDebtUp(amount, rate);
    }

    function toNormDebtDown(uint256 amount, uint256 rate) external pure returns (uint256) {
        return KeelMath.toNormDebtDown(amount, rate);
    }

    function valueDown(uint256 amount, uint256 price, uint256 unit) external pure returns (uint256) {
        return KeelMath.valueDown(amount, price, unit);
    }

    function isolatedLossUp(uint256 value, uint256 sigma, uint256 z, uint256 haircut) external pure returns (uint256) {
        return KeelMath.isolatedLossUp(value, sigma, z, haircut);
    }

    function portfolioDeviationUp(uint256[] memory weighted, uint256[] memory correlation)
        external
        pure
        returns (uint256)
    {
        return KeelMath.portfolioDeviationUp(weighted, correlation);
    }

    function stressLossUp(uint256 deviation, uint256 z, uint256 floorLoss) external pure returns (uint256) {
        return KeelMath.stressLossUp(deviation, z, floorLoss);
    }

    function healthFactorDown(uint256 value, uint256 loss, uint256 debt) external pure returns (uint256) {
        return KeelMath.healthFactorDown(value, loss, debt);
    }

    function decayDown(uint256 elapsed, uint256 halfLife) external pure returns (uint256) {
        return KeelMath.decayDown(elapsed, halfLife);
    }

    function returnVarianceUp(uint256 previousPrice, uint256 price, uint256 elapsed, uint256 cap)
        external
        pure
        returns (uint256)
    {
        return KeelMath.returnVarianceUp(previousPrice, price, elapsed, cap);
    }

    function ewmaUp(uint256 old, uint256 sample, uint256 decay) external pure returns (uint256) {
        return KeelMath.ewmaUp(old, sample, decay);
    }

    function horizonSigmaUp(uint256 variance, uint256 horizon) external pure returns (uint256) {
        return KeelMath.horizonSigmaUp(variance, horizon);
    }

    function stepToward(uint256 from, uint256 to, uint256 maxMove) external pure returns (uint256) {
        return KeelMath.stepToward(from, to, maxMove);
    }

    function choleskyPsd(uint256[] memory rho, uint256 n) external pure returns (bool ok, uint256 failedAt) {
        return KeelMath.choleskyPsd(rho, n);
    }
}
