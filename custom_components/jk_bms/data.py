"""What the entities read, and the derived state that carries between snapshots.

``DataBuilder`` takes every snapshot (``add``: the energy meters and what
derived.py samples per frame) and builds one frozen ``JkBmsData`` with the
derived values when the entities are handed data (``build``: the state-write
cadence). It keeps the state those values need (energy, smoothed current, last
full charge, RSSI) across snapshots. No Home Assistant here: the wall clock
comes in as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .derived import (
    DerivedState,
    DerivedValue,
    EnergyMeter,
    Watched,
    derive,
    link_lost,
    sample,
    watched,
)
from .protocol import CellInfo, CellSample, DeviceInfo, FrameType, Logbook, Settings
from .protocol.session import Snapshot


@dataclass(frozen=True, slots=True)
class JkBmsData:
    """What the entities read: the BMS's frames plus values derived from them."""

    device_info: DeviceInfo
    cell_info: CellInfo | None
    settings: Settings | None
    logbook: Logbook | None
    derived: Mapping[str, DerivedValue]


class DataBuilder:
    """Every snapshot sampled; a JkBmsData built when the entities are handed one."""

    def __init__(self, max_energy_gap: float) -> None:
        """Start with empty counters (restored by the energy sensors)."""
        self.state = DerivedState(EnergyMeter(max_energy_gap))
        self._snapshot: Snapshot | None = None
        self._watched: Watched | None = None
        self._restored: set[str] = set()

    @property
    def energy(self) -> EnergyMeter:
        """The energy counters, every frame included."""
        return self.state.energy

    def add(self, snapshot: Snapshot) -> bool:
        """Take the next snapshot; True when it should be shown now, not at the cadence.

        A cell frame's snapshot comes when it is shown (its sample has moved the
        meters already); other frames (settings, device info, logbook) are rare
        and always urgent.
        """
        self._snapshot = snapshot
        return snapshot.frame_type is not FrameType.CELL_INFO

    def add_sample(self, live: CellSample, at: float) -> bool:
        """Take a streamed cell frame's sample; True when it should be shown now.

        It moves the meters and the rest (derived.sample); it is urgent only when
        a watched value changed (derived.watched).
        """
        settings = self._snapshot.settings if self._snapshot is not None else None
        self.state = sample(self.state, live, settings, at)
        now_watched = watched(live, settings)
        urgent = now_watched != self._watched
        self._watched = now_watched
        return urgent

    def build(self, now: datetime) -> JkBmsData | None:
        """Derive the values of the newest snapshot (``now``: the wall clock)."""
        if (snapshot := self._snapshot) is None:
            return None
        self.state, derived = derive(self.state, snapshot, now=now)
        return JkBmsData(
            snapshot.device_info,
            snapshot.cell_info,
            snapshot.settings,
            snapshot.logbook,
            derived,
        )

    def update(self, **changes: Any) -> None:
        """Change the derived state (rssi, …) outside a snapshot."""
        self.state = replace(self.state, **changes)

    def link_lost(self, *, average_too: bool = True) -> None:
        """Start a new energy chain: the link dropped (stream) or a poll failed."""
        if average_too:
            self.state = link_lost(self.state)
        else:
            self.update(energy=self.energy.break_chain())

    def restore_energy(
        self, charged_kwh: float | None, discharged_kwh: float | None
    ) -> None:
        """Continue the counters from the values before the restart (once each)."""
        charged = None if "charged" in self._restored else charged_kwh
        discharged = None if "discharged" in self._restored else discharged_kwh
        self._restored |= {
            name
            for name, value in (("charged", charged), ("discharged", discharged))
            if value is not None
        }
        self.update(energy=self.energy.restored(charged, discharged))

    def restore_last_full_charge(self, when: datetime | None) -> None:
        """Keep the last full charge from before the restart, unless newer is known."""
        last = self.state.last_full_charge
        if when is not None and (last is None or when > last):
            self.update(last_full_charge=when)
