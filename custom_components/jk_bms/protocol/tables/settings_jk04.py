"""JK04 settings frame (type 0x01, float32 values; protocol doc §7.2).

JK04 write register = settings-frame byte offset - 6 (verified by capture diffs).
"""

from __future__ import annotations

from ..fields import F32, U8, Flag, Number, Role, Table  # noqa: TID252

DETAIL = Role.DETAIL

SETTINGS_JK04_TABLE: Table = (
    Number("unknown_6", 6, F32, role=DETAIL),
    Number("cell_count", 34, U8),
    Number("power_off_voltage", 38, F32),
    Number("voltage_calibration_reference", 74, F32, role=DETAIL),  # ADC Vref, V
    Number("unknown_94", 94, F32, role=DETAIL),
    Number("balancing_start_voltage", 98, F32),
    Number("unknown_102", 102, F32, role=DETAIL),
    Number("balance_trigger_voltage", 106, F32),
    Number("max_balance_current", 110, F32),
    Flag("balancer", 114, U8),
)
