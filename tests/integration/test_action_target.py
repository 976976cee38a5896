"""An action's target device: unknown, foreign or unloaded devices are refused with a message.

Home Assistant 2026.10 words these errors itself; before, the integration does
(compat.async_get_config_entry_for_device). Either way the user reads what is
wrong, and the BMS receives nothing.
"""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.jk_bms.const import DOMAIN

from .helpers import setup_bms


async def _refusal(hass: HomeAssistant, device_id: str) -> str:
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "restart", {"device_id": device_id}, blocking=True
        )
    return str(caught.value)


async def test_unknown_device_names_the_id(hass: HomeAssistant, virtual_bms) -> None:
    bms, entry, _ = await setup_bms(hass, virtual_bms)
    start = len(bms.received)
    message = await _refusal(hass, "no-such-device")
    assert "no-such-device" in message
    assert len(bms.received) == start
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_device_of_another_integration_is_named(
    hass: HomeAssistant, virtual_bms
) -> None:
    bms, entry, _ = await setup_bms(hass, virtual_bms)
    other = MockConfigEntry(domain="other_integration", title="Other")
    other.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id,
        identifiers={("other_integration", "lamp-1")},
        name="Hallway lamp",
    )
    start = len(bms.received)
    message = await _refusal(hass, device.id)
    assert "Hallway lamp" in message
    assert "jk_bms" in message or "JK BMS" in message
    assert len(bms.received) == start
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unloaded_entry_is_named(hass: HomeAssistant, virtual_bms) -> None:
    bms, entry, _ = await setup_bms(hass, virtual_bms)
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)
    start = len(bms.received)
    message = await _refusal(hass, device.id)
    assert entry.title in message
    assert "not loaded" in message or "not set up" in message
    assert len(bms.received) == start
