// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @title Assertions
/// @notice Failures name what broke: every check takes the invariant's or test's name, and the message carries the
/// values compared ("invariant_ledger: kUSD supply 10 > TD - F + B 9").
abstract contract Assertions {
    /// @notice A failed check; forge prints the reason, so a failure names its invariant.
    error CheckFailed(string reason);

    function _fail(string memory name, string memory detail) internal pure {
        revert CheckFailed(string.concat(name, ": ", detail));
    }

    function _check(bool ok, string memory name, string memory detail) internal pure {
        if (!ok) _fail(name, detail);
    }

    function _eq(uint256 a, uint256 b, string memory name, string memory what) internal pure {
        if (a != b) _fail(name, string.concat(what, ": ", _s(a), " != ", _s(b)));
    }

    function _le(uint256 a, uint256 b, string memory name, string memory what) internal pure {
        if (a > b) _fail(name, string.concat(what, ": ", _s(a), " > ", _s(b)));
    }

    function _s(uint256 x) internal pure returns (string memory) {
        return Strings.toString(x);
    }

    function _s(address x) internal pure returns (string memory) {
        return Strings.toHexString(x);
    }

    /// @dev `x` mapped into [lo, hi] (inclusive), uniformly enough for fuzzing; as forge-std's `bound`.
    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (hi <= lo) return lo;
        uint256 size = hi - lo + 1;
        if (size == 0) return x; // the whole range
        return lo + x % size;
    }
}
