"""Write latency: a switch toggled → the BMS's read-back confirms it → the state shows it.

The balancer switch of a streaming JK-B2A8S20P with realistic link timing. The
service call returns once the write was acknowledged and read back (0x96); the
figure is until the entity's state shows the new value. Every command write
takes 50 ms through the (virtual) proxy: write + 0x96 read-back = 0.1 s floor.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from homeassistant.helpers import entity_registry as er

from custom_components.jk_bms.const import DOMAIN

from .harness import default_options, home_assistant


@dataclass(frozen=True, slots=True)
class WriteLatency:
    """Toggle → confirmed state, seconds."""

    toggles: int
    median_s: float
    p95_s: float
    worst_s: float
    best_s: float


async def measure(workdir: Path, toggles: int = 20) -> WriteLatency:
    """Toggle the balancer ``toggles`` times, one after another."""
    async with home_assistant(workdir / "write") as instance:
        hass = instance.hass
        bms = instance.add_bms(1)
        entry = instance.add_entry(bms, **default_options(5))
        await instance.setup_entries([entry])
        entity_id = er.async_get(hass).async_get_entity_id(
            "switch", DOMAIN, f"{bms.address}_balancer"
        )
        assert entity_id is not None
        await asyncio.sleep(1.0)
        timings: list[float] = []
        for _ in range(toggles):
            state = hass.states.get(entity_id)
            assert state is not None
            target = "off" if state.state == "on" else "on"
            start = time.perf_counter()
            await hass.services.async_call(
                "switch", f"turn_{target}", {"entity_id": entity_id}, blocking=True
            )
            while (now := hass.states.get(entity_id)) is None or now.state != target:  # noqa: ASYNC110 - polling the state machine is the measurement
                await asyncio.sleep(0.001)
            timings.append(time.perf_counter() - start)
            await asyncio.sleep(0.3)  # let a stream frame or two through in between
    timings.sort()
    return WriteLatency(
        toggles=len(timings),
        median_s=statistics.median(timings),
        p95_s=timings[max(0, round(0.95 * len(timings)) - 1)],
        worst_s=timings[-1],
        best_s=timings[0],
    )
