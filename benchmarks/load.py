"""What every streaming BMS costs: event-loop CPU per minute, recorder rows per hour.

Runs with the same number of virtual BMS streaming a cell frame every 0.5 s:
one where the integration receives them through Home Assistant's Bluetooth stack,
one where each BMS streams to a null central (no Home Assistant involved), and,
when its source is at hand, one with BMS_BLE-HA instead (peer_ha.py). The event
loop's CPU difference is what the integration and Home Assistant spend; the
recorder thread's CPU and the rows it adds to ``states`` are counted apart.

Every run is a process of its own (``python -m benchmarks.load KIND …``, one
JSON line of figures): each starts from the same fresh interpreter, and the two
aiobmsble releases of the bench never meet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.components import bluetooth
from homeassistant.config_entries import (
    SOURCE_BLUETOOTH,
    ConfigEntry,
    ConfigEntryState,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from custom_components.jk_bms import entity as entity_module
from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.freshness import ON_CHANGE
from custom_components.jk_bms.protocol import Command, encode_request

from . import peer_ha
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
    peer: bool = False  # BMS_BLE-HA instead of this integration

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


def _charged_kwh(entry: ConfigEntry) -> float | None:
    """Return the charged-energy meter (every frame counts), kWh; None for the peer."""
    meter = getattr(getattr(entry, "runtime_data", None), "energy", None)
    return None if meter is None else float(meter.charged_kwh)


async def _add_peer(instance: Instance, bms: Any) -> ConfigEntry:
    """Set BMS_BLE-HA up for ``bms`` through its own Bluetooth discovery flow."""
    hass = instance.hass
    info = bluetooth.async_last_service_info(hass, bms.address, connectable=True)
    assert info is not None, "the virtual BMS is not advertising"
    result = await hass.config_entries.flow.async_init(
        peer_ha.PEER_DOMAIN, context={"source": SOURCE_BLUETOOTH}, data=info
    )
    assert result.get("step_id") == "bluetooth_confirm", result
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result.get("type") == "create_entry", result
    entry: ConfigEntry = result["result"]
    return entry


def _live_entities(
    instance: Instance, entries: list[ConfigEntry], devices: list[Any], peer: bool
) -> list[str]:
    registry = er.async_get(instance.hass)
    if not peer:
        return [
            entity_id
            for bms in devices
            for key in LIVE_KEYS
            if (
                entity_id := registry.async_get_entity_id(
                    "sensor", DOMAIN, f"{bms.address}_{key}"
                )
            )
        ]
    return [
        e.entity_id
        for entry in entries
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.domain == "sensor"
        and e.unique_id.rsplit("-", 1)[-1] in peer_ha.PEER_LIVE_KEYS
    ]


async def measure(
    workdir: Path,
    bms_count: int,
    cadence: float,
    window_s: float,
    baseline_s: float,
    layer: Layer = Layer.FRESHNESS,
    *,
    peer: bool = False,
) -> LoadFigures:
    """Stream ``bms_count`` BMS into Home Assistant at ``cadence``; count the cost."""
    name = f"load-{'peer' if peer else 'jk'}-{cadence:g}-{list(Layer).index(layer)}"
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
                if peer:
                    entries.append(await _add_peer(instance, bms))
                else:
                    entries.append(instance.add_entry(bms, **default_options(cadence)))
            await instance.setup_entries(entries)
            await asyncio.sleep(SETTLE_S)
            loaded = [e for e in entries if e.state is ConfigEntryState.LOADED]
            if len(loaded) != len(entries):
                raise RuntimeError(
                    f"not all entries loaded: {[e.state for e in entries]}"
                )
            writes = 0

            def count(_event: object) -> None:
                nonlocal writes
                writes += 1

            live = _live_entities(instance, entries, devices, peer)
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

            energy_before = [_charged_kwh(e) for e in entries]
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
            energy_after = [_charged_kwh(e) for e in entries]
            energy = sum(
                after - before
                for after, before in zip(energy_after, energy_before, strict=True)
                if after is not None and before is not None
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
        energy_error=(energy - truth) / truth if truth and not peer else None,
        peer=peer,
    )


async def isolated(
    kind: str,
    *,
    bms: int,
    window_s: float,
    cadence: float = 5.0,
    baseline_s: float = 0.0,
    layer: Layer = Layer.FRESHNESS,
) -> LoadFigures | float:
    """Run one measurement in a fresh process; figures, or the baseline's seconds."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.load",
        kind,
        f"--bms={bms}",
        f"--window={window_s}",
        f"--cadence={cadence}",
        f"--baseline={baseline_s}",
        f"--layer={layer.name}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"load {kind} failed: {err.decode()[-2000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    if kind == "baseline":
        return float(result["loop_cpu_s"])
    result["layer"] = Layer[result["layer"]]
    return LoadFigures(**result)


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="jk_load_") as tmp:
        workdir = Path(tmp)
        if args.kind == "baseline":
            return {"loop_cpu_s": await baseline(workdir, args.bms, args.window)}
        if args.kind == "peer":
            ready, why = peer_ha.prepare()
            if not ready:
                raise SystemExit(why)
        figures = await measure(
            workdir,
            args.bms,
            args.cadence,
            args.window,
            args.baseline,
            Layer[args.layer],
            peer=args.kind == "peer",
        )
        result = asdict(figures)
        result["layer"] = figures.layer.name
        return result


def main() -> None:
    """One measurement; prints its figures as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("baseline", "jk", "peer"))
    parser.add_argument("--bms", type=int, default=4)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--cadence", type=float, default=5.0)
    parser.add_argument("--baseline", type=float, default=0.0)
    parser.add_argument("--layer", default=Layer.FRESHNESS.name)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    if args.debug:
        logging.getLogger("custom_components").setLevel(logging.DEBUG)
        logging.getLogger("aiobmsble").setLevel(logging.DEBUG)
    print(json.dumps(asyncio.run(_main(args))))


if __name__ == "__main__":
    main()
