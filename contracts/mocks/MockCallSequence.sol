// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title MockCallSequence
/// @notice Runs a list of calls in order, as itself, in one transaction, bubbling up the first revert: a contract
/// that opens a position, sells the NFT and acts again within one transaction (tests only).
contract MockCallSequence {
    /// @notice One call of a sequence.
    struct Call {
        address target;
        bytes data;
    }

    /// @notice Runs `calls` in order; reverts with the first failing call's reason.
    function run(Call[] calldata calls) external {
        for (uint256 i; i < calls.length; ++i) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory reason) = calls[i].target.call(calls[i].data);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
    }
}
