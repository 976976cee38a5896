"""Validation of writes before any byte leaves: ranges, chemistry windows, cross-field rules.

Pure functions over plain mappings (no I/O): the coordinator calls
``validate_change`` for every single write, the ``apply_settings`` action calls
``validate_settings_set`` for a whole set and ``plan_writes`` for a safe order.

Where the limits come from:
* Hardware ranges per variant: the protocol layer's register table
  (``registers_for(variant)``; JK app ranges, documented in ``protocol/tables/registers.py``).
* Chemistry windows (only when the caller names a chemistry; the BMS does not
  report one): see ``CHEMISTRY_WINDOWS``.
* Cross-field rules: ``shared/docs/entities.md`` "Writes must be safe", the JK
  manual ("Power Off Vol. must be lower than cell under-voltage protection"), plus
  the few orderings the BMS's own semantics imply (documented per row in ``RULES``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from homeassistant.exceptions import ServiceValidationError

from .const import DOMAIN
from .protocol import (
    REGISTERS,
    Encoding,
    RegisterSpec,
    Variant,
    WriteKind,
    registers_for,
)

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


@dataclass(frozen=True, slots=True)
class Rule:
    """``lower`` must be below ``upper`` (or equal, when not ``strict``).

    The translation key of a violation is ``rule_<name>``.
    """

    name: str
    lower: str
    upper: str
    strict: bool = True


RULES: tuple[Rule, ...] = (
    # entities.md: UVP < UVPR < … < OVPR < OVP (a recovery inside its protection
    # band would latch the protection forever).
    Rule("uvp_below_uvpr", "cell_uvp", "cell_uvpr"),
    Rule("uvpr_below_ovpr", "cell_uvpr", "cell_ovpr"),
    Rule("ovpr_below_ovp", "cell_ovpr", "cell_ovp"),
    # entities.md: SOC-0 % ≥ UVP, SOC-100 % ≤ OVP (the coulomb counter re-syncs there).
    Rule("soc_0_not_below_uvp", "cell_uvp", "soc_0_voltage", strict=False),
    Rule("soc_100_not_above_ovp", "soc_100_voltage", "cell_ovp", strict=False),
    # Implied by the "…" of the chain: empty is below full.
    Rule("soc_0_below_soc_100", "soc_0_voltage", "soc_100_voltage"),
    # entities.md and the JK manual: power-off < UVP.
    Rule("power_off_below_uvp", "power_off_voltage", "cell_uvp"),
    # Charge requests sent to the inverter (CAN/RS485): asking for OVP or more
    # makes the charger drive cells into the protection; float sits below bulk.
    Rule("rcv_below_ovp", "rcv", "cell_ovp"),
    Rule("rfv_not_above_rcv", "rfv", "rcv", strict=False),
    # entities.md: OTPR < OTP, UTPR > UTP, MOS OTPR < MOS OTP.
    Rule("charge_otpr_below_otp", "charge_otpr", "charge_otp"),
    Rule("discharge_otpr_below_otp", "discharge_otpr", "discharge_otp"),
    Rule("mosfet_otpr_below_otp", "mosfet_otpr", "mosfet_otp"),
    Rule("charge_utp_below_utpr", "charge_utp", "charge_utpr"),
    Rule("discharge_utp_below_utpr", "discharge_utp", "discharge_utpr"),
    # The heater switches on below the start and off above the stop temperature
    # (captured app values: start 3 °C, stop 7 °C).
    Rule(
        "heating_start_below_stop",
        "heating_start_temperature",
        "heating_stop_temperature",
    ),
)

# Older firmware reports 0 for fields it does not have (SOC anchors and charge
# requests are 0 on 10.x/11.x units): 0 there means "not set", not 0 V.
UNSET_WHEN_ZERO: frozenset[str] = frozenset(
    {"soc_0_voltage", "soc_100_voltage", "rcv", "rfv"}
)


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


def normalize_value(spec: RegisterSpec, value: object) -> SettingValue:
    """Bring a value to the form the write path takes (option key, bool, number)."""
    key = spec.key
    if spec.kind is WriteKind.SELECT:
        options = spec.options or ()
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 0 <= value < len(options)
        ):
            return options[value]
        if isinstance(value, str) and value in options:
            return value
        raise SettingRuleError(
            "option",
            "setting_invalid_option",
            key=key,
            value=value,
            options=", ".join(options),
        )
    if spec.kind is WriteKind.SWITCH:
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        raise SettingRuleError("switch", "setting_invalid_switch", key=key, value=value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
    ):
        raise SettingRuleError("number", "setting_not_a_number", key=key, value=value)
    return value


def same_value(spec: RegisterSpec, actual: object, target: SettingValue) -> bool:
    """Tell whether the BMS already holds ``target`` (within its resolution)."""
    if actual is None:
        return False
    if spec.kind is WriteKind.SELECT:
        return actual == target
    if spec.kind is WriteKind.SWITCH or isinstance(actual, bool):
        return bool(actual) == bool(target)
    if not isinstance(actual, int | float) or not isinstance(target, int | float):
        return False
    return math.isclose(actual, target, rel_tol=1e-6, abs_tol=resolution(spec) / 2)


def resolution(spec: RegisterSpec) -> float:
    """Smallest step the BMS stores for this setting (float32: effectively none)."""
    if spec.encoding is Encoding.FLOAT32:
        return 1e-4
    return 1 / spec.factor


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
            keys=", ".join(sorted(unknown)),
            variant=variant,
        )
    return {key: available[key] for key in keys}


def _check_range(spec: RegisterSpec, value: SettingValue, variant: Variant) -> None:
    if spec.kind is not WriteKind.NUMBER or not isinstance(value, int | float):
        return
    if spec.minimum <= value <= spec.maximum:
        return
    raise SettingRuleError(
        "range",
        "value_out_of_range",
        key=spec.key,
        value=value,
        minimum=spec.minimum,
        maximum=spec.maximum,
        unit=spec.unit or "",
        variant=variant,
    )


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


def _number(values: Current, key: str) -> float | None:
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value == 0 and key in UNSET_WHEN_ZERO:
        return None
    return float(value)


def _check_rules(merged: Current, touched: set[str]) -> None:
    """Check every rule that involves a touched key, on the merged values."""
    for rule in RULES:
        if rule.lower not in touched and rule.upper not in touched:
            continue
        low, high = _number(merged, rule.lower), _number(merged, rule.upper)
        if low is None or high is None:
            continue  # the variant lacks one side, or it is unset
        equal = math.isclose(low, high, abs_tol=1e-9)
        if (low < high and not equal) or (equal and not rule.strict):
            continue
        raise SettingRuleError(
            rule.name,
            f"rule_{rule.name}",
            lower_key=rule.lower,
            lower_value=low,
            upper_key=rule.upper,
            upper_value=high,
        )


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
