"""Sensors of a JK BMS: live status, cells, temperatures, derived energy, device info."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final, cast, override

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import JkBmsConfigEntry, JkBmsCoordinator, JkBmsData
from .entity import (
    JK02,
    JK02_32S,
    JkBmsEntity,
    JkBmsEntityDescription,
    cell_info_value,
    device_info_value,
    is_pb,
    is_supported,
    settings_value,
)
from .protocol import registers_for
from .protocol.tables.options import BALANCER_STATUSES, CHARGE_STATUSES

PARALLEL_UPDATES = 0

AMPERE_HOURS: Final = "Ah"
OHM: Final = "Ω"
MILLIOHM: Final = "mΩ"
MAX_CELLS: Final = 32
MAX_TEMPERATURE_SENSORS: Final = 5
MAX_STATE_LENGTH: Final = 255
NO_ERRORS: Final = "none"
WH_PER_KWH: Final = 1000

type SensorValue = StateType | date | datetime | Decimal


@dataclass(frozen=True, kw_only=True)
class JkBmsSensorEntityDescription(JkBmsEntityDescription, SensorEntityDescription):
    """Describes a JK BMS sensor."""

    value_fn: Callable[[JkBmsData], SensorValue]
    restore_fn: Callable[[JkBmsCoordinator, SensorValue], None] | None = None
    """Called with the value before the restart (makes the entity a RestoreSensor)."""
    attributes_fn: Callable[[JkBmsData], Mapping[str, object]] | None = None
    """State attributes (what stands behind the value), compared like the value."""


def _derived(key: str) -> Callable[[JkBmsData], SensorValue]:
    def value(data: JkBmsData) -> SensorValue:
        return data.derived.get(key)

    return value


def _soc_from_the_cells_attributes(data: JkBmsData) -> Mapping[str, object]:
    """Return the band behind the value, the chemistry, and why it is unknown."""
    derived = data.derived
    return {
        "band_low": derived.get("soc_from_the_cells_low"),
        "band_high": derived.get("soc_from_the_cells_high"),
        "chemistry": derived.get("soc_check_chemistry"),
        "reason": derived.get("soc_check_reason"),
    }


def _errors(data: JkBmsData) -> str | None:
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


def _energy_capacity(data: JkBmsData) -> float | None:
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


def _restore_charged(coordinator: JkBmsCoordinator, value: SensorValue) -> None:
    coordinator.restore_energy(_as_float(value), None)


def _restore_discharged(coordinator: JkBmsCoordinator, value: SensorValue) -> None:
    coordinator.restore_energy(None, _as_float(value))


def _restore_last_full_charge(
    coordinator: JkBmsCoordinator, value: SensorValue
) -> None:
    coordinator.restore_last_full_charge(value if isinstance(value, datetime) else None)


def _has_cells(count: int) -> Callable[[JkBmsCoordinator], bool]:
    def supported(coordinator: JkBmsCoordinator) -> bool:
        cell_info = coordinator.data.cell_info
        return cell_info is not None and cell_info.cell_count >= count

    return supported


def _has_temperature_sensor(sensor: int) -> Callable[[JkBmsCoordinator], bool]:
    def supported(coordinator: JkBmsCoordinator) -> bool:
        cell_info = coordinator.data.cell_info
        return cell_info is not None and sensor in cell_info.temperatures

    return supported


def _read_only_setting(key: str) -> Callable[[JkBmsCoordinator], bool]:
    """Show a setting as a sensor where its write register is unknown."""

    def supported(coordinator: JkBmsCoordinator) -> bool:
        return key not in registers_for(coordinator.variant)

    return supported


def _wire_resistance_read_only(index: int) -> Callable[[JkBmsCoordinator], bool]:
    cells = _has_cells(index)
    read_only = _read_only_setting(f"connection_wire_resistance_{index}")

    def supported(coordinator: JkBmsCoordinator) -> bool:
        return cells(coordinator) and read_only(coordinator)

    return supported


def _voltage(
    key: str, *, category: EntityCategory | None = None
) -> JkBmsSensorEntityDescription:
    return JkBmsSensorEntityDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
        entity_category=category,
        value_fn=cell_info_value(key),
    )


SENSORS: tuple[JkBmsSensorEntityDescription, ...] = (
    # --- live status (cell-info frame) ---
    JkBmsSensorEntityDescription(
        key="total_voltage",
        translation_key="total_voltage",
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=cell_info_value("total_voltage"),
    ),
    JkBmsSensorEntityDescription(
        key="current",
        translation_key="current",
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        variants=JK02,
        value_fn=cell_info_value("current"),
    ),
    JkBmsSensorEntityDescription(
        key="power",
        translation_key="power",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        variants=JK02,
        value_fn=cell_info_value("power"),
    ),
    JkBmsSensorEntityDescription(
        key="charging_power",
        translation_key="charging_power",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        entity_registry_enabled_default=False,
        variants=JK02,
        value_fn=cell_info_value("charging_power"),
    ),
    JkBmsSensorEntityDescription(
        key="discharging_power",
        translation_key="discharging_power",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        entity_registry_enabled_default=False,
        variants=JK02,
        value_fn=cell_info_value("discharging_power"),
    ),
    JkBmsSensorEntityDescription(
        key="state_of_charge",
        translation_key="state_of_charge",
        native_unit_of_measurement=PERCENTAGE,
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        variants=JK02,
        value_fn=cell_info_value("state_of_charge"),
    ),
    JkBmsSensorEntityDescription(
        key="capacity_remaining",
        translation_key="capacity_remaining",
        native_unit_of_measurement=AMPERE_HOURS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        variants=JK02,
        value_fn=cell_info_value("capacity_remaining"),
    ),
    JkBmsSensorEntityDescription(
        key="full_charge_capacity",
        translation_key="full_charge_capacity",
        native_unit_of_measurement=AMPERE_HOURS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        variants=JK02,
        value_fn=cell_info_value("full_charge_capacity"),
    ),
    JkBmsSensorEntityDescription(
        key="state_of_health",
        translation_key="state_of_health",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        variants=JK02,
        value_fn=cell_info_value("state_of_health"),
    ),
    JkBmsSensorEntityDescription(
        key="charging_cycles",
        translation_key="charging_cycles",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        variants=JK02,
        value_fn=cell_info_value("charging_cycles"),
    ),
    JkBmsSensorEntityDescription(
        key="total_charging_cycle_capacity",
        translation_key="total_charging_cycle_capacity",
        native_unit_of_measurement=AMPERE_HOURS,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        variants=JK02,
        value_fn=cell_info_value("total_charging_cycle_capacity"),
    ),
    _voltage("average_cell_voltage"),
    JkBmsSensorEntityDescription(
        key="delta_cell_voltage",
        translation_key="delta_cell_voltage",
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        # JK owners read cell differences in mV ("5 mV", not "0.005 V").
        suggested_unit_of_measurement=UnitOfElectricPotential.MILLIVOLT,
        suggested_display_precision=0,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=cell_info_value("delta_cell_voltage"),
    ),
    _voltage("min_cell_voltage"),
    _voltage("max_cell_voltage"),
    JkBmsSensorEntityDescription(
        key="min_voltage_cell",
        translation_key="min_voltage_cell",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=cell_info_value("min_voltage_cell"),
    ),
    JkBmsSensorEntityDescription(
        key="max_voltage_cell",
        translation_key="max_voltage_cell",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=cell_info_value("max_voltage_cell"),
    ),
    JkBmsSensorEntityDescription(
        key="cell_count",
        translation_key="cell_count",
        object_id="cell_count",  # named "Detected cells": the number is "Cell count"
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=cell_info_value("cell_count"),
    ),
    JkBmsSensorEntityDescription(
        key="balancing_current",
        translation_key="balancing_current",
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
        value_fn=cell_info_value("balancing_current"),
    ),
    JkBmsSensorEntityDescription(
        key="balancer_status",
        translation_key="balancer_status",
        object_id="balancer_status",  # named "Balancing action"
        device_class=SensorDeviceClass.ENUM,
        options=list(BALANCER_STATUSES),
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=cell_info_value("balancer_status"),
    ),
    JkBmsSensorEntityDescription(
        key="mosfet_temperature",
        translation_key="mosfet_temperature",
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        variants=JK02,
        value_fn=cell_info_value("mosfet_temperature"),
    ),
    JkBmsSensorEntityDescription(
        key="heating_current",
        translation_key="heating_current",
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
        value_fn=cell_info_value("heating_current"),
    ),
    JkBmsSensorEntityDescription(
        key="emergency_time_countdown",
        translation_key="emergency_time_countdown",
        native_unit_of_measurement=UnitOfTime.SECONDS,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
        value_fn=cell_info_value("emergency_time_countdown"),
    ),
    JkBmsSensorEntityDescription(
        key="total_runtime",
        translation_key="total_runtime",
        native_unit_of_measurement=UnitOfTime.SECONDS,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=cell_info_value("total_runtime"),
    ),
    JkBmsSensorEntityDescription(
        key="detail_logs_count",
        translation_key="detail_logs_count",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
        value_fn=cell_info_value("detail_logs_count"),
    ),
    JkBmsSensorEntityDescription(
        key="charge_status",
        translation_key="charge_status",
        device_class=SensorDeviceClass.ENUM,
        options=list(CHARGE_STATUSES),
        entity_category=EntityCategory.DIAGNOSTIC,
        variants=JK02_32S,
        supported_fn=is_pb,
        value_fn=cell_info_value("charge_status"),
    ),
    JkBmsSensorEntityDescription(
        key="errors",
        translation_key="errors",
        variants=JK02,
        value_fn=_errors,
    ),
    # --- derived by the integration ---
    JkBmsSensorEntityDescription(
        key="energy_charged",
        translation_key="energy_charged",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=3,
        variants=JK02,
        value_fn=_derived("energy_charged"),
        restore_fn=_restore_charged,
    ),
    JkBmsSensorEntityDescription(
        key="energy_discharged",
        translation_key="energy_discharged",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=3,
        variants=JK02,
        value_fn=_derived("energy_discharged"),
        restore_fn=_restore_discharged,
    ),
    JkBmsSensorEntityDescription(
        key="stored_energy",
        translation_key="stored_energy",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        # No state class: without long-term statistics the energy dashboard does
        # not offer a level as a charge/discharge counter.
        suggested_display_precision=2,
        variants=JK02,
        value_fn=_derived("stored_energy"),
    ),
    JkBmsSensorEntityDescription(
        key="energy_capacity",
        translation_key="energy_capacity",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        variants=JK02,
        value_fn=_energy_capacity,
    ),
    JkBmsSensorEntityDescription(
        key="time_to_empty",
        translation_key="time_to_empty",
        native_unit_of_measurement=UnitOfTime.SECONDS,
        # A runtime reads as hours ("0.5 h"), not as "1,926.00 s".
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=1,
        device_class=SensorDeviceClass.DURATION,
        variants=JK02,
        value_fn=_derived("time_to_empty"),
    ),
    JkBmsSensorEntityDescription(
        key="time_to_full",
        translation_key="time_to_full",
        native_unit_of_measurement=UnitOfTime.SECONDS,
        # A runtime reads as hours ("0.5 h"), not as "1,926.00 s".
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=1,
        device_class=SensorDeviceClass.DURATION,
        variants=JK02,
        value_fn=_derived("time_to_full"),
    ),
    JkBmsSensorEntityDescription(
        key="last_full_charge",
        translation_key="last_full_charge",
        device_class=SensorDeviceClass.TIMESTAMP,
        variants=JK02,
        value_fn=_derived("last_full_charge"),
        restore_fn=_restore_last_full_charge,
    ),
    JkBmsSensorEntityDescription(
        key="lowest_cell_headroom",
        translation_key="lowest_cell_headroom",
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
        variants=JK02,
        value_fn=_derived("lowest_cell_headroom"),
    ),
    JkBmsSensorEntityDescription(
        # The BMS's SoC cross-checked against the resting cells (soc_check.py).
        key="soc_from_the_cells",
        translation_key="soc_from_the_cells",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        variants=JK02,
        value_fn=_derived("soc_from_the_cells"),
        attributes_fn=_soc_from_the_cells_attributes,
    ),
    JkBmsSensorEntityDescription(
        key="rssi",
        translation_key="rssi",
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_derived("rssi"),
    ),
    # --- device-info frame ---
    JkBmsSensorEntityDescription(
        key="uptime",
        translation_key="uptime",
        native_unit_of_measurement=UnitOfTime.SECONDS,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=device_info_value("uptime"),
    ),
    JkBmsSensorEntityDescription(
        key="power_on_count",
        translation_key="power_on_count",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=device_info_value("power_on_count"),
    ),
    JkBmsSensorEntityDescription(
        key="user_data",
        translation_key="user_data",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=device_info_value("user_data"),
    ),
    JkBmsSensorEntityDescription(
        key="user_data_2",
        translation_key="user_data_2",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
        value_fn=device_info_value("user_data_2"),
    ),
    # --- settings without a known write register: read-only ---
    JkBmsSensorEntityDescription(
        key="device_address",
        translation_key="device_address",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
        supported_fn=_read_only_setting("device_address"),
        value_fn=settings_value("device_address"),
    ),
    JkBmsSensorEntityDescription(
        key="lcd_buzzer_trigger_value",
        translation_key="lcd_buzzer_trigger_value",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
        supported_fn=_read_only_setting("lcd_buzzer_trigger_value"),
        value_fn=device_info_value("lcd_buzzer_trigger_value"),
    ),
    JkBmsSensorEntityDescription(
        key="lcd_buzzer_release_value",
        translation_key="lcd_buzzer_release_value",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
        supported_fn=_read_only_setting("lcd_buzzer_release_value"),
        value_fn=device_info_value("lcd_buzzer_release_value"),
    ),
)

CELL_VOLTAGE_SENSORS: tuple[JkBmsSensorEntityDescription, ...] = tuple(
    JkBmsSensorEntityDescription(
        key=f"cell_voltage_{cell}",
        translation_key="cell_voltage",
        translation_placeholders={"n": str(cell)},
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
        supported_fn=_has_cells(cell),
        value_fn=cell_info_value(f"cell_voltage_{cell}"),
    )
    for cell in range(1, MAX_CELLS + 1)
)

CELL_RESISTANCE_SENSORS: tuple[JkBmsSensorEntityDescription, ...] = tuple(
    JkBmsSensorEntityDescription(
        key=f"cell_resistance_{cell}",
        translation_key="cell_resistance",
        translation_placeholders={"n": str(cell)},
        native_unit_of_measurement=OHM,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
        entity_category=EntityCategory.DIAGNOSTIC,
        supported_fn=_has_cells(cell),
        value_fn=cell_info_value(f"cell_resistance_{cell}"),
    )
    for cell in range(1, MAX_CELLS + 1)
)

TEMPERATURE_SENSORS: tuple[JkBmsSensorEntityDescription, ...] = tuple(
    JkBmsSensorEntityDescription(
        key=f"temperature_sensor_{sensor}",
        translation_key="temperature_sensor",
        translation_placeholders={"n": str(sensor)},
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        variants=JK02 if sensor <= 2 else JK02_32S,
        supported_fn=_has_temperature_sensor(sensor),
        value_fn=cell_info_value(f"temperature_sensor_{sensor}"),
    )
    for sensor in range(1, MAX_TEMPERATURE_SENSORS + 1)
)

# Read-only where the write register is unknown (JK02_32S); a number on JK02_24S.
CONNECTION_WIRE_RESISTANCE_SENSORS: tuple[JkBmsSensorEntityDescription, ...] = tuple(
    JkBmsSensorEntityDescription(
        key=f"connection_wire_resistance_{cell}",
        translation_key="connection_wire_resistance",
        translation_placeholders={"n": str(cell)},
        native_unit_of_measurement=MILLIOHM,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02,
        supported_fn=_wire_resistance_read_only(cell),
        value_fn=settings_value(f"connection_wire_resistance_{cell}"),
    )
    for cell in range(1, MAX_CELLS + 1)
)

ALL_SENSORS: tuple[JkBmsSensorEntityDescription, ...] = (
    *SENSORS,
    *CELL_VOLTAGE_SENSORS,
    *CELL_RESISTANCE_SENSORS,
    *TEMPERATURE_SENSORS,
    *CONNECTION_WIRE_RESISTANCE_SENSORS,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: JkBmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the sensors this BMS supports (cells and sensors from the first data)."""
    coordinator = entry.runtime_data
    async_add_entities(
        (JkBmsRestoreSensor if description.restore_fn else JkBmsSensor)(
            coordinator, description
        )
        for description in ALL_SENSORS
        if is_supported(description, coordinator)
    )


