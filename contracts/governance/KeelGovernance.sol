// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title KeelAccessManager
/// @notice The single authority of every governed Keel function. Its admin is the KeelTimelock; roles are
/// listed in `Roles`.
contract KeelAccessManager is AccessManager {
    constructor(address initialAdmin) AccessManager(initialAdmin) {}
}

/// @title KeelTimelock
/// @notice Delays every admin and risk action: proposals wait `minDelay` seconds before they can execute.
contract KeelTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
