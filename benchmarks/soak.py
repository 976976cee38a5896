"""Soak: a simulated day, accelerated, through a bad radio and a Home Assistant restart.

Three streaming virtual BMS (one per protocol variant) behind one virtual proxy.
The packs run ``time_scale`` times faster than the wall clock, and so does the
coordinator's clock (its energy integration), so a day passes in minutes. Random
faults all along: link drops (some in the middle of a frame), corrupted frames,
junk notifications, every proxy slot taken by others for a while, and one
restart of Home Assistant (the energy counters come back through RestoreSensor).
In parallel, a million mutated frames go through the stream parser and decoders
(``parser_fuzz``, in its own process on the other core).

Checked: no unhandled exception (loop exception handler + ERROR log records),
every drop recovered (all links up at the end), energy counters never decrease
and stay within 0.5 % of the virtual battery's truth over the time the link was
up (energy while the link is down cannot be seen by anyone), RSS flat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.restore_state import async_get as async_get_restore
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    mock_restore_cache_with_extra_data,
)

from custom_components.jk_bms.const import DOMAIN, ENERGY_MAX_GAP
from custom_components.jk_bms.coordinator import JkBmsCoordinator
from custom_components.jk_bms.protocol import FrameType
from custom_components.jk_bms.protocol.session import (
    RECONNECT_MAX_DELAY,
    LinkStatus,
    Snapshot,
)
from virtual_bms.device import VirtualJkBms

from .harness import Instance, default_options, home_assistant, rss_mib

DAY_S = 86_400.0
MODELS = ("JK-B2A8S20P", "JK-B2A24S20P", "JK-B2A16S")
# Pack seconds between two cell frames: under the coordinator's 30 s energy gap
# (the real BMS: 0.5 s); the wall interval is this over the time scale.
FRAME_PACK_S = 12.0
ENERGY_TOLERANCE = 0.005
# The coordinator's reconnect backoff is capped at RECONNECT_MAX_DELAY: a drop
# counts as recovered if the link is back within that (plus a margin).
RECOVERY_WAIT_S = int(RECONNECT_MAX_DELAY) + 30
IGNORED_LOGGERS = ("bleak_retry_connector.bluez",)  # no BlueZ here, by design


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(IGNORED_LOGGERS):
            self.records.append(f"{record.name}: {record.getMessage()[:200]}")


@dataclass(slots=True)
class _Tracked:
    """Truth seen while the link was up, per BMS (what the integration can integrate)."""

    bms: VirtualJkBms
    clock: SimpleNamespace
    truth_in_wh: float = 0.0
    truth_out_wh: float = 0.0
    last: tuple[float, float, float] | None = None  # (clock, in, out)
    down_since: float | None = None
    longest_outage_s: float = 0.0
    last_charged: float = 0.0
    last_discharged: float = 0.0
    decreases: int = 0

    def frame(self) -> None:
        """Add the truth since the last frame, under the integration's own gap rule."""
        truth = self.bms.battery.truth
        now = (self.clock.monotonic(), truth.energy_in_wh, truth.energy_out_wh)
        if self.last is not None and now[0] - self.last[0] <= ENERGY_MAX_GAP:
            self.truth_in_wh += now[1] - self.last[1]
            self.truth_out_wh += now[2] - self.last[2]
        self.last = now

    def link(self, connected: bool) -> None:
        """Track outages; the handshake's cell frame comes with the link."""
        wall = time.monotonic()
        if connected:
            if self.down_since is not None:
                self.longest_outage_s = max(
                    self.longest_outage_s, wall - self.down_since
                )
                self.down_since = None
            self.frame()
        else:
            self.last = None
            self.down_since = wall


@dataclass(slots=True)
class SoakResult:
    """Figures and verdicts of one soak."""

    simulated_hours: float
    wall_s: float
    time_scale: float
    bms: int
    drops: int = 0
    drops_mid_frame: int = 0
    corrupted_frames: int = 0
    junk_notifications: int = 0
    slot_exhaustions: int = 0
    restarts: int = 0
    reconnects: int = 0
    all_links_up_at_end: bool = False
    longest_outage_s: float = 0.0  # wall seconds
    unrecovered: list[str] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    counter_decreases: int = 0
    energy: list[dict[str, Any]] = field(default_factory=list)
    worst_energy_error: float = 0.0
    rss_mib: list[float] = field(default_factory=list)
    rss_growth_mib: float = 0.0
    fuzz: dict[str, Any] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """Every check passed."""
        return (
            not self.unhandled
            and self.all_links_up_at_end
            and self.counter_decreases == 0
            and self.worst_energy_error <= ENERGY_TOLERANCE
            and self.rss_growth_mib <= 15.0
            and bool(self.fuzz.get("clean"))
        )


