"""Many BMS per proxy: 12 polling BMS behind one virtual proxy with 3 slots.

Realistic link timing (1 s connection set-up, 0.5 s frame interval). Run once
with the per-proxy connection scheduler and once without it (every coordinator
connects when its interval is up, as before the scheduler): how stale each
BMS's data gets, how often the proxy refuses a connection for want of a slot,
and how often an entity goes unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

from habluetooth.wrappers import HaBleakClientWrapper
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, EventStateChangedData, callback

from custom_components.jk_bms.const import CONF_CONNECTION_MODE, CONF_POLL_INTERVAL
from custom_components.jk_bms.scheduler import DATA_SCHEDULER

from .harness import home_assistant

BMS_COUNT = 12
SLOTS = 3
POLL_INTERVAL_S = 30


@dataclass(frozen=True, slots=True)
class ManyBmsFigures:
    """One run of 12 polling BMS on one 3-slot proxy."""

    scheduler: bool
    window_s: float
    loaded: int  # entries set up (not retrying) at the end
    polls_ok: int
    polls_failed: int
    refused_connects: int  # the proxy had no free slot
    unavailable_events: int  # entity state changes to unavailable
    worst_staleness_s: float  # longest time a BMS went without fresh data
    all_fresh_after_s: float | None  # start → every BMS has delivered data once
    longest_turn_wait_s: float | None
    peak_slots_in_use: int


class _Watch:
    """Counts connection attempts that failed for want of a slot, and peak use."""

    def __init__(self, instance: Any, stack: contextlib.ExitStack) -> None:
        self.refused = 0
        self.peak = 0
        proxy = instance.proxy
        original_reserve = proxy.reserve_slot

        def reserve(address: str) -> bool:
            granted: bool = original_reserve(address)
            self.refused += not granted
            self.peak = max(self.peak, len(proxy.allocated))
            return granted

        proxy.reserve_slot = reserve
        # Home Assistant's wrapper refuses before the proxy is even asked when
        # the proxy reports no free slot (BleakOutOfConnectionSlotsError).
        original_connect = HaBleakClientWrapper.connect

        async def connect(wrapper: HaBleakClientWrapper, **kwargs: Any) -> None:
            try:
                await original_connect(wrapper, **kwargs)
            except Exception as err:
                if "slot" in str(err):
                    self.refused += 1
                raise

        stack.enter_context(patch.object(HaBleakClientWrapper, "connect", connect))


async def run(workdir: Path, *, scheduler: bool, window_s: float) -> ManyBmsFigures:
    """Set 12 polling BMS up at once and watch them for ``window_s``."""
    with contextlib.ExitStack() as stack:
        if not scheduler:
            stack.enter_context(
                patch(
                    "custom_components.jk_bms.link_commands.async_connection_turn",
                    lambda *_a, **_k: contextlib.nullcontext(),
                )
            )
        async with home_assistant(
            workdir / f"many-{scheduler}", slots=SLOTS
        ) as instance:
            hass = instance.hass
            watch = _Watch(instance, stack)
            options = {
                CONF_CONNECTION_MODE: "poll",
                CONF_POLL_INTERVAL: POLL_INTERVAL_S,
            }
            entries = [
                instance.add_entry(instance.add_bms(i + 1), **options)
                for i in range(BMS_COUNT)
            ]
            fresh: dict[str, list[float]] = defaultdict(list)
            ok = failed = unavailable = 0
            start = time.perf_counter()

            @callback
            def on_state(event: Event[EventStateChangedData]) -> None:
                nonlocal unavailable
                new = event.data["new_state"]
                old = event.data["old_state"]
                if (
                    new is not None
                    and old is not None
                    and new.state == "unavailable"
                    and old.state != "unavailable"
                    and new.entity_id.startswith("sensor.")
                ):
                    unavailable += 1

            unsub = hass.bus.async_listen("state_changed", on_state)
            # Loading the integration sets all twelve up at once, as at a start.
            setup = hass.async_create_task(
                hass.config_entries.async_setup(entries[0].entry_id)
            )
            listeners: dict[str, Any] = {}

            def hook(entry: Any) -> None:
                coordinator = entry.runtime_data

                @callback
                def updated() -> None:
                    nonlocal ok, failed
                    if coordinator.last_update_success:
                        ok += 1
                        fresh[entry.entry_id].append(time.perf_counter() - start)
                    else:
                        failed += 1

                listeners[entry.entry_id] = coordinator.async_add_listener(updated)
                fresh[entry.entry_id].append(time.perf_counter() - start)

            deadline = start + window_s
            while time.perf_counter() < deadline:
                for entry in entries:
                    if (
                        entry.entry_id not in listeners
                        and entry.state is ConfigEntryState.LOADED
                    ):
                        hook(entry)
                await asyncio.sleep(0.05)
            await setup
            unsub()
            for remove in listeners.values():
                remove()
            stale = 0.0
            for entry in entries:
                times = [0.0, *fresh.get(entry.entry_id, []), window_s]
                stale = max(stale, *(b - a for a, b in itertools.pairwise(times)))
            stats = hass.data.get(DATA_SCHEDULER)
            source_stats = stats.stats().get(instance.proxy.source) if stats else None
            firsts = [fresh[e.entry_id][0] for e in entries if fresh.get(e.entry_id)]
            all_fresh = max(firsts) if len(firsts) == len(entries) else None
            loaded = sum(e.state is ConfigEntryState.LOADED for e in entries)
    return ManyBmsFigures(
        scheduler=scheduler,
        window_s=window_s,
        loaded=loaded,
        polls_ok=ok,
        polls_failed=failed,
        refused_connects=watch.refused,
        unavailable_events=unavailable,
        worst_staleness_s=stale,
        all_fresh_after_s=all_fresh,
        longest_turn_wait_s=(
            float(source_stats["longest_wait_s"]) if source_stats else None
        ),
        peak_slots_in_use=watch.peak,
    )
