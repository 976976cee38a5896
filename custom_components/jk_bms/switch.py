"""Switches of a JK BMS: charge/discharge MOSFET enables, balancer, 32S control bits.

The state always comes from the BMS (settings frame, or the cell-info frame for
emergency mode): a switch changes only once the BMS reads the new value back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import JkBmsConfigEntry
from .entity import (
    JK02,
    JK02_32S,
    JkBmsControlEntity,
    JkBmsEntityDescription,
    has_write_register,
    is_supported,
)
from .protocol import WriteKind

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class JkBmsSwitchEntityDescription(JkBmsEntityDescription, SwitchEntityDescription):
    """Describes a JK BMS switch (its register comes from the protocol's table)."""


def _control_bit(key: str) -> JkBmsSwitchEntityDescription:
    """Describe a JK02_32S control bit (settings 282-283): advanced, off by default."""
    return JkBmsSwitchEntityDescription(
        key=key,
        translation_key=key,
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
    )


SWITCHES: tuple[JkBmsSwitchEntityDescription, ...] = (
    JkBmsSwitchEntityDescription(
        key="charging", translation_key="charging", variants=JK02
    ),
    JkBmsSwitchEntityDescription(
        key="discharging", translation_key="discharging", variants=JK02
    ),
    JkBmsSwitchEntityDescription(key="balancer", translation_key="balancer"),
    JkBmsSwitchEntityDescription(
        key="heating",
        translation_key="heating",
        entity_category=EntityCategory.CONFIG,
        variants=JK02_32S,
    ),
    _control_bit("emergency"),
    _control_bit("display_always_on"),
    _control_bit("smart_sleep"),
    _control_bit("disable_temperature_sensors"),
    _control_bit("disable_pcl_module"),
    _control_bit("timed_stored_data"),
    _control_bit("charging_float_mode"),
    _control_bit("button_triggers_emergency"),
    _control_bit("dry_contact_alarm_intermittent"),
    _control_bit("discharge_ocp_2"),
    _control_bit("discharge_ocp_3"),
    _control_bit("gps_heartbeat"),
    _control_bit("special_charger"),
    _control_bit("gps_locked_charging"),
    _control_bit("gps_locked_discharging"),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: JkBmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the switches this BMS's variant can write."""
    coordinator = entry.runtime_data
    async_add_entities(
        JkBmsSwitch(coordinator, description)
        for description in SWITCHES
        if is_supported(description, coordinator)
        and has_write_register(coordinator, description.key, WriteKind.SWITCH)
    )


class JkBmsSwitch(JkBmsControlEntity, SwitchEntity):
    """A switch whose state is what the BMS reads back."""

    entity_description: JkBmsSwitchEntityDescription

    @property
    @override
    def is_on(self) -> bool | None:
        """Return the state the BMS reports."""
        value = self._read_back()
        return None if value is None else bool(value)

    @override
    def _shown_value(self) -> object:
        return self.is_on

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch on; the state follows once the BMS reads it back."""
        await self._async_write(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch off; the state follows once the BMS reads it back."""
        await self._async_write(False)
