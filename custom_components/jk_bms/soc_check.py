"""Cross-check of the BMS's SoC against the resting cells: is the counter drifting.

Pure and HA-free: ``check_soc(state, cell_info, settings, at)`` takes every
accepted cell-info frame with its receive time (monotonic seconds) and returns
the next ``SocCheckState`` and the ``SocVerdict``; ``derived.py`` calls it at
each hand-on to the entities, ``follow_rest`` for every frame in between, and
publishes ``derived_values(verdict)``.

The BMS's SoC is a counter, corrected only when a cell reaches the SOC-100 %
voltage. The cells tell roughly where the pack is whenever it rests: the lowest
and the highest rested cell voltage map to an SoC band through the chemistry's
open-circuit-voltage table (``ocv.py``). When the counter lies outside that band
by more than ``DOUBT_MARGIN`` points, the SoC is doubtful; the doubt holds
(under load nothing new is known) until the next full charge re-synchronises the
counter, or a later rest finds the two agreeing again.

Never a guess: the chemistry comes from the BMS's own full-charge limits (cell
OVP and SOC-100 % voltage); when they fit no chemistry, or fit different ones,
or the BMS's battery-type byte says otherwise, the check stays off and says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from .ocv import OCV_TABLES
from .protocol import CellInfo, LiveValues, Settings, Value

# Below max(this, capacity / REST_C_DIVISOR h) the pack rests. The fixed floor is
# the integration's idle threshold (const.IDLE_CURRENT); a big pack's standby
# current (the BMS itself, an idle inverter's sense circuit) still counts as rest:
# at C/200 a cell sits 1-2 mV below its open-circuit voltage (I x R of a 280 Ah
# cell is 1.4 A x 1.5 mOhm), far inside every table's tolerance.
REST_CURRENT_FLOOR: Final = 0.1  # A
REST_C_DIVISOR: Final = 200.0
# Rested this long before a voltage counts as open-circuit. After a load is
# removed a cell's voltage recovers in two steps: the I x R part at once, the
# diffusion part with time constants from minutes to about an hour; relaxation
# studies on LiFePO4 (the slowest of the three here) show the voltage within
# about 10 mV of its final value after 30-60 minutes, NMC sooner. One hour leaves
# the remainder inside the tables' tolerance; waiting for the last millivolts
# (several hours) would leave a solar battery almost no chance to be checked.
REST_SECONDS: Final = 3600.0
# A gap without frames longer than this (link down) restarts the rest: nobody
# knows what the current did meanwhile. Poll mode adds its interval.
REST_MAX_GAP: Final = 120.0
# SoC points the counter may lie outside the cells' band before it is doubtful,
# and inside which it must come back to clear the doubt (no flapping at the edge).
DOUBT_MARGIN: Final = 10.0
AGREE_MARGIN: Final = 5.0
# A present cell below this reads an open sense wire, not a voltage.
MIN_CELL_VOLTAGE: Final = 0.5
# The battery-type byte (JK02_32S) decodes to this when it is zero, which is also
# what firmware that does not set it sends: it confirms nothing.
UNSET_BATTERY_TYPE: Final = "lfp"
# Battery-type option keys (protocol tables) → chemistry keys of ``OCV_TABLES``.
BATTERY_TYPE_CHEMISTRY: Final[Mapping[str, str]] = {
    "lfp": "lifepo4",
    "li_ion": "li_ion",
    "lto": "lto",
}


class CheckOff(StrEnum):
    """Why the cells say nothing right now (translation keys of the attribute)."""

    NO_SETTINGS = "no_settings"
    """The settings frame (cell limits) has not been read yet."""
    CHEMISTRY_UNKNOWN = "chemistry_unknown"
    """The full-charge limits fit no chemistry's window."""
    CHEMISTRY_CONTRADICTION = "chemistry_contradiction"
    """OVP and SOC-100 % voltage, or the battery-type byte, name different chemistries."""
    NO_CURRENT = "no_current"
    """The frame carries no current or SoC (JK04): rest cannot be told."""
    CELL_READING_MISSING = "cell_reading_missing"
    """A cell reads 0 V (open sense wire): its voltage says nothing."""
    NOT_AT_REST = "not_at_rest"
    """Current flows: under load the table says nothing."""
    SETTLING = "settling"
    """At rest, but not yet long enough for the cells to settle."""


