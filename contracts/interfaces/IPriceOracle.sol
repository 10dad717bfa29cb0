// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeelErrors} from "./IKeelErrors.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title IPriceOracle
/// @notice USD prices [wad per whole token] from Chainlink feeds with every safety check of docs/spec.md §5.
/// @dev A price is `feed` alone, or `feed × baseFeed` for a composite (for example wstETH = wstETH/ETH × ETH/USD).
interface IPriceOracle is IKeelErrors {
    /// @notice One Chainlink feed with its own limits.
    struct Feed {
        AggregatorV3Interface aggregator; // zero when unused
        uint32 heartbeat; // [s] an answer older than this is stale
        uint8 decimals; // the feed's decimals, cached at configuration
        int256 minAnswer; // answers ≤ this are at the aggregator's lower bound (feed decimals)
        int256 maxAnswer; // answers ≥ this are at the aggregator's upper bound (feed decimals)
    }

    /// @notice Configuration of an asset's price: `primary`, times `base` when the asset is composite.
    struct FeedParams {
        Feed primary;
        Feed base;
    }

    /// @notice An L2 sequencer uptime feed: answer 0 means up, 1 down; `startedAt` is the last status change.
    struct Sequencer {
        AggregatorV3Interface uptimeFeed; // zero on L1
        uint32 gracePeriod; // [s] prices are refused this long after the sequencer comes back
    }

    /// @notice `asset`'s feed (and, for a composite price, its base feed) was set.
    event FeedSet(address indexed asset, FeedParams params);
    /// @notice The L2 sequencer uptime feed (zero for none) and its grace period [s] were set.
    event SequencerSet(address indexed uptimeFeed, uint32 gracePeriod);

    /// @notice No feed is configured for `asset`.
    error FeedNotSet(address asset);
    /// @notice The feed answered zero or a negative price.
    error NonPositivePrice(address feed, int256 answer);
    /// @notice The answer is positive but the price of `asset` rounds to 0 wad per whole token.
    error PriceRoundsToZero(address asset);
    /// @notice The feed's last update is older than its heartbeat (or the round is incomplete).
    error StalePrice(address feed, uint256 updatedAt, uint256 heartbeat);
    /// @notice The answer sits at the aggregator's min or max bound, so the real price may be beyond it.
    error PriceAtBound(address feed, int256 answer);
    /// @notice The L2 sequencer is down.
    error SequencerDown();
    /// @notice The L2 sequencer came back at `restartedAt` and is still within its grace period.
    error SequencerGracePeriod(uint256 restartedAt);
    /// @notice A feed configuration is invalid.
    error InvalidFeed(address feed);

    /// @notice USD price [wad] of one whole token of `asset`. Reverts with one of the errors above on any failure.
    function getPrice(address asset) external view returns (uint256);

    /// @notice Configures the price of `asset`. Governed: callable through listing or by the risk role.
    function setFeed(address asset, FeedParams calldata params) external;

    /// @notice Configures the L2 sequencer uptime feed (zero address to disable).
    function setSequencer(Sequencer calldata config) external;

    /// @notice The configuration of `asset`'s price.
    function feedOf(address asset) external view returns (FeedParams memory);
}
