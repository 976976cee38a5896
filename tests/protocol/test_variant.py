"""Variant detection from device info, and the first-cell-frame sanity check."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.jk_bms.protocol import (
    FrameType,
    Variant,
    VariantMismatchError,
    check_cell_info,
    decode_device_info,
    detect_variant,
    guess_variant,
)

from .vector_data import Vector, all_vectors

DEVICE_INFOS = [v for v in all_vectors() if v.frame_type is FrameType.DEVICE_INFO]
CELL_FRAMES = [
    v for v in all_vectors() if v.frame_type is FrameType.CELL_INFO and v.variant
]


@pytest.mark.parametrize("vector", DEVICE_INFOS, ids=lambda v: v.id)
def test_variant_is_detected_from_the_device_info(vector: Vector) -> None:
    info = decode_device_info(vector.data)
    if vector.variant is None:  # mpp-solar's JK-BD6A20S10P sw 4.1.7: major < 6
        assert detect_variant(info) is Variant.JK04
    else:
        assert detect_variant(info) is vector.variant


def test_b5a24s_with_software_8_is_jk04() -> None:
    vector = next(
        v for v in DEVICE_INFOS if v.raw["device"].get("vendor_id") == "JK-B5A24S"
    )
    info = decode_device_info(vector.data)
    assert info.software_version == "8.0.3M"
    assert detect_variant(info) is Variant.JK04


def test_unreadable_software_version_is_reported() -> None:
    info = decode_device_info(DEVICE_INFOS[0].data)
    broken = replace(info, software_version="V?", variant=None)
    with pytest.raises(VariantMismatchError):
        detect_variant(broken)


@pytest.mark.parametrize("vector", CELL_FRAMES, ids=lambda v: v.id)
def test_cell_frames_fit_their_variant_and_no_other(vector: Vector) -> None:
    assert vector.variant is not None
    check_cell_info(vector.data, vector.variant)
    for other in Variant:
        if other is not vector.variant and _distinguishable(vector):
            with pytest.raises(VariantMismatchError):
                check_cell_info(vector.data, other)


def _distinguishable(vector: Vector) -> bool:
    """A frame with no cells connected fits every JK02 layout."""
    return any(vector.data[6:54])


@pytest.mark.parametrize("vector", CELL_FRAMES, ids=lambda v: v.id)
def test_frame_shape_guess_agrees(vector: Vector) -> None:
    if _distinguishable(vector):
        assert guess_variant(vector.data) is vector.variant