@dataclass(frozen=True, slots=True)
class Doubt:
    """The evidence behind a doubtful SoC: the cells' band and the counter then."""

    band_low: int
    band_high: int
    bms_soc: int


@dataclass(frozen=True, slots=True)
class SocVerdict:
    """What the cells say now, and whether the BMS's SoC is in doubt."""

    chemistry: str | None
    reason: CheckOff | None
    """Why there is no band now (None: the pack rests and the band is current)."""
    band: tuple[int, int] | None
    resting_for: float | None
    doubtful: bool | None
    """None while the check is off or has never had a rest (or full charge) to go on."""
    doubt: Doubt | None

    @property
    def cells_soc(self) -> int | None:
        """The band's middle, % (None while the cells say nothing)."""
        if self.band is None:
            return None
        return round((self.band[0] + self.band[1]) / 2)


def _number(settings: Settings, key: str) -> float | None:
    value = settings.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None  # 0 = the variant or firmware does not carry it
    return float(value)


def _window_chemistry(voltage: float) -> str | None:
    for chemistry, table in OCV_TABLES.items():
        low, high = table.full_charge_window
        if low <= voltage <= high:
            return chemistry
    return None


def tell_chemistry(
    settings: Settings | None, battery_type: Value = None
) -> tuple[str | None, CheckOff | None]:
    """Tell the chemistry from what the BMS reports, or why it cannot be told."""
    if settings is None:
        return None, CheckOff.NO_SETTINGS
    limits = [
        voltage
        for key in ("cell_ovp", "soc_100_voltage")
        if (voltage := _number(settings, key)) is not None
    ]
    found = {_window_chemistry(voltage) for voltage in limits}
    if not limits or found == {None}:
        return None, CheckOff.CHEMISTRY_UNKNOWN
    if len(found) > 1:
        return None, CheckOff.CHEMISTRY_CONTRADICTION
    chemistry = found.pop()
    assert chemistry is not None
    if (
        isinstance(battery_type, str)
        and battery_type != UNSET_BATTERY_TYPE
        and BATTERY_TYPE_CHEMISTRY.get(battery_type) != chemistry
    ):
        return None, CheckOff.CHEMISTRY_CONTRADICTION
    return chemistry, None


def rest_current(cell_info: LiveValues, settings: Settings | None) -> float:
    """Return the current (A) below which this pack counts as resting."""
    capacity = cell_info.full_charge_capacity
    if (capacity is None or capacity <= 0) and settings is not None:
        capacity = _number(settings, "total_battery_capacity")
    if capacity is None or capacity <= 0:
        return REST_CURRENT_FLOOR
    return max(REST_CURRENT_FLOOR, capacity / REST_C_DIVISOR)


@dataclass(frozen=True, slots=True)
class SocCheckState:
    """What carries from one frame to the next: the rest so far and a standing doubt."""

    rest_since: float | None = None
    last_frame_at: float | None = None
    doubt: Doubt | None = None
    judged: bool = False
    """A rest (or a full charge) has given a verdict at least once."""


def check_soc(
    state: SocCheckState,
    cell_info: CellInfo,
    settings: Settings | None,
    at: float,
    *,
    max_gap: float = REST_MAX_GAP,
) -> tuple[SocCheckState, SocVerdict]:
    """Take one accepted cell-info frame received at ``at`` (monotonic s).

    ``max_gap``: a longer time without frames restarts the rest (poll mode
    passes more than its poll interval).
    """
    state, resting_for = _follow_rest(state, cell_info, settings, at, max_gap)
    chemistry, off = tell_chemistry(settings, cell_info.details.get("battery_type"))
    if chemistry is None:
        return state, _verdict(state, None, off, None, resting_for, judging=False)
    assert settings is not None
    voltages = cell_info.cell_voltages
    soc_100 = _number(settings, "soc_100_voltage")
    if soc_100 is not None and voltages and max(voltages) >= soc_100:
        # The BMS sets its counter to 100 % right here: it is right again.
        state = replace(state, doubt=None, judged=True)
    bms_soc = cell_info.state_of_charge
    if cell_info.current is None or bms_soc is None:
        return state, _verdict(state, chemistry, CheckOff.NO_CURRENT, None, None)
    if not voltages or min(voltages) < MIN_CELL_VOLTAGE:
        off = CheckOff.CELL_READING_MISSING
        return state, _verdict(state, chemistry, off, None, None)
    if resting_for is None:
        return state, _verdict(state, chemistry, CheckOff.NOT_AT_REST, None, None)
    if resting_for < REST_SECONDS:
        off = CheckOff.SETTLING
        return state, _verdict(state, chemistry, off, None, resting_for)
    low, high = OCV_TABLES[chemistry].band(min(voltages), max(voltages))
    band = (math.floor(low), math.ceil(high))  # rounded outwards
    state = replace(state, doubt=judge(state.doubt, band, bms_soc), judged=True)
    return state, _verdict(state, chemistry, None, band, resting_for)


