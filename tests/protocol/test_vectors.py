"""Every captured frame decodes, and every value its source states comes out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from custom_components.jk_bms.protocol import (
    SELECT_OPTIONS,
    CellInfo,
    DeviceInfo,
    FrameType,
    Logbook,
    RawFrame,
    Settings,
    Variant,
    decode_frame,
)

from .vector_data import Vector, all_vectors

type Decoded = DeviceInfo | CellInfo | Settings | Logbook
type Getter = Callable[[Decoded], Any]
type Convert = Callable[[Any], Any]


def value(key: str) -> Getter:
    return lambda decoded: decoded.values()[key]


def optional(key: str) -> Getter:
    """Read a key that is left out when absent (temperature sensors)."""
    return lambda decoded: decoded.values().get(key)


def sentinel(raw: Any) -> Any:
    """-200.0 °C is the "sensor absent" sentinel: we report no value."""
    return None if raw == -200.0 else raw


def detail(key: str) -> Getter:
    return lambda decoded: decoded.details[key]  # type: ignore[union-attr]


def attribute(name: str) -> Getter:
    return lambda decoded: getattr(decoded, name)


def same(raw: Any) -> Any:
    return raw


def option_of(select: str) -> Convert:
    return lambda index: SELECT_OPTIONS[select][index]


def lower(raw: Any) -> Any:
    return str(raw).lower()


def hex_int(raw: Any) -> int:
    return int(str(raw), 16)


def zero_list(raw: Any) -> Any:
    return raw


# vector key -> (how to read ours, how to convert theirs). Keys absent from this table
# are free-text comments (file_comment, yaml_comment, …) or formatting variants.
KEY_MAP: dict[str, tuple[Getter, Convert]] = {
    # device info
    "vendor_id": (attribute("model"), same),
    "hardware_version": (value("hardware_version"), same),
    "software_version": (value("software_version"), same),
    "uptime_s": (value("uptime"), same),
    "power_on_count": (value("power_on_count"), same),
    "device_name": (value("device_name"), same),
    "manufacturing_date": (value("manufacturing_date"), same),
    "user_data": (value("user_data"), same),
    "device_passcode": (attribute("pin"), same),
    "setup_passcode": (attribute("settings_password"), same),
    "uart1_protocol": (value("uart1_protocol"), option_of("uart1_protocol")),
    "uart2_protocol": (value("uart2_protocol"), option_of("uart2_protocol")),
    "can_protocol": (value("can_protocol"), option_of("can_protocol")),
    "rcv_time_h": (value("rcv_time"), same),
    "rfv_time_h": (value("rfv_time"), same),
    "frame_counter": (attribute("counter"), same),
    # cell info
    "cell_voltages": (lambda d: list(d.cell_voltages), same),  # type: ignore[union-attr]
    "cells_active": (value("cell_count"), same),
    "total_voltage": (value("total_voltage"), same),
    "total_voltage_sum_of_cells": (value("total_voltage"), same),
    "current": (value("current"), same),
    "power": (value("power"), same),
    "charging_power": (value("charging_power"), same),
    "discharging_power": (value("discharging_power"), same),
    "min_cell_voltage": (value("min_cell_voltage"), same),
    "max_cell_voltage": (value("max_cell_voltage"), same),
    "min_voltage_cell": (value("min_voltage_cell"), same),
    "max_voltage_cell": (value("max_voltage_cell"), same),
    "delta_cell_voltage": (value("delta_cell_voltage"), same),
    "average_cell_voltage": (value("average_cell_voltage"), same),
    "temperature_sensor_1": (optional("temperature_sensor_1"), sentinel),
    "temperature_sensor_2": (optional("temperature_sensor_2"), sentinel),
    "mosfet_temperature": (optional("mosfet_temperature"), sentinel),
    "errors_bitmask_hex": (detail("alarm_bitmask"), hex_int),
    "errors": (value("errors"), same),
    "balancer_status_bitmask": (
        value("balancer_status"),
        option_of_balancer := lambda i: ("off", "charging", "discharging")[i],
    ),
    "balancing": (value("balancing"), same),
    "balancing_current": (value("balancing_current"), same),
    "state_of_charge": (value("state_of_charge"), same),
    "state_of_health": (value("state_of_health"), same),
    "capacity_remaining": (value("capacity_remaining"), same),
    "full_charge_capacity": (value("full_charge_capacity"), same),
    "charging_cycles": (value("charging_cycles"), same),
    "total_runtime": (value("total_runtime"), same),
    "charging": (value("charging"), same),
    "discharging": (value("discharging"), same),
    # 24S carries the heater byte too, but only 32S exposes it as an entity.
    "heating": (lambda d: d.values().get("heating", d.details.get("heating")), same),  # type: ignore[union-attr]
    "detail_log_entry_count": (value("detail_logs_count"), same),
    "battery_type_id": (detail("battery_type"), lambda i: ("lfp", "li_ion", "lto")[i]),
    "battery_type": (detail("battery_type"), {"LFP": "lfp"}.get),
    "charge_status": (
        value("charge_status"),
        {"BULK": "bulk", "ABS": "absorption", "FLOAT": "float"}.get,
    ),
    "charge_status_index": (
        value("charge_status"),
        lambda i: ("bulk", "absorption", "float")[i],
    ),
    "charge_status_time_elapsed_s": (detail("charge_status_time"), same),
    "dry_contact_1": (value("dry_contact_1"), same),
    "dry_contact_2": (value("dry_contact_2"), same),
    # settings
    "cell_count": (value("cell_count"), same),
    "total_battery_capacity": (value("total_battery_capacity"), same),
    "nominal_capacity": (value("total_battery_capacity"), same),
    "max_charge_current": (value("max_charge_current"), same),
    "max_discharge_current": (value("max_discharge_current"), same),
    "max_balance_current": (value("max_balance_current"), same),
    "cell_uvp": (value("cell_uvp"), same),
    "cell_uvpr": (value("cell_uvpr"), same),
    "cell_ovp": (value("cell_ovp"), same),
    "cell_ovpr": (value("cell_ovpr"), same),
    "smart_sleep_voltage": (value("smart_sleep_voltage"), same),
    "soc100_voltage": (value("soc_100_voltage"), same),
    "soc0_voltage": (value("soc_0_voltage"), same),
    "request_charge_voltage": (value("rcv"), same),
    "request_float_voltage": (value("rfv"), same),
    "power_off_voltage": (value("power_off_voltage"), same),
    "balance_trigger_voltage": (value("balance_trigger_voltage"), same),
    "balancing_start_voltage": (value("balancing_start_voltage"), same),
    "start_balance_voltage": (value("balancing_start_voltage"), same),
    "charge_ocp_delay_s": (value("charge_ocp_delay"), same),
    "charge_ocp_recovery_s": (value("charge_ocp_recovery"), same),
    "discharge_ocp_delay_s": (value("discharge_ocp_delay"), same),
    "discharge_ocp_recovery_s": (value("discharge_ocp_recovery"), same),
    "scp_recovery_s": (value("scp_recovery"), same),
    "scp_delay_us": (value("scp_delay"), same),
    "charge_otp": (value("charge_otp"), same),
    "charge_otpr": (value("charge_otpr"), same),
    "discharge_otp": (value("discharge_otp"), same),
    "discharge_otpr": (value("discharge_otpr"), same),
    "charge_utp": (value("charge_utp"), same),
    "charge_utpr": (value("charge_utpr"), same),
    "mosfet_otp": (value("mosfet_otp"), same),
    "mosfet_otpr": (value("mosfet_otpr"), same),
    "charging_switch": (value("charging"), same),
    "charge_switch": (value("charging"), same),
    "discharging_switch": (value("discharging"), same),
    "discharge_switch": (value("discharging"), same),
    "balancer_switch": (value("balancer"), same),
    "heating_switch": (value("heating"), same),
    "heating_start_temperature": (value("heating_start_temperature"), same),
    "heating_stop_temperature": (value("heating_stop_temperature"), same),
    "device_address": (value("device_address"), same),
    "precharge_time_s": (value("precharge_time"), same),
    "gps_heartbeat": (value("gps_heartbeat"), same),
    "special_charger": (value("special_charger"), same),
    "port_switch": (value("port_mode"), lower),
    "smart_sleep_delay_h": (value("smart_sleep_time"), same),
    "data_field_enable_control_0": (detail("data_field_enable_control_0"), same),
    "voltage_calibration_vref": (detail("voltage_calibration_reference"), same),
    "con_wire_resistance_1_to_32": (
        lambda d: max(
            v for k, v in d.values().items() if k.startswith("connection_wire")
        ),
        same,
    ),
    # logbook
    "log_count": (attribute("entry_count"), same),
    "entries": (
        lambda d: [(e.timestamp_s, e.code, e.event) for e in d.entries],  # type: ignore[union-attr]
        lambda entries: [(e["t_s"], int(e["code"], 16), e["text"]) for e in entries],
    ),
}
del option_of_balancer

# Keys whose stated value is a rounded print or a free-text note, not a field.
TEXT_ONLY = {
    "file_comment",
    "yaml_comment",
    "comment",
    "total_runtime_formatted",
    "balance_trigger_voltage_as_written_in_comment",
    "balancing_current_tolerance",
    "passcode",  # secret; asserted separately (never in values())
    "serial_number",  # asserted in a dedicated test (length differs by firmware)
}


def decode(vector: Vector) -> Decoded:
    return decode_frame(RawFrame.from_bytes(vector.data), vector.variant)


def assert_matches(vector: Vector, decoded: Decoded, stated: dict[str, Any]) -> int:
    """Assert every mapped key; return how many values were checked."""
    checked = 0
    tolerance = float(stated.get("balancing_current_tolerance", 0.001))
    for key, theirs in stated.items():
        if key in TEXT_ONLY or theirs is None:
            continue
        if key.startswith(("cell_voltage_", "cell_resistance_")):
            read, convert = value(key), same
        else:
            assert key in KEY_MAP, f"{vector.id}: no mapping for stated key {key!r}"
            read, convert = KEY_MAP[key]
        ours, expected = read(decoded), convert(theirs)
        if isinstance(expected, float) or (
            isinstance(expected, list) and expected and isinstance(expected[0], float)
        ):
            # 1 mV / 1 mA: the sources print rounded values (ESPHome tests use 0.001).
            assert ours == pytest.approx(expected, abs=tolerance), f"{vector.id} {key}"
        else:
            assert ours == expected, f"{vector.id} {key}"
        checked += 1
    return checked


VECTORS = all_vectors()
WITH_EXPECTED = [v for v in VECTORS if v.expected]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_every_frame_decodes_with_its_variant(vector: Vector) -> None:
    decoded = decode(vector)
    values = decoded.values()
    match vector.frame_type:
        case FrameType.CELL_INFO:
            assert isinstance(decoded, CellInfo)
            # One 19.07 capture has no cells connected (alarm "cell count ...").
            assert decoded.cell_count == len(
                [k for k in values if k.startswith("cell_voltage_")]
            )
            assert all(0.5 < volts < 5 for volts in decoded.cell_voltages if volts)
            if decoded.cell_count:
                total = sum(decoded.cell_voltages)
                assert values["total_voltage"] == pytest.approx(total, rel=0.02)
            else:
                assert decoded.alarms == {"alarm_cell_count_mismatch"}
        case FrameType.SETTINGS:
            assert isinstance(decoded, Settings)
            assert 1 <= int(decoded["cell_count"] or 0) <= 32
        case FrameType.DEVICE_INFO:
            assert isinstance(decoded, DeviceInfo)
            assert decoded.model.startswith("JK")
            assert decoded.software_version[0].isdigit()
        case FrameType.LOGBOOK:
            assert isinstance(decoded, Logbook)
            assert decoded.entries


@pytest.mark.parametrize("vector", WITH_EXPECTED, ids=lambda v: v.id)
def test_values_stated_by_the_source(vector: Vector) -> None:
    decoded = decode(vector)
    checked = assert_matches(vector, decoded, vector.expected)
    if checked == 0:  # only a free-text note: fall back to the derived cross-check
        checked = assert_matches(vector, decoded, derived_statements(vector))
    assert checked > 0


# Derived values follow the protocol doc with an independent decoder: a cross-check
# for frames whose source states nothing. Keys map to ours like the stated ones.
DERIVED_MAP = {
    "voltage": "total_voltage",
    "soc": "state_of_charge",
    "cycle_count": "charging_cycles",
    "soh": "state_of_health",
    "total_runtime_s": "total_runtime",
    "runtime_s_286": "total_runtime",
    "derived_min_cell_voltage": "min_cell_voltage",
    "derived_max_cell_voltage": "max_cell_voltage",
    "derived_min_voltage_cell": "min_voltage_cell",
    "derived_max_voltage_cell": "max_voltage_cell",
    "derived_power": "power",
    "derived_total_voltage_sum_of_cells": "total_voltage_sum_of_cells",
    "error_bitmask": "errors_bitmask_hex",
    "balance_current": "balancing_current",
    "balance_current_222": "balancing_current",
    "balancing_action": "balancer_status_bitmask",
    "balancing_action_220": "balancer_status_bitmask",
    "charging_mosfet": "charging",
    "discharging_mosfet": "discharging",
    "cell_count_34": "cell_count",
    "power_off_voltage_38": "power_off_voltage",
    "voltage_calibration_vref_74": "voltage_calibration_vref",
    "start_balance_voltage_98": "balancing_start_voltage",
    "balance_trigger_voltage_106": "balance_trigger_voltage",
    "max_balance_current_110": "max_balance_current",
    "balancer_switch_114": "balancer_switch",
    "detail_log_count_234": "detail_log_entry_count",
    "charge_status_248": "charge_status_index",
}


def derived_statements(vector: Vector) -> dict[str, Any]:
    statements: dict[str, Any] = {}
    for derived_key, raw in vector.derived.items():
        key = DERIVED_MAP.get(derived_key, derived_key)
        if key in KEY_MAP and key not in TEXT_ONLY and key != "frame_counter":
            statements[key] = raw
    if vector.variant is not Variant.JK02_32S:  # 32S-only entities
        statements.pop("detail_log_entry_count", None)
    return statements


WITHOUT_EXPECTED = [v for v in VECTORS if not v.expected]


@pytest.mark.parametrize("vector", WITHOUT_EXPECTED, ids=lambda v: v.id)
def test_cross_check_against_derived_values(vector: Vector) -> None:
    statements = derived_statements(vector)
    assert assert_matches(vector, decode(vector), statements) > 0


def test_serial_numbers_read_up_to_the_nul() -> None:
    """Short serials end at their NUL; long ones (new firmware) run past byte 96."""
    seen = 0
    for vector in VECTORS:
        if vector.frame_type is not FrameType.DEVICE_INFO:
            continue
        decoded = decode(vector)
        assert isinstance(decoded, DeviceInfo)
        stated = vector.expected.get(
            "serial_number", vector.derived.get("serial_number")
        )
        assert decoded.serial_number.startswith(stated)
        seen += 1
    assert seen >= 20


def test_secrets_never_leave_the_device_info() -> None:
    for vector in VECTORS:
        if vector.frame_type is not FrameType.DEVICE_INFO:
            continue
        decoded = decode(vector)
        assert isinstance(decoded, DeviceInfo)
        exposed = {**decoded.values(), **decoded.details}
        assert not {"pin", "settings_password", "passcode"} & exposed.keys()
        for secret in (decoded.pin, decoded.settings_password):
            if secret:
                assert secret not in repr(decoded)
                assert secret not in exposed.values()


def test_factory_passwords_are_reported() -> None:
    decoded = decode(
        next(v for v in VECTORS if v.expected.get("setup_passcode") == "123456")
    )
    assert isinstance(decoded, DeviceInfo)
    assert decoded.uses_factory_passwords


def test_full_charge_capacity_is_not_the_configured_capacity() -> None:
    """Cell info carries the learned capacity; settings carry the configured one."""
    cell = decode(
        next(v for v in WITH_EXPECTED if v.expected.get("full_charge_capacity") == 2.0)
    )
    assert "total_battery_capacity" not in cell.values()
    assert cell.values()["full_charge_capacity"] == 2.0


# §7.1 control bits 282-283 as the captures' independent decoder names them.
CONTROL_BIT_KEYS = {
    "heating": "heating",
    "disable_temp_sensors": "disable_temperature_sensors",
    "gps_heartbeat": "gps_heartbeat",
    "display_always_on": "display_always_on",
    "special_charger": "special_charger",
    "smart_sleep": "smart_sleep",
    "disable_pcl_module": "disable_pcl_module",
    "timed_stored_data": "timed_stored_data",
    "charging_float_mode": "charging_float_mode",
    "button_emergency_trigger": "button_triggers_emergency",
    "dry_arm_intermittent": "dry_contact_alarm_intermittent",
    "discharge_ocp2": "discharge_ocp_2",
    "discharge_ocp3": "discharge_ocp_3",
    "gps_locked_charging": "gps_locked_charging",
    "gps_locked_discharging": "gps_locked_discharging",
}
WITH_CONTROL_BITS = [
    v for v in VECTORS if "control_bits" in {**v.expected, **v.derived}
]


@pytest.mark.parametrize("vector", WITH_CONTROL_BITS, ids=lambda v: v.id)
def test_every_control_bit_is_a_settings_value(vector: Vector) -> None:
    """All 15 switch bits (14/15 GPS locked included) reach values(): their writes read back."""
    bits = {**vector.expected, **vector.derived}["control_bits"]
    values = decode(vector).values()
    for theirs, ours in CONTROL_BIT_KEYS.items():
        assert values[ours] is bits[theirs], (vector.id, ours)
    assert values["port_mode"] == ("rs485" if bits["port_switch_rs485"] else "can")


def test_gps_locked_bits_are_bits_14_and_15() -> None:
    """§7.1: bit 14 = GPS locked charging, bit 15 = GPS locked discharging (byte 283)."""
    vector = WITH_CONTROL_BITS[0]
    for mask, charging, discharging in ((0x40, True, False), (0x80, False, True)):
        data = bytearray(vector.data)
        data[283] = (data[283] & 0x3F) | mask
        data[299] = sum(data[:299]) & 0xFF
        values = decode_frame(RawFrame.from_bytes(bytes(data)), Variant.JK02_32S)
        assert values.values()["gps_locked_charging"] is charging
        assert values.values()["gps_locked_discharging"] is discharging
        before = decode(vector).values()
        assert values.values()["discharge_ocp_3"] == before["discharge_ocp_3"]
