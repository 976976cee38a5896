"""JK02 settings frame (type 0x01): one row per field, 24S and 32S offsets.

Protocol doc §7.1. Voltages mV, currents mA, capacity mAh (divisor 1000);
protection temperatures 0.1 °C (divisor 10); times s; SCP delay µs.
"""

from __future__ import annotations

from ..enums import Variant  # noqa: TID252
from ..fields import (  # noqa: TID252
    I8,
    I32,
    U8,
    U32,
    Choice,
    FieldSpec,
    Flag,
    Number,
    Role,
    Series,
    Table,
    at,
)
from .options import PORT_MODES

# Control bits at 282-283 (32S only), LSB first; bit 3 is the port-mode select.
CONTROL_BITS: tuple[str, ...] = (
    "heating",
    "disable_temperature_sensors",
    "gps_heartbeat",
    "port_mode",
    "display_always_on",
    "special_charger",
    "smart_sleep",
    "disable_pcl_module",
    "timed_stored_data",
    "charging_float_mode",
    "button_triggers_emergency",
    "dry_contact_alarm_intermittent",
    "discharge_ocp_2",
    "discharge_ocp_3",
    "gps_locked_charging",
    "gps_locked_discharging",
)
CONTROL_BITS_OFFSET = 282


def _control_bit_rows() -> tuple[FieldSpec, ...]:
    rows: list[FieldSpec] = []
    for bit, key in enumerate(CONTROL_BITS):
        offset = at(jk02_32s=CONTROL_BITS_OFFSET + bit // 8)
        if key == "port_mode":
            rows.append(Choice(key, offset, U8, PORT_MODES, bit=bit % 8))
        else:
            # Every bit, 14/15 (GPS locked charging/discharging) included, is a
            # switch whose write (0x27 + bit) reads back from here.
            rows.append(Flag(key, offset, U8, bit=bit % 8))
    return tuple(rows)


SETTINGS_JK02_TABLE: Table = (
    Number("smart_sleep_voltage", 6, U32, 1000),
    Number("cell_uvp", 10, U32, 1000),
    Number("cell_uvpr", 14, U32, 1000),
    Number("cell_ovp", 18, U32, 1000),
    Number("cell_ovpr", 22, U32, 1000),
    Number("balance_trigger_voltage", 26, U32, 1000),
    Number("soc_100_voltage", 30, U32, 1000),
    Number("soc_0_voltage", 34, U32, 1000),
    Number("rcv", 38, U32, 1000),
    Number("rfv", 42, U32, 1000),
    Number("power_off_voltage", 46, U32, 1000),
    Number("max_charge_current", 50, U32, 1000),
    Number("charge_ocp_delay", 54, U32),
    Number("charge_ocp_recovery", 58, U32),
    Number("max_discharge_current", 62, U32, 1000),
    Number("discharge_ocp_delay", 66, U32),
    Number("discharge_ocp_recovery", 70, U32),
    Number("scp_recovery", 74, U32),
    Number("max_balance_current", 78, U32, 1000),
    Number("charge_otp", 82, I32, 10),
    Number("charge_otpr", 86, I32, 10),
    Number("discharge_otp", 90, I32, 10),
    Number("discharge_otpr", 94, I32, 10),
    Number("charge_utp", 98, I32, 10),
    Number("charge_utpr", 102, I32, 10),
    Number("mosfet_otp", 106, I32, 10),
    Number("mosfet_otpr", 110, I32, 10),
    Number("cell_count", 114, U32),
    Flag("charging", 118, U32),
    Flag("discharging", 122, U32),
    Flag("balancer", 126, U32),
    Number("total_battery_capacity", 130, U32, 1000),  # configured design capacity
    Number("scp_delay", 134, U32),  # µs
    Number("balancing_start_voltage", 138, U32, 1000),
    # Unit unverified (ESPHome mΩ, vendor µΩ; all captures read 0): raw as mΩ.
    Series(
        "connection_wire_resistance",
        at(158, 142),
        U32,
        {Variant.JK02_24S: 24, Variant.JK02_32S: 32},
    ),
    Number("device_address", at(jk02_32s=270), U8),
    Number("precharge_time", at(jk02_32s=274), U8),  # s
    *_control_bit_rows(),
    Number("heating_start_temperature", at(jk02_32s=284), I8),  # °C
    Number("heating_stop_temperature", at(jk02_32s=285), I8),  # °C
    Number("smart_sleep_time", at(jk02_32s=286), U8),  # h
    Number("data_field_enable_control_0", at(jk02_32s=287), U8, role=Role.DETAIL),
    Number("discharge_utp", at(jk02_32s=296), I8),  # °C
    Number("discharge_utpr", at(jk02_32s=297), I8),  # °C
)
