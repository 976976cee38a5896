"""The BLE link as a user meets it: pairing, stalls, backoff, lost acks, GATT errors.

Everything runs through the virtual proxy and BMS; bleak is patched only for a
GATT error the virtual BMS cannot produce.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from unittest.mock import AsyncMock, patch

import pytest
from bleak import BleakClient
from bleak.exc import BleakError
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from custom_components.jk_bms.const import (
    CONF_CONNECTION_MODE,
    CONF_PAIR,
    CONF_POLL_INTERVAL,
    CONF_UPDATE_INTERVAL,
)
from custom_components.jk_bms.protocol import Variant, checksum
from virtual_bms.profiles import find_profile

from .helpers import TICKING, add_entry, fire, setup_bms, state_of

CLIENT = "custom_components.jk_bms.protocol.client"


@pytest.mark.usefixtures("no_backoff")
async def test_pairing_required_needs_the_pair_option(
    hass: HomeAssistant, virtual_bms
) -> None:
    """19.3x firmware on BlueZ: no link without bonding; the pair option sets it up."""
    bms = virtual_bms(stream_interval=0.01)
    bms.faults.require_pairing = True
    entry = add_entry(hass, bms)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert bms.connections == 0

    hass.config_entries.async_update_entry(entry, options={CONF_PAIR: True})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert bms.connected
    assert state_of(hass, "sensor", bms.address, "total_voltage") != STATE_UNAVAILABLE
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("no_backoff")
@TICKING
async def test_stream_that_stays_stalled_reconnects(
    hass: HomeAssistant, virtual_bms, freezer: FrozenDateTimeFactory
) -> None:
    """The BMS answers 0x96 but never streams again: not frozen values, a reconnect."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)  # stream stopped
    connections = bms.connections
    requests = len(bms.commands(0x96))
    freezer.tick(60)
    fire(hass, 11)  # watchdog: try to restart the stream first
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(bms.commands(0x96)) == requests + 1
    assert coordinator.link_connected

    fire(hass, 22)  # still no cell frame: drop the link
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not coordinator.link_connected
    assert state_of(hass, "sensor", bms.address, "total_voltage") == (STATE_UNAVAILABLE)

    bms.faults.stop_streaming = False
    fire(hass, 25)  # the first reconnect, 2 s later
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.link_connected
    assert bms.connections == connections + 1
    assert state_of(hass, "sensor", bms.address, "total_voltage") != (STATE_UNAVAILABLE)

    # A stream that is flowing again is not restarted.
    requests = len(bms.commands(0x96))
    fire(hass, 33)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(bms.commands(0x96)) == requests
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("no_backoff")
async def test_reconnect_backoff_doubles_up_to_five_minutes(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Out of range: attempts after 2, 4, 8 … s, never more than 5 min apart."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    stats = coordinator.session.stats
    bms.faults.refuse_connections = True
    bms.drop_link()
    await hass.async_block_till_done(wait_background_tasks=True)

    # (async_fire_time_changed fires up to about a second early: checkpoints
    # sit at least a second before each expected attempt.)
    attempts = []
    for seconds in (0.5, 2.5, 2.9, 4.5, 6.9, 8.5):
        fire(hass, seconds)
        await hass.async_block_till_done(wait_background_tasks=True)
        attempts.append(stats.connect_failures)
    assert attempts == [0, 1, 1, 2, 2, 3]

    for seconds in (16.6, 32.6, 64.6, 128.6, 256.6):  # hours out of range
        fire(hass, seconds)
        await hass.async_block_till_done(wait_background_tasks=True)
    failures = stats.connect_failures
    assert failures == 8
    fire(hass, 298)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert stats.connect_failures == failures
    fire(hass, 301)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert stats.connect_failures == failures + 1

    bms.faults.refuse_connections = False
    bms.faults.stop_streaming = False
    fire(hass, 602)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.link_connected
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_lost_ack_of_a_request_is_tolerated(
    hass: HomeAssistant, virtual_bms
) -> None:
    """A settings refresh whose ack never comes still updates; the next write confirms."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    bms.settings["cell_ovp"] = 3.6  # changed in the JK app
    bms.faults.skip_next_acks = 1
    await coordinator.async_refresh_settings()
    assert coordinator.data.settings is not None
    assert coordinator.data.settings["cell_ovp"] == pytest.approx(3.6)
    assert coordinator.diagnostics()["link"]["missing_acks"] == 1

    await coordinator.async_write("charging", False)
    assert bms.settings["charging"] is False
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_emergency_write_without_a_stream_fails_then_shows(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Emergency reads back from the stream: a stalled stream is a failed write."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms, "JK-PB2A16S20P")
    with (
        patch(f"{CLIENT}.REQUEST_TIMEOUT", 0.2),
        pytest.raises(HomeAssistantError) as caught,
    ):
        await coordinator.async_write("emergency", True)
    assert caught.value.translation_key == "write_failed"
    assert coordinator.snapshot.cell_info is not None
    assert coordinator.snapshot.cell_info.emergency is False

    await bms.push_cell_info()  # the stream is back: what the BMS did shows
    await hass.async_block_till_done()
    assert coordinator.snapshot.cell_info.emergency is True
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_stream_that_does_not_start_at_once(
    hass: HomeAssistant, virtual_bms
) -> None:
    """No cell frame after the first 0x96: ask again, and the set-up still succeeds."""
    bms = virtual_bms(stream_interval=0.01)
    bms.faults.stop_streaming = True

    def start() -> None:
        bms.faults.stop_streaming = False

    hass.loop.call_later(0.3, start)
    entry = add_entry(hass, bms)
    with patch(f"{CLIENT}.REQUEST_TIMEOUT", 0.2):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert len(bms.commands(0x96)) == 2
    assert state_of(hass, "sensor", bms.address, "total_voltage") != STATE_UNAVAILABLE
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unknown_firmware_takes_the_variant_from_the_frames(
    hass: HomeAssistant, virtual_bms
) -> None:
    """A software version nobody has seen: the cell frames tell the variant."""
    profile = find_profile("JK-B2A8S20P")
    profile = replace(
        profile, device_info={**profile.device_info, "software_version": "abc"}
    )
    bms, entry, coordinator = await setup_bms(hass, virtual_bms, profile)
    assert coordinator.device_info.variant is None
    assert coordinator.variant is Variant.JK02_32S
    assert state_of(hass, "sensor", bms.address, "total_voltage") != STATE_UNAVAILABLE
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_gatt_write_error_is_a_failed_write(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The proxy reports a GATT error: write_failed, and the BMS's value stays shown."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    await (
        coordinator.async_refresh_settings()
    )  # confirmed: the write reads nothing first
    before = coordinator.data.settings.get("charging")
    with patch.object(
        BleakClient,
        "write_gatt_char",
        AsyncMock(side_effect=BleakError("GATT error 133")),
    ):
        with pytest.raises(HomeAssistantError) as caught:
            await coordinator.async_write("charging", not before)
        assert caught.value.translation_key == "write_failed"
        assert "GATT error 133" in str(caught.value.translation_placeholders)
        fire(hass, 2)  # the re-read after the failure fails the same way
        await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.session.stats.write_failures == 1
    assert bms.settings["charging"] is before
    assert coordinator.data.settings.get("charging") is before
    await asyncio.sleep(0)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_implausible_cell_frame_is_dropped_and_counted(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Garbage with a lucky checksum never reaches the entities."""
    bms, entry, coordinator = await setup_bms(
        hass, virtual_bms, options={CONF_UPDATE_INTERVAL: 1}
    )
    good = await bms.push_cell_info()
    fire(hass, 2)
    await hass.async_block_till_done(wait_background_tasks=True)
    cell_1 = state_of(hass, "sensor", bms.address, "cell_voltage_1")
    total = state_of(hass, "sensor", bms.address, "total_voltage")
    assert 2.5 < float(cell_1) < 4.5

    garbage = bytearray(good)
    garbage[6:8] = (9900).to_bytes(2, "little")  # cell 1: 9.9 V
    garbage[-1] = checksum(bytes(garbage[:-1]))  # the 1-in-256 lucky checksum
    await bms.push_frame(bytes(garbage))
    fire(hass, 4)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert state_of(hass, "sensor", bms.address, "cell_voltage_1") == cell_1
    assert state_of(hass, "sensor", bms.address, "total_voltage") == total
    link = coordinator.diagnostics()["link"]
    assert link["implausible_frames"] == 1
    assert link["decode_errors"] == 0
    assert coordinator.diagnostics()["parser"]["bad_checksum"] == 0
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_poll_skips_an_implausible_first_cell_frame(
    hass: HomeAssistant, virtual_bms
) -> None:
    """In poll mode the first cell frame is all a poll reads: garbage must not pass."""
    bms, entry, coordinator = await setup_bms(
        hass,
        virtual_bms,
        options={CONF_CONNECTION_MODE: "poll", CONF_POLL_INTERVAL: 30},
    )
    assert not bms.connected
    bms.faults.stop_streaming = False  # set-up's helper stopped it; polls need it
    bms.faults.garble_next_cell_frames = 1
    fire(hass, 31)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert coordinator.last_update_success
    cell_1 = float(state_of(hass, "sensor", bms.address, "cell_voltage_1"))
    assert 2.5 < cell_1 < 4.5  # the next, plausible frame; never 9.9 V
    assert coordinator.diagnostics()["link"]["implausible_frames"] == 1
    assert await hass.config_entries.async_unload(entry.entry_id)
