"""JK02 cell-info frame (type 0x02): one row per field, 24S and 32S offsets.

Protocol doc §6.1. Columns: key, offsets ``at(jk02_24s, jk02_32s)``, encoding,
divisor (``physical = raw / divisor``, giving V, A, Ah, Ω, °C, s). Fields that are
not entities.md keys are ``Role.DETAIL`` (diagnostics and CLI only).
"""

from __future__ import annotations

from ..enums import Variant  # noqa: TID252
from ..fields import (  # noqa: TID252
    F32,
    I16,
    I32,
    U8,
    U16,
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
from .alarms import ALARMS, JK02_24S_ALARM_BITS
from .options import BALANCER_STATUSES, BATTERY_TYPES, CHARGE_STATUSES

DETAIL = Role.DETAIL
ONLY_32S = (Variant.JK02_32S,)
TEMPERATURE_ABSENT = -2000  # 0xF830 = -200.0 °C: sensor not connected (§11.3)
ALARM_OFFSET = at(136, 166)


def _alarm_rows() -> tuple[FieldSpec, ...]:
    """One flag per alarm bit, read byte-wise (the word is little-endian)."""
    return tuple(
        Flag(
            alarm.key,
            at(
                136 + bit // 8 if bit < JK02_24S_ALARM_BITS else None,
                166 + bit // 8,
            ),
            U8,
            bit=bit % 8,
        )
        for bit, alarm in ALARMS.items()
    )


CELL_INFO_JK02_TABLE: Table = (
    Series("cell_voltage", 6, U16, {Variant.JK02_24S: 24, Variant.JK02_32S: 32}, 1000),
    Number("cell_presence_mask", at(54, 70), U32, role=DETAIL),
    Number("average_cell_voltage_reported", at(58, 74), U16, 1000, role=DETAIL),
    Number("delta_cell_voltage_reported", at(60, 76), U16, 1000, role=DETAIL),
    Number("max_voltage_cell_index", at(62, 78), U8, role=DETAIL),  # 0-based
    Number("min_voltage_cell_index", at(63, 79), U8, role=DETAIL),  # 0-based
    Series(
        "cell_resistance",
        at(64, 80),
        U16,
        {Variant.JK02_24S: 24, Variant.JK02_32S: 32},
        1000,
    ),
    Number("unknown_112", at(112, None), U16, role=DETAIL),
    Number("wire_resistance_warning_mask", at(114, 146), U32, role=DETAIL),
    Number("total_voltage", at(118, 150), U32, 1000),
    Number("power_reported", at(122, 154), U32, 1000, role=DETAIL),  # unsigned W
    Number("current", at(126, 158), I32, 1000),  # > 0 charging
    Number("temperature_sensor_1", at(130, 162), I16, 10, TEMPERATURE_ABSENT),
    Number("temperature_sensor_2", at(132, 164), I16, 10, TEMPERATURE_ABSENT),
    Number("mosfet_temperature", at(134, 144), I16, 10, TEMPERATURE_ABSENT),
    Number("alarm_bitmask", at(136, None), U16, role=DETAIL),
    Number("alarm_bitmask", at(None, 166), U32, role=DETAIL),
    *_alarm_rows(),
    Number("balancing_current", at(138, 170), I16, 1000),
    Choice("balancer_status", at(140, 172), U8, BALANCER_STATUSES),
    Number("state_of_charge", at(141, 173), U8),
    Number("capacity_remaining", at(142, 174), I32, 1000),
    Number("full_charge_capacity", at(146, 178), U32, 1000),  # BMS-learned
    Number("charging_cycles", at(150, 182), U32),
    Number("total_charging_cycle_capacity", at(154, 186), U32, 1000),
    Number("state_of_health", at(158, 190), U8),
    Flag("precharge_status", at(159, 191), role=DETAIL),
    Number("user_alarm", at(160, 192), U16, role=DETAIL),
    Number("total_runtime", at(162, 194), U32),
    Flag("charging", at(166, 198)),
    Flag("discharging", at(167, 199)),
    Flag("precharging", at(168, 200), role=DETAIL),
    Flag("balancer_working", at(169, 201), role=DETAIL),
    Number("discharge_ocp_release_timer", at(170, 202), U16, role=DETAIL),
    Number("discharge_scp_release_timer", at(172, 204), U16, role=DETAIL),
    Number("charge_ocp_release_timer", at(174, 206), U16, role=DETAIL),
    Number("charge_scp_release_timer", at(176, 208), U16, role=DETAIL),
    Number("cell_uvp_release_timer", at(178, 210), U16, role=DETAIL),
    Number("cell_ovp_release_timer", at(180, 212), U16, role=DETAIL),
    # bit0 MOSFET, bit1..5 sensors 1..5; 1 = present
    Number("temperature_presence_mask", at(182, 214), U8, role=DETAIL),
    Flag("heating", at(183, 215), entity_on=ONLY_32S),
    Number("emergency_time_countdown", at(186, 218), U16, entity_on=ONLY_32S),
    Number("discharge_current_correction", at(188, 220), U16, role=DETAIL),
    Number("charge_current_sensor_voltage", at(190, 222), U16, 1000, role=DETAIL),
    Number("discharge_current_sensor_voltage", at(192, 224), U16, 1000, role=DETAIL),
    Number("battery_voltage_correction", at(194, 226), F32, role=DETAIL),
    Number("battery_voltage_2", at(202, 234), U16, 100, role=DETAIL),
    Number("heating_current", at(204, 236), I16, 1000, entity_on=ONLY_32S),
    Number("system_run_ticks", at(208, 240), U32, 10, role=DETAIL),  # s
    Flag("charger_plugged", at(213, 245), role=DETAIL),
    # Vendor order for sensors 3-5 (ESPHome labels 254 as sensor 5 and 258 as 3).
    Number(
        "temperature_sensor_3",
        at(222, 254),
        I16,
        10,
        TEMPERATURE_ABSENT,
        entity_on=ONLY_32S,
    ),
    Number(
        "temperature_sensor_4",
        at(224, 256),
        I16,
        10,
        TEMPERATURE_ABSENT,
        entity_on=ONLY_32S,
    ),
    Number(
        "temperature_sensor_5",
        at(226, 258),
        I16,
        10,
        TEMPERATURE_ABSENT,
        entity_on=ONLY_32S,
    ),
    Number("rtc_ticks", at(230, 262), U32, role=DETAIL),  # s since 2020-01-01
    Number("detail_logs_count", at(234, 266), U32, entity_on=ONLY_32S),
    Number("smart_sleep_countdown", at(238, 270), U32, role=DETAIL),  # s
    Flag("pcl_module_status", at(242, 274), role=DETAIL),
    Choice("battery_type", at(None, 275), U8, BATTERY_TYPES, role=DETAIL),
    Number("charge_status_time", at(None, 278), U16, role=DETAIL),  # s
    Choice("charge_status", at(None, 280), U8, CHARGE_STATUSES),
    Flag("dry_contact_1", at(None, 281), bit=1),
    Flag("dry_contact_2", at(None, 281), bit=2),
)
