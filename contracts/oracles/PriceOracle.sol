// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title PriceOracle
/// @notice Chainlink adapter: USD per whole token [wad], refusing non-positive, stale and clamped answers and any
/// answer while an L2 sequencer is down or in its grace period.
contract PriceOracle is IPriceOracle, AccessManaged {
    /// @dev A feed as stored: two slots, read together on every price.
    struct StoredFeed {
        AggregatorV3Interface aggregator; // zero when unused
        uint32 heartbeat; // [s]
        uint8 decimals; // feed decimals
        bool composite; // primary only: multiply by the base feed
        int128 minAnswer; // feed decimals; answers ≤ it are clamped by the aggregator
        int128 maxAnswer; // feed decimals; answers ≥ it are clamped by the aggregator
    }

    uint32 public constant MIN_HEARTBEAT = 60;
    uint32 public constant MAX_HEARTBEAT = 7 days;
    uint32 public constant MAX_SEQUENCER_GRACE = 1 days;
    uint8 public constant MAX_FEED_DECIMALS = 36;

    mapping(address asset => StoredFeed) internal _primary;
    mapping(address asset => StoredFeed) internal _base;
    Sequencer internal _sequencer;

    constructor(address authority) AccessManaged(authority) {}

    /// @inheritdoc IPriceOracle
    function getPrice(address asset) external view returns (uint256 price) {
        StoredFeed memory primary = _primary[asset];
        if (address(primary.aggregator) == address(0)) revert FeedNotSet(asset);
        _requireSequencerUp();
        price = _read(primary);
        if (primary.composite) price = KeelMath.mulWadDown(price, _read(_base[asset]));
        // A positive answer can still round to 0 wad (a feed of more than 18 decimals, or a composite product);
        // a zero price would value collateral at nothing, so it is refused like a non-positive answer.
        if (price == 0) revert PriceRoundsToZero(asset);
    }

    /// @inheritdoc IPriceOracle
    function setFeed(address asset, FeedParams calldata params) external restricted {
        if (asset == address(0)) revert InvalidFeed(asset);
        StoredFeed memory primary = _validate(params.primary);
        StoredFeed memory base;
        if (address(params.base.aggregator) != address(0)) {
            base = _validate(params.base);
            primary.composite = true;
        }
        if (_sameFeed(_primary[asset], primary) && _sameFeed(_base[asset], base)) revert NoChange();
        _primary[asset] = primary;
        _base[asset] = base;
        emit FeedSet(asset, params);
    }

    /// @inheritdoc IPriceOracle
    function setSequencer(Sequencer calldata config) external restricted {
        address uptimeFeed = address(config.uptimeFeed);
        if (config.gracePeriod > MAX_SEQUENCER_GRACE) revert InvalidFeed(uptimeFeed);
        if (uptimeFeed != address(0) && uptimeFeed.code.length == 0) revert InvalidFeed(uptimeFeed);
        if (config.uptimeFeed == _sequencer.uptimeFeed && config.gracePeriod == _sequencer.gracePeriod) {
            revert NoChange();
        }
        _sequencer = config;
        emit SequencerSet(uptimeFeed, config.gracePeriod);
    }

    /// @inheritdoc IPriceOracle
    function feedOf(address asset) external view returns (FeedParams memory params) {
        params.primary = _toFeed(_primary[asset]);
        params.base = _toFeed(_base[asset]);
    }

    /// @notice The configured L2 sequencer uptime feed and grace period.
    function sequencer() external view returns (Sequencer memory) {
        return _sequencer;
    }

    // ---------------------------------------------------------------- internal

    /// @dev Reads one feed and normalizes its answer to [wad], or reverts with the reason it cannot be trusted.
    function _read(StoredFeed memory feed) internal view returns (uint256) {
        (, int256 answer,, uint256 updatedAt,) = feed.aggregator.latestRoundData();
        if (answer <= 0) revert NonPositivePrice(address(feed.aggregator), answer);
        if (answer <= feed.minAnswer || answer >= feed.maxAnswer) revert PriceAtBound(address(feed.aggregator), answer);
        // A zero or future timestamp is an incomplete or corrupt round: as untrustworthy as a stale one.
        if (updatedAt == 0 || updatedAt > block.timestamp || block.timestamp - updatedAt > feed.heartbeat) {
            revert StalePrice(address(feed.aggregator), updatedAt, feed.heartbeat);
        }
        uint256 raw = uint256(answer);
        if (feed.decimals <= 18) return raw * 10 ** (18 - feed.decimals);
        return raw / 10 ** (feed.decimals - 18);
    }

    function _requireSequencerUp() internal view {
        AggregatorV3Interface uptime = _sequencer.uptimeFeed;
        if (address(uptime) == address(0)) return;
        (, int256 status, uint256 startedAt,,) = uptime.latestRoundData();
        if (status != 0) revert SequencerDown();
        // startedAt == 0 means the uptime feed has no round yet, and a startedAt ahead of this block (an L1
        // timestamp on some L2s) means it just restarted: both count as within the grace period.
        if (startedAt == 0 || startedAt > block.timestamp || block.timestamp - startedAt <= _sequencer.gracePeriod) {
            revert SequencerGracePeriod(startedAt);
        }
    }

    function _validate(Feed calldata feed) internal view returns (StoredFeed memory stored) {
        address aggregator = address(feed.aggregator);
        if (aggregator.code.length == 0) revert InvalidFeed(aggregator);
        if (feed.heartbeat < MIN_HEARTBEAT || feed.heartbeat > MAX_HEARTBEAT) revert InvalidFeed(aggregator);
        if (feed.decimals > MAX_FEED_DECIMALS || _decimalsOf(feed.aggregator) != feed.decimals) {
            revert InvalidFeed(aggregator);
        }
        if (feed.minAnswer < 0 || feed.maxAnswer <= feed.minAnswer) revert InvalidFeed(aggregator);
        stored = StoredFeed({
            aggregator: feed.aggregator,
            heartbeat: feed.heartbeat,
            decimals: feed.decimals,
            composite: false,
            minAnswer: _clamp128(feed.minAnswer),
            maxAnswer: _clamp128(feed.maxAnswer)
        });
    }

    /// @dev The aggregator's decimals, or a value no feed can match when it has no `decimals()`.
    function _decimalsOf(AggregatorV3Interface aggregator) internal view returns (uint256) {
        try aggregator.decimals() returns (uint8 d) {
            return d;
        } catch {
            return type(uint256).max;
        }
    }

    /// @dev Chainlink bounds are int192; beyond int128 no real answer exists, so saturating loses nothing.
    function _clamp128(int256 x) internal pure returns (int128) {
        if (x > type(int128).max) return type(int128).max;
        return int128(x);
    }

    function _sameFeed(StoredFeed memory a, StoredFeed memory b) internal pure returns (bool) {
        return a.aggregator == b.aggregator && a.heartbeat == b.heartbeat && a.decimals == b.decimals
            && a.composite == b.composite && a.minAnswer == b.minAnswer && a.maxAnswer == b.maxAnswer;
    }

    function _toFeed(StoredFeed memory s) internal pure returns (Feed memory) {
        return Feed({
            aggregator: s.aggregator,
            heartbeat: s.heartbeat,
            decimals: s.decimals,
            minAnswer: s.minAnswer,
            maxAnswer: s.maxAnswer
        });
    }
}
