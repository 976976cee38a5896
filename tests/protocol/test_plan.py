"""The compiled decode plans read every field the tables describe, in their order."""

from __future__ import annotations

import pytest

from custom_components.jk_bms.protocol import (
    FrameType,
    Variant,
    build_frame,
    decode_cell_info,
    table_for,
)
from custom_components.jk_bms.protocol.fields import table_keys
from custom_components.jk_bms.protocol.plan import DecodePlan, plan_for

from .vector_data import vectors_where

CASES = [
    (frame_type, variant)
    for frame_type in (FrameType.CELL_INFO, FrameType.SETTINGS)
    for variant in Variant
]


@pytest.mark.parametrize(("frame_type", "variant"), CASES)
def test_a_plan_yields_every_table_key_once(
    frame_type: FrameType, variant: Variant
) -> None:
    plan = plan_for(table_for(frame_type, variant), variant)
    assert sorted(plan.keys) == sorted(
        table_keys(table_for(frame_type, variant), variant)
    )
    assert len(plan.values(bytes(300))) == len(plan.keys)
    # each role keeps the table's order
    order = {
        key: n
        for n, key in enumerate(table_keys(table_for(frame_type, variant), variant))
    }
    for keys in (plan.entity_keys, plan.detail_keys, plan.secret_keys):
        assert [order[key] for key in keys] == sorted(order[key] for key in keys)


def test_plans_are_built_once_per_table_and_variant() -> None:
    table = table_for(FrameType.CELL_INFO, Variant.JK02_32S)
    assert plan_for(table, Variant.JK02_32S) is plan_for(table, Variant.JK02_32S)
    assert plan_for(table, Variant.JK02_24S) is not plan_for(table, Variant.JK02_32S)


def test_cell_details_read_like_a_dict() -> None:
    vector = vectors_where(variant="JK02_32S", frame_type=2)[0]
    cell_info = decode_cell_info(vector.data, Variant.JK02_32S)
    details = dict(cell_info.details)
    assert details["cell_presence_mask"] == cell_info.details["cell_presence_mask"]
    assert len(cell_info.details) == len(details) > 20
    assert repr(cell_info.details) == repr(details)
    assert "pin" not in details


def test_an_out_of_range_option_decodes_to_none() -> None:
    frame = build_frame(FrameType.CELL_INFO, Variant.JK02_32S, {"cell_voltage_1": 3.3})
    data = bytearray(frame)
    data[172] = 200  # balancer_status: no such option
    data[-1] = sum(data[:-1]) & 0xFF
    assert decode_cell_info(bytes(data), Variant.JK02_32S).balancer_status is None


def test_a_plan_without_secrets_or_details_still_splits() -> None:
    plan = DecodePlan(table_for(FrameType.SETTINGS, Variant.JK04), Variant.JK04)
    entities, details, secrets = plan.split(bytes(300))
    assert set(entities) | set(details) == set(plan.keys)
    assert secrets == {}
