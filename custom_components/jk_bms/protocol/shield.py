"""The frame shield: no garbled frame reaches a state, an energy meter or a write.

The frame checksum is an 8-bit sum, so about 1 in 256 garbled frames passes it.
``FrameShield.check(frame, at)`` runs for every decoded frame before it is
published: ``None`` accepts it, a string is the drop reason (counted in
``drops``). It uses what the frame itself repeats (total voltage vs the cells,
power vs V x I, SoC vs capacity, the BMS's own cell statistics, balancer status
vs current), the limits the BMS's settings give (current, capacity, cell count,
OVP), and how far a value can move since the last accepted frame. A move beyond
that is not trusted until the next frame shows it too; a setting or device-info
value that changed without a write is not trusted until read twice. Limits and
tolerances are data: ``tables/frame_limits.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import cache
from statistics import median

from .enums import FrameType, Variant
from .fields import Value
from .models import CellInfo, DeviceInfo, Logbook, Settings
from .register_spec import RegisterSpec
from .setting_rules import broken_rule, holds, reported_value_fits
from .tables import frame_limits as limits
from .tables.frame_limits import Step
from .tables.registers import REGISTERS

type Frame = DeviceInfo | Settings | CellInfo | Logbook
RULE_BROKEN = "setting_rule_broken"
_INDEXED = re.compile(r"_\d+$")
_DEVICE_TEXT = (
    "model",
    "hardware_version",
    "software_version",
    "device_name",
    "manufacturing_date",
    "serial_number",
    "user_data",
    "user_data_2",
    "pin",
    "settings_password",
    "passcode",
)


class FrameShield:
    """Per-BMS frame gate: one per link, remembers what it accepted."""

    def __init__(self, variant: Variant) -> None:
        """Start with nothing accepted (the first frames only meet static rules)."""
        self.variant = variant
        self._drops: dict[str, int] = {}
        self._cell: tuple[CellInfo, float] | None = None
        self._cell_candidate: tuple[CellInfo, float] | None = None
        self._settings: Settings | None = None
        self._settings_candidate: Settings | None = None
        self._settings_confirmed = False
        self._device: tuple[DeviceInfo, float] | None = None
        self._device_candidate: DeviceInfo | None = None
        self._device_confirmed = False
        self._expected: dict[str, Value] = {}

    # ------------------------------------------------------------ public

    @property
    def drops(self) -> Mapping[str, int]:
        """Dropped frames per reason."""
        return self._drops

    @property
    def confirmed_settings(self) -> Settings | None:
        """The settings read twice identically, or confirmed by a write's read-back."""
        return self._settings if self._settings_confirmed else None

    @property
    def confirmed_device_info(self) -> DeviceInfo | None:
        """The device info read twice identically (its 32S settings included)."""
        return self._device[0] if self._device and self._device_confirmed else None

    @property
    def current_limit(self) -> float:
        """Largest current (A) a real frame can show, from the accepted settings."""
        return current_limit(self._settings)

    def expect_write(self, key: str, value: Value) -> None:
        """Announce a write: its read-back may change ``key`` to ``value`` at once."""
        self._expected[key] = value

    def check(self, frame: Frame, at: float) -> str | None:
        """Accept (None) or drop (the reason) one decoded frame received at ``at`` (s)."""
        match frame:
            case CellInfo():
                reason = self._check_cell_info(frame, at)
            case Settings():
                reason = self._check_settings(frame)
            case DeviceInfo():
                reason = self._check_device_info(frame, at)
            case _:
                reason = None
        if reason is not None:
            self._drops[reason] = self._drops.get(reason, 0) + 1
        return reason

    # --------------------------------------------------------- cell info

    def _check_cell_info(self, cell: CellInfo, at: float) -> str | None:
        reason = cell_info_reason(cell, self._settings)
        if reason is not None:
            return reason
        if self._cell is None:
            self._cell, self._cell_candidate = (cell, at), None
            return None
        previous, since = self._cell
        written = self._written_cells(cell)
        reason = cell_step_reason(
            previous, cell, at - since, self.current_limit, free=written
        )
        if reason is None:
            for key in written & self._expected.keys():
                del self._expected[key]
            self._cell, self._cell_candidate = (cell, at), None
            return None
        candidate = self._cell_candidate
        if candidate is not None and (
            cell_step_reason(candidate[0], cell, at - candidate[1], self.current_limit)
            is None
        ):  # the move is real: two frames in a row show it
            self._cell, self._cell_candidate = (cell, at), None
            return None
        self._cell_candidate = (cell, at)
        return reason

    def _written_cells(self, cell: CellInfo) -> frozenset[str]:
        """Keys a write's read-back may move at once (emergency and its countdown)."""
        free: set[str] = set()
        for key, target in self._expected.items():
            spec = REGISTERS.get(key)
            if (
                spec is not None
                and spec.readback.frame_type is FrameType.CELL_INFO
                and target is not None
                and key in cell.entries
                and holds(spec, cell.entries[key], target)
            ):
                free |= limits.WRITTEN_TOGETHER.get(key, {key})
        return frozenset(free)

    # ---------------------------------------------------------- settings

    def _check_settings(self, settings: Settings) -> str | None:
        reason = settings_reason(settings)
        candidate = self._settings_candidate
        repeated = candidate is not None and not changed_keys(
            candidate.entries, settings.entries
        )
        if reason == RULE_BROKEN and not repeated:
            # A flip does not repeat itself; a BMS holding an odd pair does
            # (a preset that leaves RCV above the new OVP): read twice, shown.
            self._settings_candidate = settings
            return reason
        if reason is not None and reason != RULE_BROKEN:
            return reason
        accepted = self._settings
        if accepted is None:
            self._settings, self._settings_confirmed = settings, False
            return None
        changed = changed_keys(accepted.entries, settings.entries)
        if not changed:
            self._settings, self._settings_confirmed = settings, True
            self._settings_candidate = None
            return None
        if self._written(changed, settings.entries):
            self._settings, self._settings_confirmed = settings, True
            self._settings_candidate = None
            return None
        candidate = self._settings_candidate
        if candidate is not None and not changed_keys(
            candidate.entries, settings.entries
        ):
            self._settings, self._settings_confirmed = settings, True
            self._settings_candidate = None
            return None
        self._settings_candidate = settings
        return "settings_changed_unconfirmed"

    def _written(self, changed: set[str], values: Mapping[str, Value]) -> bool:
        """Tell whether every change is an announced write, now read back."""
        if not changed or not changed <= self._expected.keys():
            return False
        for key in changed:
            spec = REGISTERS.get(key)
            target = self._expected[key]
            if (
                spec is None
                or target is None
                or not holds(spec, values.get(key), target)
            ):
                return False
        for key in changed:
            del self._expected[key]
        return True

    # ------------------------------------------------------- device info

    def _check_device_info(self, info: DeviceInfo, at: float) -> str | None:
        reason = device_info_reason(info, self.variant)
        if reason is not None:
            return reason
        if self._device is None:
            self._device, self._device_confirmed = (info, at), False
            return None
        previous, since = self._device
        changed = _device_changes(previous, info, at - since)
        if not changed or self._written(changed, info.entries):
            self._device, self._device_confirmed = (info, at), True
            self._device_candidate = None
            return None
        candidate = self._device_candidate
        if candidate is not None and not _device_changes(candidate, info, None):
            self._device, self._device_confirmed = (info, at), True
            self._device_candidate = None
            return None
        self._device_candidate = info
        return "device_info_changed_unconfirmed"


