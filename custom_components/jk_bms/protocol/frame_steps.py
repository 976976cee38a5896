"""Between two frames: how far a value can move in ``dt`` seconds (step rules).

A cell does not move 2 V in half a second, a counter never runs backwards, a
capacity moves at most by the charge the current can have carried. The rules
are data (``tables/frame_limits.STEPS``); a move beyond them is not trusted
until the next frame shows it too (the shield keeps that state).
"""

from __future__ import annotations

import math
import re
from functools import cache
from statistics import median

from .models import CellInfo, CellSample
from .tables import frame_limits as limits
from .tables.alarms import ALARMS
from .tables.frame_limits import Step

_INDEXED = re.compile(r"_\d+$")
# Keys sample_step_reason judges on every frame (beside the cells and the current
# jump): the SoC's step, and the alarm bits and MOSFETs, which change only when
# a second frame shows the change.
SAMPLED_STEPS: frozenset[str] = frozenset(
    {"state_of_charge", "charging", "discharging", "errors"}
    | {alarm.key for alarm in ALARMS.values()}
)


def cell_step_reason(
    previous: CellInfo,
    cell: CellInfo,
    dt: float,
    limit: float,
    *,
    free: frozenset[str] = frozenset(),
    sampled: bool = False,
) -> str | None:
    """Return why ``cell`` cannot follow ``previous`` after ``dt`` seconds, or None.

    ``free``: keys a write just changed (their read-back moves them at once).
    ``sampled``: ``sample_step_reason`` has judged the sampled values of ``cell``
    frame by frame already (a move it confirmed is not held up twice).
    """
    dt = max(dt, 0.0)
    if sampled:
        free |= SAMPLED_STEPS
    elif reason := _cells_step_reason(
        previous.cell_voltages, cell.cell_voltages, dt, limit
    ):
        return reason
    before, after = previous.entries, cell.entries
    if before.keys() != after.keys():
        return "layout_changed"
    if not sampled and _current_jump_unsupported(
        previous.current,
        cell.current,
        cell.details.get("power_reported"),
        cell.total_voltage,
    ):
        return "current_step"
    flow = min(
        limit,
        limits.FLOW_FACTOR * max(abs(previous.current or 0.0), abs(cell.current or 0.0))
        + limits.FLOW_MARGIN,
    )
    if (
        cell.balancer_status != previous.balancer_status
        and abs((cell.balancing_current or 0.0) - (previous.balancing_current or 0.0))
        <= limits.BALANCER_OFF_CURRENT
    ):
        return "balancer_status_changed"  # a real switch moves the current too
    for key, value in after.items():
        was = before[key]
        if value == was or key in free:
            continue
        if key in limits.STATICALLY_CHECKED or key.startswith("cell_voltage_"):
            continue
        if not _is_number(value) or not _is_number(was):
            return f"{_family(key)}_changed"  # bool, text, or a value that came/went
        rule = _step_for(key)
        if rule is None:
            continue  # moves freely (current, power, values derived from the cells)
        if (
            key == "balancing_current"
            and cell.balancer_status != previous.balancer_status
        ):
            continue  # the balancer switched: status and current moved together
        move = float(value) - float(was)  # type: ignore[arg-type]
        allowed = allowance(rule, dt, float(was), flow)  # type: ignore[arg-type]
        if (rule.rising and move < 0) or (rule.falling and move > 0):
            return f"{_family(key)}_step"
        if abs(move) > allowed:
            return f"{_family(key)}_step"
    return None


def sample_step_reason(
    previous: CellSample, sample: CellSample, dt: float, limit: float
) -> str | None:
    """Return why ``sample`` cannot follow ``previous`` after ``dt`` s, or None.

    The step rules of ``cell_step_reason`` on the sampled values.
    """
    dt = max(dt, 0.0)
    reason = _cells_step_reason(previous.cell_voltages, sample.cell_voltages, dt, limit)
    if reason is not None:
        return reason
    if _current_jump_unsupported(
        previous.current, sample.current, sample.power_reported, sample.total_voltage
    ):
        return "current_step"
    for name, before, after in (
        ("alarm_bitmask", previous.alarm_word, sample.alarm_word),
        ("charging", previous.charging, sample.charging),
        ("discharging", previous.discharging, sample.discharging),
    ):
        if before != after:
            return f"{name}_changed"
    was, now = previous.state_of_charge, sample.state_of_charge
    rule = limits.STEPS["state_of_charge"]
    if (
        was is not None
        and now is not None
        and abs(now - was) > allowance(rule, dt, float(was), limit)
    ):
        return "state_of_charge_step"
    return None


def _cells_step_reason(
    old: tuple[float, ...], new: tuple[float, ...], dt: float, limit: float
) -> str | None:
    """All cells may move together (a load step); one cell alone only a little."""
    if len(old) != len(new):
        return "cell_count_changed"
    if old == new:  # a frame in a still pack repeats its cells exactly
        return None
    moves = []
    for a, b in zip(old, new, strict=True):
        if (a == 0.0) != (b == 0.0):
            return "cell_presence_changed"
        if a != 0.0:
            moves.append(b - a)
    if moves:
        common = median(moves)
        if abs(common) > allowance(limits.CELL_COMMON_STEP, dt, 0.0, limit):
            return "cell_voltage_step"
        allowed = allowance(limits.CELL_STEP, dt, 0.0, limit)
        low, high = common - allowed, common + allowed
        if not low <= min(moves) or not max(moves) <= high:
            return "cell_voltage_step"
    return None


def _current_jump_unsupported(
    was: float | None, now: float | None, power: object, volts: float | None
) -> bool:
    """Tell whether the current jumped while the frame's own power field stayed.

    A load step moves the power field with the current (sampled a moment apart:
    a lagging one costs half a second, the next frame confirms). A flipped
    current bit moves the current alone, and the power cross-check's tolerance
    (the measured 1.6 % spread) lets a 1.024 A flip pass at 15-20 A, where it is
    more than 5 % of the current.
    """
    if (
        was is None
        or now is None
        or volts is None
        or volts < limits.NO_VOLTAGE
        or not isinstance(power, int | float)
        or abs(now - was) < limits.CURRENT_JUMP
    ):
        return False
    implied = power / volts  # the power field is unsigned
    return abs(implied - abs(was)) < abs(implied - abs(now))


def allowance(rule: Step, dt: float, previous: float, flow: float) -> float:
    """Return how far a value under ``rule`` may move in ``dt`` s (``flow``: A)."""
    per_second = rule.per_second * (flow if rule.charge else 1.0)
    return rule.absolute + per_second * dt + rule.relative * abs(previous)


@cache
def _step_for(key: str) -> Step | None:
    """Return the step rule of a numeric entity key (None: it moves freely)."""
    return limits.STEPS.get(_INDEXED.sub("_", key)) or limits.STEPS.get(key)


def _family(key: str) -> str:
    return _INDEXED.sub("", key)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )
