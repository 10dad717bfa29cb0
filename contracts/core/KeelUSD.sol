// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20FlashMint} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20FlashMint.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IKeelUSD} from "../interfaces/IKeelUSD.sol";
import {KeelMath} from "../libraries/KeelMath.sol";

/// @title KeelUSD
/// @notice kUSD, Keel's USD stablecoin: ERC-20, ERC-2612 permit, ERC-3156 flash mint with a governed fee and cap.
/// Minted and burnt by the engine and by governed peg modules (`setPegModule`), nobody else.
/// @dev Flash-mint fees are transferred to the surplus buffer, never burnt, so they leave the supply unchanged and
/// the accounting identity of docs/spec.md §6 holds outside a flash mint.
contract KeelUSD is IKeelUSD, ERC20, ERC20Permit, ERC20FlashMint, AccessManaged {
    /// @notice Largest flash-mint fee: 1% [wad].
    uint256 public constant MAX_FLASH_FEE = 0.01e18;
    uint256 public constant MAX_FLASH_CAP = 1e30;

    /// @inheritdoc IKeelUSD
    address public immutable engine;
    /// @notice Receives flash-mint fees.
    address public immutable surplusBuffer;

    uint256 public flashFeeRate; // [wad] fraction of the amount
    uint256 public flashCap; // [wad]
    /// @inheritdoc IKeelUSD
    mapping(address module => bool) public isPegModule;

    constructor(address authority, address engine_, address surplusBuffer_, uint256 flashFee_, uint256 flashCap_)
        ERC20("Keel USD", "kUSD")
        ERC20Permit("Keel USD")
        AccessManaged(authority)
    {
        engine = engine_;
        surplusBuffer = surplusBuffer_;
        _setFlashFee(flashFee_);
        _setFlashCap(flashCap_);
    }

    modifier onlyMinter() {
        if (msg.sender != engine && !isPegModule[msg.sender]) revert NotMinter(msg.sender);
        _;
    }

    /// @inheritdoc IKeelUSD
    function mint(address to, uint256 amount) external onlyMinter {
        _mint(to, amount);
    }

    /// @inheritdoc IKeelUSD
    function burn(address from, uint256 amount) external onlyMinter {
        _burn(from, amount);
    }

    /// @inheritdoc IKeelUSD
    function setPegModule(address module, bool registered) external restricted {
        if (module == address(0)) revert ZeroAddress();
        if (module == engine) revert InvalidParameter("module", uint256(uint160(module)));
        if (isPegModule[module] == registered) revert NoChange();
        isPegModule[module] = registered;
        emit PegModuleSet(module, registered);
    }

    /// @inheritdoc IKeelUSD
    function setFlashFee(uint256 fee) external restricted {
        if (fee == flashFeeRate) revert NoChange();
        _setFlashFee(fee);
    }

    /// @inheritdoc IKeelUSD
    function setFlashCap(uint256 cap) external restricted {
        if (cap == flashCap) revert NoChange();
        _setFlashCap(cap);
    }

    /// @notice The largest flash mint now: the cap, or less when the supply is near the uint256 limit.
    function maxFlashLoan(address token) public view override returns (uint256) {
        uint256 room = super.maxFlashLoan(token);
        return room < flashCap ? room : flashCap;
    }

    /// @dev Fee rounded up: flash minting never costs less than its rate.
    function _flashFee(address, uint256 value) internal view override returns (uint256) {
        return KeelMath.mulWadUp(value, flashFeeRate);
    }

    function _flashFeeReceiver() internal view override returns (address) {
        return surplusBuffer;
    }

    function _setFlashFee(uint256 fee) internal {
        if (fee > MAX_FLASH_FEE) revert InvalidParameter("flashFee", fee);
        flashFeeRate = fee;
        emit FlashFeeSet(fee);
    }

    function _setFlashCap(uint256 cap) internal {
        if (cap > MAX_FLASH_CAP) revert InvalidParameter("flashCap", cap);
        flashCap = cap;
        emit FlashCapSet(cap);
    }
}
