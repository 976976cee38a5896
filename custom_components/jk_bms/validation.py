"""Write checks in Home Assistant terms: the protocol's one validation path, translated.

Ranges, steps, options and cross-field rules are data in the register table
(``protocol/tables/registers.py``) and are checked by ``protocol/setting_rules.py``
(the same functions the encoder and the frame shield use, with one tolerance for
"the BMS holds this value"). This module only adds what is not the BMS's (the
chemistry windows a caller may name, the safe write order of a set) and turns a
``RuleViolationError`` into a translated ``SettingRuleError``. The values a write
is checked against are the settings the integration has confirmed (read twice, or
read right before the write), never one unverified frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from enum import StrEnum

from homeassistant.exceptions import ServiceValidationError

from .const import DOMAIN
from .protocol import REGISTERS, RegisterSpec, Variant, WriteKind, registers_for
from .protocol.register_spec import Rule
from .protocol.setting_rules import (
    RuleViolationError,
    check_rules,
    check_value,
    holds,
    normalize,
    resolution,
)
from .protocol.tables.registers import RULES, UNSET_WHEN_ZERO

type SettingValue = float | int | bool | str
type Current = Mapping[str, object]


class Chemistry(StrEnum):
    """The JK app's three cell chemistries (preset names)."""

    LIFEPO4 = "lifepo4"
    LI_ION = "li_ion"
    LTO = "lto"


class SettingRuleError(ServiceValidationError):
    """A write refused before sending: names the rule and the values involved.

    A ``ServiceValidationError`` with a translation key, so the coordinator and
    the actions can let it through unchanged; ``rule`` is the machine name.
    """

    def __init__(self, rule: str, translation_key: str, **placeholders: object) -> None:
        """Format every placeholder as text (HA translations take strings)."""
        self.rule = rule
        text = {name: _fmt(value) for name, value in placeholders.items()}
        super().__init__(
            translation_domain=DOMAIN,
            translation_key=translation_key,
            translation_placeholders={"rule": rule, **text},
        )


# ------------------------------------------------------------------ chemistry

# Cell-voltage windows per chemistry, narrower than the 1.2-4.35 V hardware range.
# No source documents the JK app's per-chemistry limits, so these are the cell
# manufacturers' datasheet windows (absolute limits a protection may sit at):
# * LiFePO4: charge cut-off 3.65 V, discharge cut-off 2.5 V, 2.0 V allowed at low
#   temperature (e.g. EVE LF280K, CATL 271 Ah datasheets) -> 2.0-3.65 V.
# * Li-ion (NMC/NCA): charge 4.20 +/- 0.05 V, discharge cut-off 2.5 V
#   (e.g. Samsung INR21700-50E, LG M50) -> 2.5-4.25 V.
# * LTO: charge 2.7-2.8 V (+50 mV tolerance), discharge cut-off 1.5 V
#   (Yinlong 66160, Toshiba SCiB) -> 1.5-2.85 V.
CHEMISTRY_WINDOWS: Mapping[Chemistry, tuple[float, float]] = {
    Chemistry.LIFEPO4: (2.0, 3.65),
    Chemistry.LI_ION: (2.5, 4.25),
    Chemistry.LTO: (1.5, 2.85),
}

# Settings that are cell voltages a cell actually sits at (protections, SOC
# anchors, charge requests, balancing start). Smart-sleep voltage is left out:
# real units report 0.6 V there, it is not a cell limit.
CHEMISTRY_KEYS: frozenset[str] = frozenset(
    {
        "cell_uvp",
        "cell_uvpr",
        "cell_ovp",
        "cell_ovpr",
        "soc_0_voltage",
        "soc_100_voltage",
        "rcv",
        "rfv",
        "power_off_voltage",
        "balancing_start_voltage",
    }
)

# Preset values written on variants without a preset command (JK02_24S, JK04;
# JK02_32S loads its own with 0x68/0x69/0x6A). The JK app's exact preset values
# are not in any source; these match the project's chemistry model
# (virtual_bms/chemistry.py) and sit inside CHEMISTRY_WINDOWS with margin.
CHEMISTRY_PRESETS: Mapping[Chemistry, Mapping[str, float]] = {
    Chemistry.LIFEPO4: {
        "cell_ovp": 3.55,
        "cell_ovpr": 3.50,
        "soc_100_voltage": 3.52,
        "cell_uvpr": 2.65,
        "soc_0_voltage": 2.62,
        "cell_uvp": 2.60,
        "power_off_voltage": 2.50,
        "balancing_start_voltage": 3.00,
    },
    Chemistry.LI_ION: {
        "cell_ovp": 4.20,
        "cell_ovpr": 4.10,
        "soc_100_voltage": 4.15,
        "cell_uvpr": 3.20,
        "soc_0_voltage": 3.10,
        "cell_uvp": 3.00,
        "power_off_voltage": 2.90,
        "balancing_start_voltage": 3.60,
    },
    Chemistry.LTO: {
        "cell_ovp": 2.80,
        "cell_ovpr": 2.70,
        "soc_100_voltage": 2.75,
        "cell_uvpr": 2.00,
        "soc_0_voltage": 1.90,
        "cell_uvp": 1.80,
        "power_off_voltage": 1.70,
        "balancing_start_voltage": 2.20,
    },
}


