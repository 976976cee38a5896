"""The BMS's own story, HA-free: which events are new, and when they happened.

JK02_32S keeps a logbook (frame 0x05): entries of a runtime stamp (seconds the
BMS has run) and an event code. ``LogbookTracker`` picks the entries newer than
the newest one seen and dates them with the runtime the latest cell-info frame
carries. JK02_24S has no logbook: ``AlarmTrips`` turns alarm-bit transitions in
the stream into the same event types, marked as derived. ``LogbookReads``
decides when a logbook read is due (the entry count grew, or a slow fallback).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from .protocol import Logbook, LogEntry
from .protocol.tables.logbook import LOGBOOK_CODES

UNKNOWN = "unknown"
CELL_OVERCHARGE = "cell_overcharge_protection"
CELL_OVERDISCHARGE = "cell_overdischarge_protection"
_CELL_OVERCHARGE_CODES = range(0x64, 0x84)  # cells 1-32
_CELL_OVERDISCHARGE_CODES = range(0xC8, 0xE8)

# A logbook entry stamped later than the BMS's own runtime (plus the frames'
# 1 s resolution and transit) cannot be real: a garbled frame.
FUTURE_TOLERANCE_S = 5
# Logbook reads: at most one per this, and one this often even without growth
# (firmware that leaves "Detail Logs Count" at 0).
MIN_READ_INTERVAL_S = 30.0
FALLBACK_READ_INTERVAL_S = 1800.0


def _slug(text: str) -> str:
    text = text.removesuffix(" is released") + (
        " released" if text.endswith(" is released") else ""
    )
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _event_types() -> dict[int, str]:
    types: dict[int, str] = {}
    for code, text in sorted(LOGBOOK_CODES.items()):
        if code in _CELL_OVERCHARGE_CODES:
            types[code] = CELL_OVERCHARGE
        elif code in _CELL_OVERDISCHARGE_CODES:
            types[code] = CELL_OVERDISCHARGE
        else:
            types[code] = _slug(text)
    return types


EVENT_TYPE_BY_CODE: Mapping[int, str] = _event_types()
EVENT_TYPES: tuple[str, ...] = (*dict.fromkeys(EVENT_TYPE_BY_CODE.values()), UNKNOWN)
"""Every event type the entity can fire: one per code (cells folded), plus unknown."""

# Alarm bit (cell-info frame) → logbook code when it sets, and when it clears.
TRIP_CODES: Mapping[str, tuple[int, int | None]] = {
    "alarm_mosfet_overtemperature": (0x0B, 0x0C),
    "alarm_current_sensor_anomaly": (0x0D, 0x0E),
    "alarm_coprocessor_communication_error": (0x0F, 0x10),
    "alarm_cell_overvoltage": (0x11, 0x12),
    "alarm_battery_overvoltage": (0x13, 0x14),
    "alarm_charge_overcurrent": (0x15, 0x16),
    "alarm_charge_short_circuit": (0x17, 0x18),
    "alarm_charge_overtemperature": (0x19, 0x1A),
    "alarm_charge_undertemperature": (0x1B, 0x1C),
    "alarm_cell_undervoltage": (0x1D, 0x1E),
    "alarm_battery_undervoltage": (0x1F, 0x20),
    "alarm_discharge_overcurrent": (0x21, 0x22),
    "alarm_discharge_short_circuit": (0x23, 0x24),
    "alarm_discharge_overtemperature": (0x25, 0x26),
    "alarm_discharge_on_failed": (0x2E, None),
    "alarm_charging_mosfet_abnormal": (0x39, None),
    "alarm_discharging_mosfet_abnormal": (0x3A, None),
    "alarm_discharge_ocp_2": (0x40, None),
    "alarm_discharge_ocp_3": (0x41, None),
    "alarm_scp_release_failed": (0x42, None),
    "alarm_discharge_undertemperature": (0x48, 0x49),
}


@dataclass(frozen=True, slots=True)
class BmsEvent:
    """One event to fire: its type, the BMS's code and text, and when it happened."""

    event_type: str
    code: int
    text: str
    occurred_at: datetime | None
    derived: bool
    runtime_s: int | None = None  # the logbook entry's stamp (None when derived)
    cell: int | None = None

    def attributes(self) -> dict[str, Any]:
        """Return the event entity's attributes for this event."""
        attributes: dict[str, Any] = {
            "code": self.code,
            "event": self.text,
            "occurred_at": (
                None if self.occurred_at is None else self.occurred_at.isoformat()
            ),
            "derived": self.derived,
        }
        if self.runtime_s is not None:
            attributes["bms_runtime"] = self.runtime_s
        if self.cell is not None:
            attributes["cell"] = self.cell
        return attributes