# ---------------------------------------------------------------- rules


def current_limit(settings: Settings | None) -> float:
    """Largest current (A) a real pack shows, from the configured OCP limits."""
    if settings is None:
        return limits.DEFAULT_CURRENT_LIMIT
    configured = [
        value
        for key in ("max_charge_current", "max_discharge_current")
        if isinstance(value := settings.get(key), int | float) and value > 0
    ]
    if not configured:
        return limits.DEFAULT_CURRENT_LIMIT
    return max(configured) * limits.CURRENT_LIMIT_FACTOR + limits.CURRENT_LIMIT_MARGIN


def cell_info_reason(cell: CellInfo, settings: Settings | None) -> str | None:
    """Return why a cell-info frame cannot be real on its own, or None."""
    return (
        _cells_reason(cell, settings)
        or _statistics_reason(cell)
        or _current_reason(cell, settings)
        or _capacity_reason(cell, settings)
        or _temperature_reason(cell)
        or _balancer_reason(cell)
    )


def _cells_reason(cell: CellInfo, settings: Settings | None) -> str | None:
    low, high = limits.CELL_VOLTAGE_RANGE
    ovp = settings.get("cell_ovp") if settings is not None else None
    if isinstance(ovp, int | float) and ovp > 0:
        high = min(high, ovp + limits.ABOVE_CELL_OVP)
    voltages = cell.cell_voltages
    for volts in voltages:
        if volts != 0.0 and not low <= volts <= high:
            return "cell_voltage_range"
    mask = cell.details.get("cell_presence_mask")
    if isinstance(mask, int) and not isinstance(mask, bool):
        for index, volts in enumerate(voltages):
            if volts != 0.0 and not mask >> index & 1:
                return "cell_not_present"
    count = settings.get("cell_count") if settings is not None else None
    if isinstance(count, int) and count > 0 and len(voltages) > count:
        return "cell_count"
    total = cell.total_voltage
    cells = sum(voltages)
    if total is not None:
        absolute, share = limits.TOTAL_VOLTAGE_TOLERANCE
        if abs(total - cells) > absolute + share * cells:
            return "total_voltage_vs_cells"
    return None


