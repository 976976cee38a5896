"""Protocol variants and frame types."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Variant(StrEnum):
    """Frame layout family spoken by a BMS (see the protocol doc, variant naming)."""

    JK02_24S = "JK02_24S"
    JK02_32S = "JK02_32S"
    JK04 = "JK04"


class FrameType(IntEnum):
    """Byte 4 of a 300-byte response frame."""

    SETTINGS = 0x01
    CELL_INFO = 0x02
    DEVICE_INFO = 0x03
    LOGBOOK = 0x05


JK02_VARIANTS = (Variant.JK02_24S, Variant.JK02_32S)
