"""build_frame is the inverse of decoding: decode(build(values)) == values."""

from __future__ import annotations

import math

import pytest

from custom_components.jk_bms.protocol import (
    CellInfo,
    FrameType,
    InvalidValueError,
    RawFrame,
    Settings,
    Variant,
    build_frame,
    check_cell_info,
    decode_device_info,
    decode_frame,
    table_for,
)
from custom_components.jk_bms.protocol.fields import Value
from custom_components.jk_bms.protocol.plan import decode_fields

from .vector_data import Vector, all_vectors

VECTORS = [v for v in all_vectors() if v.variant is not None]


def table_variant(vector: Vector) -> Variant:
    assert vector.variant is not None
    if vector.frame_type is FrameType.DEVICE_INFO:
        return decode_device_info(vector.data).variant or vector.variant
    return vector.variant


def same(left: dict[str, Value], right: dict[str, Value]) -> bool:
    if left.keys() != right.keys():
        return False
    return all(
        a == b
        or (
            isinstance(a, float)
            and isinstance(b, float)
            and math.isnan(a)
            and math.isnan(b)
        )
        for a, b in ((left[k], right[k]) for k in left)
    )


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_every_table_field_survives_build_then_decode(vector: Vector) -> None:
    variant = table_variant(vector)
    table = table_for(vector.frame_type, variant)
    fields = decode_fields(table, vector.data, variant)
    built = build_frame(vector.frame_type, variant, fields, counter=vector.data[5])
    # A select index outside the option table decodes to None and is left as stored.
    known = {k: v for k, v in fields.items() if v is not None or "protocol" not in k}
    rebuilt = decode_fields(table, built, variant)
    assert same({k: rebuilt[k] for k in known}, known)
    # Starting from the real frame as template, the model's values come back too.
    again = build_frame(
        vector.frame_type, variant, fields, template=vector.data, counter=vector.data[5]
    )
    decoded_original = decode_frame(RawFrame.from_bytes(vector.data), variant)
    decoded_again = decode_frame(RawFrame.from_bytes(again), variant)
    assert same(decoded_again.values(), decoded_original.values())


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS if v.frame_type is FrameType.CELL_INFO],
    ids=lambda v: v.id,
)
def test_entity_values_build_a_frame_that_decodes_to_them(vector: Vector) -> None:
    """What the simulator does: take values(), change some, build from zeros."""
    variant = table_variant(vector)
    original = decode_frame(RawFrame.from_bytes(vector.data), variant)
    assert isinstance(original, CellInfo)
    values = original.values()
    built = build_frame(FrameType.CELL_INFO, variant, values)
    check_cell_info(built, variant)  # presence masks are kept consistent
    rebuilt = decode_frame(RawFrame.from_bytes(built), variant)
    assert same(rebuilt.values(), values)


def test_a_simulated_change_is_what_decodes() -> None:
    vector = next(
        v
        for v in VECTORS
        if v.variant is Variant.JK02_32S and v.frame_type is FrameType.CELL_INFO
    )
    values = {
        "cell_voltage_1": 3.301,
        "cell_voltage_2": 3.299,
        "total_voltage": 6.6,
        "current": -12.5,
        "temperature_sensor_1": 21.5,
        "temperature_sensor_3": None,
        "alarm_cell_overvoltage": True,
    }
    frame = build_frame(
        FrameType.CELL_INFO, Variant.JK02_32S, values, template=vector.data
    )
    decoded = decode_frame(RawFrame.from_bytes(frame), Variant.JK02_32S)
    assert isinstance(decoded, CellInfo)
    assert decoded.power == pytest.approx(-82.5)
    assert decoded.values()["discharging_power"] == pytest.approx(82.5)
    assert decoded.temperatures[1] == 21.5
    assert 3 not in decoded.temperatures
    assert "alarm_cell_overvoltage" in decoded.alarms
    assert "Cell overvoltage" in (decoded.errors or "")


def test_settings_built_from_zeros_for_every_variant() -> None:
    for variant, values in (
        (Variant.JK02_24S, {"cell_ovp": 3.65, "charging": True, "charge_utp": -10.0}),
        (
            Variant.JK02_32S,
            {
                "cell_ovp": 3.65,
                "heating": True,
                "port_mode": "rs485",
                "discharge_utp": -20,
            },
        ),
        (Variant.JK04, {"power_off_voltage": 3.2, "balancer": True, "cell_count": 16}),
    ):
        settings = decode_frame(
            RawFrame.from_bytes(build_frame(FrameType.SETTINGS, variant, values)),
            variant,
        )
        assert isinstance(settings, Settings)
        for key, value in values.items():
            assert settings[key] == value


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(InvalidValueError):
        build_frame(FrameType.SETTINGS, Variant.JK02_24S, {"heating": True})  # 32S only
    with pytest.raises(InvalidValueError):
        build_frame(FrameType.SETTINGS, Variant.JK02_32S, {"cell_ovp": 1e9})
