"""Sensors of a JK BMS: live status, cells, temperatures, derived energy, device info.

The descriptions are the table in sensor_descriptions.py; this is the platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import override

from homeassistant.components.sensor import RestoreSensor, SensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import JkBmsConfigEntry, JkBmsCoordinator
from .entity import JkBmsEntity, is_supported
from .sensor_descriptions import ALL_SENSORS, JkBmsSensorEntityDescription
from .sensor_values import SensorValue

PARALLEL_UPDATES = 0


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
