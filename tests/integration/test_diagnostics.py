"""Diagnostics: variant, firmware, link, raw frames, settings; no secret leaves."""

from __future__ import annotations

import asyncio
import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from .helpers import FROZEN, add_entry

PIN = "8642"
SETTINGS_PASSWORD = "975310"  # noqa: S105 - a test value that must never leak


async def _setup(hass: HomeAssistant, virtual_bms, model: str = "JK-B2A8S20P"):
    """Set up with a hand-fed stream, so every byte is repeatable."""
    bms = virtual_bms(
        model,
        stream_interval=None,
        pin=PIN,
        settings_password=SETTINGS_PASSWORD,
        name="Garage battery",
    )
    entry = add_entry(hass, bms)
    setup = hass.async_create_task(hass.config_entries.async_setup(entry.entry_id))
    for _ in range(1000):  # until the handshake's 0x96 started the stream
        if bms.streaming:
            break
        await asyncio.sleep(0)
    await bms.push_cell_info(advance_s=0)
    assert await setup
    await hass.async_block_till_done()
    return bms, entry


@FROZEN  # no time passes between the frames: every value repeats
async def test_diagnostics_snapshot(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    virtual_bms,
    snapshot: SnapshotAssertion,
) -> None:
    """The download from the device page, as a snapshot."""
    _, entry = await _setup(hass, virtual_bms)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics == snapshot(exclude=props("last_connect_seconds"))
    assert await hass.config_entries.async_unload(entry.entry_id)


@FROZEN
async def test_diagnostics_never_contain_secrets(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, virtual_bms
) -> None:
    """No PIN, settings password, serial, address or name, in text or in hex."""
    bms, entry = await _setup(hass, virtual_bms, "JK-PB2A16S20P")
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    compact = text.replace(" ", "").lower()
    coordinator = entry.runtime_data
    info = coordinator.device_info
    assert info.serial_number
    assert info.pin == PIN
    secrets = [
        PIN,
        SETTINGS_PASSWORD,
        info.serial_number,
        info.passcode,
        "Garage battery",
        bms.address,
        bms.address.replace(":", ""),
    ]
    for secret in filter(None, secrets):
        assert secret.lower() not in text.lower(), secret
        assert secret.encode().hex() not in compact, secret
    assert diagnostics["variant"] == "JK02_32S"
    assert diagnostics["firmware"] == info.software_version
    assert diagnostics["frames"]["cell_info"]["decoded"]["total_voltage"] > 0
    assert diagnostics["link"]["link"]["connects"] == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_diagnostics_include_a_logbook_once_read(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, virtual_bms
) -> None:
    """The 32S logbook (0xA1, read at connect by the BMS event entity) is in the download."""
    _, entry = await _setup(hass, virtual_bms)
    logbook = await entry.runtime_data.async_request_logbook()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    frame = diagnostics["frames"]["logbook"]
    entries = frame["decoded"]["entries"]
    # The captured unit's boot and factory-preset entries (its two later ones
    # lie beyond this BMS's runtime, so the virtual BMS does not carry them).
    assert len(entries) == len(logbook.entries) == 2
    assert entries[0] == {"timestamp_s": 0, "code": 1, "event": "Boot"}
    assert entries[1]["event"] == "Factory setting LFP"
    assert frame["hex"].startswith("55 aa eb 90 05")
    assert await hass.config_entries.async_unload(entry.entry_id)
