"""The JK BMS integration: JK (Jikong) battery management systems over Bluetooth LE."""

from __future__ import annotations

import logging

from homeassistant.components import bluetooth
from homeassistant.const import CONF_ADDRESS, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .coordinator import JkBmsConfigEntry, JkBmsCoordinator
from .repairs import JkBmsRepairs, async_delete_issues, async_update_connection_issues
from .services import async_setup_services

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once; each call resolves its device to a loaded entry."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: JkBmsConfigEntry) -> bool:
    """Set up a JK BMS from a config entry."""
    address: str = entry.data.get(CONF_ADDRESS) or entry.unique_id or ""
    if not bluetooth.async_ble_device_from_address(hass, address, connectable=True):
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="device_not_found",
            translation_placeholders={
                "reason": bluetooth.async_address_reachability_diagnostics(
                    hass, address, bluetooth.BluetoothReachabilityIntent.CONNECTION
                )
            },
        )
    coordinator = JkBmsCoordinator(hass, entry, address)
    try:
        await coordinator.async_config_entry_first_refresh()
    except ConfigEntryNotReady:
        # Pairing, no free slot, unknown variant: a repair says what to do.
        async_update_connection_issues(hass, entry, address, coordinator.last_exception)
        raise
    entry.runtime_data = coordinator
    _LOGGER.info("%s connected (%s)", coordinator.name, coordinator.connection_mode)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(JkBmsRepairs(hass, entry, coordinator).async_start())
    return True


async def async_unload_entry(hass: HomeAssistant, entry: JkBmsConfigEntry) -> bool:
    """Unload a config entry; the coordinator's shutdown frees the link."""
    # The entities store their state when removed: give them the latest values
    # first (the coordinator's shutdown only runs after the platforms unloaded).
    entry.runtime_data.async_publish_now()
    if not await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        return False
    # The coordinator's shutdown lets go of the link next.
    _LOGGER.info("%s disconnected (unloaded)", entry.runtime_data.name)
    return True


async def async_remove_entry(hass: HomeAssistant, entry: JkBmsConfigEntry) -> None:
    """Forget the entry's repairs (a failed set-up leaves its connection issue)."""
    async_delete_issues(hass, entry)
