"""Logbook frame (type 0x05, JK02_32S, requested with 0xA1; protocol doc §9)."""

from __future__ import annotations

from collections.abc import Mapping

from ..fields import U8, U32, Number, Role, Table  # noqa: TID252

LOGBOOK_TABLE: Table = (
    Number("entry_count", 6, U32),
    Number("check", 10, U8, role=Role.DETAIL),
)
ENTRIES_OFFSET = 11
ENTRY_SIZE = 5  # uint32 timestamp (s, relative) + uint8 event code
MAX_ENTRIES = 50

_PROTECTIONS = (
    "MOSFET overtemperature protection",
    "Current sensor anomaly",
    "Coprocessor communication error",
    "Cell overvoltage protection",
    "Battery overvoltage protection",
    "Charge overcurrent protection",
    "Charge short circuit protection",
    "Charge overtemperature protection",
    "Charge low temperature protection",
    "Cell undervoltage protection",
    "Battery undervoltage protection",
    "Discharge overcurrent protection",
    "Discharge short circuit protection",
    "Discharge overtemperature protection",
)


def _codes() -> dict[int, str]:
    codes = {
        0x01: "Boot",
        0x02: "Shutdown",
        0x03: "App charge on",
        0x04: "App charge off",
        0x05: "App discharge on",
        0x06: "App discharge off",
        0x07: "Remote charge on",
        0x08: "Remote charge off",
        0x09: "Remote discharge on",
        0x0A: "Remote discharge off",
        0x27: "Watchdog reset",
        0x28: "Discharge level-2 short circuit protection",
        0x29: "Emergency mode on",
        0x2A: "Emergency mode off",
        0x2B: "Emergency mode auto off",
        0x2C: "App off",
        0x2D: "Button off",
        0x2E: "Discharge on failed",
        0x2F: "RS485 power off",
        0x30: "CAN charge on",
        0x31: "CAN charge off",
        0x32: "CAN discharge on",
        0x33: "CAN discharge off",
        0x34: "RS485 charge on",
        0x35: "RS485 charge off",
        0x36: "RS485 discharge on",
        0x37: "RS485 discharge off",
        0x38: "Enter sleep",
        0x39: "Charge MOSFET abnormal",
        0x3A: "Discharge MOSFET abnormal",
        0x3B: "Time calibration",
        0x3C: "Cell count incorrect",
        0x3D: "Button emergency on",
        0x3E: "Button emergency off",
        0x3F: "Button forced heating",
        0x40: "Discharge overcurrent protection II",
        0x41: "Discharge overcurrent protection III",
        0x42: "Short circuit protection release failed",
        0x43: "Factory setting Li-ion",
        0x44: "Factory setting LFP",
        0x45: "Factory setting LTO",
        0x46: "Remote emergency on",
        0x47: "Remote emergency off",
        0x48: "Discharge low temperature protection",
        0x49: "Discharge low temperature protection is released",
    }
    # 0x0B-0x26: pairs "protection set" / "protection released".
    for index, name in enumerate(_PROTECTIONS):
        codes[0x0B + 2 * index] = name
        codes[0x0C + 2 * index] = f"{name} is released"
    for cell in range(1, 33):
        codes[0x63 + cell] = f"Cell {cell} over-charge protection"
        codes[0xC7 + cell] = f"Cell {cell} over-discharge protection"
    return codes


LOGBOOK_CODES: Mapping[int, str] = _codes()


def _entry_rows() -> Table:
    rows: list[Number] = []
    for index in range(MAX_ENTRIES):
        offset = ENTRIES_OFFSET + index * ENTRY_SIZE
        rows.append(
            Number(f"entry_{index + 1}_timestamp", offset, U32, role=Role.DETAIL)
        )
        rows.append(Number(f"entry_{index + 1}_code", offset + 4, U8, role=Role.DETAIL))
    return tuple(rows)


LOGBOOK_ENTRY_TABLE: Table = _entry_rows()
