"""The logbook a virtual JK02_32S keeps: one entry per protection trip and per switch.

A real BMS stamps each entry with its runtime (seconds it has run) and an event
code (protocol doc §9); the app shows the count as "Detail Logs Count", which the
cell-info frame carries. The frame answering 0xA1 is the captured one with the
entries rewritten: the newest 50 (a frame holds no more), the total count at 6.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from custom_components.jk_bms.protocol import decode_logbook
from custom_components.jk_bms.protocol.tables.logbook import (
    ENTRIES_OFFSET,
    ENTRY_SIZE,
    MAX_ENTRIES,
)

from .templates import LOGBOOK_JK02_32S

# Codes the simulated pack writes (the vendor's numbering, protocol doc §9).
APP_SWITCH_CODES: Final = {
    ("charging", True): 0x03,
    ("charging", False): 0x04,
    ("discharging", True): 0x05,
    ("discharging", False): 0x06,
}
# Alarm key → code when the protection trips, code when it is released.
PROTECTION_CODES: Final = {
    "alarm_mosfet_overtemperature": (0x0B, 0x0C),
    "alarm_cell_overvoltage": (0x11, 0x12),
    "alarm_charge_overcurrent": (0x15, 0x16),
    "alarm_charge_overtemperature": (0x19, 0x1A),
    "alarm_charge_undertemperature": (0x1B, 0x1C),
    "alarm_cell_undervoltage": (0x1D, 0x1E),
    "alarm_discharge_overcurrent": (0x21, 0x22),
    "alarm_discharge_overtemperature": (0x25, 0x26),
}


class VirtualLogbook:
    """Entries ``(runtime stamp s, code)``, oldest first."""

    def __init__(self, runtime_s: int) -> None:
        """Start with the captured unit's entries that fit a BMS running ``runtime_s``."""
        captured = decode_logbook(LOGBOOK_JK02_32S).entries
        self.entries: list[tuple[int, int]] = [
            (entry.timestamp_s, entry.code)
            for entry in captured
            if entry.timestamp_s <= runtime_s
        ]

    @property
    def count(self) -> int:
        """The total number of entries ("Detail Logs Count")."""
        return len(self.entries)

    def record(self, code: int, runtime_s: int) -> None:
        """Write one entry (any code, also ones unknown to the integration)."""
        self.entries.append((runtime_s, code))

    def extend(self, entries: Iterable[tuple[int, int]]) -> None:
        """Write several entries at once."""
        self.entries.extend(entries)

    def clear(self) -> None:
        """Empty the logbook (the count goes down)."""
        self.entries.clear()

    def protection(self, alarm: str, active: bool, runtime_s: int) -> None:
        """Write the entry for a protection that tripped or was released."""
        codes = PROTECTION_CODES.get(alarm)
        if codes is not None:
            self.record(codes[0] if active else codes[1], runtime_s)

    def switched(self, key: str, on: bool, runtime_s: int) -> None:
        """Write the entry for the app switching charging or discharging."""
        code = APP_SWITCH_CODES.get((key, on))
        if code is not None:
            self.record(code, runtime_s)

    def frame(self, counter: int) -> bytes:
        """Build the 0x05 frame answering 0xA1."""
        data = bytearray(LOGBOOK_JK02_32S)
        data[5] = counter
        data[6:10] = self.count.to_bytes(4, "little")
        end = ENTRIES_OFFSET + MAX_ENTRIES * ENTRY_SIZE
        data[ENTRIES_OFFSET:end] = bytes(end - ENTRIES_OFFSET)
        for index, (stamp, code) in enumerate(self.entries[-MAX_ENTRIES:]):
            at = ENTRIES_OFFSET + index * ENTRY_SIZE
            data[at : at + 4] = stamp.to_bytes(4, "little")
            data[at + 4] = code
        data[-1] = sum(data[:-1]) & 0xFF
        return bytes(data)
