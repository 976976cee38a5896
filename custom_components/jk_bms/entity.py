"""Base entity and description helpers for the JK BMS integration."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import override

from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.device_registry import CONNECTION_BLUETOOTH, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import MANUFACTURER
from .coordinator import JkBmsCoordinator, JkBmsData
from .freshness import freshness_for, is_due
from .protocol import FrameType, Readback, Value, Variant, WriteKind, registers_for

ALL_VARIANTS = frozenset(Variant)
JK02 = frozenset({Variant.JK02_24S, Variant.JK02_32S})
JK02_32S = frozenset({Variant.JK02_32S})

# "pb" in entities.md: JK02_32S firmware that carries the charge state and dry
# contacts (aiobmsble reads the charge state from software 15 on).
PB_MIN_SOFTWARE_MAJOR = 15

_UNSET = object()


def always(_coordinator: JkBmsCoordinator) -> bool:
    """Entity exists on every device of its variants."""
    return True


def is_pb(coordinator: JkBmsCoordinator) -> bool:
    """Tell whether the BMS runs JK-PB-era firmware (charge state, dry contacts)."""
    major = coordinator.device_info.software_major
    return major is not None and major >= PB_MIN_SOFTWARE_MAJOR


@dataclass(frozen=True, kw_only=True)
class JkBmsEntityDescription(EntityDescription):
    """What every JK BMS entity description has: where it exists."""

    variants: frozenset[Variant] = ALL_VARIANTS
    """Protocol variants that carry the entity (entities.md ``var`` column)."""
    supported_fn: Callable[[JkBmsCoordinator], bool] = always
    """Further condition, checked once on the first data (cells present, firmware)."""
    object_id: str | None = None
    """Entity id suffix to keep when the name says more than the JK cards' id."""


def is_supported(
    description: JkBmsEntityDescription, coordinator: JkBmsCoordinator
) -> bool:
    """Tell whether this BMS gets an entity for ``description``."""
    return coordinator.variant in description.variants and description.supported_fn(
        coordinator
    )


def cell_info_value(key: str) -> Callable[[JkBmsData], Value]:
    """Read ``key`` from the latest cell-info frame."""

    def value(data: JkBmsData) -> Value:
        return None if data.cell_info is None else data.cell_info.entries.get(key)

    return value


def settings_value(key: str) -> Callable[[JkBmsData], Value]:
    """Read ``key`` from the latest settings frame."""

    def value(data: JkBmsData) -> Value:
        return None if data.settings is None else data.settings.entries.get(key)

    return value


def device_info_value(key: str) -> Callable[[JkBmsData], Value]:
    """Read ``key`` from the device-info frame."""

    def value(data: JkBmsData) -> Value:
        return data.device_info.entries.get(key)

    return value


def readback_value(readback: Readback) -> Callable[[JkBmsData], Value]:
    """Read the frame field that shows a written setting's real value."""
    match readback.frame_type:
        case FrameType.CELL_INFO:
            return cell_info_value(readback.key)
        case FrameType.DEVICE_INFO:
            return device_info_value(readback.key)
        case _:
            return settings_value(readback.key)


class JkBmsEntity(CoordinatorEntity[JkBmsCoordinator]):
    """An entity of one JK BMS, fed by its coordinator.

    The coordinator calls its listeners at the configured cadence; an entity writes
    its state when its freshness rule says the change is worth it (freshness.py).
    """

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: JkBmsCoordinator, description: EntityDescription
    ) -> None:
        """Bind the entity to its BMS and describe it."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.address}_{description.key}"
        info = coordinator.device_info
        self._attr_device_info = DeviceInfo(
            connections={(CONNECTION_BLUETOOTH, coordinator.address)},
            manufacturer=MANUFACTURER,
            model=info.model or None,
            hw_version=info.hardware_version or None,
            sw_version=info.software_version or None,
            serial_number=info.serial_number or None,
            name=info.device_name or coordinator.config_entry.title,
        )
        self._freshness = freshness_for(description.key)
        self._last_shown: tuple[bool, object] = (False, _UNSET)
        self._written_at = 0.0

    @property
    @override
    def available(self) -> bool:
        """Available while the BLE link to the BMS is up."""
        return super().available and self.coordinator.link_connected

    @property
    @override
    def suggested_object_id(self) -> str | None:
        """Keep the entity id the JK dashboard cards expect (e.g. ``…_charging``)."""
        description = self.entity_description
        if isinstance(description, JkBmsEntityDescription) and description.object_id:
            return description.object_id
        return super().suggested_object_id

    def _shown_value(self) -> object:
        """Return what this entity currently shows (compared between updates)."""
        raise NotImplementedError

    def _snapshot(self) -> tuple[bool, object]:
        available = self.available
        return available, self._shown_value() if available else None

    @override
    async def async_added_to_hass(self) -> None:
        """Remember the state written when the entity is added."""
        await super().async_added_to_hass()
        self._last_shown = self._snapshot()
        self._written_at = time.monotonic()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Write the state when the change is worth a write (see freshness.py)."""
        shown = self._snapshot()
        now = time.monotonic()
        if not is_due(self._freshness, self._last_shown, shown, now - self._written_at):
            return
        self._last_shown = shown
        self._written_at = now
        self.async_write_ha_state()


def has_write_register(
    coordinator: JkBmsCoordinator, key: str, kind: WriteKind
) -> bool:
    """Tell whether this BMS's variant has a register of ``kind`` for ``key``."""
    spec = registers_for(coordinator.variant).get(key)
    return spec is not None and spec.kind is kind


class JkBmsControlEntity(JkBmsEntity):
    """A writable setting: it shows only what the BMS reads back, never a guess.

    The register row names the frame and field that read the setting back
    (settings, device info, or the streamed cell info).
    """

    def __init__(
        self, coordinator: JkBmsCoordinator, description: EntityDescription
    ) -> None:
        """Bind the control to its register row for this variant."""
        super().__init__(coordinator, description)
        self._spec = registers_for(coordinator.variant)[description.key]
        self._read = readback_value(self._spec.readback)

    def _read_back(self) -> Value:
        """Return the value the BMS reports for this setting now."""
        return self._read(self.coordinator.data)

    async def _async_write(self, value: float | str) -> None:
        """Write the setting; after a rejected or failed write show the BMS's value.

        The frontend keeps what the user typed or toggled until a new state
        arrives, so the unchanged value is written again as a new state.
        """
        try:
            await self.coordinator.async_write(self.entity_description.key, value)
        except HomeAssistantError:
            self._attr_force_update = True
            try:
                self.async_write_ha_state()
            finally:
                self._attr_force_update = False
            raise