class JkBmsSensor(JkBmsEntity, SensorEntity):
    """A value of the BMS."""

    entity_description: JkBmsSensorEntityDescription

    def __init__(
        self, coordinator: JkBmsCoordinator, description: JkBmsSensorEntityDescription
    ) -> None:
        """Create the sensor for ``description``."""
        super().__init__(coordinator, description)

    @property
    @override
    def native_value(self) -> SensorValue:
        """Return the latest value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, object] | None:
        """Return what stands behind the value (only where the description says)."""
        attributes_fn = self.entity_description.attributes_fn
        return None if attributes_fn is None else attributes_fn(self.coordinator.data)

    @override
    def _shown_value(self) -> object:
        if self.entity_description.attributes_fn is None:
            return self.native_value
        return self.native_value, self.extra_state_attributes


class JkBmsRestoreSensor(JkBmsSensor, RestoreSensor):
    """A derived value that survives restarts (energy counters, last full charge)."""

    @override
    async def async_added_to_hass(self) -> None:
        """Hand the value from before the restart to the coordinator."""
        await super().async_added_to_hass()
        restore_fn = self.entity_description.restore_fn
        last = await self.async_get_last_sensor_data()
        if (
            restore_fn is not None
            and last is not None
            and last.native_value is not None
        ):
            restore_fn(self.coordinator, last.native_value)
        # The state HA writes next (on adding) already includes the restored value.
        self._last_shown = self._snapshot()
