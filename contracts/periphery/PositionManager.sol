// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {IVaultEngine} from "../interfaces/IVaultEngine.sol";
import {IVaultEngineTypes} from "../interfaces/IVaultEngineTypes.sol";
import {IPositionNFT} from "../interfaces/IPositionNFT.sol";
import {IWETH} from "../interfaces/IWETH.sol";

/// @title PositionManager
/// @notice The user router: open + deposit + borrow in one call, repay-all + withdraw-all + close, native ETH
/// through WETH, ERC-2612 permit for kUSD, and `multicall` to chain any of these.
/// @dev The manager holds nothing between transactions. Users approve it for their tokens and, to act on existing
/// positions (borrow, withdraw, close), set it as operator of their PositionNFTs. Inside an opening transaction
/// the engine lets the manager act on the position it just opened, so no NFT approval is needed for that.
/// Every step is payable so that a `multicall` carrying ether can include any of them (each delegatecall sees the
/// same `msg.value`); only the ether steps spend ether, and they spend the manager's whole balance, so a payable
/// `multicall` can never spend `msg.value` twice. Ether sent with a direct call of a step that uses none is not
/// refunded: send ether through the ether steps or `multicall`, which refunds what its steps leave.
contract PositionManager {
    using SafeERC20 for IERC20;

    IVaultEngine public immutable engine;
    IPositionNFT public immutable nft;
    IERC20 public immutable kusd;
    IWETH public immutable weth;

    /// @notice The caller may not act on position `id`.
    error NotAuthorized(uint256 id, address caller);
    /// @notice `assets` and `amounts` differ in length (the same error as the RiskModel's).
    error LengthMismatch(uint256 assets, uint256 amounts);
    error ZeroAmount();
    error EthTransferFailed();
    /// @notice Ether may only arrive from WETH (unwrapping) or with a payable call.
    error UnexpectedEther();

    constructor(IVaultEngine engine_, IPositionNFT nft_, IERC20 kusd_, IWETH weth_) {
        engine = engine_;
        nft = nft_;
        kusd = kusd_;
        weth = weth_;
    }

    receive() external payable {
        if (msg.sender != address(weth)) revert UnexpectedEther();
    }

    // ---------------------------------------------------------------- one-call flows

    /// @notice Opens an isolated position for the caller, deposits `collateral` of `asset` from the caller and
    /// borrows `debt` kUSD to `to` (no borrow when `debt` is 0).
    function openAndBorrow(address asset, uint256 collateral, uint256 debt, address to)
        external
        payable
        returns (uint256 id)
    {
        id = engine.open(IVaultEngineTypes.Mode.Isolated, asset, msg.sender);
        _depositFromCaller(id, asset, collateral);
        if (debt != 0) engine.borrow(id, debt, to);
    }

    /// @notice Opens a cross position for the caller with a basket pulled from the caller and borrows `debt` to `to`.
    function openCrossAndBorrow(address[] calldata assets, uint256[] calldata amounts, uint256 debt, address to)
        external
        payable
        returns (uint256 id)
    {
        if (assets.length != amounts.length) revert LengthMismatch(assets.length, amounts.length);
        id = engine.open(IVaultEngineTypes.Mode.Cross, address(0), msg.sender);
        for (uint256 i; i < assets.length; ++i) {
            _depositFromCaller(id, assets[i], amounts[i]);
        }
        if (debt != 0) engine.borrow(id, debt, to);
    }

    /// @notice Opens an isolated WETH position for the caller with the attached ether and borrows `debt` to `to`.
    function openWithEthAndBorrow(uint256 debt, address to) external payable returns (uint256 id) {
        id = engine.open(IVaultEngineTypes.Mode.Isolated, address(weth), msg.sender);
        _depositEth(id);
        if (debt != 0) engine.borrow(id, debt, to);
    }

    /// @notice Repays all debt of `id` with the caller's kUSD, sends every collateral token to `to` and burns the NFT.
    function closePosition(uint256 id, address to) external payable {
        _requireAuthorized(id);
        _pullDebt(id);
        engine.close(id, to);
    }

    /// @notice As `closePosition`, but WETH collateral is unwrapped and sent to `to` as ether.
    function closePositionToEth(uint256 id, address payable to) external payable {
        _requireAuthorized(id);
        _pullDebt(id);
        address[] memory assets = engine.collateralAssets(id);
        engine.close(id, address(this));
        for (uint256 i; i < assets.length; ++i) {
            uint256 amount = IERC20(assets[i]).balanceOf(address(this));
            if (amount == 0) continue;
            if (assets[i] == address(weth)) _unwrapTo(to, amount);
            else IERC20(assets[i]).safeTransfer(to, amount);
        }
    }

    // ---------------------------------------------------------------- steps (chain them with multicall)

    /// @notice Opens a position owned by the caller.
    function open(IVaultEngineTypes.Mode mode, address asset) external payable returns (uint256) {
        return engine.open(mode, asset, msg.sender);
    }

    /// @notice Deposits `amount` of `asset` from the caller into position `id`. Adding a new asset to a cross basket
    /// takes the owner's side, as in the engine.
    function deposit(uint256 id, address asset, uint256 amount) external payable {
        _requireMayAdd(id, asset);
        _depositFromCaller(id, asset, amount);
    }

    /// @notice Wraps all ether held (the attached value) and deposits it into WETH position `id`.
    function depositEth(uint256 id) external payable {
        _requireMayAdd(id, address(weth));
        _depositEth(id);
    }

    /// @notice Borrows `amount` kUSD against `id` to `to`. The caller must own or be approved for `id`.
    function borrow(uint256 id, uint256 amount, address to) external payable {
        _requireAuthorized(id);
        engine.borrow(id, amount, to);
    }

    /// @notice Repays up to `amount` kUSD of `id`'s debt from the caller; `type(uint256).max` repays all.
    /// @return repaid kUSD burnt [wad].
    function repay(uint256 id, uint256 amount) external payable returns (uint256 repaid) {
        uint256 debt = engine.debtOf(id);
        uint256 pay = amount < debt ? amount : debt;
        if (pay == 0) revert ZeroAmount();
        kusd.safeTransferFrom(msg.sender, address(this), pay);
        repaid = engine.repay(id, pay);
    }

    /// @notice Withdraws `amount` of `asset` from `id` to `to`; `type(uint256).max` withdraws all of it.
    function withdraw(uint256 id, address asset, uint256 amount, address to) external payable {
        _requireAuthorized(id);
        engine.withdraw(id, asset, _allOr(id, asset, amount), to);
    }

    /// @notice Withdraws `amount` WETH from `id` and sends it to `to` as ether; `type(uint256).max` for all.
    function withdrawEth(uint256 id, uint256 amount, address payable to) external payable {
        _requireAuthorized(id);
        amount = _allOr(id, address(weth), amount);
        engine.withdraw(id, address(weth), amount, address(this));
        _unwrapTo(to, amount);
    }

    /// @notice Applies an ERC-2612 permit of the caller's kUSD to this manager. A permit already used (for
    /// example front-run) is ignored, so the rest of a multicall still runs on the allowance it set.
    function permitKusd(uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external payable {
        try IERC20Permit(address(kusd)).permit(msg.sender, address(this), value, deadline, v, r, s) {} catch {}
    }

    /// @notice Executes several steps in one transaction, each as if called directly by the caller.
    function multicall(bytes[] calldata calls) external payable returns (bytes[] memory results) {
        results = new bytes[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            results[i] = Address.functionDelegateCall(address(this), calls[i]);
        }
        // Ether attached but not spent by a step goes back to the caller.
        if (address(this).balance != 0) _sendEth(payable(msg.sender), address(this).balance);
    }

    // ---------------------------------------------------------------- internal

    function _depositFromCaller(uint256 id, address asset, uint256 amount) internal {
        IERC20(asset).safeTransferFrom(msg.sender, address(this), amount);
        _depositHeld(id, asset, amount);
    }

    function _depositEth(uint256 id) internal {
        uint256 amount = address(this).balance;
        if (amount == 0) revert ZeroAmount();
        weth.deposit{value: amount}();
        _depositHeld(id, address(weth), amount);
    }

    /// @dev Deposits what this contract received; for fee-on-transfer tokens that is less than requested.
    function _depositHeld(uint256 id, address asset, uint256 requested) internal {
        uint256 held = IERC20(asset).balanceOf(address(this));
        uint256 amount = held < requested ? held : requested;
        if (IERC20(asset).allowance(address(this), address(engine)) < amount) {
            IERC20(asset).forceApprove(address(engine), type(uint256).max);
        }
        engine.deposit(id, asset, amount);
    }

    function _pullDebt(uint256 id) internal {
        uint256 debt = engine.debtOf(id);
        if (debt != 0) kusd.safeTransferFrom(msg.sender, address(this), debt);
    }

    function _allOr(uint256 id, address asset, uint256 amount) internal view returns (uint256) {
        return amount == type(uint256).max ? engine.collateralOf(id, asset) : amount;
    }

    /// @dev The engine lets only the owner's side add an asset to a cross basket. The manager is often an operator,
    /// so it must not lend that authority to a stranger calling through it.
    function _requireMayAdd(uint256 id, address asset) internal view {
        if (engine.collateralOf(id, asset) != 0) return;
        (IVaultEngineTypes.Mode mode,,) = engine.positionInfo(id);
        if (mode == IVaultEngineTypes.Mode.Cross) _requireAuthorized(id);
    }

    function _requireAuthorized(uint256 id) internal view {
        if (!nft.isAuthorized(msg.sender, id)) revert NotAuthorized(id, msg.sender);
    }

    function _unwrapTo(address payable to, uint256 amount) internal {
        weth.withdraw(amount);
        _sendEth(to, amount);
    }

    function _sendEth(address payable to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert EthTransferFailed();
    }
}
