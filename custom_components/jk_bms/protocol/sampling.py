"""The few values every cell frame is read for; decode_cell_info reads the rest.

A BMS streams about two cell frames a second and its states are written every
few seconds: per frame only what needs every frame is decoded (the energy
meters' V and I, the rest's current, what is handed on at once, and what the
frame shield guards those with). The plan is built from the same table as the
full decode, over the sampled fields only, and each value comes out exactly as
``decode_cell_info`` has it (tests/protocol/test_sampling.py compares them on
every captured frame).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from .decoding import (
    as_bool,
    as_float,
    as_int,
    cell_slots,
    check_envelope,
    present_cells,
    series_picker,
    table_for,
)
from .enums import FrameType, Variant
from .fields import Value
from .models import CellSample
from .plan import DecodePlan


@dataclass(frozen=True, slots=True)
class _SampleLayout:
    plan: DecodePlan
    slots: int
    voltages: Callable[[Sequence[Value]], tuple[float, ...]]
    picks: tuple[int | None, ...]  # index of each scalar of CellSample (None: absent)


_SAMPLE_SCALARS = (
    "cell_presence_mask",
    "total_voltage",
    "current",
    "power_reported",
    "state_of_charge",
    "full_charge_capacity",
    "alarm_bitmask",
    "charging",
    "discharging",
)
_SAMPLED = frozenset(_SAMPLE_SCALARS) | {"cell_voltage"}


@cache
def _sample_layout(variant: Variant) -> _SampleLayout:
    """Build the plan over the sampled fields only, from the full decode's table."""
    table = table_for(FrameType.CELL_INFO, variant)
    decoder = DecodePlan(tuple(spec for spec in table if spec.key in _SAMPLED), variant)
    slots = cell_slots(variant)
    return _SampleLayout(
        plan=decoder,
        slots=slots,
        voltages=series_picker(decoder, "cell_voltage", slots),
        picks=tuple(decoder.index.get(key) for key in _SAMPLE_SCALARS),
    )


def decode_cell_sample(data: bytes, variant: Variant) -> CellSample:
    """Decode the sampled fields of a cell-info frame (each as decode_cell_info has it)."""
    check_envelope(data, FrameType.CELL_INFO)
    layout = _sample_layout(variant)
    raw = layout.plan.values(data)
    voltages = present_cells(layout.voltages(raw), layout.slots)
    mask, total, current, power, soc, full, alarms, charging, discharging = (
        None if index is None else raw[index] for index in layout.picks
    )
    if variant is Variant.JK04:
        total = round(sum(voltages, 0.0), 4)
    return CellSample(
        counter=data[5],
        cell_voltages=voltages,
        cell_presence_mask=as_int(mask),
        total_voltage=as_float(total),
        current=as_float(current),
        power_reported=as_float(power),
        state_of_charge=as_int(soc),
        full_charge_capacity=as_float(full),
        alarm_word=as_int(alarms) or 0,
        charging=as_bool(charging),
        discharging=as_bool(discharging),
    )
