"""Plausibility check: real frames pass, garbage with a lucky checksum does not."""

from __future__ import annotations

import dataclasses

import pytest

from custom_components.jk_bms.protocol import (
    CellInfo,
    FrameType,
    ImplausibleFrameError,
    Variant,
    check_plausibility,
    checksum,
    decode_cell_info,
)

from .vector_data import Vector, all_vectors

CELL_FRAMES = [
    v
    for v in all_vectors()
    if v.frame_type is FrameType.CELL_INFO and v.variant is not None
]


def _decode(vector: Vector) -> CellInfo:
    assert vector.variant is not None
    return decode_cell_info(vector.data, vector.variant)


def test_there_are_captured_cell_frames_of_every_variant() -> None:
    assert {v.variant for v in CELL_FRAMES} == set(Variant)


@pytest.mark.parametrize("vector", CELL_FRAMES, ids=lambda v: v.id)
def test_every_captured_cell_frame_is_plausible(vector: Vector) -> None:
    """The captures are real devices: the check must never drop them."""
    check_plausibility(_decode(vector))


def test_a_lucky_checksum_with_a_9_9_volt_cell_is_rejected() -> None:
    vector = next(v for v in CELL_FRAMES if v.variant is Variant.JK02_32S)
    data = bytearray(vector.data)
    data[6:8] = (9900).to_bytes(2, "little")  # cell 1, mV
    data[-1] = checksum(bytes(data[:-1]))
    cell_info = decode_cell_info(bytes(data), Variant.JK02_32S)  # decodes fine
    assert cell_info.cell_voltages[0] == pytest.approx(9.9)
    with pytest.raises(ImplausibleFrameError, match="cell 1"):
        check_plausibility(cell_info)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"state_of_charge": 101}, "state of charge"),
        ({"temperatures": {1: 200.0}}, "temperature sensor 1"),
        ({"temperatures": {2: -60.0}}, "temperature sensor 2"),
        ({"total_voltage": 50.0}, "total voltage"),
    ],
)
def test_other_impossible_values_are_rejected(
    change: dict[str, object], message: str
) -> None:
    vector = next(v for v in CELL_FRAMES if v.variant is Variant.JK02_24S)
    cell_info = dataclasses.replace(_decode(vector), **change)  # type: ignore[arg-type]
    with pytest.raises(ImplausibleFrameError, match=message):
        check_plausibility(cell_info)


def test_an_open_sense_wire_reading_zero_volts_is_kept() -> None:
    """0 V is what a disconnected cell wire reads: that frame carries the alarm."""
    vector = next(v for v in CELL_FRAMES if v.variant is Variant.JK02_24S)
    cell_info = _decode(vector)
    voltages = (0.0, *cell_info.cell_voltages[1:])
    check_plausibility(
        dataclasses.replace(
            cell_info, cell_voltages=voltages, total_voltage=sum(voltages)
        )
    )
