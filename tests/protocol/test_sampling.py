"""A cell frame's sample holds exactly what the full decode has for the same fields.

Every streamed frame is read only for its sample; the whole frame is decoded when
it is shown. The energy meters, the SoC rest and the urgent hand-on must see the
same values either way, on every captured frame of every variant.
"""

from __future__ import annotations

import math

import pytest

from custom_components.jk_bms.protocol import (
    CellInfo,
    ChecksumError,
    FrameType,
    decode_cell_info,
    decode_cell_sample,
)

from .vector_data import Vector, all_vectors

CELL_FRAMES = [
    v
    for v in all_vectors()
    if v.variant is not None and v.frame_type is FrameType.CELL_INFO
]


def _same(a: object, b: object) -> bool:
    nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a)
    return a == b or (nan and math.isnan(b))  # type: ignore[arg-type]


@pytest.mark.parametrize("vector", CELL_FRAMES, ids=lambda v: v.id)
def test_sample_matches_the_full_decode(vector: Vector) -> None:
    assert vector.variant is not None
    cell: CellInfo = decode_cell_info(vector.data, vector.variant)
    sample = decode_cell_sample(vector.data, vector.variant)

    assert sample.counter == cell.counter
    assert sample.cell_voltages == cell.cell_voltages
    for key in (
        "total_voltage",
        "current",
        "state_of_charge",
        "full_charge_capacity",
        "charging",
        "discharging",
    ):
        assert _same(getattr(sample, key), getattr(cell, key)), key
    for key in ("cell_presence_mask", "power_reported"):
        assert _same(getattr(sample, key), cell.details.get(key)), key
    # The alarm word is the full decode's, and carries every alarm it lists.
    assert sample.alarm_word == (cell.details.get("alarm_bitmask") or 0)
    assert sample.alarm_word or not cell.alarms


def test_every_variant_has_frames() -> None:
    assert {v.variant for v in CELL_FRAMES} >= {
        v.variant for v in all_vectors() if v.variant is not None
    }


def test_a_garbled_sample_is_refused_like_the_frame() -> None:
    vector = CELL_FRAMES[0]
    assert vector.variant is not None
    garbled = bytearray(vector.data)
    garbled[100] ^= 0x10  # the checksum no longer matches
    with pytest.raises(ChecksumError):
        decode_cell_sample(bytes(garbled), vector.variant)