def describe(
    code: int, occurred_at: datetime | None, *, derived: bool, runtime_s: int | None
) -> BmsEvent:
    """Describe one logbook code as an event (unknown codes included)."""
    event_type = EVENT_TYPE_BY_CODE.get(code, UNKNOWN)
    text = LOGBOOK_CODES.get(code, f"Unknown event (code {code})")
    cell: int | None = None
    if code in _CELL_OVERCHARGE_CODES:
        cell = code - _CELL_OVERCHARGE_CODES.start + 1
    elif code in _CELL_OVERDISCHARGE_CODES:
        cell = code - _CELL_OVERDISCHARGE_CODES.start + 1
    return BmsEvent(event_type, code, text, occurred_at, derived, runtime_s, cell)


@dataclass(frozen=True, slots=True)
class Marker:
    """The newest logbook entry seen: its stamp, code and position among equals."""

    runtime_s: int
    code: int
    same_stamp: int  # how many entries with this stamp were seen (ties are ordered)

    def as_dict(self) -> dict[str, int]:
        """JSON-able form (restore data)."""
        return {
            "runtime_s": self.runtime_s,
            "code": self.code,
            "same_stamp": self.same_stamp,
        }

    @classmethod
    def from_dict(cls, data: object) -> Marker | None:
        """Read the restore data back; None when it is missing or malformed."""
        if not isinstance(data, Mapping):
            return None
        values = [data.get(key) for key in ("runtime_s", "code", "same_stamp")]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return None
        runtime_s, code, same_stamp = values
        assert isinstance(runtime_s, int)
        assert isinstance(code, int)
        assert isinstance(same_stamp, int)
        return cls(runtime_s, code, same_stamp)


def _marker_of(entries: tuple[LogEntry, ...]) -> Marker | None:
    if not entries:
        return None
    newest = entries[-1]
    ties = sum(1 for e in entries if e.timestamp_s == newest.timestamp_s)
    return Marker(newest.timestamp_s, newest.code, ties)


def check_logbook(logbook: Logbook, runtime_s: int | None) -> str | None:
    """None when the frame is believable, else why it is dropped."""
    stamps = [entry.timestamp_s for entry in logbook.entries]
    if any(later < earlier for earlier, later in pairwise(stamps)):
        return "entries out of order"
    if stamps and runtime_s is not None and stamps[-1] > runtime_s + FUTURE_TOLERANCE_S:
        return "entry newer than the BMS runtime"
    return None


