"""What the sensors show: the value, restore and "exists here" functions of the table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Final, cast

from homeassistant.helpers.typing import StateType

from .coordinator import JkBmsCoordinator, JkBmsData
from .protocol import registers_for

MAX_STATE_LENGTH: Final = 255
NO_ERRORS: Final = "none"
WH_PER_KWH: Final = 1000

type SensorValue = StateType | date | datetime | Decimal


def derived_value(key: str) -> Callable[[JkBmsData], SensorValue]:
    """Read ``key`` from the values the integration derives."""

    def value(data: JkBmsData) -> SensorValue:
        return data.derived.get(key)

    return value


def soc_from_the_cells_attributes(data: JkBmsData) -> Mapping[str, object]:
    """Return the band behind the value, the chemistry, and why it is unknown."""
    derived = data.derived
    return {
        "band_low": derived.get("soc_from_the_cells_low"),
        "band_high": derived.get("soc_from_the_cells_high"),
        "chemistry": derived.get("soc_check_chemistry"),
        "reason": derived.get("soc_check_reason"),
    }


def errors_state(data: JkBmsData) -> str | None:
    """Comma-separated alarm names, cut to the longest state HA accepts.

    Without an alarm the state is ``none`` (translated "No errors"), never blank.
    """
    if data.cell_info is None or (errors := data.cell_info.errors) is None:
        return None
    if not errors:
        return NO_ERRORS
    if len(errors) <= MAX_STATE_LENGTH:
        return errors
    return errors[: errors.rfind(", ", 0, MAX_STATE_LENGTH - 1)] + "…"


def energy_capacity(data: JkBmsData) -> float | None:
    """Usable energy in kWh from the configured capacity, for the energy dashboard.

    Capacity (Ah) * cells * the mean of the SOC-0 % and SOC-100 % voltages: the
    average cell voltage over a full discharge (3.2 V for typical LiFePO4 settings).
    """
    if data.settings is None:
        return None
    entries = data.settings.entries
    values = [
        entries.get(key)
        for key in (
            "total_battery_capacity",
            "cell_count",
            "soc_100_voltage",
            "soc_0_voltage",
        )
    ]
    if not all(isinstance(value, int | float) and value > 0 for value in values):
        return None
    capacity, cells, full, empty = (float(cast(float, value)) for value in values)
    return capacity * cells * (full + empty) / 2 / WH_PER_KWH


def _as_float(value: SensorValue) -> float | None:
    try:
        return float(value) if isinstance(value, int | float | str | Decimal) else None
    except ValueError:
        return None


def restore_charged(coordinator: JkBmsCoordinator, value: SensorValue) -> None:
    """Continue the charged-energy counter from its value before the restart."""
    coordinator.restore_energy(_as_float(value), None)


def restore_discharged(coordinator: JkBmsCoordinator, value: SensorValue) -> None:
    """Continue the discharged-energy counter from its value before the restart."""
    coordinator.restore_energy(None, _as_float(value))


def restore_last_full_charge(coordinator: JkBmsCoordinator, value: SensorValue) -> None:
    """Keep the last full charge known before the restart."""
    coordinator.restore_last_full_charge(value if isinstance(value, datetime) else None)


def has_cells(count: int) -> Callable[[JkBmsCoordinator], bool]:
    """Exist where the pack has at least ``count`` cells."""

    def supported(coordinator: JkBmsCoordinator) -> bool:
        cell_info = coordinator.data.cell_info
        return cell_info is not None and cell_info.cell_count >= count

    return supported


def has_temperature_sensor(sensor: int) -> Callable[[JkBmsCoordinator], bool]:
    """Exist where temperature probe ``sensor`` is connected."""

    def supported(coordinator: JkBmsCoordinator) -> bool:
        cell_info = coordinator.data.cell_info
        return cell_info is not None and sensor in cell_info.temperatures

    return supported


def read_only_setting(key: str) -> Callable[[JkBmsCoordinator], bool]:
    """Show a setting as a sensor where its write register is unknown."""

    def supported(coordinator: JkBmsCoordinator) -> bool:
        return key not in registers_for(coordinator.variant)

    return supported


def wire_resistance_read_only(index: int) -> Callable[[JkBmsCoordinator], bool]:
    """Exist for a present cell whose wire resistance has no known write register."""
    cells = has_cells(index)
    read_only = read_only_setting(f"connection_wire_resistance_{index}")

    def supported(coordinator: JkBmsCoordinator) -> bool:
        return cells(coordinator) and read_only(coordinator)

    return supported
