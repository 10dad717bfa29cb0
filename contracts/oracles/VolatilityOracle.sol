// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IVolatilityOracle} from "../interfaces/IVolatilityOracle.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title VolatilityOracle
/// @notice EWMA volatility per asset with a step-limited σ for margin (see IVolatilityOracle).
contract VolatilityOracle is IVolatilityOracle, AccessManaged {
    uint32 public constant MIN_HORIZON = 1 hours;
    uint32 public constant MAX_HORIZON = 30 days;
    uint32 public constant MIN_HALF_LIFE = 1 hours;
    uint32 public constant MAX_HALF_LIFE = 365 days;
    uint32 public constant MIN_INTERVAL_FLOOR = 1 minutes;
    uint32 public constant MAX_INTERVAL = 1 days;
    uint64 public constant MIN_STEP = 1e14; // 0.01 percentage point of σ per hour
    uint64 public constant MAX_STEP = 0.1e18; // 10 percentage points of σ per hour

    IRiskModel public immutable risk;
    IPriceOracle public immutable oracle;

    Params internal _params;
    mapping(address asset => State) internal _state;

    constructor(address authority, IRiskModel risk_, IPriceOracle oracle_, Params memory params_)
        AccessManaged(authority)
    {
        risk = risk_;
        oracle = oracle_;
        _setParams(params_);
    }

    // ---------------------------------------------------------------- pokes

    /// @inheritdoc IVolatilityOracle
    function poke(address asset) external {
        (uint256 lo, uint256 hi) = _bounds(asset);
        _requireDue(asset);
        _sample(asset, oracle.getPrice(asset), lo, hi);
    }

    /// @inheritdoc IVolatilityOracle
    function pokeAll() external returns (uint256 updated) {
        address[] memory assets = risk.listedAssets();
        for (uint256 i; i < assets.length; ++i) {
            address asset = assets[i];
            uint256 last = _state[asset].sampledAt;
            if (last != 0 && block.timestamp < last + _params.minInterval) continue;
            (uint256 lo, uint256 hi) = _bounds(asset);
            try oracle.getPrice(asset) returns (uint256 price) {
                _sample(asset, price, lo, hi);
                ++updated;
            } catch (bytes memory reason) {
                emit PokeFailed(asset, reason);
            }
        }
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IVolatilityOracle
    function sigma(address asset) external view returns (uint256) {
        (uint256 lo, uint256 hi) = _bounds(asset);
        return _sigmaNow(_state[asset], lo, hi);
    }

    /// @inheritdoc IVolatilityOracle
    function sigmaWithin(address asset, uint256 sigmaMin, uint256 sigmaMax) external view returns (uint256) {
        if (sigmaMax < sigmaMin) revert InvalidParameter("sigmaMax", sigmaMax);
        return _sigmaNow(_state[asset], sigmaMin, sigmaMax);
    }

    /// @inheritdoc IVolatilityOracle
    function sigmaTarget(address asset) external view returns (uint256) {
        (uint256 lo, uint256 hi) = _bounds(asset);
        State storage s = _state[asset];
        return s.seeded ? _clamp(s.target, lo, hi) : lo;
    }

    /// @inheritdoc IVolatilityOracle
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @inheritdoc IVolatilityOracle
    function stateOf(address asset) external view returns (State memory) {
        return _state[asset];
    }

    /// @inheritdoc IVolatilityOracle
    function nextPokeAt(address asset) external view returns (uint256) {
        uint256 last = _state[asset].sampledAt;
        return last == 0 ? 0 : last + _params.minInterval;
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IVolatilityOracle
    function setParams(Params calldata next) external restricted {
        if (keccak256(abi.encode(next)) == keccak256(abi.encode(_params))) revert NoChange();
        _setParams(next);
        address[] memory assets = risk.listedAssets();
        for (uint256 i; i < assets.length; ++i) {
            State storage s = _state[assets[i]];
            if (!s.seeded) continue;
            (uint256 lo, uint256 hi) = _bounds(assets[i]);
            _anchor(s, _sigmaNow(s, lo, hi), _target(s.variance, lo, hi, next.horizon), next.maxStep);
        }
    }

    // ---------------------------------------------------------------- internal

    /// @dev Records `price`: the first poke only stores it; later pokes fold the return into the EWMA and anchor
    /// the σ in force now, so the new target moves σ from here on.
    function _sample(address asset, uint256 price, uint256 lo, uint256 hi) internal {
        State storage s = _state[asset];
        uint256 sigmaNow = _sigmaNow(s, lo, hi);
        if (s.sampledAt != 0) {
            Params memory p = _params;
            uint256 variance = _nextVariance(s, price, hi, p);
            s.variance = uint128(variance);
            s.seeded = true;
            _anchor(s, sigmaNow, _target(variance, lo, hi, p.horizon), p.maxStep);
        }
        (s.price, s.sampledAt) = (price, uint40(block.timestamp));
        emit VolatilityUpdated(asset, price, s.variance, s.seeded ? s.target : lo, sigmaNow);
    }

    /// @dev The EWMA after the return since the last poke; the first return seeds it.
    function _nextVariance(State storage s, uint256 price, uint256 hi, Params memory p) internal view returns (uint256) {
        uint256 elapsed = block.timestamp - s.sampledAt;
        uint256 sample = KeelMath.returnVarianceUp(s.price, price, elapsed, Math.mulDiv(hi, hi, p.horizon));
        if (!s.seeded) return sample;
        return KeelMath.ewmaUp(s.variance, sample, KeelMath.decayDown(elapsed, p.halfLife));
    }

    /// @dev Records the σ in force now, the target it moves toward and the step limit, all in the first slot.
    function _anchor(State storage s, uint256 sigmaNow, uint256 target, uint256 maxStep) internal {
        (s.sigma, s.target, s.maxStep, s.anchoredAt) =
            (uint64(sigmaNow), uint64(target), uint64(maxStep), uint40(block.timestamp));
    }

    /// @dev σ in force at `block.timestamp`: from the anchor toward the target, by at most maxStep per hour elapsed.
    /// Reads one storage slot.
    function _sigmaNow(State storage s, uint256 lo, uint256 hi) internal view returns (uint256) {
        if (!s.seeded) return lo;
        uint256 maxMove = KeelMath.mulDivDown(s.maxStep, block.timestamp - s.anchoredAt, 1 hours);
        return _clamp(KeelMath.stepToward(s.sigma, s.target, maxMove), lo, hi);
    }

    function _target(uint256 variance, uint256 lo, uint256 hi, uint256 horizon) internal pure returns (uint256) {
        return _clamp(KeelMath.horizonSigmaUp(variance, horizon), lo, hi);
    }

    function _clamp(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return Math.min(Math.max(x, lo), hi);
    }

    /// @dev σmin and σmax from the risk model; reverts with `AssetNotListed` for an unlisted asset.
    function _bounds(address asset) internal view returns (uint256 lo, uint256 hi) {
        IRiskModel.AssetRiskParams memory r = risk.assetRisk(asset);
        return (r.sigmaMin, r.sigmaMax);
    }

    function _requireDue(address asset) internal view {
        uint256 last = _state[asset].sampledAt;
        if (last != 0 && block.timestamp < last + _params.minInterval) {
            revert PokeTooSoon(asset, last + _params.minInterval);
        }
    }

    function _setParams(Params memory p) internal {
        if (p.horizon < MIN_HORIZON || p.horizon > MAX_HORIZON) revert InvalidParameter("horizon", p.horizon);
        if (p.halfLife < MIN_HALF_LIFE || p.halfLife > MAX_HALF_LIFE) revert InvalidParameter("halfLife", p.halfLife);
        if (p.minInterval < MIN_INTERVAL_FLOOR || p.minInterval > MAX_INTERVAL) {
            revert InvalidParameter("minInterval", p.minInterval);
        }
        if (p.maxStep < MIN_STEP || p.maxStep > MAX_STEP) revert InvalidParameter("maxStep", p.maxStep);
        _params = p;
        emit ParamsSet(p);
    }
}
