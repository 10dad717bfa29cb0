// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRiskModel} from "../interfaces/IRiskModel.sol";
import {KeelMath} from "./KeelMath.sol";

/// @title Margin
/// @notice The margin formula of docs/spec.md §3 over a basket's inputs (`IRiskModel.MarginInputs`): the one on-chain
/// valuation, used by the RiskModel, the Liquidation library (before and after a seizure, from one read of the
/// inputs) and, through KeelMath.marginLossesUp, the Lens. src/math mirrors it (`assess`).
library Margin {
    /// @notice V, Lm and Li of `amounts` (token decimals, in the inputs' order). A holding without a price or amount
    /// counts as worth nothing. Values round down, losses up.
    function valuation(IRiskModel.MarginInputs memory m, uint256[] memory amounts)
        internal
        pure
        returns (IRiskModel.Valuation memory v)
    {
        uint256 n = amounts.length;
        uint256[] memory values = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            if (amounts[i] == 0 || m.prices[i] == 0) continue;
            values[i] = KeelMath.valueDown(amounts[i], m.prices[i], m.units[i]);
            v.value += values[i];
        }
        (v.maintenanceLoss, v.initialLoss) = KeelMath.marginLossesUp(
            values, m.sigmas, m.maintenanceHaircuts, m.initialHaircuts, m.correlation, m.zMaintenance, m.zInitial
        );
    }

    /// @notice max(zm σ, hm) of holding `i`: the most maintenance loss one unit of its value carries [wad].
    function maintenanceFactor(IRiskModel.MarginInputs memory m, uint256 i) internal pure returns (uint256) {
        return KeelMath.lossFactorUp(m.zMaintenance, m.sigmas[i], m.maintenanceHaircuts[i]);
    }
}
