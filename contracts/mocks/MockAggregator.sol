// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title MockAggregator
/// @notice A Chainlink feed for local networks and tests, with the surface of Chainlink's `MockV3Aggregator`
/// (`updateAnswer`, `updateRoundData`, `latestRoundData`, `getRoundData`, `decimals`) plus the aggregator bounds
/// (`minAnswer`, `maxAnswer`) of an OCR aggregator. Anyone may update it: never deploy it to a live network.
contract MockAggregator is AggregatorV3Interface {
    /// @dev The latest round, packed so a read costs what a real feed read costs, not more.
    struct Round {
        int256 answer; // feed decimals
        uint64 roundId;
        uint64 startedAt; // [s]
        uint64 updatedAt; // [s]
    }

    uint8 public immutable decimals;
    string public description;
    /// @dev Named like Chainlink's `version()` so the mock keeps the aggregator surface.
    // solhint-disable-next-line const-name-snakecase
    uint256 public constant version = 4;

    int192 public minAnswer;
    int192 public maxAnswer;

    Round internal _latest;
    mapping(uint256 roundId => Round) internal _rounds;

    /// @notice Emitted like Chainlink's aggregators on every new answer.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);
    event BoundsSet(int192 minAnswer, int192 maxAnswer);

    error NoDataPresent();

    constructor(uint8 decimals_, int256 initialAnswer) {
        decimals = decimals_;
        description = "MockAggregator";
        minAnswer = 1;
        maxAnswer = type(int192).max;
        updateAnswer(initialAnswer);
    }

    /// @notice Publishes a new answer at the current block time.
    function updateAnswer(int256 answer) public {
        _store(_latest.roundId + 1, answer, block.timestamp, block.timestamp);
    }

    /// @notice Publishes a round with explicit timestamps (for stale, future or incomplete rounds).
    function updateRoundData(uint80 roundId, int256 answer, uint256 updatedAt, uint256 startedAt) external {
        _store(roundId, answer, updatedAt, startedAt);
    }

    /// @notice Sets the aggregator's clamp bounds, as an OCR aggregator has.
    function setBounds(int192 minAnswer_, int192 maxAnswer_) external {
        minAnswer = minAnswer_;
        maxAnswer = maxAnswer_;
        emit BoundsSet(minAnswer_, maxAnswer_);
    }

    /// @notice The underlying aggregator: a mock is its own aggregator.
    function aggregator() external view returns (address) {
        return address(this);
    }

    function latestAnswer() external view returns (int256) {
        return _latest.answer;
    }

    function latestTimestamp() external view returns (uint256) {
        return _latest.updatedAt;
    }

    function latestRound() external view returns (uint256) {
        return _latest.roundId;
    }

    function getRoundData(uint80 roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = _rounds[roundId];
        if (r.roundId == 0) revert NoDataPresent();
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = _latest;
        return (r.roundId, r.answer, r.startedAt, r.updatedAt, r.roundId);
    }

    function _store(uint256 roundId, int256 answer, uint256 updatedAt, uint256 startedAt) internal {
        Round memory r = Round({
            answer: answer,
            roundId: uint64(roundId),
            startedAt: uint64(startedAt),
            updatedAt: uint64(updatedAt)
        });
        _latest = r;
        _rounds[roundId] = r;
        emit NewRound(roundId, msg.sender, startedAt);
        emit AnswerUpdated(answer, roundId, updatedAt);
    }
}