# --------------------------------------------------------------- cross-field


__all__ = ["RULES", "UNSET_WHEN_ZERO", "Rule", "resolution"]


# Momentary commands among the writable registers: a set of settings (restore,
# apply) never starts them (export leaves them out too).
NOT_IN_SETTING_SETS: frozenset[str] = frozenset({"emergency"})
# An error names at most this many keys, each at most this long.
MAX_LISTED_KEYS = 10
MAX_KEY_LENGTH = 40

# ----------------------------------------------------------------- checks


def validate_change(
    settings: Current,
    variant: Variant,
    key: str,
    value: SettingValue,
    *,
    chemistry: Chemistry | str | None = None,
) -> None:
    """Refuse one write that is unknown, out of range or breaks a rule.

    ``settings`` are the BMS's current values (settings + device-info keys);
    only the rules that involve ``key`` are checked, against the current
    values with the change applied, so a pre-existing oddity elsewhere does
    not block an unrelated write.
    """
    spec = _spec(variant, key)
    normalized = normalize_value(spec, value)
    _check_range(spec, normalized, variant)
    _check_chemistry(key, normalized, chemistry)
    _check_rules({**settings, key: normalized}, {key})


def check_change_request(
    variant: Variant,
    key: str,
    value: object,
    *,
    chemistry: Chemistry | str | None = None,
) -> SettingValue:
    """Refuse one write before anything is read or sent; return the value normalized.

    Unknown or unsupported key, no number / option / switch (NaN, 10**400),
    out of the register's range or off its step, outside a named chemistry.
    """
    spec = _spec(variant, key)
    normalized = normalize_value(spec, value)
    _check_range(spec, normalized, variant)
    _check_chemistry(key, normalized, chemistry)
    return normalized


def check_number(key: str, value: float) -> float:
    """Refuse a value that is not a finite number (NaN, inf) before anything is sent."""
    if not math.isfinite(value):
        raise SettingRuleError("number", "setting_not_a_number", key=key, value=value)
    return value


def check_settings_request(
    variant: Variant,
    changes: Mapping[str, object],
    *,
    chemistry: Chemistry | str | None = None,
) -> dict[str, SettingValue]:
    """Refuse a target set before anything is read or sent; return it normalized.

    What needs no BMS values: an empty set, unknown or unsupported keys,
    momentary commands (``emergency``), values that are not a number / option /
    switch (NaN, 10**400, text), out of the register's range or off its step,
    and outside a named chemistry's window. ``validate_settings_set`` then checks
    the cross-field rules against the BMS's confirmed values.
    """
    if not changes:
        raise SettingRuleError("empty", "settings_empty")
    momentary = [key for key in changes if key in NOT_IN_SETTING_SETS]
    if momentary:
        raise SettingRuleError(
            "momentary", "setting_not_in_set", keys=listed(momentary)
        )
    specs = _specs_for(variant, changes)
    targets = {
        key: normalize_value(specs[key], value) for key, value in changes.items()
    }
    for key, value in targets.items():
        _check_range(specs[key], value, variant)
        _check_chemistry(key, value, chemistry)
    return targets


def validate_settings_set(
    current: Current,
    variant: Variant,
    changes: Mapping[str, object],
    *,
    chemistry: Chemistry | str | None = None,
) -> None:
    """Refuse a whole target set (the ``apply_settings`` action) before writing any of it.

    Unknown keys are refused as a group; values that differ from the BMS are
    range-checked (an unchanged odd value the BMS already has is not sent, so
    it is not refused); the rules touching any differing key are checked on
    the merged result (current values with every target applied).
    """
    specs = _specs_for(variant, changes)
    targets = {
        key: normalize_value(specs[key], value) for key, value in changes.items()
    }
    differing = {
        key: value
        for key, value in targets.items()
        if not same_value(specs[key], current.get(key), value)
    }
    for key, value in differing.items():
        _check_range(specs[key], value, variant)
        _check_chemistry(key, value, chemistry)
    _check_rules({**current, **targets}, set(differing))


def diff_settings(
    current: Current, variant: Variant, changes: Mapping[str, object]
) -> dict[str, SettingValue]:
    """Target values (normalized) that differ from what the BMS has."""
    specs = _specs_for(variant, changes)
    targets = {
        key: normalize_value(specs[key], value) for key, value in changes.items()
    }
    return {
        key: value
        for key, value in targets.items()
        if not same_value(specs[key], current.get(key), value)
    }


