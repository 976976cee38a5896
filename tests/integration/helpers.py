"""The integration tests' one set-up: a virtual BMS behind the virtual proxy, its entry, time.

Every test module sets up through these (fixtures such as ``no_backoff`` live in
conftest.py):

* ``add_entry(hass, bms, **options)``: the config entry the config flow creates.
* ``start(hass, entry, bms)``: set it up, let everything settle, then stop the
  BMS's stream: from there on the test pushes every cell frame itself.
* ``setup_bms(hass, virtual_bms, model, ...)``: a virtual BMS, its entry, set up;
  hand-fed frames by default, or ``live=True`` for a stream every 0.05 s of a pack
  that stays still between frames.

Time: ``fire(hass, seconds)`` runs Home Assistant's timers (and the session's) that
are due by then. A test that needs the clocks themselves to move (receive times,
the stall watchdog, the energy integration) freezes time with pytest-freezer
(``@FROZEN`` or ``@TICKING`` and the ``freezer`` fixture) and moves time with
``freezer.tick(seconds)``: Home Assistant's event loop reads the same frozen
``time.monotonic`` as the session and the entities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_ADDRESS, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.coordinator import JkBmsCoordinator
from virtual_bms.device import VirtualJkBms

DEFAULT_MODEL = "JK-B2A8S20P"

# Frozen from the start (the marker puts ``freezer`` before ``hass``), so that
# every timer of the test's event loop is on the frozen clock. FROZEN stands
# still between ticks (exact receive times: pass ``freezer`` to the set-up);
# TICKING runs on at the real pace between ticks (links that come and go).
START = "2026-12-01T12:00:00+00:00"
FROZEN = pytest.mark.freeze_time(START)
TICKING = pytest.mark.freeze_time(START, tick=True)
# On a frozen clock the set-up moves time in steps this long (the virtual BMS
# streams every 0.01 s during a set-up), for at most this long.
SETUP_STEP = timedelta(seconds=0.01)
SETUP_LIMIT = 3000  # steps: 30 s


class Clock:
    """The older way (tests not moved to FROZEN yet): the session's own clock."""

    def __init__(self) -> None:
        """Start somewhere."""
        self.now = 1000.0

    def monotonic(self) -> float:
        """Return the current time."""
        return self.now


@contextmanager
def session_clock(clock: Clock) -> Iterator[Clock]:
    """Move only the session's receive times (patches its ``time``; see FROZEN)."""
    with patch("custom_components.jk_bms.protocol.link.time", clock):
        yield clock


async def _while_time_moves(
    hass: HomeAssistant,
    job: Coroutine[Any, Any, bool],
    freezer: FrozenDateTimeFactory | None,
) -> bool:
    """Await ``job``; on a frozen clock, move time on in small steps meanwhile.

    The virtual BMS streams on the event loop's timers, which a frozen clock
    stops: without the steps a set-up would wait for its first cell frame forever.
    """
    if freezer is None:
        return await job
    # A tick inside a step reads to asyncio's debug mode as a step that took
    # that long: with a frozen clock, that says nothing about slow callbacks.
    hass.loop.slow_callback_duration = float("inf")
    task = hass.async_create_task(job)
    for _ in range(SETUP_LIMIT):
        if task.done():
            break
        freezer.tick(SETUP_STEP)
        async_fire_time_changed(hass)
        await asyncio.sleep(0)
    assert task.done(), "the set-up still waits after 30 s of frozen time"
    return task.result()


def add_entry(
    hass: HomeAssistant, bms: VirtualJkBms, **options: Any
) -> MockConfigEntry:
    """A config entry for ``bms`` as the config flow creates it."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=bms.local_name,
        unique_id=bms.address,
        data={CONF_ADDRESS: bms.address},
        options=options,
    )
    entry.add_to_hass(hass)
    return entry


@contextmanager
def only_platforms(platforms: list[Platform] | None) -> Iterator[None]:
    """Load just these platforms (None: all of them)."""
    if platforms is None:
        yield
        return
    with patch("custom_components.jk_bms.PLATFORMS", platforms):
        yield


async def start(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    bms: VirtualJkBms | None = None,
    *,
    platforms: list[Platform] | None = None,
    reload: bool = False,
    freezer: FrozenDateTimeFactory | None = None,
) -> bool:
    """Set ``entry`` up (or reload it) and let everything settle.

    With ``bms``, it streams during the set-up (the handshake waits for a cell
    frame) and stops afterwards: the test pushes every further cell frame itself.
    With ``freezer`` (time frozen), time moves in small steps until it is set up.
    """
    if bms is not None:
        bms.faults.stop_streaming = False
    with only_platforms(platforms):
        if reload:
            job = hass.config_entries.async_reload(entry.entry_id)
        else:
            job = hass.config_entries.async_setup(entry.entry_id)
        result = await _while_time_moves(hass, job, freezer)
        await hass.async_block_till_done(wait_background_tasks=True)
    if bms is not None:
        bms.faults.stop_streaming = True
        await bms.flush()
    return result


async def setup_bms(
    hass: HomeAssistant,
    virtual_bms: Any,
    model: str = DEFAULT_MODEL,
    *,
    options: dict[str, Any] | None = None,
    live: bool = False,
    platforms: list[Platform] | None = None,
    freezer: FrozenDateTimeFactory | None = None,
    **bms_options: Any,
) -> tuple[VirtualJkBms, MockConfigEntry, JkBmsCoordinator]:
    """Set up one virtual ``model``; ``bms_options`` go to the virtual BMS.

    Hand-fed (default): afterwards the test pushes every cell frame itself.
    ``live``: it streams every 0.05 s, and its pack stays still between frames.
    ``freezer``: time is frozen (see ``FROZEN``).
    """
    if live:
        bms_options.setdefault("time_scale", 0)
    bms: VirtualJkBms = virtual_bms(
        model, stream_interval=0.05 if live else 0.01, **bms_options
    )
    entry = add_entry(hass, bms, **(options or {}))
    assert await start(
        hass, entry, None if live else bms, platforms=platforms, freezer=freezer
    )
    return bms, entry, coordinator_of(entry)


def coordinator_of(entry: MockConfigEntry) -> JkBmsCoordinator:
    """The entry's coordinator."""
    coordinator: JkBmsCoordinator = entry.runtime_data
    return coordinator


def fire(hass: HomeAssistant, seconds: float) -> None:
    """Move Home Assistant's timers forward."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))


def entity_id(hass: HomeAssistant, platform: str, address: str, key: str) -> str | None:
    """Entity id of one key of one BMS."""
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{address}_{key}")


def state_of(hass: HomeAssistant, platform: str, address: str, key: str) -> str:
    """State of one key of one BMS."""
    eid = entity_id(hass, platform, address, key)
    assert eid is not None, f"no {platform} entity for {key}"
    state = hass.states.get(eid)
    assert state is not None
    return state.state
