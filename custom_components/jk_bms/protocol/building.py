"""``build_frame`` (values -> bytes): the inverse of decoding, through the same tables."""

from __future__ import annotations

from collections.abc import Mapping

from .decoding import MOSFET_PRESENCE_BIT, TEMPERATURE_SENSORS, table_for
from .enums import FrameType, Variant
from .errors import InvalidValueError
from .fields import Value, encode_fields, offset_of
from .framing import FRAME_LENGTH, RESPONSE_HEADER, checksum
from .plan import decode_fields

# Keys computed from other fields: accepted (and ignored) by build_frame.
DERIVED_CELL_KEYS = frozenset(
    {
        "power",
        "charging_power",
        "discharging_power",
        "average_cell_voltage",
        "delta_cell_voltage",
        "min_cell_voltage",
        "max_cell_voltage",
        "min_voltage_cell",
        "max_voltage_cell",
        "cell_count",
        "errors",
        "balancing",
        "emergency",
    }
)
DERIVED_JK04_CELL_KEYS = DERIVED_CELL_KEYS | {"total_voltage"}


def _float(value: Value) -> float | None:
    return (
        float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else None
    )


def _allowed_derived(frame_type: FrameType, variant: Variant) -> frozenset[str]:
    if frame_type is not FrameType.CELL_INFO:
        return frozenset()
    return DERIVED_JK04_CELL_KEYS if variant is Variant.JK04 else DERIVED_CELL_KEYS


def _sync_presence_masks(
    buffer: bytearray, variant: Variant, values: Mapping[str, Value]
) -> None:
    """Keep the cell and temperature presence masks consistent with written values."""
    table = table_for(FrameType.CELL_INFO, variant)
    offsets = {spec.key: offset_of(spec, variant) for spec in table}
    if "cell_presence_mask" not in values and any(
        k.startswith("cell_voltage_") for k in values
    ):
        decoded = decode_fields(table, bytes(buffer), variant)
        slots = 24 if variant is not Variant.JK02_32S else 32
        mask = sum(
            1 << (index - 1)
            for index in range(1, slots + 1)
            if (_float(decoded.get(f"cell_voltage_{index}")) or 0) > 0
        )
        offset = offsets["cell_presence_mask"]
        if offset is not None:
            buffer[offset : offset + 4] = mask.to_bytes(4, "little")
    mask_offset = offsets.get("temperature_presence_mask")
    if (
        variant is Variant.JK04
        or mask_offset is None
        or "temperature_presence_mask" in values
    ):
        return
    mask = buffer[mask_offset]
    sensors = {"mosfet_temperature": MOSFET_PRESENCE_BIT} | {
        f"temperature_sensor_{n}": n for n in range(1, TEMPERATURE_SENSORS[variant] + 1)
    }
    for key, bit in sensors.items():
        if key in values:
            mask = mask | (1 << bit) if values[key] is not None else mask & ~(1 << bit)
    buffer[mask_offset] = mask


def build_frame(
    frame_type: FrameType,
    variant: Variant,
    values: Mapping[str, Value],
    *,
    template: bytes | None = None,
    counter: int = 0,
) -> bytes:
    """Encode ``values`` (decoded keys) into a 300-byte frame; the inverse of decoding.

    Starts from ``template`` (or zeros), writes every given key through the same
    table the decoder uses, keeps presence masks consistent and fixes the checksum.
    Derived keys (power, min/max cell, errors, …) are accepted and ignored.
    """
    if template is not None and len(template) != FRAME_LENGTH:
        raise InvalidValueError(
            "template must be 300 bytes", key="template", value=len(template)
        )
    buffer = bytearray(template) if template is not None else bytearray(FRAME_LENGTH)
    buffer[0:4] = RESPONSE_HEADER
    buffer[4] = frame_type
    buffer[5] = counter & 0xFF
    table_variant: Variant | None = variant
    table = table_for(frame_type, variant)
    written = encode_fields(table, buffer, table_variant, values)
    unknown = set(values) - written - _allowed_derived(frame_type, variant)
    if unknown:
        raise InvalidValueError(
            f"keys not carried by this frame: {', '.join(sorted(unknown))}",
            key=sorted(unknown)[0],
        )
    if frame_type is FrameType.CELL_INFO:
        _sync_presence_masks(buffer, variant, values)
    buffer[-1] = checksum(buffer[:-1])
    return bytes(buffer)