def _statistics_reason(cell: CellInfo) -> str | None:
    """Compare the BMS's own average and extreme cells (sampled a moment apart)."""
    reported = cell.details.get("average_cell_voltage_reported")
    average = cell.average_cell_voltage
    if (
        isinstance(reported, float)
        and average is not None
        and abs(reported - average) > limits.AVERAGE_CELL_TOLERANCE
    ):
        return "average_cell_voltage"
    voltages = cell.cell_voltages
    high, low = cell.max_cell_voltage, cell.min_cell_voltage
    if (
        high is None
        or low is None
        or not cell.details.get("delta_cell_voltage_reported")
    ):
        return None  # some 24S units leave their statistics at 0
    for key, extreme, sign in (
        ("max_voltage_cell_index", high, 1),
        ("min_voltage_cell_index", low, -1),
    ):
        index = cell.details.get(key)
        if not isinstance(index, int) or not 0 <= index < len(voltages):
            continue  # a unit with fewer statistics; the cells are checked anyway
        if sign * (extreme - voltages[index]) > limits.EXTREME_CELL_TOLERANCE:
            return "extreme_cell_index"
    return None


def _current_reason(cell: CellInfo, settings: Settings | None) -> str | None:
    current, total = cell.current, cell.total_voltage
    if current is None:
        return None
    if abs(current) > current_limit(settings):
        return "current_limit"
    reported = cell.details.get("power_reported")
    if total is None or not isinstance(reported, int | float):
        return None
    absolute, share = limits.POWER_TOLERANCE
    if total < limits.NO_VOLTAGE and abs(current) > absolute:
        return "current_without_voltage"
    computed = abs(total * current)
    if abs(reported - computed) > absolute * total + share * max(reported, computed):
        return "power_vs_current"
    return None


def _capacity_reason(cell: CellInfo, settings: Settings | None) -> str | None:
    soc, remaining, full = (
        cell.state_of_charge,
        cell.capacity_remaining,
        cell.full_charge_capacity,
    )
    if soc is not None and soc > 100:
        return "state_of_charge"
    if cell.state_of_health is not None and cell.state_of_health > 100:
        return "state_of_health"
    if remaining is None or full is None:
        return None
    if remaining < 0 or full < 0:
        return "capacity_negative"
    absolute, share = limits.REMAINING_ABOVE_FULL
    if remaining > full * (1 + share) + absolute:
        return "capacity_above_full"
    configured = settings.get("total_battery_capacity") if settings else None
    if (
        isinstance(configured, int | float)
        and configured > 0
        and full > configured * limits.FULL_CAPACITY_FACTOR
    ):
        return "capacity_above_configured"
    if soc and full > 0 and abs(soc - 100 * remaining / full) > limits.SOC_TOLERANCE:
        return "state_of_charge_vs_capacity"
    return None


def _temperature_reason(cell: CellInfo) -> str | None:
    low, high = limits.TEMPERATURE_RANGE
    readings = [*cell.temperatures.values()]
    if cell.mosfet_temperature is not None:
        readings.append(cell.mosfet_temperature)
    if readings and not low <= min(readings) <= max(readings) <= high:
        return "temperature_range"
    return None


def _balancer_reason(cell: CellInfo) -> str | None:
    status, current = cell.balancer_status, cell.balancing_current
    if status is None or current is None:
        return "balancer_status" if current is not None else None
    if status == "off":
        ok = abs(current) <= limits.BALANCER_OFF_CURRENT
    elif status == "charging":
        ok = current > 0
    else:
        ok = current < 0
    return None if ok else "balancer_status"


