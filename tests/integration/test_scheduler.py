"""Connection turns per proxy: many BMS on a few slots take turns instead of failing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.jk_bms.const import (
    CONF_CONNECTION_MODE,
    CONF_POLL_INTERVAL,
)
from custom_components.jk_bms.coordinator import JkBmsCoordinator
from custom_components.jk_bms.scheduler import (
    CONF_LEAVE_SLOT_FREE,
    DATA_SCHEDULER,
    NoTurnError,
    async_get_scheduler,
)
from virtual_bms.proxy import VirtualProxy

from .helpers import add_entry

POLL_INTERVAL = 30


class SlotWatch:
    """Records the most slots the proxy ever had in use, and refused attempts."""

    def __init__(self, proxy: VirtualProxy) -> None:
        self.peak = 0
        self.refused = 0
        original = proxy.reserve_slot

        def reserve(address: str) -> bool:
            granted = original(address)
            self.refused += not granted
            self.peak = max(self.peak, len(proxy.allocated))
            return granted

        proxy.reserve_slot = reserve  # type: ignore[method-assign]


def _unavailable(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    registry = er.async_get(hass)
    return [
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if (state := hass.states.get(e.entity_id)) is not None
        and state.state == STATE_UNAVAILABLE
    ]


# ------------------------------------------------------------ 12 BMS, 3 slots


async def test_twelve_polling_bms_share_three_slots(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Every BMS gets fresh data every interval; no out-of-slot error, nobody unavailable."""
    assert virtual_proxy.slots == 3
    virtual_proxy.connect_delay = 0.02  # connections overlap, as over a real proxy
    watch = SlotWatch(virtual_proxy)
    devices = [virtual_bms(stream_interval=0.01) for _ in range(12)]
    entries = [
        add_entry(
            hass,
            bms,
            **{CONF_CONNECTION_MODE: "poll", CONF_POLL_INTERVAL: POLL_INTERVAL},
        )
        for bms in devices
    ]
    # Loading the integration sets all twelve up at once (a Home Assistant start).
    assert await hass.config_entries.async_setup(entries[0].entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e.state for e in entries] == [ConfigEntryState.LOADED] * 12

    now = dt_util.utcnow()
    for cycle in range(1, 4):
        before = [bms.connections for bms in devices]
        async_fire_time_changed(
            hass, now + timedelta(seconds=cycle * POLL_INTERVAL + 1)
        )
        await hass.async_block_till_done(wait_background_tasks=True)
        assert [
            bms.connections - b for bms, b in zip(devices, before, strict=True)
        ] == [1] * 12, f"cycle {cycle}: every BMS polled once"
        for entry in entries:
            coordinator: JkBmsCoordinator = entry.runtime_data
            assert coordinator.last_update_success
            assert _unavailable(hass, entry) == []
        assert not any(bms.connected for bms in devices)

    assert watch.peak == 3  # used every slot ...
    assert watch.refused == 0  # ... and never asked the proxy for a fourth
    stats = hass.data[DATA_SCHEDULER].stats()[virtual_proxy.source]
    assert stats["granted"] == 12 * 4
    assert stats["waited"] > 0
    assert stats["holding"] == 0
    assert stats["waiting"] == 0
    for entry in entries:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_streaming_bms_leave_a_slot_free(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Streams asked to leave a slot free never take the last one; a poller still gets in."""
    streams = [virtual_bms(stream_interval=0.05) for _ in range(3)]
    poller = virtual_bms(stream_interval=0.01)
    options = {CONF_LEAVE_SLOT_FREE: True}
    first, second, third = (add_entry(hass, bms, **options) for bms in streams)
    with patch("custom_components.jk_bms.scheduler.STREAM_TURN_TIMEOUT", 0.2):
        # Loading the integration sets the three up at once.
        await hass.config_entries.async_setup(first.entry_id)
        await hass.async_block_till_done()
        assert first.state is ConfigEntryState.LOADED
        assert second.state is ConfigEntryState.LOADED
        # Two streams hold two of three slots: the third would take the last one.
        assert third.state is ConfigEntryState.SETUP_RETRY
        assert not streams[2].connected
        assert virtual_proxy.connect_attempts.get(streams[2].address) is None
        assert virtual_proxy.free_slots == 1

        # The free slot is what a poller (or the phone app) uses.
        polled = add_entry(
            hass,
            poller,
            **{CONF_CONNECTION_MODE: "poll", CONF_POLL_INTERVAL: POLL_INTERVAL},
        )
        await hass.config_entries.async_setup(polled.entry_id)
        await hass.async_block_till_done()
        assert polled.state is ConfigEntryState.LOADED
        async_fire_time_changed(
            hass, dt_util.utcnow() + timedelta(seconds=POLL_INTERVAL + 1)
        )
        await hass.async_block_till_done()
        assert polled.runtime_data.last_update_success
        # The poll lets go of its slot as it ends; on a loaded machine the
        # disconnect may still be on its way when the poll reports success.
        await _until(lambda: virtual_proxy.free_slots == 1)
        assert virtual_proxy.free_slots == 1
    for entry in (first, second, polled):
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_streams_without_the_option_take_every_slot(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Without the option a stream may take the last slot (the old behaviour)."""
    streams = [virtual_bms(stream_interval=0.05) for _ in range(3)]
    entries = [add_entry(hass, bms) for bms in streams]
    await hass.config_entries.async_setup(entries[0].entry_id)
    await hass.async_block_till_done()
    assert all(e.state is ConfigEntryState.LOADED for e in entries)
    assert virtual_proxy.free_slots == 0
    for entry in entries:
        assert await hass.config_entries.async_unload(entry.entry_id)


# ------------------------------------------------------------- the scheduler


async def _until(condition: Callable[[], bool], attempts: int = 200) -> None:
    """Yield to the loop until ``condition`` holds (bounded; the caller asserts)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)


async def _spin() -> None:
    """Let woken tasks run (a grant resolves a future, the waiter resumes later)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def _held(hold: asyncio.Event, scheduler, address: str, **kwargs: Any) -> None:
    async with scheduler.turn(address, **kwargs):
        await hold.wait()


async def test_turns_oldest_due_first(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Three turns at once on three slots; the rest in the order they became due."""
    scheduler = async_get_scheduler(hass)
    devices = [virtual_bms() for _ in range(6)]
    release = [asyncio.Event() for _ in devices]
    order: list[int] = []

    async def take(index: int, due: float) -> None:
        async with scheduler.turn(devices[index].address, due=due):
            order.append(index)
            await release[index].wait()

    loop_now = hass.loop.time()
    tasks = [
        hass.async_create_task(take(i, loop_now + due))
        for i, due in enumerate((0, 1, 2, 9, 5, 7))
    ]
    try:
        await _spin()
        assert order == [0, 1, 2]
        assert scheduler.free(virtual_proxy.source) == 0
        for index in (0, 1, 2):
            release[index].set()
            await _spin()
        assert order == [0, 1, 2, 4, 5, 3]  # due 5, 7, 9
    finally:
        for event in release:
            event.set()
        await asyncio.gather(*tasks)
    assert scheduler.free(virtual_proxy.source) == 3


async def test_other_connections_count(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Slots used by others (reported by the proxy) are not handed out; their release wakes us."""
    scheduler = async_get_scheduler(hass)
    bms = virtual_bms()
    for other in ("AA:00:00:00:00:01", "AA:00:00:00:00:02", "AA:00:00:00:00:03"):
        assert virtual_proxy.reserve_slot(other)
    assert scheduler.free(virtual_proxy.source) == 0
    granted = asyncio.Event()

    async def take() -> None:
        async with scheduler.turn(bms.address):
            granted.set()

    task = hass.async_create_task(take())
    await _spin()
    assert not granted.is_set()
    virtual_proxy.release_slot("AA:00:00:00:00:02")  # the proxy reports it
    await task
    assert granted.is_set()


async def test_reported_slot_count_is_used(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """A proxy that reports 5 slots gets 5 turns at once; unknown sources get the default."""
    virtual_proxy.slots = 5
    virtual_proxy.release_slot("nobody")  # no-op; report the new count
    virtual_proxy._report_allocations()
    scheduler = async_get_scheduler(hass)
    assert scheduler.slots(virtual_proxy.source) == 5
    assert scheduler.slots("11:22:33:44:55:66") == 3


async def test_leave_free_waits_for_two_free_slots(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """A turn that must leave one free is not granted on the last slot, and not overtaken."""
    scheduler = async_get_scheduler(hass)
    first, second, stream, poller = (virtual_bms() for _ in range(4))
    hold = asyncio.Event()
    holders = [
        hass.async_create_task(_held(hold, scheduler, bms.address))
        for bms in (first, second)
    ]
    await _spin()
    assert scheduler.free(virtual_proxy.source) == 1
    stream_hold = asyncio.Event()
    stream_task = hass.async_create_task(
        _held(stream_hold, scheduler, stream.address, leave_free=1)
    )
    poll_task = hass.async_create_task(
        _held(asyncio.Event(), scheduler, poller.address)
    )
    try:
        await _spin()
        stats = scheduler.stats()[virtual_proxy.source]
        # The stream needs two free (one stays free); the poller is not let past it.
        assert stats["holding"] == 2
        assert stats["waiting"] == 2
        hold.set()
        await asyncio.gather(*holders)
        await _spin()
        # Both fit now (3 free: the stream takes one and leaves two, the poller one).
        assert scheduler.stats()[virtual_proxy.source]["holding"] == 2
    finally:
        hold.set()
        stream_hold.set()
        await stream_task
        poll_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll_task
    assert scheduler.stats()[virtual_proxy.source]["holding"] == 0


async def test_no_turn_in_time(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """A request that waits longer than max_wait fails and leaves the queue."""
    scheduler = async_get_scheduler(hass)
    bms = virtual_bms()
    for other in ("AA:00:00:00:00:01", "AA:00:00:00:00:02", "AA:00:00:00:00:03"):
        virtual_proxy.reserve_slot(other)
    with pytest.raises(NoTurnError):
        async with scheduler.turn(bms.address, max_wait=0.01):
            pytest.fail("granted without a free slot")
    assert scheduler.stats()[virtual_proxy.source]["waiting"] == 0


async def test_unreachable_address_is_not_queued(hass: HomeAssistant) -> None:
    """No source known (never advertised): the connect attempt itself reports why."""
    scheduler = async_get_scheduler(hass)
    async with scheduler.turn("C8:47:8C:FF:FF:FF"):
        pass
    assert scheduler.stats() == {}


async def test_shutdown_stops_listening(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """The scheduler lets go of the manager's allocation callback (idempotent)."""
    scheduler = async_get_scheduler(hass)
    bms = virtual_bms()
    async with scheduler.turn(bms.address):
        assert scheduler.stats()[virtual_proxy.source]["holding"] == 1
    scheduler.async_shutdown()
    scheduler.async_shutdown()
    virtual_proxy.reserve_slot("AA:00:00:00:00:09")  # no callback into the scheduler
    assert scheduler.free(virtual_proxy.source) == 2
