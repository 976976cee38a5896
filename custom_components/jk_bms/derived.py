"""Values the integration derives from the BMS's frames: pure, no Home Assistant, no I/O.

Two steps, so that each frame costs only what needs every frame: ``sample()``
for every accepted cell frame (the energy meters, the smoothed current, the
rest the SoC check follows), ``derive()`` when the entities are handed data (the
state-write cadence, or at once when ``watched()`` changes). Every function
takes what it needs and returns new frozen values (the clock comes in as
arguments, so tests need no patching).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

from .const import CURRENT_EWMA_TAU, IDLE_CURRENT
from .protocol import CellInfo, CellSample, LiveValues, Settings
from .protocol.session import Snapshot
from .protocol.shield import current_limit
from .soc_check import (
    REST_MAX_GAP,
    SocCheckState,
    check_soc,
    derived_values,
    follow_rest,
)

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
        charged, discharged = self.charged_kwh, self.discharged_kwh
        if last is None or not 0 < (dt := when - last[0]) <= self.max_gap:
            return EnergyMeter(self.max_gap, charged, discharged, (when, power_w))
        p0, p1 = last[1], power_w
        if p0 * p1 >= 0:
            area = (p0 + p1) / 2 * dt
            positive, negative = (area, 0.0) if p0 + p1 >= 0 else (0.0, -area)
        else:
            crossing = dt * p0 / (p0 - p1)
            first, second = p0 * crossing / 2, p1 * (dt - crossing) / 2
            positive = max(first, second)
            negative = -min(first, second)
        return EnergyMeter(
            self.max_gap,
            charged + positive / 3_600_000,
            discharged + negative / 3_600_000,
            (when, power_w),
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


def is_full(cell_info: LiveValues, settings: Settings | None) -> bool:
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


def capped_power(cell_info: LiveValues, settings: Settings | None) -> float | None:
    """V x I, at most what the BMS's configured current limits allow (W).

    One frame then adds at most that power over its interval to an energy
    meter, whatever slipped past the frame shield.
    """
    voltage, current = cell_info.total_voltage, cell_info.current
    if voltage is None or current is None:
        return None
    limit = abs(voltage) * current_limit(settings)
    return max(-limit, min(limit, voltage * current))


def sample(
    state: DerivedState, live: CellSample, settings: Settings | None, at: float
) -> DerivedState:
    """Move the energy, the smoothed current and the SoC check's rest by one cell frame.

    Every accepted cell frame (a state write shows the sum later): the meters
    integrate each V x I, and a rest broken between two state writes is seen.
    """
    soc = follow_rest(state.soc, live, settings, at, max_gap=_rest_gap(state))
    power, current = capped_power(live, settings), live.current
    if power is None or current is None:
        return replace(state, soc=soc)
    return replace(
        state,
        energy=state.energy.add(at, power),
        current_ewma=smoothed_current(
            state.current_ewma, state.last_sample_at, at, current
        ),
        last_sample_at=at,
        soc=soc,
    )


type Watched = tuple[bool, int, bool | None, bool | None]


def watched(live: CellSample, settings: Settings | None) -> Watched:
    """Return what is handed on at once when it changes (not at the next write).

    The full-charge edge (the last full charge is dated by its frame) and what
    the BMS switches: alarms and the charge / discharge MOSFETs.
    """
    return (is_full(live, settings), live.alarm_word, live.charging, live.discharging)


def _rest_gap(state: DerivedState) -> float:
    return max(REST_MAX_GAP, state.energy.max_gap)


def derive(
    state: DerivedState, snapshot: Snapshot, *, now: datetime
) -> tuple[DerivedState, Mapping[str, DerivedValue]]:
    """Return the next state and the derived values of the newest ``snapshot``.

    ``sample()`` has taken its cell frame already. Deriving the same snapshot
    again changes nothing: the full-charge edge is dated once, and the SoC
    check follows the same frame to the same rest.
    """
    cell_info = snapshot.cell_info
    if cell_info is not None:
        full = is_full(cell_info, snapshot.settings)
        if full and not state.was_full:
            state = replace(state, last_full_charge=now)
        at = state.soc.last_frame_at  # the frame sample() took
        soc, verdict = check_soc(
            state.soc,
            cell_info,
            snapshot.settings,
            snapshot.received_at if at is None else at,
            max_gap=_rest_gap(state),
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
