"""JK04 cell-info frame (type 0x02, float32 values; protocol doc §6.3)."""

from __future__ import annotations

from ..fields import F32, U8, U32, Choice, Number, Role, Series, Table  # noqa: TID252
from .options import BALANCER_STATUSES

DETAIL = Role.DETAIL

CELL_INFO_JK04_TABLE: Table = (
    Series("cell_voltage", 6, F32, 24),  # V; 0.0 = absent
    Series("cell_resistance", 102, F32, 25),  # Ω
    Number("average_cell_voltage_reported", 202, F32, role=DETAIL),
    Number("delta_cell_voltage_reported", 206, F32, role=DETAIL),
    Number("unknown_210", 210, U32, role=DETAIL),
    Number("cell_presence_mask", 214, U32, role=DETAIL),
    Number("max_voltage_cell_index", 218, U8, role=DETAIL),  # 0-based
    Number("min_voltage_cell_index", 219, U8, role=DETAIL),  # 0-based
    Choice("balancer_status", 220, U8, BALANCER_STATUSES),
    Number("unknown_221", 221, U8, role=DETAIL),
    Number("balancing_current", 222, F32),  # A, < 0 while discharge-balancing
    Number("unknown_233", 233, F32, role=DETAIL),
    Number("total_runtime", 286, U32),  # s
)
