"""Device-info frame (type 0x03), shared by all variants (protocol doc §5).

Offsets are absolute (0-based from the header). Rows keyed to JK02_32S only are
settings the 32S firmware stores in this frame; they are decoded only once the
software version says the device speaks JK02_32S.
"""

from __future__ import annotations

from ..enums import Variant  # noqa: TID252
from ..fields import I32, U8, U32, Choice, Number, Role, Table, Text, at  # noqa: TID252
from .options import CAN_PROTOCOLS, TRIGGERS, UART_PROTOCOLS

S32 = Variant.JK02_32S

DEVICE_INFO_TABLE: Table = (
    Text("model", 6, 16),
    Text("hardware_version", 22, 8),
    Text("software_version", 30, 8),
    Number("uptime", 38, U32),
    Number("power_on_count", 42, U32),
    Text("device_name", 46, 16),
    Text("pin", 62, 16, role=Role.SECRET),
    Text("manufacturing_date", 78, 8),
    # Up to 15 characters + NUL on new firmware; older units stop after 10-11.
    Text("serial_number", 86, 16),
    # Overlaps a long serial number on new firmware; written after it.
    Text("passcode", 97, 5, role=Role.SECRET),
    Text("user_data", 102, 16),
    Text("settings_password", 118, 16, role=Role.SECRET),
    Text("user_data_2", 134, 16),
    # --- JK02_32S settings stored in the device-info frame ---
    Choice("uart1_protocol", at(jk02_32s=184), U8, UART_PROTOCOLS),
    Choice("can_protocol", at(jk02_32s=185), U8, CAN_PROTOCOLS),
    Number("uart1_protocols_enabled", at(jk02_32s=186), U32, role=Role.DETAIL),
    Text("hardware_option", at(jk02_32s=190), 12, role=Role.DETAIL),
    Number("can_protocols_enabled", at(jk02_32s=202), U32, role=Role.DETAIL),
    Choice("uart2_protocol", at(jk02_32s=218), U8, UART_PROTOCOLS),
    Number("uart2_protocols_enabled", at(jk02_32s=219), U32, role=Role.DETAIL),
    Choice("lcd_buzzer_trigger", at(jk02_32s=234), U8, TRIGGERS),
    Choice("dry1_trigger", at(jk02_32s=235), U8, TRIGGERS),
    Choice("dry2_trigger", at(jk02_32s=236), U8, TRIGGERS),
    Number("uart_protocol_library_version", at(jk02_32s=237), U8, role=Role.DETAIL),
    Number("lcd_buzzer_trigger_value", at(jk02_32s=238), I32),
    Number("lcd_buzzer_release_value", at(jk02_32s=242), I32),
    Number("dry1_trigger_value", at(jk02_32s=246), I32, role=Role.DETAIL),
    Number("dry1_release_value", at(jk02_32s=250), I32, role=Role.DETAIL),
    Number("dry2_trigger_value", at(jk02_32s=254), I32, role=Role.DETAIL),
    Number("dry2_release_value", at(jk02_32s=258), I32, role=Role.DETAIL),
    Number("data_stored_period", at(jk02_32s=262), I32, role=Role.DETAIL),
    Number("rcv_time", at(jk02_32s=266), U8, divisor=10),  # h, stored in 0.1 h
    Number("rfv_time", at(jk02_32s=267), U8, divisor=10),  # h, stored in 0.1 h
    Number("can_protocol_library_version", at(jk02_32s=268), U8, role=Role.DETAIL),
    Number("emergency_duration", at(jk02_32s=269), U8),  # min
    Choice("uart3_protocol", at(jk02_32s=270), U8, UART_PROTOCOLS),
    Number("uart3_protocols_enabled", at(jk02_32s=271), U32, role=Role.DETAIL),
    Number("rebulk_soc", at(jk02_32s=278), U8),  # %
)

SECRET_KEYS = frozenset({"pin", "passcode", "settings_password"})