def plan_writes(
    current: Current, variant: Variant, changes: Mapping[str, SettingValue]
) -> list[tuple[str, SettingValue]]:
    """Order single writes so that no intermediate state breaks a rule.

    Switches turned off go first (stop charging before the limits move),
    then cell count, numbers, selects, and switches turned on last (charging
    only once the protections are in place). Numbers are ordered greedily:
    the next write is one that is valid on the state reached so far, which
    widens a band before narrowing it (raise OVP before OVPR when both go up,
    lower UVP before UVPR when both go down). Raises ``SettingRuleError``
    (``no_safe_order``) when no order exists; nothing has been sent then.
    """
    specs = _specs_for(variant, changes)
    table_order = list(registers_for(variant))
    keys = sorted(changes, key=table_order.index)

    def switched(on: bool) -> list[str]:
        return [
            key
            for key in keys
            if specs[key].kind is WriteKind.SWITCH and bool(changes[key]) is on
        ]

    first = switched(False) + [key for key in keys if key == "cell_count"]
    numbers = [
        key
        for key in keys
        if specs[key].kind is WriteKind.NUMBER and key != "cell_count"
    ]
    last = [key for key in keys if specs[key].kind is WriteKind.SELECT] + switched(True)

    state: dict[str, object] = dict(current)
    plan: list[tuple[str, SettingValue]] = []
    for key in first:
        state[key] = changes[key]
        plan.append((key, changes[key]))
    pending = list(numbers)
    while pending:
        for key in pending:
            try:
                _check_rules({**state, key: changes[key]}, {key})
            except SettingRuleError:
                continue
            state[key] = changes[key]
            plan.append((key, changes[key]))
            pending.remove(key)
            break
        else:
            raise SettingRuleError(
                "no_safe_order", "no_safe_order", keys=", ".join(pending)
            )
    plan.extend((key, changes[key]) for key in last)
    return plan


# ---------------------------------------------------------------- helpers


# Translation key of each value rule the protocol names (cross-field rules: rule_<name>).
VALUE_RULE_KEYS = {
    "option": "setting_invalid_option",
    "switch": "setting_invalid_switch",
    "number": "setting_not_a_number",
    "range": "value_out_of_range",
    "step": "value_off_step",
}


def translated(
    err: RuleViolationError, variant: Variant | None = None
) -> SettingRuleError:
    """Return the translated error for a value or rule the protocol refused."""
    key = VALUE_RULE_KEYS.get(err.rule, f"rule_{err.rule}")
    extra = {"variant": variant} if variant is not None else {}
    return SettingRuleError(err.rule, key, **err.placeholders, **extra)


def normalize_value(spec: RegisterSpec, value: object) -> SettingValue:
    """Bring a value to the form the write path takes (option key, bool, number)."""
    try:
        return normalize(spec, value)
    except RuleViolationError as err:
        raise translated(err) from None


def same_value(spec: RegisterSpec, actual: object, target: SettingValue) -> bool:
    """Tell whether the BMS already holds ``target`` (the protocol's one tolerance)."""
    return holds(spec, actual, target)


def decimals(spec: RegisterSpec) -> int:
    """Decimal places that carry information for this setting (for export)."""
    return max(0, round(-math.log10(resolution(spec))))


def _spec(variant: Variant, key: str) -> RegisterSpec:
    spec = registers_for(variant).get(key)
    if spec is not None:
        return spec
    if key in REGISTERS:
        raise SettingRuleError(
            "supported", "setting_not_supported", key=key, variant=variant
        )
    raise SettingRuleError("known", "setting_unknown", key=key)


def _specs_for(variant: Variant, keys: Iterable[str]) -> dict[str, RegisterSpec]:
    available = registers_for(variant)
    unknown = [key for key in keys if key not in available]
    if unknown:
        raise SettingRuleError(
            "supported",
            "settings_not_supported",
            keys=listed(unknown),
            variant=variant,
        )
    return {key: available[key] for key in keys}


def listed(keys: Iterable[str]) -> str:
    """Name at most ``MAX_LISTED_KEYS`` keys (5,000 unknown keys make one line)."""
    ordered = sorted(keys)
    shown = ", ".join(_shown_key(key) for key in ordered[:MAX_LISTED_KEYS])
    more = len(ordered) - MAX_LISTED_KEYS
    return f"{shown} … (+{more})" if more > 0 else shown


def _shown_key(key: str) -> str:
    return key if len(key) <= MAX_KEY_LENGTH else key[: MAX_KEY_LENGTH - 1] + "…"


def _check_range(spec: RegisterSpec, value: SettingValue, variant: Variant) -> None:
    try:
        check_value(spec, value)
    except RuleViolationError as err:
        raise translated(err, variant) from None


def _check_chemistry(
    key: str, value: SettingValue, chemistry: Chemistry | str | None
) -> None:
    if (
        chemistry is None
        or key not in CHEMISTRY_KEYS
        or not isinstance(value, int | float)
    ):
        return
    minimum, maximum = CHEMISTRY_WINDOWS[Chemistry(chemistry)]
    if minimum <= value <= maximum:
        return
    raise SettingRuleError(
        "chemistry",
        "value_outside_chemistry",
        key=key,
        value=value,
        chemistry=Chemistry(chemistry),
        minimum=minimum,
        maximum=maximum,
    )


def _check_rules(merged: Current, touched: set[str]) -> None:
    """Check every rule that involves a touched key, on the merged values."""
    try:
        check_rules(merged, touched)
    except RuleViolationError as err:
        raise translated(err) from None


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
