"""Which protocol variant a device speaks (protocol doc §10)."""

from __future__ import annotations

import logging
import struct

from .enums import FrameType, Variant
from .errors import UnknownFrameError, UnsupportedVariantError, VariantMismatchError
from .framing import FRAME_LENGTH, RESPONSE_HEADER
from .models import DeviceInfo

JK04_MAX_MAJOR = 5  # major < 6 => JK04
JK02_32S_MIN_MAJOR = 11
# Models whose sw 8.x still speaks JK04 (the JK-B5A24S active balancer).
JK04_MODEL_MARKERS = ("B5A",)
_FLOAT = struct.Struct("<f")
_JK04_CELL_RANGE = (1.0, 5.0)  # V; a JK02 frame read as float32 gives ~1e-30
_LOGGER = logging.getLogger(__name__)
_CELL_BLOCK = {Variant.JK02_24S: (24, 54), Variant.JK02_32S: (32, 70)}


def variant_from_versions(
    model: str,
    software_version: str,
    manufacturing_date: str = "x",
    serial_number: str = "x",
) -> Variant | None:
    """Apply §10: software major, the JK04 device-info shape and known JK04 models."""
    head = software_version.split(".", 1)[0].strip()
    if not head.isdigit():
        return None
    major = int(head)
    jk04_shape = not manufacturing_date and not serial_number
    if major <= JK04_MAX_MAJOR or jk04_shape:
        return Variant.JK04
    if any(marker in model.upper() for marker in JK04_MODEL_MARKERS):
        return Variant.JK04
    if major < JK02_32S_MIN_MAJOR:
        return Variant.JK02_24S
    return Variant.JK02_32S


def detect_variant(device_info: DeviceInfo) -> Variant:
    """Return the variant of a device from its device-info frame."""
    if device_info.variant is None:
        raise VariantMismatchError(
            f"cannot tell the protocol variant from software version "
            f"{device_info.software_version!r} (model {device_info.model!r})"
        )
    return device_info.variant


def _require_frame(data: bytes, frame_type: FrameType) -> None:
    if len(data) != FRAME_LENGTH or not data.startswith(RESPONSE_HEADER):
        raise UnknownFrameError(f"expected a {FRAME_LENGTH}-byte response frame")
    if data[4] != frame_type:
        raise UnknownFrameError(
            f"expected frame type {frame_type:#04x}, got {data[4]:#04x}"
        )


def looks_like_jk04(data: bytes) -> bool:
    """Tell whether bytes 6-9 hold a float32 cell/setting value (JK04 shape)."""
    value: float = _FLOAT.unpack_from(data, 6)[0]
    return _JK04_CELL_RANGE[0] <= value <= _JK04_CELL_RANGE[1]


def _jk02_mismatch(data: bytes, variant: Variant) -> str | None:
    cells, mask_offset = _CELL_BLOCK[variant]
    voltages = struct.unpack_from(f"<{cells}H", data, 6)
    present = sum(1 for voltage in voltages if voltage)
    mask = int.from_bytes(data[mask_offset : mask_offset + 4], "little")
    if mask.bit_count() != present:
        return (
            f"cell mask at {mask_offset} reports {mask.bit_count()} cells "
            f"but {present} cell voltages are non-zero"
        )
    return None


def check_cell_info(data: bytes, variant: Variant) -> None:
    """Raise VariantMismatchError when a cell-info frame does not fit ``variant``."""
    _require_frame(data, FrameType.CELL_INFO)
    jk04 = looks_like_jk04(data)
    if variant is Variant.JK04:
        if not jk04:
            raise VariantMismatchError(
                "cell-info frame is not float32-shaped (not JK04)"
            )
        return
    if jk04:
        raise VariantMismatchError(
            f"cell-info frame is float32-shaped (JK04), not {variant}"
        )
    reason = _jk02_mismatch(data, variant)
    if reason is not None:
        raise VariantMismatchError(f"cell-info frame does not fit {variant}: {reason}")


def guess_variant(data: bytes) -> Variant | None:
    """Best guess from one frame's shape alone (CLI fallback; None if unsure)."""
    if len(data) != FRAME_LENGTH:
        return None
    frame_type = data[4]
    if frame_type == FrameType.LOGBOOK:
        return Variant.JK02_32S
    if frame_type not in (FrameType.CELL_INFO, FrameType.SETTINGS):
        return None
    if looks_like_jk04(data):
        return Variant.JK04
    if frame_type == FrameType.SETTINGS:
        # 32S: byte 287 "data field enable control 0" is 254 on every unit;
        # 24S keeps connection-wire resistances (zeros) there.
        return Variant.JK02_32S if data[287] else Variant.JK02_24S
    fitting = [
        v for v in (Variant.JK02_32S, Variant.JK02_24S) if not _jk02_mismatch(data, v)
    ]
    return fitting[0] if len(fitting) == 1 else None


def confirm_variant(detected: Variant | None, cell_frame: bytes) -> Variant:
    """Check the first cell frame; fall back to the variant whose shape fits."""
    candidates = [v for v in Variant if v is not detected]
    if detected is not None:
        candidates.insert(0, detected)
    errors: list[str] = []
    for candidate in candidates:
        try:
            check_cell_info(cell_frame, candidate)
        except VariantMismatchError as err:
            errors.append(str(err))
            continue
        if candidate is not detected:
            _LOGGER.warning(
                "The firmware suggests %s but the cell frames are %s",
                detected,
                candidate,
            )
        return candidate
    raise UnsupportedVariantError("; ".join(errors))
