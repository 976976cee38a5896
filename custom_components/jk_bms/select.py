"""Selects of a JK BMS (JK02_32S): communication protocols, alarm triggers, port mode.

Options are the protocol's option keys (translated); the current option is what
the BMS reads back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import JkBmsConfigEntry
from .entity import (
    JK02_32S,
    JkBmsControlEntity,
    JkBmsEntityDescription,
    has_write_register,
    is_supported,
)
from .protocol import SELECT_OPTIONS, WriteKind

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class JkBmsSelectEntityDescription(JkBmsEntityDescription, SelectEntityDescription):
    """Describes a JK BMS select (options: the protocol's option table)."""


def _select(key: str, *, enabled: bool = True) -> JkBmsSelectEntityDescription:
    return JkBmsSelectEntityDescription(
        key=key,
        translation_key=key,
        options=list(SELECT_OPTIONS[key]),
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=enabled,
        variants=JK02_32S,
    )


SELECTS: tuple[JkBmsSelectEntityDescription, ...] = (
    _select("uart1_protocol"),
    _select("uart2_protocol"),
    # Not in entities.md's list; only newer hardware has a third UART.
    _select("uart3_protocol", enabled=False),
    _select("can_protocol"),
    _select("lcd_buzzer_trigger"),
    _select("dry1_trigger"),
    _select("dry2_trigger"),
    _select("port_mode"),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: JkBmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the selects this BMS's variant can write."""
    coordinator = entry.runtime_data
    async_add_entities(
        JkBmsSelect(coordinator, description)
        for description in SELECTS
        if is_supported(description, coordinator)
        and has_write_register(coordinator, description.key, WriteKind.SELECT)
    )


class JkBmsSelect(JkBmsControlEntity, SelectEntity):
    """A select whose current option is what the BMS reads back."""

    entity_description: JkBmsSelectEntityDescription

    @property
    @override
    def current_option(self) -> str | None:
        """Return the option the BMS reports (None if it is not a known option)."""
        value = self._read_back()
        return value if isinstance(value, str) and value in self.options else None

    @override
    def _shown_value(self) -> object:
        return self.current_option

    @override
    async def async_select_option(self, option: str) -> None:
        """Write the option; the entity follows once the BMS reads it back."""
        await self._async_write(option)
