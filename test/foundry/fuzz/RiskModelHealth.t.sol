// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {vm} from "../utils/Vm.sol";
import {Assertions} from "../utils/Assertions.sol";
import {KeelFixture} from "../utils/KeelFixture.sol";
import {IVaultEngineTypes} from "../../../contracts/interfaces/IVaultEngineTypes.sol";
import {IRiskModel} from "../../../contracts/interfaces/IRiskModel.sol";

/// @title RiskModelHealthFuzz
/// @notice Stateless fuzz tests of the margin formula (docs/spec.md §3) for 1–8 assets: RiskModel.assess and the engine's
/// healthFactor against a straightforward reimplementation from the public parameters (prices, σ, haircuts,
/// correlations, z), with the documented rounding (values down, losses up), on a deployment whose σ have moved off
/// their floors.
contract RiskModelHealthFuzz is KeelFixture, Assertions {
    address internal constant OWNER = address(0x0A11);

    function setUp() public {
        _deployKeel();
        // Hourly pokes over a choppy week put every asset's σ somewhere between its bounds.
        for (uint256 h; h < 24 * 7; ++h) {
            vm.warp(block.timestamp + 1 hours);
            for (uint256 i; i < assets.length; ++i) {
                int256 a = assets[i].referenceAnswer;
                int256 swing = int256(uint256(keccak256(abi.encode(h, i))) % 1200) - 600; // ±6%
                assets[i].feed.updateAnswer(a * (10_000 + swing) / 10_000);
            }
            k.vol.pokeAll();
        }
    }

    /// @dev assess() equals the reimplementation exactly, for n distinct assets with fuzzed amounts and prices.
    function testFuzz_assess_matchesReference(uint256 seed, uint8 count) public {
        (address[] memory held, uint256[] memory amounts) = _basket(seed, count);
        IRiskModel.Valuation memory v = k.risk.assess(held, amounts);
        (uint256 value, uint256 lm, uint256 li) = _reference(held, amounts);
        _eq(v.value, value, "testFuzz_assess_matchesReference", "value");
        _eq(v.maintenanceLoss, lm, "testFuzz_assess_matchesReference", "maintenance loss");
        _eq(v.initialLoss, li, "testFuzz_assess_matchesReference", "initial loss");
    }

    /// @dev A real position: engine.healthFactor = floor((V − L)·WAD / D) with the reference's V and L.
    function testFuzz_engineHealth_matchesReference(uint256 seed, uint8 count, uint256 share) public {
        (address[] memory held, uint256[] memory amounts) = _basket(seed, count);
        IVaultEngineTypes.Mode mode = held.length == 1 ? IVaultEngineTypes.Mode.Isolated : IVaultEngineTypes.Mode.Cross;
        vm.startPrank(OWNER);
        uint256 id = k.engine.open(mode, held[0], OWNER);
        for (uint256 i; i < held.length; ++i) {
            assets[_index(held[i])].token.mint(OWNER, amounts[i]);
            assets[_index(held[i])].token.approve(address(k.engine), amounts[i]);
            k.engine.deposit(id, held[i], amounts[i]);
        }
        (uint256 value, uint256 lm, uint256 li) = _reference(held, amounts);
        vm.assume(value > li + 200e18);
        uint256 debt = 100e18 + _bound(share, 0, 0.99e18) * (value - li - 100e18) / 1e18;
        k.engine.borrow(id, debt, OWNER);
        vm.stopPrank();
        vm.warp(block.timestamp + _bound(seed >> 128, 0, 30 minutes)); // accrual and σ steps, prices still fresh
        (value, lm, li) = _reference(held, amounts);
        uint256 owed = k.engine.debtOf(id);
        (uint256 hf, uint256 hfi) = k.engine.healthFactor(id);
        _eq(hf, lm >= value ? 0 : (value - lm) * WAD / owed, "testFuzz_engineHealth_matchesReference", "hf");
        _eq(hfi, li >= value ? 0 : (value - li) * WAD / owed, "testFuzz_engineHealth_matchesReference", "hfInitial");
        _check(hfi >= WAD || owed > debt, "testFuzz_engineHealth_matchesReference", "borrow left HFi < 1");
    }

    // ---------------------------------------------------------------- the reimplementation

    /// @dev V = Σ floor(a·p/unit); w = ceil(v·σ/WAD); var = Σ ceil(w_i²/WAD) + 2 Σ ceil(ceil(w_i w_j/WAD)·ρ/WAD);
    /// dev = ceil(sqrt(var))·1e9; L = max(ceil(z·dev/WAD), Σ ceil(v·h/WAD)); one asset: L = ceil(V·max(ceil(zσ), h)).
    function _reference(address[] memory held, uint256[] memory amounts)
        internal
        view
        returns (uint256 value, uint256 lm, uint256 li)
    {
        (uint256 zm, uint256 zi) = k.risk.confidence();
        if (held.length == 1) return _referenceOne(held[0], amounts[0], zm, zi);
        (uint256[] memory w, uint256 floorM, uint256 floorI, uint256 total) = _weights(held, amounts);
        uint256 dev = _deviation(held, w);
        value = total;
        lm = _max(_up(zm * dev, WAD), floorM);
        li = _max(_up(zi * dev, WAD), floorI);
    }

    function _referenceOne(address asset, uint256 amount, uint256 zm, uint256 zi)
        internal
        view
        returns (uint256 value, uint256 lm, uint256 li)
    {
        IRiskModel.AssetRiskParams memory r = k.risk.assetRisk(asset);
        value = amount * k.oracle.getPrice(asset) / k.risk.unitOf(asset);
        uint256 sigma = k.risk.sigma(asset);
        lm = _up(value * _max(_up(zm * sigma, WAD), r.maintenanceHaircut), WAD);
        li = _up(value * _max(_up(zi * sigma, WAD), r.initialHaircut), WAD);
    }

    function _weights(address[] memory held, uint256[] memory amounts)
        internal
        view
        returns (uint256[] memory w, uint256 floorM, uint256 floorI, uint256 value)
    {
        w = new uint256[](held.length);
        for (uint256 i; i < held.length; ++i) {
            IRiskModel.AssetRiskParams memory r = k.risk.assetRisk(held[i]);
            uint256 v = amounts[i] * k.oracle.getPrice(held[i]) / k.risk.unitOf(held[i]);
            value += v;
            w[i] = _up(v * k.risk.sigma(held[i]), WAD);
            floorM += _up(v * r.maintenanceHaircut, WAD);
            floorI += _up(v * r.initialHaircut, WAD);
        }
    }

    function _deviation(address[] memory held, uint256[] memory w) internal view returns (uint256) {
        uint256 n = held.length;
        uint256 variance;
        for (uint256 i; i < n; ++i) {
            if (w[i] == 0) continue;
            variance += _up(w[i] * w[i], WAD);
            for (uint256 j = i + 1; j < n; ++j) {
                uint256 rho = k.risk.correlation(held[i], held[j]);
                if (rho == 0 || w[j] == 0) continue;
                variance += 2 * _up(_up(w[i] * w[j], WAD) * rho, WAD);
            }
        }
        uint256 root = _sqrt(variance);
        if (root * root < variance) ++root;
        return root * 1e9;
    }

    function _basket(uint256 seed, uint8 count) internal returns (address[] memory held, uint256[] memory amounts) {
        uint256 n = _bound(count, 1, 8);
        held = new address[](n);
        amounts = new uint256[](n);
        uint256 first = seed % assets.length;
        for (uint256 j; j < n; ++j) {
            uint256 i = (first + j) % assets.length;
            held[j] = address(assets[i].token);
            // Up to $2M each: 8 × $2M stays under the cross ceiling (20M), one under the isolated one (10M).
            uint256 usd = _bound(uint256(keccak256(abi.encode(seed, j))), 1e18, 2_000_000e18);
            uint256 price = k.oracle.getPrice(held[j]);
            amounts[j] = usd * k.risk.unitOf(held[j]) / price + 1;
            // Fuzz the price too: ±30% around where it stands (republished, so fresh).
            int256 a = assets[i].feed.latestAnswer();
            if (address(assets[i].baseFeed) == address(0)) {
                int256 swing = int256(uint256(keccak256(abi.encode(seed, j, "p"))) % 6000) - 3000;
                assets[i].feed.updateAnswer(a * (10_000 + swing) / 10_000);
            }
        }
    }

    function _index(address asset) internal view returns (uint256) {
        for (uint256 i; i < assets.length; ++i) {
            if (address(assets[i].token) == asset) return i;
        }
        revert("unknown asset");
    }

    function _up(uint256 x, uint256 d) internal pure returns (uint256) {
        return x == 0 ? 0 : (x - 1) / d + 1;
    }

    function _max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
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