def cell_step_reason(
    previous: CellInfo,
    cell: CellInfo,
    dt: float,
    limit: float,
    *,
    free: frozenset[str] = frozenset(),
) -> str | None:
    """Return why ``cell`` cannot follow ``previous`` after ``dt`` seconds, or None.

    ``free``: keys a write just changed (their read-back moves them at once).
    """
    dt = max(dt, 0.0)
    old, new = previous.cell_voltages, cell.cell_voltages
    if len(old) != len(new):
        return "cell_count_changed"
    if old != new:  # a frame in a still pack repeats its cells exactly
        moves = []
        for a, b in zip(old, new, strict=True):
            if (a == 0.0) != (b == 0.0):
                return "cell_presence_changed"
            if a != 0.0:
                moves.append(b - a)
        if moves:
            common = median(moves)
            if abs(common) > _allowance(limits.CELL_COMMON_STEP, dt, 0.0, limit):
                return "cell_voltage_step"
            allowed = _allowance(limits.CELL_STEP, dt, 0.0, limit)
            low, high = common - allowed, common + allowed
            if not low <= min(moves) or not max(moves) <= high:
                return "cell_voltage_step"
    before, after = previous.entries, cell.entries
    if before.keys() != after.keys():
        return "layout_changed"
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
        allowed = _allowance(rule, dt, float(was), flow)  # type: ignore[arg-type]
        if (rule.rising and move < 0) or (rule.falling and move > 0):
            return f"{_family(key)}_step"
        if abs(move) > allowed:
            return f"{_family(key)}_step"
    return None


def _allowance(rule: Step, dt: float, previous: float, flow: float) -> float:
    per_second = rule.per_second * (flow if rule.charge else 1.0)
    return rule.absolute + per_second * dt + rule.relative * abs(previous)


@cache
def _step_for(key: str) -> Step | None:
    """Return the step rule of a numeric entity key (None: it moves freely)."""
    return limits.STEPS.get(_INDEXED.sub("_", key)) or limits.STEPS.get(key)


def _family(key: str) -> str:
    return _INDEXED.sub("", key)


def settings_reason(settings: Settings) -> str | None:
    """Return why a settings frame cannot be real on its own, or None."""
    specs = _specs(settings.variant)
    for key, value in settings.entries.items():
        spec = specs.get(key)
        if spec is not None and not reported_value_fits(spec, value):
            return "setting_out_of_range"
    if broken_rule(settings.entries, bms_only=True) is not None:
        return RULE_BROKEN
    return None


def device_info_reason(info: DeviceInfo, variant: Variant) -> str | None:
    """Return why a device-info frame cannot be real on its own, or None."""
    for key in _DEVICE_TEXT:
        text = getattr(info, key)
        if any(not char.isprintable() or ord(char) > 0x7E for char in text):
            return "device_info_text"
    # The firmware's variant may differ from the frames' (they win, a repair
    # says so); a flipped version is a text change the second read catches.
    specs = _specs(variant)
    for key, value in info.entries.items():
        spec = specs.get(key)
        if spec is not None and not reported_value_fits(spec, value):
            return "setting_out_of_range"
    return None


def changed_keys(before: Mapping[str, Value], after: Mapping[str, Value]) -> set[str]:
    """Keys whose value differs (or that only one side has)."""
    keys = before.keys() | after.keys()
    return {key for key in keys if before.get(key) != after.get(key)}


def _device_changes(
    previous: DeviceInfo, info: DeviceInfo, dt: float | None
) -> set[str]:
    changed = changed_keys(previous.entries, info.entries)
    changed |= {
        key for key in _DEVICE_TEXT if getattr(previous, key) != getattr(info, key)
    }
    if previous.power_on_count != info.power_on_count:
        changed.add("power_on_count")
    move = info.uptime - previous.uptime
    step = limits.DEVICE_INFO_STEPS["uptime"]
    if move < 0 or (dt is not None and move > _allowance(step, dt, 0.0, 0.0)):
        changed.add("uptime")
    return changed - {"uptime"} if dt is None and move >= 0 else changed


@cache
def _specs(variant: Variant) -> Mapping[str, RegisterSpec]:
    return {
        key: spec
        for key, row in REGISTERS.items()
        if (spec := row.resolve(variant)) is not None
    }


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )
