"""Which state changes are worth a write (custom_components/jk_bms/freshness.py)."""

from __future__ import annotations

from custom_components.jk_bms.freshness import (
    CELL_VOLTAGE,
    LIVE,
    ON_CHANGE,
    TEMPERATURE,
    freshness_for,
    is_due,
)


def test_live_values_are_written_at_every_hand_on() -> None:
    for key in ("current", "power", "total_voltage", "state_of_charge"):
        assert freshness_for(key) is LIVE
    assert is_due(LIVE, (True, 12.5), (True, 12.5), age=0.0)  # reported again
    assert is_due(LIVE, (True, 12.5), (True, 12.501), age=0.0)


def test_a_cell_moves_are_written_past_the_deadband_or_the_max_age() -> None:
    rule = freshness_for("cell_voltage_7")
    assert rule is CELL_VOLTAGE
    assert not is_due(rule, (True, 3.300), (True, 3.300), age=1000.0)  # unchanged
    assert not is_due(rule, (True, 3.300), (True, 3.302), age=10.0)
    assert is_due(rule, (True, 3.300), (True, 3.304), age=10.0)
    assert is_due(rule, (True, 3.300), (True, 3.302), age=rule.max_age)


def test_temperatures_and_unknown_keys() -> None:
    assert freshness_for("temperature_sensor_3") is TEMPERATURE
    assert freshness_for("mosfet_temperature") is TEMPERATURE
    assert freshness_for("balancer_status") is ON_CHANGE
    assert is_due(ON_CHANGE, (True, 0.002), (True, 0.003), age=0.0)


def test_availability_and_non_numbers_always_write_when_they_change() -> None:
    assert is_due(CELL_VOLTAGE, (True, 3.3), (False, None), age=0.0)
    assert is_due(CELL_VOLTAGE, (False, None), (True, 3.3), age=0.0)
    assert is_due(CELL_VOLTAGE, (True, None), (True, 3.3), age=0.0)
    assert is_due(TEMPERATURE, (True, "off"), (True, "on"), age=0.0)
    assert is_due(TEMPERATURE, (True, False), (True, True), age=0.0)
    assert not is_due(TEMPERATURE, (True, "on"), (True, "on"), age=0.0)
