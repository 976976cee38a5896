"""What the entities read, and the derived state that carries between snapshots.

``DataBuilder`` turns each snapshot into one frozen ``JkBmsData`` with the
values of derived.py, and keeps the state those values need (energy, smoothed
current, last full charge, RSSI) across snapshots. No Home Assistant here: the
wall clock comes in as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .derived import DerivedState, DerivedValue, EnergyMeter, derive, link_lost, values
from .protocol import CellInfo, DeviceInfo, Logbook, Settings
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
    """One JkBmsData per snapshot; the derived state in between."""

    def __init__(self, max_energy_gap: float) -> None:
        """Start with empty counters (restored by the energy sensors)."""
        self.state = DerivedState(EnergyMeter(max_energy_gap))
        self._snapshot: Snapshot | None = None
        self._restored: set[str] = set()

    @property
    def energy(self) -> EnergyMeter:
        """The energy counters, every frame included."""
        return self.state.energy

    def add(self, snapshot: Snapshot, now: datetime) -> JkBmsData:
        """Take the next snapshot (``now``: the wall clock, for the last full charge)."""
        self._snapshot = snapshot
        self.state, derived = derive(self.state, snapshot, now=now)
        return self._data(snapshot, derived)

    def current(self) -> JkBmsData | None:
        """Return the data of the last snapshot with the state as it is now."""
        if (snapshot := self._snapshot) is None:
            return None
        return self._data(snapshot, values(self.state, snapshot))

    @staticmethod
    def _data(snapshot: Snapshot, derived: Mapping[str, DerivedValue]) -> JkBmsData:
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
