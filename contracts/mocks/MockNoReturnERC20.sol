// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title MockNoReturnERC20
/// @notice A USDT-style token for tests: `transfer`, `transferFrom` and `approve` return nothing (not even `bool`),
/// failures revert, and `approve` refuses to change a non-zero allowance to another non-zero value. Open `mint`:
/// tests only, never deploy to a live network.
contract MockNoReturnERC20 {
    string public name;
    string public symbol;
    uint8 public immutable decimals;
    uint256 public totalSupply;
    mapping(address account => uint256) public balanceOf; // token decimals
    mapping(address owner => mapping(address spender => uint256)) public allowance; // token decimals

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice The sender's balance is below the amount.
    error BalanceTooLow(address account, uint256 balance, uint256 needed);
    /// @notice The spender's allowance is below the amount.
    error InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    /// @notice USDT's rule: an allowance must be reset to zero before it is changed.
    error AllowanceNotZero(address spender, uint256 allowance);

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    /// @notice Mints `amount` to `to`. Open to anyone: tests only.
    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Moves `amount` from the caller to `to`; returns nothing.
    function transfer(address to, uint256 amount) external {
        _move(msg.sender, to, amount);
    }

    /// @notice Moves `amount` from `from` to `to` on the caller's allowance; returns nothing.
    function transferFrom(address from, address to, uint256 amount) external {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance(msg.sender, allowed, amount);
            allowance[from][msg.sender] = allowed - amount;
        }
        _move(from, to, amount);
    }

    /// @notice Sets the caller's allowance for `spender`; a non-zero allowance must first be reset to zero.
    function approve(address spender, uint256 amount) external {
        uint256 current = allowance[msg.sender][spender];
        if (amount != 0 && current != 0) revert AllowanceNotZero(spender, current);
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
    }

    function _move(address from, address to, uint256 amount) internal {
        uint256 balance = balanceOf[from];
        if (balance < amount) revert BalanceTooLow(from, balance, amount);
        balanceOf[from] = balance - amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
