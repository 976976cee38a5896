"""What every streaming BMS costs: event-loop CPU per minute, recorder rows per hour.

Two runs with the same number of virtual BMS streaming a cell frame every 0.5 s:
one where the integration receives them through Home Assistant's Bluetooth stack,
one where each BMS streams to a null central (no Home Assistant involved). The
event loop's CPU difference is what the integration and Home Assistant spend;
the recorder thread's CPU and the rows it adds to ``states`` are counted apart.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from custom_components.jk_bms import entity as entity_module
from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.freshness import ON_CHANGE
from custom_components.jk_bms.protocol import Command, encode_request

from .harness import Instance, default_options, home_assistant, thread_cpu_seconds

SETTLE_S = 8.0  # after set-up, before the window (first publish, restore, registry)


class NullCentral:
    """A central that takes the notifications and does nothing with them."""

    def notification(self, data: bytes) -> None:
        """Drop the payload."""

    def link_lost(self) -> None:
        """Ignore the drop."""


@dataclass(frozen=True, slots=True)
class LoadFigures:
    """Cost of ``bms`` streaming BMS at one state-write cadence."""

    bms: int
    cadence_s: float
    window_s: float
    loop_cpu_s: float  # event loop, whole window, all BMS
    baseline_loop_cpu_s: float  # the same virtual BMS, no Home Assistant consumer
    recorder_cpu_s: float
    states_rows: int
    attributes_rows: int
    entities_per_bms: int
    state_writes: int  # state_changed events in the window
    layer: Layer
    live_median_age_s: float | None  # current / power / voltage / SoC, last_reported
    energy_error: float | None  # charged meter vs the packs' truth over the window

    @property
    def loop_ms_per_bms_minute(self) -> float:
        """Event-loop CPU per BMS per minute (ms), the virtual BMS subtracted."""
        used = max(0.0, self.loop_cpu_s - self.baseline_loop_cpu_s)
        return used * 1000 / self.bms / (self.window_s / 60)

    @property
    def recorder_ms_per_bms_minute(self) -> float:
        """Recorder-thread CPU per BMS per minute (ms)."""
        return self.recorder_cpu_s * 1000 / self.bms / (self.window_s / 60)

    @property
    def rows_per_bms_hour(self) -> float:
        """``states`` rows per BMS per hour."""
        return self.states_rows / self.bms * 3600 / self.window_s

    @property
    def attribute_rows_per_bms_hour(self) -> float:
        """``state_attributes`` rows per BMS per hour (new attribute sets)."""
        return self.attributes_rows / self.bms * 3600 / self.window_s


def _count_rows(db: Path) -> tuple[int, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        states = connection.execute("SELECT COUNT(*) FROM states").fetchone()[0]
        attributes = connection.execute(
            "SELECT COUNT(*) FROM state_attributes"
        ).fetchone()[0]
    return int(states), int(attributes)


async def _flush_recorder(instance: Instance, db: Path) -> tuple[int, int]:
    hass = instance.hass
    await get_instance(hass).async_block_till_done()
    return await hass.async_add_executor_job(_count_rows, db)


async def baseline(workdir: Path, bms_count: int, window_s: float) -> float:
    """Event-loop CPU of ``bms_count`` virtual BMS streaming to null centrals."""
    async with home_assistant(
        workdir / "baseline", recorder_db=workdir / "baseline.db"
    ) as instance:
        devices = [instance.add_bms(i + 1) for i in range(bms_count)]
        for bms in devices:
            bms.accept(NullCentral(), paired=False)
            bms.set_notifications(True)
            bms.receive(encode_request(Command.SETTINGS))
        await asyncio.sleep(SETTLE_S)
        start = time.thread_time()
        await asyncio.sleep(window_s)
        return time.thread_time() - start


LIVE_KEYS = ("current", "power", "total_voltage", "state_of_charge")


class Layer(StrEnum):
    """Which change filtering is in place (issue 12: keep only what pays)."""

    FRESHNESS = "freshness rules (deadband / max age)"  # what ships
    ON_CHANGE = "write on any change (the old per-entity filter)"
    EVERY_TICK = "no entity filter (write at every hand-on)"
    NO_EQUALITY = "freshness rules, coordinator always_update=True"


@contextmanager
def _layer(layer: Layer) -> Iterator[None]:
    """Swap the entity filter for ``layer`` (the coordinator part is set per entry)."""
    match layer:
        case Layer.ON_CHANGE:
            with patch.object(entity_module, "freshness_for", lambda _key: ON_CHANGE):
                yield
        case Layer.EVERY_TICK:
            with patch.object(entity_module, "is_due", lambda *_: True):
                yield
        case _:
            yield


def _charged_kwh(coordinator: Any) -> float:
    """Return the coordinator's charged-energy meter (every frame counts), kWh."""
    derived = getattr(coordinator.data, "derived", None)
    if derived is not None and "energy_charged" in derived:
        return float(derived["energy_charged"])
    return float(coordinator.energy.charged_kwh)


async def measure(
    workdir: Path,
    bms_count: int,
    cadence: float,
    window_s: float,
    baseline_s: float,
    layer: Layer = Layer.FRESHNESS,
) -> LoadFigures:
    """Stream ``bms_count`` BMS into Home Assistant at ``cadence``; count the cost."""
    name = f"load-{cadence:g}-{list(Layer).index(layer)}"
    db = workdir / f"{name}.db"
    with _layer(layer):
        async with home_assistant(
            workdir / name, recorder_db=db, slots=max(3, bms_count)
        ) as instance:
            hass = instance.hass
            entries = []
            devices = []
            for index in range(bms_count):
                bms = instance.add_bms(index + 1)
                devices.append(bms)
                entries.append(instance.add_entry(bms, **default_options(cadence)))
            await instance.setup_entries(entries)
            if layer is Layer.NO_EQUALITY:
                for entry in entries:
                    entry.runtime_data.always_update = True
            await asyncio.sleep(SETTLE_S)
            writes = 0

            def count(_event: object) -> None:
                nonlocal writes
                writes += 1

            registry = er.async_get(hass)
            live = [
                entity_id
                for bms in devices
                for key in LIVE_KEYS
                if (
                    entity_id := registry.async_get_entity_id(
                        "sensor", DOMAIN, f"{bms.address}_{key}"
                    )
                )
            ]
            ages: list[float] = []

            async def sample() -> None:
                while True:
                    await asyncio.sleep(1.0)
                    now = dt_util.utcnow()
                    states = [hass.states.get(entity_id) for entity_id in live]
                    ages.extend(
                        (now - state.last_reported).total_seconds()
                        for state in states
                        if state is not None
                    )

            energy_before = [_charged_kwh(e.runtime_data) for e in entries]
            truth_before = [bms.battery.truth.energy_in_wh for bms in devices]
            unsub = hass.bus.async_listen("state_changed", count)
            rows_before = await _flush_recorder(instance, db)
            sampler = asyncio.create_task(sample())
            loop_before = time.thread_time()
            recorder_before = thread_cpu_seconds("Recorder")
            await asyncio.sleep(window_s)
            loop_cpu = time.thread_time() - loop_before
            recorder_cpu = thread_cpu_seconds("Recorder") - recorder_before
            sampler.cancel()
            unsub()
            energy = sum(
                _charged_kwh(e.runtime_data) - before
                for e, before in zip(entries, energy_before, strict=True)
            )
            truth = (
                sum(
                    bms.battery.truth.energy_in_wh - before
                    for bms, before in zip(devices, truth_before, strict=True)
                )
                / 1000
            )
            rows_after = await _flush_recorder(instance, db)
            entities = len(instance.entity_ids(entries[0]))
    return LoadFigures(
        bms=bms_count,
        cadence_s=cadence,
        window_s=window_s,
        loop_cpu_s=loop_cpu,
        baseline_loop_cpu_s=baseline_s,
        recorder_cpu_s=recorder_cpu,
        states_rows=rows_after[0] - rows_before[0],
        attributes_rows=rows_after[1] - rows_before[1],
        entities_per_bms=entities,
        state_writes=writes,
        layer=layer,
        live_median_age_s=statistics.median(ages) if ages else None,
        energy_error=(energy - truth) / truth if truth else None,
    )
