"""The one validation path for setting values: range, step, options, cross-field rules.

Data lives in the register table (``tables/registers.py``: ranges, steps,
options, ``RULES``); these pure functions read it. The encoder
(``commands.encode_write``), the frame shield (a settings frame a BMS sends)
and the integration's write checks (``validation.py``, which only translates
``RuleViolationError`` into a Home Assistant error) all call them, so a value
means the same everywhere. ``holds`` is the one tolerance for "the BMS holds
this value": half the register's resolution.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TypeIs

from .errors import InvalidValueError
from .register_spec import Encoding, RegisterSpec, Rule, WriteKind
from .tables.registers import RULES, UNSET_WHEN_ZERO

type SettingValue = float | int | bool | str
# float32 settings (JK04) store about 7 significant digits; 0.1 mV is what the
# app shows and what a read-back can be compared at.
FLOAT32_RESOLUTION = 1e-4
# Off-step slack: a UI slider sends 3.4499999 for 3.45.
STEP_SLACK = 1e-6


class RuleViolationError(InvalidValueError):
    """A value or set of values refused, naming the rule and the values involved.

    ``rule`` is the machine name (``range``, ``step``, ``option``, ``switch``,
    ``number``, or a cross-field rule's name), ``placeholders`` the values a
    translated message shows.
    """

    def __init__(
        self, rule: str, key: str, value: object = None, **placeholders: object
    ) -> None:
        """Keep the rule and placeholders; the message is for logs only."""
        details = ", ".join(f"{name}={item}" for name, item in placeholders.items())
        minimum, maximum = placeholders.get("minimum"), placeholders.get("maximum")
        super().__init__(
            f"{key}: {rule} ({details})",
            key=key,
            value=value,
            minimum=minimum if isinstance(minimum, int | float) else None,
            maximum=maximum if isinstance(maximum, int | float) else None,
        )
        self.rule = rule
        self.placeholders = {"key": key, "value": value, **placeholders}


def resolution(spec: RegisterSpec) -> float:
    """Smallest change the BMS stores for this setting."""
    if spec.encoding is Encoding.FLOAT32:
        return FLOAT32_RESOLUTION
    return 1 / spec.factor


def holds(spec: RegisterSpec, actual: object, target: SettingValue) -> bool:
    """Tell whether the BMS, reporting ``actual``, holds ``target``."""
    if actual is None:
        return False
    if spec.kind is WriteKind.SELECT:
        return actual == target
    if spec.kind is WriteKind.SWITCH or isinstance(actual, bool):
        return bool(actual) == bool(target)
    if not _is_number(actual) or not _is_number(target):
        return False
    return abs(float(actual) - float(target)) <= resolution(spec) / 2


def normalize(spec: RegisterSpec, value: object) -> SettingValue:
    """Bring a value to the form writes take (option key, bool, finite number)."""
    key = spec.key
    if spec.kind is WriteKind.SELECT:
        options = spec.options or ()
        if _is_int(value) and 0 <= value < len(options):
            return options[value]
        if isinstance(value, str) and value in options:
            return value
        raise RuleViolationError(
            "option", key, _shown(value), options=", ".join(options)
        )
    if spec.kind is WriteKind.SWITCH:
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        raise RuleViolationError("switch", key, _shown(value))
    if not _is_number(value):
        raise RuleViolationError("number", key, _shown(value))
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond any float (10**400): out of range
        raise RuleViolationError(
            "range",
            key,
            _shown(value),
            minimum=spec.minimum,
            maximum=spec.maximum,
            unit=spec.unit or "",
        ) from None
    if not finite:
        raise RuleViolationError("number", key, _shown(value))
    return value


def check_value(spec: RegisterSpec, value: SettingValue) -> None:
    """Refuse a normalized number outside the register's range or off its step."""
    if spec.kind is not WriteKind.NUMBER or not _is_number(value):
        return
    number = float(value)
    if not spec.minimum <= number <= spec.maximum:
        raise RuleViolationError(
            "range",
            spec.key,
            value,
            minimum=spec.minimum,
            maximum=spec.maximum,
            unit=spec.unit or "",
        )
    steps = (number - spec.minimum) / spec.step
    if abs(steps - round(steps)) > STEP_SLACK * max(1.0, abs(steps)):
        below = spec.minimum + math.floor(steps) * spec.step
        raise RuleViolationError(
            "step",
            spec.key,
            value,
            step=spec.step,
            below=round(below, 6),
            above=round(below + spec.step, 6),
            unit=spec.unit or "",
        )


def reported_value_fits(spec: RegisterSpec, value: object) -> bool:
    """Tell whether a value a settings frame reports can be real for ``spec``."""
    if spec.kind is WriteKind.SELECT:
        return True  # an index past our option list decodes to None on real units
    if spec.kind is WriteKind.SWITCH:
        return isinstance(value, bool)
    if not _is_number(value):
        return False
    number = float(value)
    if number == 0 and spec.key in UNSET_WHEN_ZERO:
        return True
    return spec.minimum <= number <= spec.maximum


def broken_rule(
    values: Mapping[str, object],
    touched: Iterable[str] | None = None,
    *,
    bms_only: bool = False,
) -> tuple[Rule, float, float] | None:
    """Return the first rule ``values`` break (only rules touching ``touched``)."""
    keys = None if touched is None else set(touched)
    for rule in RULES:
        if bms_only and not rule.bms:
            continue
        if keys is not None and rule.lower not in keys and rule.upper not in keys:
            continue
        low, high = _setting(values, rule.lower), _setting(values, rule.upper)
        if low is None or high is None:
            continue  # the variant lacks one side, or it is unset
        equal = math.isclose(low, high, abs_tol=1e-9)
        if (low < high and not equal) or (equal and not rule.strict):
            continue
        return rule, low, high
    return None


def check_rules(values: Mapping[str, object], touched: Iterable[str]) -> None:
    """Refuse values that break a cross-field rule involving ``touched``."""
    broken = broken_rule(values, touched)
    if broken is None:
        return
    rule, low, high = broken
    raise RuleViolationError(
        rule.name,
        rule.lower,
        low,
        lower_key=rule.lower,
        lower_value=low,
        upper_key=rule.upper,
        upper_value=high,
    )


def _setting(values: Mapping[str, object], key: str) -> float | None:
    value = values.get(key)
    if not _is_number(value):
        return None
    if value == 0 and key in UNSET_WHEN_ZERO:
        return None
    return float(value)


def _is_number(value: object) -> TypeIs[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> TypeIs[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: object) -> object:
    """Bound what an error repeats of a caller's value (a 5,000-key dict, …)."""
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "…"
