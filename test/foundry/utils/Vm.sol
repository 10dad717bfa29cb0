// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Vm
/// @notice The few Foundry cheatcodes Keel's campaigns use (forge-std is not on npm in a current version). Signatures
/// are Foundry's own; the cheatcode address is `address(uint160(uint256(keccak256("hevm cheat code"))))`.
interface Vm {
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function deal(address account, uint256 balance) external;
    function assume(bool condition) external pure;
    function skip(bool skipTest, string calldata reason) external;
    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function snapshotState() external returns (uint256 snapshotId);
    function revertToStateAndDelete(uint256 snapshotId) external returns (bool success);
    function envOr(string calldata name, bool defaultValue) external view returns (bool value);
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256 value);
    function deployCode(string calldata artifactPath, bytes calldata constructorArgs) external returns (address);
    function getDeployedCode(string calldata artifactPath) external view returns (bytes memory runtimeBytecode);
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    function getNonce(address account) external view returns (uint64 nonce);
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function label(address account, string calldata newLabel) external;
    function addr(uint256 privateKey) external pure returns (address);
}

/// @dev The cheatcode contract, reachable from tests and handlers alike.
Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
