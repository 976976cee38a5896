"""Freshness at start: config entry set-up → every entity has a value.

Realistic link timing in the virtual BMS (1 s proxy connection set-up, a cell
frame every 0.5 s, frames cut into MTU-sized notifications). The protocol's
lower bound is connect + device info + settings + the first cell frame: the
connection delay, two command writes through the proxy (the answers take no air
time in the virtual link) and one frame interval (the stream starts one interval
after 0x96).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from .harness import (
    CONNECT_DELAY_S,
    FRAME_INTERVAL_S,
    WRITE_DELAY_S,
    home_assistant,
    wait_for,
)

MODELS = ("JK-B2A8S20P", "JK-B2A24S20P", "JK-B2A16S", "JK-PB2A16S20P")
# How long to keep watching for entities whose value comes later (none should).
OBSERVE_S = 6.0


@dataclass(frozen=True, slots=True)
class SetupTiming:
    """One model's set-up timings (seconds) over several runs."""

    model: str
    variant: str
    entities: int
    first_refresh_s: (
        float  # async_setup returned: device info, settings, first cell frame in
    )
    all_valued_s: float  # median: every enabled entity has a value
    worst_s: float
    never_valued: tuple[str, ...]  # entities still unknown after the observation window
    lower_bound_s: float


async def measure_model(model: str, runs: int, workdir: Path) -> SetupTiming:
    """Set one virtual BMS of ``model`` up ``runs`` times, each in a fresh instance."""
    first: list[float] = []
    valued: list[float] = []
    never: set[str] = set()
    entities = 0
    variant = ""
    for run in range(runs):
        async with home_assistant(workdir / f"setup-{model}-{run}") as instance:
            bms = instance.add_bms(1, model)
            variant = str(bms.variant)
            entry = instance.add_entry(bms)
            hass = instance.hass
            await hass.async_block_till_done()
            start = time.perf_counter()
            assert await hass.config_entries.async_setup(entry.entry_id)
            first.append(time.perf_counter() - start)
            ids = instance.entity_ids(entry)
            entities = len(ids)
            # Entities that never get a value (time to full while discharging …)
            # must not count as slow: watch a while, then time the last one that did.
            seen: dict[str, float] = {}

            def all_seen(ids: list[str] = ids, seen: dict[str, float] = seen) -> bool:
                now = time.perf_counter() - start  # noqa: B023 - start is per run
                for entity_id in instance.valued(ids):
                    seen.setdefault(entity_id, now)
                return len(seen) == len(ids)

            await wait_for(all_seen, OBSERVE_S, poll=0.01)
            never |= set(ids) - set(seen)
            valued.append(max(seen.values(), default=float("nan")))
    return SetupTiming(
        model=model,
        variant=variant,
        entities=entities,
        first_refresh_s=statistics.median(first),
        all_valued_s=statistics.median(valued),
        worst_s=max(valued),
        never_valued=tuple(sorted(e.split(".", 1)[1] for e in never)),
        # connect, 0x97 → device info, 0x96 → settings, then the first cell frame.
        lower_bound_s=CONNECT_DELAY_S + 2 * WRITE_DELAY_S + FRAME_INTERVAL_S,
    )


async def measure(workdir: Path, runs: int = 3) -> list[SetupTiming]:
    """All four models."""
    return [await measure_model(model, runs, workdir) for model in MODELS]
