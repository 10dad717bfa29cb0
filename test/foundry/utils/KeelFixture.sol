// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {vm} from "./Vm.sol";
import {VaultEngine} from "../../../contracts/core/VaultEngine.sol";
import {RiskModel} from "../../../contracts/core/RiskModel.sol";
import {KeelUSD} from "../../../contracts/core/KeelUSD.sol";
import {PositionNFT} from "../../../contracts/core/PositionNFT.sol";
import {SurplusBuffer} from "../../../contracts/core/SurplusBuffer.sol";
import {PriceOracle} from "../../../contracts/oracles/PriceOracle.sol";
import {VolatilityOracle} from "../../../contracts/oracles/VolatilityOracle.sol";
import {PositionManager} from "../../../contracts/periphery/PositionManager.sol";
import {FlashLiquidator} from "../../../contracts/periphery/FlashLiquidator.sol";
import {KeelAccessManager} from "../../../contracts/governance/KeelGovernance.sol";
import {PegStabilityModule} from "../../../contracts/peg/PegStabilityModule.sol";
import {SavingsKUSD} from "../../../contracts/peg/SavingsKUSD.sol";
import {IPegStabilityModule} from "../../../contracts/interfaces/IPegStabilityModule.sol";
import {MockAggregator} from "../../../contracts/mocks/MockAggregator.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {MockAMM} from "../../../contracts/mocks/MockAMM.sol";
import {MockLiquidationReceiver} from "../../../contracts/mocks/MockLiquidationReceiver.sol";
import {MockFlashBorrower} from "../../../contracts/mocks/MockFlashBorrower.sol";
import {IVaultEngineTypes} from "../../../contracts/interfaces/IVaultEngineTypes.sol";
import {IPriceOracle} from "../../../contracts/interfaces/IPriceOracle.sol";
import {IRiskModel} from "../../../contracts/interfaces/IRiskModel.sol";
import {IVolatilityOracle} from "../../../contracts/interfaces/IVolatilityOracle.sol";
import {IERC3156FlashLender} from "@openzeppelin/contracts/interfaces/IERC3156FlashLender.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @notice Handles of one deployment.
struct Keel {
    VaultEngine engine;
    RiskModel risk;
    PriceOracle oracle;
    VolatilityOracle vol;
    KeelUSD kusd;
    PositionNFT nft;
    SurplusBuffer surplus;
    PositionManager manager;
    FlashLiquidator flashLiquidator;
    MockAMM amm;
    KeelAccessManager access;
    MockAggregator sequencerFeed;
    MockLiquidationReceiver receiver;
    MockFlashBorrower flashBorrower;
    PegStabilityModule psm;
    SavingsKUSD savings;
    address governor;
}

/// @notice One listed asset: its token, its primary feed and (composite prices) its base feed.
struct Asset {
    MockERC20 token;
    MockAggregator feed;
    MockAggregator baseFeed; // zero unless composite
    uint8 feedDecimals;
    int256 referenceAnswer; // feed decimals: the answer at listing, what "recovery" returns to
}

