"""Numbers of a JK BMS: every writable setting the variant has.

Range, step and unit come from the protocol's register table for the device's
variant. The value always comes from the BMS's own frames: a number changes only
once the BMS reads the new value back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, override

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import JkBmsConfigEntry, JkBmsCoordinator
from .entity import (
    JkBmsControlEntity,
    JkBmsEntityDescription,
    has_write_register,
    is_supported,
)
from .protocol import RegisterSpec, WriteKind

PARALLEL_UPDATES = 1

MAX_CELLS: Final = 32
MILLIVOLTS_PER_VOLT: Final = 1000.0

# Register-table unit -> (HA unit, device class).
_UNITS: Final[dict[str, tuple[str, NumberDeviceClass | None]]] = {
    "V": (UnitOfElectricPotential.VOLT, NumberDeviceClass.VOLTAGE),
    "A": (UnitOfElectricCurrent.AMPERE, NumberDeviceClass.CURRENT),
    "°C": (UnitOfTemperature.CELSIUS, NumberDeviceClass.TEMPERATURE),
    "µs": (UnitOfTime.MICROSECONDS, NumberDeviceClass.DURATION),  # micro sign
    "μs": (UnitOfTime.MICROSECONDS, NumberDeviceClass.DURATION),  # Greek mu
    "s": (UnitOfTime.SECONDS, NumberDeviceClass.DURATION),
    "min": (UnitOfTime.MINUTES, NumberDeviceClass.DURATION),
    "h": (UnitOfTime.HOURS, NumberDeviceClass.DURATION),
    "%": (PERCENTAGE, None),
    "Ah": ("Ah", None),
    "mΩ": ("mΩ", None),
}


def ha_unit(spec: RegisterSpec) -> tuple[str | None, NumberDeviceClass | None]:
    """Home Assistant unit and device class of a register-table row."""
    if spec.unit is None:
        return None, None
    return _UNITS.get(spec.unit, (spec.unit, None))


@dataclass(frozen=True, kw_only=True)
class JkBmsNumberEntityDescription(JkBmsEntityDescription, NumberEntityDescription):
    """Describes a JK BMS number (range, step and unit: the register table)."""

    in_millivolts: bool = False
    """Show a volt setting in mV (cell differences, as the JK app's owners think)."""


def _setting(
    key: str, *, enabled: bool = False, in_millivolts: bool = False
) -> JkBmsNumberEntityDescription:
    """Describe a setting; ``enabled``: one that commissioning sets (docs/entities.md)."""
    return JkBmsNumberEntityDescription(
        key=key,
        translation_key=key,
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=enabled,
        mode=NumberMode.BOX,
        in_millivolts=in_millivolts,
    )


def _has_cells(count: int) -> Callable[[JkBmsCoordinator], bool]:
    def supported(coordinator: JkBmsCoordinator) -> bool:
        cell_info = coordinator.data.cell_info
        return cell_info is not None and cell_info.cell_count >= count

    return supported


NUMBERS: tuple[JkBmsNumberEntityDescription, ...] = (
    _setting("cell_count", enabled=True),
    _setting("total_battery_capacity", enabled=True),
    _setting("balance_trigger_voltage", enabled=True, in_millivolts=True),
    _setting("balancing_start_voltage", enabled=True),
    _setting("max_balance_current", enabled=True),
    _setting("cell_ovp", enabled=True),
    _setting("cell_ovpr", enabled=True),
    _setting("soc_100_voltage", enabled=True),
    _setting("soc_0_voltage", enabled=True),
    _setting("cell_uvp", enabled=True),
    _setting("cell_uvpr", enabled=True),
    _setting("power_off_voltage"),
    _setting("smart_sleep_voltage"),
    _setting("smart_sleep_time"),
    _setting("max_charge_current", enabled=True),
    _setting("charge_ocp_delay"),
    _setting("charge_ocp_recovery"),
    _setting("max_discharge_current", enabled=True),
    _setting("discharge_ocp_delay"),
    _setting("discharge_ocp_recovery"),
    _setting("discharge_otp"),
    _setting("discharge_otpr"),
    _setting("charge_otp"),
    _setting("charge_otpr"),
    _setting("charge_utp"),
    _setting("charge_utpr"),
    _setting("mosfet_otp"),
    _setting("mosfet_otpr"),
    _setting("discharge_utp"),
    _setting("discharge_utpr"),
    _setting("heating_start_temperature"),
    _setting("heating_stop_temperature"),
    _setting("scp_delay"),
    _setting("scp_recovery"),
    _setting("rcv"),
    _setting("rfv"),
    _setting("rcv_time"),
    _setting("rfv_time"),
    _setting("rebulk_soc"),
    _setting("precharge_time"),
    _setting("emergency_duration"),
    _setting("device_address"),
    _setting("lcd_buzzer_trigger_value"),
    _setting("lcd_buzzer_release_value"),
)

CONNECTION_WIRE_RESISTANCE_NUMBERS: tuple[JkBmsNumberEntityDescription, ...] = tuple(
    JkBmsNumberEntityDescription(
        key=f"connection_wire_resistance_{cell}",
        translation_key="connection_wire_resistance",
        translation_placeholders={"n": str(cell)},
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=False,
        mode=NumberMode.BOX,
        supported_fn=_has_cells(cell),
    )
    for cell in range(1, MAX_CELLS + 1)
)

ALL_NUMBERS = (*NUMBERS, *CONNECTION_WIRE_RESISTANCE_NUMBERS)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: JkBmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create a number for every setting this BMS's variant can write."""
    coordinator = entry.runtime_data
    async_add_entities(
        JkBmsNumber(coordinator, description)
        for description in ALL_NUMBERS
        if is_supported(description, coordinator)
        and has_write_register(coordinator, description.key, WriteKind.NUMBER)
    )


class JkBmsNumber(JkBmsControlEntity, NumberEntity):
    """A setting whose value is what the BMS reads back."""

    entity_description: JkBmsNumberEntityDescription

    def __init__(
        self, coordinator: JkBmsCoordinator, description: JkBmsNumberEntityDescription
    ) -> None:
        """Create the number; range, step and unit from the register table."""
        super().__init__(coordinator, description)
        spec = self._spec
        unit, device_class = ha_unit(spec)
        self._scale = 1.0
        if description.in_millivolts and unit == UnitOfElectricPotential.VOLT:
            self._scale = MILLIVOLTS_PER_VOLT
            unit = UnitOfElectricPotential.MILLIVOLT
        self._attr_native_unit_of_measurement = unit
        self._attr_device_class = device_class
        self._attr_native_min_value = self._shown(spec.minimum)
        self._attr_native_max_value = self._shown(spec.maximum)
        self._attr_native_step = self._shown(spec.step)

    def _shown(self, value: float) -> float:
        """Convert from the register's unit to the unit shown (rounded: no 5.0000001)."""
        if self._scale == 1.0:
            return value
        return round(float(value) * self._scale, 6)

    @property
    @override
    def native_value(self) -> float | None:
        """Return the value the BMS reports."""
        value = self._read_back()
        return float(self._shown(value)) if isinstance(value, int | float) else None

    @override
    def _shown_value(self) -> object:
        return self.native_value

    @override
    async def async_set_native_value(self, value: float) -> None:
        """Write the value; the entity follows once the BMS reads it back."""
        if self._scale != 1.0:
            value = round(value / self._scale, 6)
        if float(self._spec.step).is_integer() and value.is_integer():
            await self._async_write(int(value))
        else:
            await self._async_write(value)
