"""How fresh each entity's state must be: a deadband and a maximum age per kind of value.

The coordinator hands the newest data to the entities at the cadence (option
``update_interval``, default 5 s; every frame still counts for the energy meters).
At each hand-on an entity writes its state when

* it became available or unavailable, or what it shows is not a number and changed;
* its number moved by more than its deadband; or
* its number changed at all and its maximum age passed since it was last written.

The live values (current, power, voltage, state of charge) have no deadband and are
also written when unchanged: Home Assistant then only moves ``last_reported`` (no
database row), so it knows they are current. Everything else writes a row only
when it moved enough to matter. Figures per choice: docs/performance.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Freshness:
    """When a changed value is worth a state write."""

    deadband: float = 0.0  # native unit: a larger move is written at the next hand-on
    max_age: float = 0.0  # s: a smaller move is written once this passed
    report: bool = False  # also write when unchanged (keeps ``last_reported`` fresh)


LIVE = Freshness(report=True)
ON_CHANGE = Freshness()
CELL_VOLTAGE = Freshness(deadband=0.003, max_age=300)  # V: "within 3 mV"
TEMPERATURE = Freshness(deadband=0.5, max_age=600)  # °C
ENERGY = Freshness(deadband=0.05, max_age=300)  # kWh
CHARGE = Freshness(deadband=1.0, max_age=300)  # Ah
DURATION = Freshness(deadband=120, max_age=300)  # s: time to empty / full
COUNTER_SECONDS = Freshness(deadband=3600, max_age=3600)  # s: runtime, uptime
SIGNAL = Freshness(deadband=5, max_age=600)  # dBm

_BY_KEY: dict[str, Freshness] = {
    **dict.fromkeys(
        (
            "current",
            "power",
            "charging_power",
            "discharging_power",
            "total_voltage",
            "state_of_charge",
        ),
        LIVE,
    ),
    **dict.fromkeys(
        (
            "min_cell_voltage",
            "max_cell_voltage",
            "average_cell_voltage",
            "delta_cell_voltage",
            "lowest_cell_headroom",
        ),
        CELL_VOLTAGE,
    ),
    "mosfet_temperature": TEMPERATURE,
    **dict.fromkeys(("energy_charged", "energy_discharged", "stored_energy"), ENERGY),
    **dict.fromkeys(("capacity_remaining", "total_charging_cycle_capacity"), CHARGE),
    **dict.fromkeys(("time_to_empty", "time_to_full"), DURATION),
    **dict.fromkeys(("total_runtime", "uptime"), COUNTER_SECONDS),
    "rssi": SIGNAL,
}
_BY_PREFIX: tuple[tuple[str, Freshness], ...] = (
    ("cell_voltage_", CELL_VOLTAGE),
    ("temperature_sensor_", TEMPERATURE),
)


def freshness_for(key: str) -> Freshness:
    """Return the freshness rule of the entity with description key ``key``."""
    if (rule := _BY_KEY.get(key)) is not None:
        return rule
    for prefix, rule in _BY_PREFIX:
        if key.startswith(prefix):
            return rule
    return ON_CHANGE


def is_due(
    rule: Freshness,
    shown: tuple[bool, object],
    new: tuple[bool, object],
    age: float,
) -> bool:
    """Tell whether ``new`` (available, value) should replace ``shown``, ``age`` s old."""
    if new == shown:
        return rule.report
    (was_available, old), (available, value) = shown, new
    if (
        was_available != available
        or not isinstance(value, int | float)
        or not isinstance(old, int | float)
        or isinstance(value, bool)
        or isinstance(old, bool)
    ):
        return True
    return abs(value - old) > rule.deadband or age >= rule.max_age