class LogbookTracker:
    """New logbook entries since the newest one seen, dated in wall-clock time.

    The first logbook ever read (no marker restored) is the baseline: its
    history is not news and fires nothing.
    """

    def __init__(self, marker: Marker | None = None) -> None:
        """Start from the restored marker, if any."""
        self.marker = marker
        self.entry_count: int | None = None
        self.drops: Counter[str] = Counter()

    def new_events(
        self, logbook: Logbook, runtime_s: int | None, runtime_at: datetime
    ) -> list[BmsEvent]:
        """Events for the entries not seen before (oldest first).

        ``runtime_s``: the BMS runtime of the latest cell-info frame, received at
        ``runtime_at``; an entry stamped ``t`` happened ``runtime_s - t`` earlier.
        """
        if (reason := check_logbook(logbook, runtime_s)) is not None:
            self.drops[reason] += 1
            return []
        self.entry_count = logbook.entry_count
        fresh = self._fresh(logbook.entries)
        if (newest := _marker_of(logbook.entries)) is not None and (
            self.marker is None or fresh
        ):
            self.marker = newest
        return [
            describe(
                entry.code,
                _wall_clock(entry.timestamp_s, runtime_s, runtime_at),
                derived=False,
                runtime_s=entry.timestamp_s,
            )
            for entry in fresh
        ]

    def _fresh(self, entries: tuple[LogEntry, ...]) -> list[LogEntry]:
        marker = self.marker
        if marker is None:
            return []
        fresh: list[LogEntry] = []
        ties = 0
        for entry in entries:
            if entry.timestamp_s > marker.runtime_s:
                fresh.append(entry)
            elif entry.timestamp_s == marker.runtime_s:
                ties += 1
                if ties > marker.same_stamp:
                    fresh.append(entry)
        return fresh


def _wall_clock(
    stamp_s: int, runtime_s: int | None, runtime_at: datetime
) -> datetime | None:
    if runtime_s is None:
        return None
    # Never in the future: an entry cannot be newer than the frame that dates it.
    return runtime_at - timedelta(seconds=max(runtime_s - stamp_s, 0))


class AlarmTrips:
    """Protection trips derived from alarm-bit transitions (no logbook).

    Only alarms with a logbook code count; ``last`` (restored) is the alarm set
    seen last, so an alarm still set after a restart does not fire again. With
    nothing restored the first frame is the baseline.
    """

    def __init__(self, last: frozenset[str] | None = None) -> None:
        """Start from the restored alarm set, if any."""
        self.last = last

    def new_events(self, alarms: Iterable[str], at: datetime) -> list[BmsEvent]:
        """Events for the alarms that set or cleared since the last frame."""
        now = frozenset(alarm for alarm in alarms if alarm in TRIP_CODES)
        last, self.last = self.last, now
        if last is None:
            return []
        events = [
            describe(TRIP_CODES[alarm][0], at, derived=True, runtime_s=None)
            for alarm in sorted(now - last)
        ]
        releases = (TRIP_CODES[alarm][1] for alarm in sorted(last - now))
        events.extend(
            describe(code, at, derived=True, runtime_s=None)
            for code in releases
            if code is not None
        )
        return events


class LogbookReads:
    """When to read the logbook: at connect, when the entry count changes, or rarely.

    "Detail Logs Count" in the cell-info frame grows with every entry; a count
    that changes (a drop too: a cleared log or a garbled frame) asks for a
    read, at most one per ``MIN_READ_INTERVAL_S``; a change seen during that
    pause is read right after it.
    """

    def __init__(self) -> None:
        """Nothing read yet: the first check asks for a read."""
        self._count: int | None = None
        self._last_read: float | None = None
        self._pending = True

    def connected(self) -> None:
        """Read at the next check after a new link, however recent the last read."""
        self._pending = True
        self._last_read = None

    def due(self, count: int | None, now: float) -> bool:
        """Tell whether to read now (``now``: monotonic seconds)."""
        if count is not None and self._count is not None and count != self._count:
            self._pending = True
        if count is not None:
            self._count = count
        if self._last_read is not None:
            since = now - self._last_read
            if since < MIN_READ_INTERVAL_S:
                return False
            if since >= FALLBACK_READ_INTERVAL_S:
                self._pending = True
        return self._pending

    def read(self, now: float) -> None:
        """Note that a read was answered."""
        self._last_read = now
        self._pending = False

    def failed(self, now: float) -> None:
        """Note that a read went unanswered: try again after the pause."""
        self._last_read = now
        self._pending = True
