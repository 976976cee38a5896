"""Alarm/error bits of the cell-info frame (protocol doc §6.2).

Little-endian: 16 bits at 136 on JK02_24S, 32 bits at 166 on JK02_32S. Bits 3 and 4
use the vendor meaning (current sensor error, cell over-voltage protection), as the
doc recommends, rather than ESPHome's labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm bit: its entity key (``alarm_<name>``) and English name."""

    bit: int
    key: str
    name: str


_ALARM_NAMES: tuple[tuple[str, str], ...] = (
    ("wire_resistance", "Wire resistance"),
    ("mosfet_overtemperature", "MOSFET overtemperature"),
    ("cell_count_mismatch", "Cell count is not equal to settings"),
    ("current_sensor_anomaly", "Current sensor anomaly"),
    ("cell_overvoltage", "Cell overvoltage"),
    ("battery_overvoltage", "Battery pack overvoltage"),
    ("charge_overcurrent", "Charge overcurrent"),
    ("charge_short_circuit", "Charge short circuit"),
    ("charge_overtemperature", "Charge overtemperature"),
    ("charge_undertemperature", "Charge undertemperature"),
    ("coprocessor_communication_error", "Coprocessor communication error"),
    ("cell_undervoltage", "Cell undervoltage"),
    ("battery_undervoltage", "Battery pack undervoltage"),
    ("discharge_overcurrent", "Discharge overcurrent"),
    ("discharge_short_circuit", "Discharge short circuit"),
    ("discharge_overtemperature", "Discharge overtemperature"),
    ("charging_mosfet_abnormal", "Charging MOSFET abnormal"),
    ("discharging_mosfet_abnormal", "Discharging MOSFET abnormal"),
    ("gps_disconnected", "GPS disconnected"),
    ("modify_password_in_time", "Modify password in time"),
    ("discharge_on_failed", "Discharge on failed"),
    ("battery_overtemperature", "Battery overtemperature"),
    ("temperature_sensor_anomaly", "Temperature sensor anomaly"),
    ("pl_module_anomaly", "PL module anomaly"),
    ("scp_release_failed", "SCP release failed"),
    ("discharge_ocp_2", "Discharge OCP II"),
    ("discharge_ocp_3", "Discharge OCP III"),
    ("discharge_undertemperature", "Discharge undertemperature alarm"),
    ("gps_remote_lock", "GPS remote lock"),
)

ALARMS: Mapping[int, Alarm] = {
    bit: Alarm(bit, f"alarm_{name}", label)
    for bit, (name, label) in enumerate(_ALARM_NAMES)
}
ALARM_BY_KEY: Mapping[str, Alarm] = {alarm.key: alarm for alarm in ALARMS.values()}

JK02_24S_ALARM_BITS = 16
JK02_32S_ALARM_BITS = len(_ALARM_NAMES)
