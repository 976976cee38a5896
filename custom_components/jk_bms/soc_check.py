"""Cross-check of the BMS's SoC against the resting cells: is the counter drifting.

Pure and HA-free: one ``SocCrossCheck`` per BMS, fed every accepted cell-info
frame with its receive time (monotonic seconds) and the latest settings.

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
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .ocv import OCV_TABLES
from .protocol import CellInfo, Settings, Value

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


def rest_current(cell_info: CellInfo, settings: Settings | None) -> float:
    """Return the current (A) below which this pack counts as resting."""
    capacity = cell_info.full_charge_capacity
    if (capacity is None or capacity <= 0) and settings is not None:
        capacity = _number(settings, "total_battery_capacity")
    if capacity is None or capacity <= 0:
        return REST_CURRENT_FLOOR
    return max(REST_CURRENT_FLOOR, capacity / REST_C_DIVISOR)


class SocCrossCheck:
    """Follows one BMS's frames: rest detection, the cells' band, the latched doubt."""

    def __init__(self, max_gap: float = REST_MAX_GAP) -> None:
        """Start with no rest and no doubt."""
        self.max_gap = max_gap
        self._rest_since: float | None = None
        self._last_frame: float | None = None
        self._doubt: Doubt | None = None
        self._judged = False

    def update(
        self, now: float, cell_info: CellInfo, settings: Settings | None
    ) -> SocVerdict:
        """Take one accepted cell-info frame received at ``now`` (monotonic s)."""
        resting_for = self._follow_rest(now, cell_info, settings)
        chemistry, off = tell_chemistry(settings, cell_info.details.get("battery_type"))
        if chemistry is None:
            return self._verdict(None, off, None, resting_for, judging=False)
        assert settings is not None
        voltages = cell_info.cell_voltages
        if self._full_charge(voltages, settings):
            # The BMS sets its counter to 100 % right here: it is right again.
            self._doubt = None
            self._judged = True
        if cell_info.current is None or cell_info.state_of_charge is None:
            return self._verdict(chemistry, CheckOff.NO_CURRENT, None, None)
        if not voltages or min(voltages) < MIN_CELL_VOLTAGE:
            return self._verdict(chemistry, CheckOff.CELL_READING_MISSING, None, None)
        if resting_for is None:
            return self._verdict(chemistry, CheckOff.NOT_AT_REST, None, None)
        if resting_for < REST_SECONDS:
            return self._verdict(chemistry, CheckOff.SETTLING, None, resting_for)
        low, high = OCV_TABLES[chemistry].band(min(voltages), max(voltages))
        band = (math.floor(low), math.ceil(high))  # rounded outwards
        self._judge(band, cell_info.state_of_charge)
        return self._verdict(chemistry, None, band, resting_for)

    def _follow_rest(
        self, now: float, cell_info: CellInfo, settings: Settings | None
    ) -> float | None:
        """Seconds the pack has rested so far (None: not resting)."""
        last, self._last_frame = self._last_frame, now
        current = cell_info.current
        if last is not None and now - last > self.max_gap:
            self._rest_since = None
        if current is None or abs(current) >= rest_current(cell_info, settings):
            self._rest_since = None
            return None
        if self._rest_since is None:
            # The first rested frame: the rest started at most one frame ago.
            self._rest_since = now
        return now - self._rest_since

    def _full_charge(self, voltages: tuple[float, ...], settings: Settings) -> bool:
        soc_100 = _number(settings, "soc_100_voltage")
        return soc_100 is not None and bool(voltages) and max(voltages) >= soc_100

    def _judge(self, band: tuple[int, int], bms_soc: int) -> None:
        low, high = band
        distance = max(low - bms_soc, bms_soc - high, 0)
        self._judged = True
        if distance > DOUBT_MARGIN:
            self._doubt = Doubt(band_low=low, band_high=high, bms_soc=bms_soc)
        elif distance <= AGREE_MARGIN:
            self._doubt = None
        elif self._doubt is not None:
            # Between the margins a standing doubt stays, with today's numbers.
            self._doubt = Doubt(band_low=low, band_high=high, bms_soc=bms_soc)

    def _verdict(
        self,
        chemistry: str | None,
        reason: CheckOff | None,
        band: tuple[int, int] | None,
        resting_for: float | None,
        *,
        judging: bool = True,
    ) -> SocVerdict:
        doubtful: bool | None = None
        if judging and self._judged:
            doubtful = self._doubt is not None
        return SocVerdict(
            chemistry=chemistry,
            reason=reason,
            band=band,
            resting_for=resting_for,
            doubtful=doubtful,
            doubt=self._doubt if doubtful else None,
        )
