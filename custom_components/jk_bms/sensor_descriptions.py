"""The sensor table: one description per JK BMS sensor (read by sensor.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
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

from .coordinator import JkBmsCoordinator, JkBmsData
from .entity import (
    JK02,
    JK02_32S,
    JkBmsEntityDescription,
    cell_info_value,
    device_info_value,
    is_pb,
    settings_value,
)
from .protocol.tables.options import BALANCER_STATUSES, CHARGE_STATUSES
from .sensor_values import (
    SensorValue,
    derived_value,
    energy_capacity,
    errors_state,
    has_cells,
    has_temperature_sensor,
    read_only_setting,
    restore_charged,
    restore_discharged,
    restore_last_full_charge,
    soc_from_the_cells_attributes,
    wire_resistance_read_only,
)

AMPERE_HOURS: Final = "Ah"
OHM: Final = "Ω"
MILLIOHM: Final = "mΩ"
MAX_CELLS: Final = 32
MAX_TEMPERATURE_SENSORS: Final = 5


@dataclass(frozen=True, kw_only=True)
class JkBmsSensorEntityDescription(JkBmsEntityDescription, SensorEntityDescription):
    """Describes a JK BMS sensor."""

    value_fn: Callable[[JkBmsData], SensorValue]
    restore_fn: Callable[[JkBmsCoordinator, SensorValue], None] | None = None
    """Called with the value before the restart (makes the entity a RestoreSensor)."""
    attributes_fn: Callable[[JkBmsData], Mapping[str, object]] | None = None
    """State attributes (what stands behind the value), compared like the value."""


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
        value_fn=errors_state,
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
        value_fn=derived_value("energy_charged"),
        restore_fn=restore_charged,
    ),
    JkBmsSensorEntityDescription(
        key="energy_discharged",
        translation_key="energy_discharged",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=3,
        variants=JK02,
        value_fn=derived_value("energy_discharged"),
        restore_fn=restore_discharged,
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
        value_fn=derived_value("stored_energy"),
    ),
    JkBmsSensorEntityDescription(
        key="energy_capacity",
        translation_key="energy_capacity",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        variants=JK02,
        value_fn=energy_capacity,
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
        value_fn=derived_value("time_to_empty"),
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
        value_fn=derived_value("time_to_full"),
    ),
    JkBmsSensorEntityDescription(
        key="last_full_charge",
        translation_key="last_full_charge",
        device_class=SensorDeviceClass.TIMESTAMP,
        variants=JK02,
        value_fn=derived_value("last_full_charge"),
        restore_fn=restore_last_full_charge,
    ),
    JkBmsSensorEntityDescription(
        key="lowest_cell_headroom",
        translation_key="lowest_cell_headroom",
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
        variants=JK02,
        value_fn=derived_value("lowest_cell_headroom"),
    ),
    JkBmsSensorEntityDescription(
        # The BMS's SoC cross-checked against the resting cells (soc_check.py).
        key="soc_from_the_cells",
        translation_key="soc_from_the_cells",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        variants=JK02,
        value_fn=derived_value("soc_from_the_cells"),
        attributes_fn=soc_from_the_cells_attributes,
    ),
    JkBmsSensorEntityDescription(
        key="rssi",
        translation_key="rssi",
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=derived_value("rssi"),
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
        supported_fn=read_only_setting("device_address"),
        value_fn=settings_value("device_address"),
    ),
    JkBmsSensorEntityDescription(
        key="lcd_buzzer_trigger_value",
        translation_key="lcd_buzzer_trigger_value",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
        supported_fn=read_only_setting("lcd_buzzer_trigger_value"),
        value_fn=device_info_value("lcd_buzzer_trigger_value"),
    ),
    JkBmsSensorEntityDescription(
        key="lcd_buzzer_release_value",
        translation_key="lcd_buzzer_release_value",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
        supported_fn=read_only_setting("lcd_buzzer_release_value"),
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
        supported_fn=has_cells(cell),
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
        supported_fn=has_cells(cell),
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
        supported_fn=has_temperature_sensor(sensor),
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
        supported_fn=wire_resistance_read_only(cell),
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
