"""Values the integration derives from the BMS's frames: pure, no Home Assistant, no I/O.

The coordinator calls ``derive()`` once per snapshot with the state the previous
call returned; every function here takes what it needs and returns new frozen
values (the clock comes in as arguments, so tests need no patching).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

from .const import CURRENT_EWMA_TAU, IDLE_CURRENT
from .protocol import CellInfo, FrameType, Settings
from .protocol.session import Snapshot
from .soc_check import REST_MAX_GAP, SocCheckState, check_soc, derived_values

type DerivedValue = float | int | str | bool | datetime | None


@dataclass(frozen=True, slots=True)
class EnergyMeter:
    """Integrates every frame's V x I into charged and discharged kWh.

    Trapezoid rule between consecutive frames; when the power changes sign
    within an interval the trapezoid is split at the zero crossing, so charge
    and discharge each get their exact share. A gap longer than ``max_gap``
    (the link was down) is not integrated.
    """

    max_gap: float
    charged_kwh: float = 0.0
    discharged_kwh: float = 0.0
    last: tuple[float, float] | None = None  # (time s, power W)

    def add(self, when: float, power_w: float) -> EnergyMeter:
        """Add one sample (monotonic seconds, W; > 0 = charging)."""
        last = self.last
        moved = replace(self, last=(when, power_w))
        if last is None:
            return moved
        dt = when - last[0]
        if dt <= 0 or dt > self.max_gap:
            return moved
        p0, p1 = last[1], power_w
        if p0 * p1 >= 0:
            area = (p0 + p1) / 2 * dt
            positive, negative = (area, 0.0) if p0 + p1 >= 0 else (0.0, -area)
        else:
            crossing = dt * p0 / (p0 - p1)
            first, second = p0 * crossing / 2, p1 * (dt - crossing) / 2
            positive = max(first, second)
            negative = -min(first, second)
        return replace(
            moved,
            charged_kwh=self.charged_kwh + positive / 3_600_000,
            discharged_kwh=self.discharged_kwh + negative / 3_600_000,
        )

    def break_chain(self) -> EnergyMeter:
        """Forget the last sample (the link dropped)."""
        return replace(self, last=None)

    def restored(
        self, charged_kwh: float | None, discharged_kwh: float | None
    ) -> EnergyMeter:
        """Continue from the values before a restart (None: keep that counter)."""
        return replace(
            self,
            charged_kwh=self.charged_kwh + (charged_kwh or 0.0),
            discharged_kwh=self.discharged_kwh + (discharged_kwh or 0.0),
        )


@dataclass(frozen=True, slots=True)
class DerivedState:
    """What carries from one snapshot to the next."""

    energy: EnergyMeter
    current_ewma: float | None = None  # A, smoothed with CURRENT_EWMA_TAU
    last_sample_at: float | None = None
    was_full: bool = False
    last_full_charge: datetime | None = None
    rssi: int | None = None
    soc: SocCheckState = field(default_factory=SocCheckState)  # soc_check.py
    soc_values: Mapping[str, DerivedValue] = field(
        default_factory=lambda: MappingProxyType({})
    )


def smoothed_current(
    ewma: float | None, last_at: float | None, now: float, current: float
) -> float:
    """Exponentially weighted current; a reversal of direction restarts it."""
    if ewma is None or last_at is None or current * ewma < 0:
        return current
    alpha = 1 - math.exp(-max(0.0, now - last_at) / CURRENT_EWMA_TAU)
    return ewma + alpha * (current - ewma)


def times(current: float | None, cell_info: CellInfo) -> tuple[int | None, int | None]:
    """Seconds to empty (discharging) and to full (charging); None when idle."""
    remaining = cell_info.capacity_remaining
    if current is None or remaining is None or abs(current) < IDLE_CURRENT:
        return None, None
    if current < 0:
        return round(remaining / -current * 3600), None
    full = cell_info.full_charge_capacity
    if full is None:
        return None, None
    return None, round(max(0.0, full - remaining) / current * 3600)


def is_full(cell_info: CellInfo, settings: Settings | None) -> bool:
    """SoC 100 %, or a cell at the SOC-100 % voltage (when the BMS re-synchronises)."""
    if cell_info.state_of_charge == 100:
        return True
    if settings is None or not cell_info.cell_voltages:
        return False
    soc_100 = settings.get("soc_100_voltage")
    return (
        isinstance(soc_100, int | float)
        and soc_100 > 0
        and max(cell_info.cell_voltages) >= soc_100
    )


def headroom(cell_info: CellInfo, settings: Settings | None) -> float | None:
    """Volts the lowest cell is above the under-voltage protection."""
    if settings is None or not cell_info.cell_voltages:
        return None
    uvp = settings.get("cell_uvp")
    if not isinstance(uvp, int | float):
        return None
    return round(min(cell_info.cell_voltages) - uvp, 3)


def _sample(state: DerivedState, cell_info: CellInfo, at: float) -> DerivedState:
    """Move the energy and the smoothed current by one cell frame."""
    voltage, current = cell_info.total_voltage, cell_info.current
    if voltage is None or current is None:
        return state
    return replace(
        state,
        energy=state.energy.add(at, voltage * current),
        current_ewma=smoothed_current(
            state.current_ewma, state.last_sample_at, at, current
        ),
        last_sample_at=at,
    )


def derive(
    state: DerivedState, snapshot: Snapshot, *, now: datetime
) -> tuple[DerivedState, Mapping[str, DerivedValue]]:
    """Return the next state and the derived values after ``snapshot``.

    Only a cell-info snapshot moves the energy, the current and the full-charge
    edge; the others recompute what depends on the settings.
    """
    cell_info = snapshot.cell_info
    if cell_info is not None and snapshot.frame_type is FrameType.CELL_INFO:
        state = _sample(state, cell_info, snapshot.received_at)
        full = is_full(cell_info, snapshot.settings)
        if full and not state.was_full:
            state = replace(state, last_full_charge=now)
        soc, verdict = check_soc(
            state.soc,
            cell_info,
            snapshot.settings,
            snapshot.received_at,
            max_gap=max(REST_MAX_GAP, state.energy.max_gap),
        )
        state = replace(
            state,
            was_full=full,
            soc=soc,
            soc_values=MappingProxyType(derived_values(verdict)),
        )
    return state, values(state, snapshot)


def values(state: DerivedState, snapshot: Snapshot) -> Mapping[str, DerivedValue]:
    """Return the derived entity values (entities.md "derived by the integration")."""
    derived: dict[str, DerivedValue] = {
        "energy_charged": round(state.energy.charged_kwh, 6),
        "energy_discharged": round(state.energy.discharged_kwh, 6),
        "stored_energy": None,
        "time_to_empty": None,
        "time_to_full": None,
        "last_full_charge": state.last_full_charge,
        "lowest_cell_headroom": None,
        "rssi": state.rssi,
    }
    if (cell_info := snapshot.cell_info) is not None:
        remaining, voltage = cell_info.capacity_remaining, cell_info.total_voltage
        if remaining is not None and voltage is not None:
            derived["stored_energy"] = round(remaining * voltage / 1000, 3)
        derived["time_to_empty"], derived["time_to_full"] = times(
            state.current_ewma, cell_info
        )
        derived["lowest_cell_headroom"] = headroom(cell_info, snapshot.settings)
    derived |= state.soc_values
    return MappingProxyType(derived)


def link_lost(state: DerivedState) -> DerivedState:
    """Start a new energy chain and average: the link dropped."""
    return replace(state, energy=state.energy.break_chain(), current_ewma=None)