/// @title KeelFixture
/// @notice Deploys Keel the way deploy/index.ts does (same contracts, the same nonce-ordered wiring, an AccessManager
/// authority), with nine assets instead of four so cross baskets reach the 8-asset limit: 2, 6, 8, 9, 18 and 24
/// decimal tokens, 8- and 18-decimal feeds, one composite price, an L2 sequencer uptime feed; then the peg stability
/// module over USDC and the savings vault, wired as deploy/plan.ts and deploy/governance.ts do. Every governed
/// function is callable by `governor` (the AccessManager admin, holding RISK and GUARDIAN as the timelock and the
/// guardian do); `setFeed` by the engine too (listings); the surplus buffer's `payInterest` by the vault only.
/// @dev Contracts come from forge's artifacts through `deployCode`, so test contracts stay small.
abstract contract KeelFixture {
    uint256 internal constant WAD = 1e18;
    uint64 internal constant RISK_ROLE = 1;
    uint64 internal constant GUARDIAN_ROLE = 2;
    uint64 internal constant ORACLE_ROLE = 3;
    uint64 internal constant SAVINGS_ROLE = 4;
    /// @dev The local config's peg (deploy/networks/local.ts): 0.1% each way, 50M kUSD ceiling, frozen 2% off $1.
    uint256 internal constant PEG_FEE = 0.001e18;
    uint256 internal constant PEG_CEILING = 50_000_000e18;
    uint256 internal constant PEG_FREEZE = 0.02e18;
    uint256 internal constant USDC_INDEX = 2;
    uint256 internal constant START = 1_750_000_000; // a realistic block time, far from 0
    /// @dev Where foundry.toml links the engine's libraries.
    address internal constant LIQUIDATION_LIBRARY = 0x00000000000000000000000000000000004B6501;
    address internal constant GOVERNANCE_LIBRARY = 0x00000000000000000000000000000000004b6502;

    // Per-second fee factors [ray] of 1%, 2%, 2.5%-ish and 3% a year (src/math perSecondFee).
    uint256 internal constant FEE_1 = 1_000_000_000_315_522_921_573_372_068;
    uint256 internal constant FEE_2 = 1_000_000_000_627_937_192_491_029_810;
    uint256 internal constant FEE_3 = 1_000_000_000_937_303_470_807_876_290;
    uint256 internal constant FEE_5 = 1_000_000_001_547_125_957_863_212_448;

    Keel internal k;
    Asset[] internal assets;

    function _deployKeel() internal {
        vm.warp(START);
        vm.roll(1);
        address governor = vm.addr(0xC0DE);
        k.governor = governor;
        k.access = KeelAccessManager(_deploy("KeelGovernance.sol:KeelAccessManager", abi.encode(governor)));
        k.oracle = PriceOracle(_deploy("PriceOracle.sol:PriceOracle", abi.encode(address(k.access))));

        uint256 nonce = vm.getNonce(address(this));
        address kusdAt = vm.computeCreateAddress(address(this), nonce);
        address surplusAt = vm.computeCreateAddress(address(this), nonce + 1);
        address nftAt = vm.computeCreateAddress(address(this), nonce + 2);
        address volAt = vm.computeCreateAddress(address(this), nonce + 3);
        address riskAt = vm.computeCreateAddress(address(this), nonce + 4);
        address engineAt = vm.computeCreateAddress(address(this), nonce + 5);
        k.kusd = KeelUSD(
            _deploy("KeelUSD.sol:KeelUSD", abi.encode(address(k.access), engineAt, surplusAt, 0.0005e18, 100_000_000e18))
        );
        k.surplus = SurplusBuffer(_deploy("SurplusBuffer.sol:SurplusBuffer", abi.encode(address(k.access), kusdAt)));
        k.nft = PositionNFT(_deploy("PositionNFT.sol:PositionNFT", abi.encode(engineAt)));
        IVolatilityOracle.Params memory volParams =
            IVolatilityOracle.Params({horizon: 1 days, halfLife: 3 days, minInterval: 1 hours, maxStep: 0.0025e18});
        k.vol = VolatilityOracle(
            _deploy(
                "VolatilityOracle.sol:VolatilityOracle",
                abi.encode(address(k.access), riskAt, address(k.oracle), volParams)
            )
        );
        k.risk = RiskModel(
            _deploy(
                "RiskModel.sol:RiskModel",
                abi.encode(address(k.access), engineAt, address(k.oracle), volAt, 2.33e18, 3.09e18)
            )
        );
        // The engine's libraries sit at the addresses foundry.toml links it against (`libraries`).
        vm.etch(LIQUIDATION_LIBRARY, vm.getDeployedCode("Liquidation.sol:Liquidation"));
        vm.etch(GOVERNANCE_LIBRARY, vm.getDeployedCode("EngineGovernance.sol:EngineGovernance"));
        VaultEngine.Setup memory setup = VaultEngine.Setup({
            crossStabilityFee: FEE_3,
            crossDebtCeiling: 20_000_000e18,
            globalDebtCeiling: 40_000_000e18,
            dust: 100e18,
            liquidation: IVaultEngineTypes.LiquidationParams({
                gracePeriod: 6 hours,
                criticalHF: 0.95e18,
                targetHF: 1.05e18,
                closeFactor: 0.5e18,
                protocolShare: 0.2e18
            })
        });
        k.engine = VaultEngine(
            _deploy(
                "VaultEngine.sol:VaultEngine",
                abi.encode(
                    address(k.access), kusdAt, nftAt, riskAt, address(k.oracle), surplusAt, setup
                )
            )
        );
        require(address(k.engine) == engineAt && address(k.risk) == riskAt, "fixture: predicted addresses");

        vm.startPrank(governor);
        bytes4[] memory setFeed = new bytes4[](1);
        setFeed[0] = PriceOracle.setFeed.selector;
        k.access.setTargetFunctionRole(address(k.oracle), setFeed, ORACLE_ROLE);
        k.access.grantRole(ORACLE_ROLE, address(k.engine), 0);
        k.access.grantRole(ORACLE_ROLE, governor, 0);
        vm.stopPrank();

        _listAssets();

        k.sequencerFeed = MockAggregator(_deploy("MockAggregator.sol:MockAggregator", abi.encode(uint8(0), int256(0))));
        k.sequencerFeed.updateRoundData(1, 0, START - 2 days, START - 2 days);
        vm.prank(governor);
        k.oracle.setSequencer(
            IPriceOracle.Sequencer({uptimeFeed: AggregatorV3Interface(address(k.sequencerFeed)), gracePeriod: 1 hours})
        );

        k.manager = PositionManager(
            payable(
                _deploy(
                    "PositionManager.sol:PositionManager",
                    abi.encode(address(k.engine), address(k.nft), address(k.kusd), address(assets[0].token))
                )
            )
        );
        k.flashLiquidator = FlashLiquidator(
            _deploy(
                "FlashLiquidator.sol:FlashLiquidator",
                abi.encode(address(k.engine), address(k.risk), address(k.kusd))
            )
        );
        k.amm = MockAMM(_deploy("MockAMM.sol:MockAMM", abi.encode(address(k.kusd), uint256(30))));
        k.receiver = MockLiquidationReceiver(_deploy("MockLiquidationReceiver.sol:MockLiquidationReceiver", ""));
        k.flashBorrower =
            MockFlashBorrower(_deploy("MockFlashBorrower.sol:MockFlashBorrower", abi.encode(address(k.kusd))));
        _deployPeg();
        _label();
    }

    /// @dev The PSM over USDC and sKUSD at 2% a year (deploy/plan.ts), then the roles of deploy/governance.ts: the
    /// PSM's setters to RISK, its sellGem pause to GUARDIAN, the savings rate to RISK, `payInterest` to SAVINGS held
    /// by the vault; and `KeelUSD.setPegModule(psm, true)` (RISK), which makes the PSM a minter.
    function _deployPeg() internal {
        IPegStabilityModule.PegParams memory peg = IPegStabilityModule.PegParams({
            feeIn: PEG_FEE,
            feeOut: PEG_FEE,
            debtCeiling: PEG_CEILING,
            freezeThreshold: PEG_FREEZE
        });
        k.psm = PegStabilityModule(
            _deploy(
                "PegStabilityModule.sol:PegStabilityModule",
                abi.encode(
                    address(k.access), address(k.kusd), address(assets[USDC_INDEX].token), address(k.oracle),
                    address(k.surplus), peg
                )
            )
        );
        k.savings = SavingsKUSD(
            _deploy(
                "SavingsKUSD.sol:SavingsKUSD",
                abi.encode(address(k.access), address(k.kusd), address(k.surplus), FEE_2)
            )
        );
        vm.startPrank(k.governor);
        bytes4[] memory psmRisk = new bytes4[](3);
        psmRisk[0] = PegStabilityModule.setFees.selector;
        psmRisk[1] = PegStabilityModule.setDebtCeiling.selector;
        psmRisk[2] = PegStabilityModule.setFreezeThreshold.selector;
        k.access.setTargetFunctionRole(address(k.psm), psmRisk, RISK_ROLE);
        k.access.setTargetFunctionRole(address(k.psm), _selectors(PegStabilityModule.setSellGemPaused.selector), GUARDIAN_ROLE);
        k.access.setTargetFunctionRole(address(k.savings), _selectors(SavingsKUSD.setSavingsRate.selector), RISK_ROLE);
        k.access.setTargetFunctionRole(address(k.kusd), _selectors(KeelUSD.setPegModule.selector), RISK_ROLE);
        k.access.setTargetFunctionRole(address(k.surplus), _selectors(SurplusBuffer.payInterest.selector), SAVINGS_ROLE);
        k.access.grantRole(RISK_ROLE, k.governor, 0);
        k.access.grantRole(GUARDIAN_ROLE, k.governor, 0);
        k.access.grantRole(SAVINGS_ROLE, address(k.savings), 0);
        k.kusd.setPegModule(address(k.psm), true);
        vm.stopPrank();
    }

    function _selectors(bytes4 selector) internal pure returns (bytes4[] memory out) {
        out = new bytes4[](1);
        out[0] = selector;
    }

    /// @dev WETH, WBTC, USDC, wstETH (composite over WETH), LINK, SOL (9 decimals, 18-decimal feed), XAU (24
    /// decimals), EURS (2 decimals), ARB: nine assets, so a cross basket can be full (8) with one asset left out. Every penalty keeps (1 + ℓ)(1 − hm) under the critical HF of 0.95.
    function _listAssets() internal {
        _list("WETH", 18, 8, 3000e8, address(0), _risk(0.05e18, 0.25e18, 0.10e18, 0.15e18, 0.05e18), FEE_2);
        _list("WBTC", 8, 8, 60_000e8, address(0), _risk(0.045e18, 0.20e18, 0.10e18, 0.15e18, 0.05e18), FEE_2);
        _list("USDC", 6, 8, 1e8, address(0), _risk(0.005e18, 0.10e18, 0.07e18, 0.09e18, 0.02e18), FEE_1);
        _list("wstETH", 18, 18, 1.18e18, address(assets[0].feed), _risk(0.055e18, 0.27e18, 0.11e18, 0.16e18, 0.06e18), FEE_3);
        _list("LINK", 18, 8, 15e8, address(0), _risk(0.08e18, 0.40e18, 0.15e18, 0.20e18, 0.08e18), FEE_5);
        _list("SOL", 9, 18, 150e18, address(0), _risk(0.07e18, 0.35e18, 0.14e18, 0.20e18, 0.07e18), FEE_5);
        _list("XAU", 24, 8, 2000e8, address(0), _risk(0.02e18, 0.10e18, 0.08e18, 0.12e18, 0.03e18), FEE_1);
        _list("EURS", 2, 8, 1.08e8, address(0), _risk(0.01e18, 0.10e18, 0.07e18, 0.09e18, 0.02e18), FEE_1);
        _list("ARB", 18, 8, 0.8e8, address(0), _risk(0.08e18, 0.40e18, 0.15e18, 0.20e18, 0.08e18), FEE_5);
    }

    function _list(
        string memory symbol,
        uint8 decimals,
        uint8 feedDecimals,
        int256 answer,
        address baseFeed,
        IRiskModel.AssetRiskParams memory risk,
        uint256 fee
    ) internal {
        MockERC20 token = assets.length == 0
            ? MockERC20(_deploy("MockWETH.sol:MockWETH", ""))
            : MockERC20(_deploy("MockERC20.sol:MockERC20", abi.encode(symbol, symbol, decimals)));
        MockAggregator feed = MockAggregator(_deploy("MockAggregator.sol:MockAggregator", abi.encode(feedDecimals, answer)));
        vm.label(address(token), symbol);
        vm.label(address(feed), string.concat(symbol, " feed"));
        uint256 listed = assets.length;
        uint256[] memory rho = new uint256[](listed);
        for (uint256 i; i < listed; ++i) {
            rho[i] = _correlation(listed, i);
        }
        IPriceOracle.Feed memory base;
        if (baseFeed != address(0)) base = _feed(MockAggregator(baseFeed), 1 hours);
        IVaultEngineTypes.Listing memory listing = IVaultEngineTypes.Listing({
            engine: IVaultEngineTypes.AssetConfig({stabilityFee: fee, debtCeiling: 10_000_000e18, supplyCap: type(uint120).max}),
            feed: IPriceOracle.FeedParams({primary: _feed(feed, 1 hours), base: base}),
            risk: risk,
            correlations: rho
        });
        vm.prank(k.governor);
        k.engine.listAsset(address(token), listing);
        assets.push(Asset(token, feed, MockAggregator(baseFeed), feedDecimals, answer));
    }

    /// @dev ρ of asset `a` against an earlier asset `b`, from one market factor: ρ_ab = β_a β_b (rounded down), so the
    /// matrix is positive semi-definite (ββᵀ plus a non-negative diagonal). Crypto assets load heavily on the factor,
    /// gold lightly, the stable coins not at all.
    function _correlation(uint256 a, uint256 b) internal pure returns (uint256) {
        return _beta(a) * _beta(b) / WAD;
    }

    /// @dev Loadings of WETH, WBTC, USDC, wstETH, LINK, SOL, XAU, EURS, ARB on the market factor [wad].
    function _beta(uint256 i) internal pure returns (uint256) {
        uint256[9] memory betas = [uint256(0.95e18), 0.85e18, 0, 0.95e18, 0.8e18, 0.8e18, 0.1e18, 0, 0.75e18];
        return betas[i];
    }

    function _risk(uint256 sigmaMin, uint256 sigmaMax, uint256 hm, uint256 hi, uint256 penalty)
        internal
        pure
        returns (IRiskModel.AssetRiskParams memory)
    {
        // The bonus rises from half of ℓ at HF 1 to ℓ at HF 0.99, at or above any criticalHF the campaign sets.
        return IRiskModel.AssetRiskParams(sigmaMin, sigmaMax, hm, hi, penalty, penalty / 2, 0.99e18);
    }

    function _feed(MockAggregator feed, uint32 heartbeat) internal view returns (IPriceOracle.Feed memory) {
        return IPriceOracle.Feed({
            aggregator: AggregatorV3Interface(address(feed)),
            heartbeat: heartbeat,
            decimals: feed.decimals(),
            minAnswer: feed.minAnswer(),
            maxAnswer: feed.maxAnswer()
        });
    }

    function _deploy(string memory artifact, bytes memory args) internal returns (address) {
        return vm.deployCode(artifact, args);
    }

    function _label() internal {
        vm.label(address(k.engine), "VaultEngine");
        vm.label(address(k.risk), "RiskModel");
        vm.label(address(k.oracle), "PriceOracle");
        vm.label(address(k.vol), "VolatilityOracle");
        vm.label(address(k.kusd), "kUSD");
        vm.label(address(k.nft), "PositionNFT");
        vm.label(address(k.surplus), "SurplusBuffer");
        vm.label(address(k.manager), "PositionManager");
        vm.label(address(k.flashLiquidator), "FlashLiquidator");
        vm.label(address(k.amm), "MockAMM");
        vm.label(address(k.psm), "PegStabilityModule");
        vm.label(address(k.savings), "sKUSD");
        vm.label(k.governor, "governor");
    }
}