def follow_rest(
    state: SocCheckState,
    cell_info: LiveValues,
    settings: Settings | None,
    at: float,
    *,
    max_gap: float = REST_MAX_GAP,
) -> SocCheckState:
    """Follow the rest through one frame without judging (every frame between checks).

    ``check_soc`` on the same frame afterwards follows it to the same rest.
    """
    return _follow_rest(state, cell_info, settings, at, max_gap)[0]


def judge(doubt: Doubt | None, band: tuple[int, int], bms_soc: int) -> Doubt | None:
    """Compare the counter with the cells' band; return the doubt that stands after."""
    low, high = band
    distance = max(low - bms_soc, bms_soc - high, 0)
    if distance > DOUBT_MARGIN or (doubt is not None and distance > AGREE_MARGIN):
        # Between the margins a standing doubt stays, with today's numbers.
        return Doubt(band_low=low, band_high=high, bms_soc=bms_soc)
    return None


def _follow_rest(
    state: SocCheckState,
    cell_info: LiveValues,
    settings: Settings | None,
    at: float,
    max_gap: float,
) -> tuple[SocCheckState, float | None]:
    """Return the new state and the seconds rested so far (None: not resting)."""
    rest_since = state.rest_since
    last = state.last_frame_at
    if last is not None and at - last > max_gap:
        rest_since = None  # nobody knows what the current did in the gap
    current = cell_info.current
    if current is None or abs(current) >= rest_current(cell_info, settings):
        return replace(state, rest_since=None, last_frame_at=at), None
    if rest_since is None:
        rest_since = at  # the first rested frame: the rest began at most a frame ago
    return replace(state, rest_since=rest_since, last_frame_at=at), at - rest_since


def _verdict(
    state: SocCheckState,
    chemistry: str | None,
    reason: CheckOff | None,
    band: tuple[int, int] | None,
    resting_for: float | None,
    *,
    judging: bool = True,
) -> SocVerdict:
    doubtful = (state.doubt is not None) if judging and state.judged else None
    return SocVerdict(
        chemistry=chemistry,
        reason=reason,
        band=band,
        resting_for=resting_for,
        doubtful=doubtful,
        doubt=state.doubt if doubtful else None,
    )


def derived_values(verdict: SocVerdict) -> dict[str, int | str | bool | None]:
    """Return the verdict as derived keys (what the entities read)."""
    band = verdict.band
    doubt = verdict.doubt
    return {
        "soc_from_the_cells": verdict.cells_soc,
        "soc_from_the_cells_low": band[0] if band else None,
        "soc_from_the_cells_high": band[1] if band else None,
        "soc_check_chemistry": verdict.chemistry,
        "soc_check_reason": verdict.reason.value if verdict.reason else None,
        "soc_doubtful": verdict.doubtful,
        "soc_doubt_cells_low": doubt.band_low if doubt else None,
        "soc_doubt_cells_high": doubt.band_high if doubt else None,
        "soc_doubt_bms": doubt.bms_soc if doubt else None,
    }


CHEMISTRY_LABELS: Final[Mapping[str, str]] = {
    "lifepo4": "LiFePO4",
    "li_ion": "Li-ion",
    "lto": "LTO",
}


def doubt_placeholders(
    derived: Mapping[str, object], settings: Settings | None
) -> dict[str, str] | None:
    """Return the repair's numbers while the SoC is doubtful, else None."""
    if derived.get("soc_doubtful") is not True:
        return None
    soc_100 = _number(settings, "soc_100_voltage") if settings is not None else None
    chemistry = derived.get("soc_check_chemistry")
    return {
        "low": str(derived.get("soc_doubt_cells_low")),
        "high": str(derived.get("soc_doubt_cells_high")),
        "soc": str(derived.get("soc_doubt_bms")),
        "chemistry": CHEMISTRY_LABELS.get(str(chemistry), str(chemistry)),
        "soc_100_voltage": "?" if soc_100 is None else f"{soc_100:.3f}",
    }