def _scaled_clock(scale: float) -> SimpleNamespace:
    """Return a stand-in for the coordinator's ``time`` module, running ``scale`` times faster."""
    origin = time.monotonic()
    return SimpleNamespace(
        monotonic=lambda: origin + (time.monotonic() - origin) * scale
    )


class Soak:
    """One soak run (see the module docstring)."""

    def __init__(
        self, workdir: Path, wall_s: float, seed: int, days: float = 1.0
    ) -> None:
        """Plan ``days`` simulated days in ``wall_s`` seconds."""
        self.workdir = workdir
        self.wall_s = wall_s
        self.scale = DAY_S * days / wall_s
        self.rng = random.Random(seed)
        self.result = SoakResult(
            simulated_hours=24.0 * days,
            wall_s=wall_s,
            time_scale=self.scale,
            bms=len(MODELS),
        )
        self.devices = [
            VirtualJkBms(
                model,
                address=f"C8:47:8C:00:10:{index + 1:02X}",
                stream_interval=FRAME_PACK_S / self.scale,
                time_scale=self.scale,
                resolution_s=2.0,
                seed=seed + index,
            )
            for index, model in enumerate(MODELS)
        ]
        self.clock = _scaled_clock(self.scale)
        self.tracked = {bms.address: _Tracked(bms, self.clock) for bms in self.devices}
        self.offsets: dict[str, tuple[float, float]] = {}
        self.with_current: set[str] = set()

    # ------------------------------------------------------------- one instance

    async def _start(self, instance: Instance) -> list[JkBmsCoordinator]:
        entries = []
        for bms in self.devices:
            instance.proxy.add(bms)
            entries.append(instance.add_entry(bms, **default_options(5)))
        await instance.setup_entries(entries)
        for entry in entries:
            if entry.state is not ConfigEntryState.LOADED:
                self.result.unhandled.append(f"{entry.title}: set-up {entry.state}")
        entries = [e for e in entries if e.state is ConfigEntryState.LOADED]
        coordinators: list[JkBmsCoordinator] = []
        for entry in entries:
            coordinator: JkBmsCoordinator = entry.runtime_data
            tracked = self.tracked[coordinator.address]
            tracked.last = None

            def on_frame(snapshot: Snapshot, tracked: _Tracked = tracked) -> None:
                if snapshot.frame_type is FrameType.CELL_INFO:
                    tracked.frame()

            def on_link(status: LinkStatus, tracked: _Tracked = tracked) -> None:
                if status.connected != (tracked.down_since is None):
                    tracked.link(status.connected)  # a change, not a backoff step

            coordinator.session.subscribe(on_frame)
            coordinator.session.subscribe_link(on_link)
            tracked.frame()  # the handshake's first cell frame
            coordinators.append(coordinator)
        return coordinators

    def _check_counters(self, hass: HomeAssistant) -> None:
        registry = er.async_get(hass)
        for address, tracked in self.tracked.items():
            for key, attribute in (
                ("energy_charged", "last_charged"),
                ("energy_discharged", "last_discharged"),
            ):
                entity_id = registry.async_get_entity_id(
                    "sensor", DOMAIN, f"{address}_{key}"
                )
                state = hass.states.get(entity_id) if entity_id else None
                if state is None or state.state in {"unknown", "unavailable"}:
                    continue
                value = float(state.state)
                if value < getattr(tracked, attribute) - 1e-9:
                    tracked.decreases += 1
                setattr(tracked, attribute, value)

    async def _fault(self, instance: Instance) -> None:
        """One random fault (or none)."""
        rng = self.rng
        bms = rng.choice(self.devices)
        roll = rng.random()
        result = self.result
        if roll < 0.25 and bms.connected:
            if rng.random() < 0.5:
                bms.drop_link(after_bytes=rng.randrange(1, 300))
                result.drops_mid_frame += 1
            else:
                bms.drop_link()
            result.drops += 1
        elif roll < 0.45:
            count = rng.randint(1, 4)
            bms.faults.corrupt_next_frames += count
            result.corrupted_frames += count
        elif roll < 0.7 and bms.connected:
            peer = bms._peer  # noqa: SLF001 - junk arrives on the live link
            if peer is not None:
                for _ in range(rng.randint(1, 5)):
                    peer.notification(rng.randbytes(rng.randrange(1, 160)))
                    result.junk_notifications += 1
        elif roll < 0.78:
            # Others take every free slot for a while; a BMS that drops must wait.
            proxy = instance.proxy
            taken = [f"EE:00:00:00:00:{i:02X}" for i in range(proxy.free_slots)]
            for address in taken:
                proxy.reserve_slot(address)
            bms.drop_link()
            result.drops += 1
            result.slot_exhaustions += 1
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            for address in taken:
                proxy.release_slot(address)

    async def _run_instance(
        self, deadline: float, restore: list[tuple[Any, dict[str, Any]]] | None
    ) -> list[tuple[Any, dict[str, Any]]]:
        """Run one Home Assistant until ``deadline``; return what it would restore."""
        name = f"soak-{self.result.restarts}"
        async with home_assistant(self.workdir / name, slots=4) as instance:
            hass = instance.hass
            if restore:
                mock_restore_cache_with_extra_data(hass, restore)
            coordinators = await self._start(instance)
            next_sample = 0.0
            while time.monotonic() < deadline:
                await asyncio.sleep(self.rng.uniform(0.5, 2.0))
                if time.monotonic() < deadline - 20:  # the last 20 s are calm
                    await self._fault(instance)
                self._check_counters(hass)
                if time.monotonic() >= next_sample:
                    self.result.rss_mib.append(round(rss_mib(), 1))
                    next_sample = time.monotonic() + 10
            # Every drop must recover: give the last reconnects time (backoff, adverts).
            for _ in range(RECOVERY_WAIT_S * 10):
                if all(c.link_connected for c in coordinators):
                    break
                await asyncio.sleep(0.1)
            self._check_counters(hass)
            self.result.all_links_up_at_end = all(
                c.link_connected for c in coordinators
            )
            self.result.unrecovered = [
                f"{c.config_entry.title} {c.address}: "
                f"{c.diagnostics()['reconnect_attempt']} attempts, "
                f"last error {c.link_error!r}"[:300]
                for c in coordinators
                if not c.link_connected
            ]
            self.result.longest_outage_s = max(
                t.longest_outage_s for t in self.tracked.values()
            )
            for coordinator in coordinators:
                # A real restart loses at most one state-write cadence (5 s) of
                # energy not yet written to the state; at this time scale that
                # would be many pack minutes, so write the last value first.
                coordinator._async_publish()  # noqa: SLF001
                self.result.reconnects += coordinator.session.stats.reconnects
                address = coordinator.address
                charged, discharged = (
                    coordinator.energy.charged_kwh,
                    coordinator.energy.discharged_kwh,
                )
                self.offsets[address] = (charged, discharged)
                cell_info = coordinator.snapshot.cell_info
                if cell_info is not None and cell_info.current is not None:
                    self.with_current.add(address)
            return [
                (s.state, s.extra_data.as_dict())
                for s in async_get_restore(hass).async_get_stored_states()
                if s.extra_data is not None
            ]

    def _energy_figures(self) -> None:
        worst = 0.0
        for address, tracked in self.tracked.items():
            if address not in self.with_current:
                continue  # JK04 frames carry no pack current: no energy counters
            charged, discharged = self.offsets[address]
            for label, measured_kwh, truth_wh in (
                ("charged", charged, tracked.truth_in_wh),
                ("discharged", discharged, tracked.truth_out_wh),
            ):
                truth_kwh = truth_wh / 1000
                error = abs(measured_kwh - truth_kwh) / truth_kwh if truth_kwh else 0.0
                worst = max(worst, error)
                self.result.energy.append(
                    {
                        "bms": tracked.bms.profile.key,
                        "counter": label,
                        "integration_kwh": round(measured_kwh, 3),
                        "truth_kwh": round(truth_kwh, 3),
                        "error_percent": round(error * 100, 3),
                    }
                )
            self.result.counter_decreases += tracked.decreases
        self.result.worst_energy_error = worst

    async def run(self, fuzz_frames: int) -> SoakResult:
        """Run the day (with one restart half-way) and the parser fuzz alongside."""
        fuzz_json = self.workdir / "fuzz.json"
        fuzz = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.parser_fuzz",
            "--frames",
            str(fuzz_frames),
            "--json",
            str(fuzz_json),
            stdout=asyncio.subprocess.DEVNULL,
        )
        errors = _ErrorLog()
        logging.getLogger().addHandler(errors)
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(
            lambda _loop, context: self.result.unhandled.append(
                str(context.get("exception") or context.get("message"))[:200]
            )
        )
        start = time.monotonic()
        with patch("custom_components.jk_bms.protocol.link.time", self.clock):
            stored = await self._run_instance(start + self.wall_s / 2, None)
            self.result.restarts += 1
            # The second instance continues the counters through RestoreSensor;
            # its final counters must cover both halves.
            await self._run_instance(start + self.wall_s, stored)
        logging.getLogger().removeHandler(errors)
        self.result.unhandled += errors.records
        await fuzz.wait()
        self.result.fuzz = json.loads(fuzz_json.read_text(encoding="utf-8"))
        self._energy_figures()
        samples = self.result.rss_mib
        if len(samples) >= 4:
            quarter = len(samples) // 4
            self.result.rss_growth_mib = round(samples[-1] - samples[quarter], 1)
        self.result.wall_s = round(time.monotonic() - start, 1)
        return self.result
