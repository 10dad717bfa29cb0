// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {vm} from "../utils/Vm.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {Asset} from "../utils/KeelFixture.sol";
import {MockAggregator} from "../../../contracts/mocks/MockAggregator.sol";

/// @title MarketActions
/// @notice Prices and time: moves, crashes and wicks (a crash, then a recovery), failing feeds (stale, at the
/// aggregator's bound, non-positive), the L2 sequencer going down and restarting, time passing (healthy feeds keep
/// publishing, as Chainlink's heartbeat does), volatility pokes, USDC about its peg (the PSM's freeze).
abstract contract MarketActions is HandlerBase {
    /// @notice A move of −15%…+15% of asset `i`'s price.
    function movePrice(uint256 assetSeed, uint256 bpsSeed) external {
        uint256 i = _assetIndex(assetSeed);
        int256 bps = int256(_bound(bpsSeed, 0, 3000)) - 1500;
        _publish(i, answer[address(_token(i))] * (10_000 + bps) / 10_000);
        _count("movePrice", true);
        _observe();
    }

    /// @notice A crash of 20%–70% (the start of a wick when `recover` follows).
    function crash(uint256 assetSeed, uint256 pctSeed) external {
        uint256 i = _assetIndex(assetSeed);
        int256 pct = int256(_bound(pctSeed, 20, 70));
        _publish(i, answer[address(_token(i))] * (100 - pct) / 100);
        _count("crash", true);
        _observe();
    }

    /// @notice The price returns to within ±10% of its listing reference, and the feed works again.
    function recover(uint256 assetSeed, uint256 bpsSeed) external {
        uint256 i = _assetIndex(assetSeed);
        int256 bps = int256(_bound(bpsSeed, 0, 2000)) - 1000;
        fault[address(_token(i))] = FeedFault.None;
        _publish(i, assets[i].referenceAnswer * (10_000 + bps) / 10_000);
        _count("recover", true);
        _observe();
    }

    /// @notice The PSM's reserve (USDC) moves to within ±3% of $1 and its feed works again: either side of the 2%
    /// freeze threshold, so sellGem freezes and thaws (the other price actions move USDC too, mostly further).
    function movePeg(uint256 bpsSeed) external {
        uint256 i = _indexOf(k.psm.gem());
        fault[address(_token(i))] = FeedFault.None;
        int256 bps = int256(_bound(bpsSeed, 0, 600)) - 300;
        _publish(i, int256(10 ** uint256(assets[i].feedDecimals)) * (10_000 + bps) / 10_000);
        _count("movePeg", true);
        _observe();
    }

    /// @notice Asset `i`'s feed fails: a stale round, an answer at the aggregator's bound, or a non-positive one.
    function failFeed(uint256 assetSeed, uint8 kind) external {
        uint256 i = _assetIndex(assetSeed);
        Asset storage a = assets[i];
        FeedFault f = FeedFault(1 + kind % 3);
        fault[address(a.token)] = f;
        _applyFault(a.feed, f, answer[address(a.token)]);
        _count("failFeed", true);
        _observe();
    }

    /// @notice The sequencer goes down, restarts (prices refused for the grace period), or has been up for long.
    function sequencer(uint8 kind) external {
        kind %= 3;
        uint80 round = uint80(k.sequencerFeed.latestRound() + 1);
        if (kind == 0) k.sequencerFeed.updateRoundData(round, 1, block.timestamp, block.timestamp);
        else if (kind == 1) k.sequencerFeed.updateRoundData(round, 0, block.timestamp, block.timestamp);
        else k.sequencerFeed.updateRoundData(round, 0, block.timestamp - 2 days, block.timestamp - 2 days);
        _count("sequencer", true);
        _observe();
    }

    /// @notice Time passes (1 minute to 2 days); working feeds publish their last answer again, a failing feed
    /// is repaired one time in two, and a sequencer that was down is back up (since the start of the jump).
    function warp(uint256 secondsSeed) external {
        uint256 dt = _bound(secondsSeed, 60, 2 days);
        uint256 from = block.timestamp;
        vm.warp(from + dt);
        vm.roll(block.number + dt / 12 + 1);
        for (uint256 i; i < assets.length; ++i) {
            address t = address(_token(i));
            if (fault[t] != FeedFault.None && (secondsSeed >> i) & 1 == 0) fault[t] = FeedFault.None;
            if (fault[t] == FeedFault.None) assets[i].feed.updateAnswer(answer[t]);
            else _applyFault(assets[i].feed, fault[t], answer[t]);
        }
        (, int256 status,,,) = k.sequencerFeed.latestRoundData();
        if (status != 0) k.sequencerFeed.updateRoundData(uint80(k.sequencerFeed.latestRound() + 1), 0, from, from);
        _count("warp", true);
        _observe();
    }

    /// @notice A volatility poke of one asset (at least minInterval apart, with a working price).
    function poke(uint256 assetSeed) external {
        (bool ok,) = address(k.vol).call(abi.encodeCall(k.vol.poke, (address(_token(_assetIndex(assetSeed))))));
        _count("poke", ok);
        _observe();
    }

    /// @notice pokeAll: every due asset with a working price (never reverts on one failing feed).
    function pokeAll() external {
        (bool ok,) = address(k.vol).call(abi.encodeCall(k.vol.pokeAll, ()));
        _count("pokeAll", ok);
        _observe();
    }

    // ---------------------------------------------------------------- helpers

    /// @dev Publishes a new answer (at least 2, so it stays above the aggregator's lower bound of 1).
    function _publish(uint256 i, int256 next) internal {
        if (next < 2) next = 2;
        address t = address(_token(i));
        answer[t] = next;
        if (fault[t] == FeedFault.None) assets[i].feed.updateAnswer(next);
    }

    function _applyFault(MockAggregator feed, FeedFault f, int256 last) internal {
        uint80 round = uint80(feed.latestRound() + 1);
        if (f == FeedFault.Stale) feed.updateRoundData(round, last, block.timestamp - 2 hours, block.timestamp - 2 hours);
        else if (f == FeedFault.Bound) feed.updateRoundData(round, 1, block.timestamp, block.timestamp);
        else feed.updateRoundData(round, 0, block.timestamp, block.timestamp);
    }
}
