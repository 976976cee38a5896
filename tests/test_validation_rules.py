"""Unit tests of validation.py: ranges, chemistry windows, cross-field rules, write order."""

from __future__ import annotations

import pytest

from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.protocol import (
    InvalidValueError,
    Variant,
    WriteKind,
    encode_write,
    registers_for,
)
from custom_components.jk_bms.validation import (
    CHEMISTRY_PRESETS,
    RULES,
    Chemistry,
    SettingRuleError,
    check_settings_request,
    diff_settings,
    plan_writes,
    validate_change,
    validate_settings_set,
)

S24, S32, J04 = Variant.JK02_24S, Variant.JK02_32S, Variant.JK04

# A consistent JK02_32S configuration (LiFePO4, values of the PB2A16S20P 15.41 capture).
BASE: dict[str, object] = {
    "power_off_voltage": 2.5,
    "cell_uvp": 2.6,
    "cell_uvpr": 2.65,
    "soc_0_voltage": 2.64,
    "smart_sleep_voltage": 3.285,
    "rfv": 3.35,
    "cell_ovpr": 3.448,
    "soc_100_voltage": 3.449,
    "rcv": 3.455,
    "cell_ovp": 3.65,
    "balancing_start_voltage": 3.45,
    "charge_otp": 70.0,
    "charge_otpr": 60.0,
    "discharge_otp": 70.0,
    "discharge_otpr": 60.0,
    "mosfet_otp": 100.0,
    "mosfet_otpr": 80.0,
    "charge_utp": 1.0,
    "charge_utpr": 5.0,
    "discharge_utp": -20,
    "discharge_utpr": -10,
    "heating_start_temperature": 3,
    "heating_stop_temperature": 7,
    "cell_count": 16,
    "total_battery_capacity": 280.0,
    "charging": True,
    "discharging": True,
    "balancer": True,
    "uart1_protocol": "pylon_low_voltage_rs485_v3_5_9600",
}

# For every rule: a value for one of its keys that breaks it against BASE.
BREAKING: dict[str, tuple[str, float]] = {
    "uvp_below_uvpr": ("cell_uvpr", 2.6),
    "uvpr_below_ovpr": ("cell_ovpr", 2.65),
    "ovpr_below_ovp": ("cell_ovpr", 3.65),
    "soc_0_not_below_uvp": ("soc_0_voltage", 2.59),
    "soc_100_not_above_ovp": ("soc_100_voltage", 3.651),
    "soc_0_below_soc_100": ("soc_0_voltage", 3.449),
    "power_off_below_uvp": ("power_off_voltage", 2.6),
    "rcv_below_ovp": ("rcv", 3.65),
    "rfv_not_above_rcv": ("rfv", 3.456),
    "charge_otpr_below_otp": ("charge_otpr", 70.0),
    "discharge_otpr_below_otp": ("discharge_otp", 60.0),
    "mosfet_otpr_below_otp": ("mosfet_otpr", 100.0),
    "charge_utp_below_utpr": ("charge_utp", 5.0),
    "discharge_utp_below_utpr": ("discharge_utpr", -20),
    "heating_start_below_stop": ("heating_stop_temperature", 3),
}


def test_every_rule_has_a_breaking_case() -> None:
    assert {rule.name for rule in RULES} == set(BREAKING)


def test_base_is_valid() -> None:
    validate_settings_set({}, S32, BASE)


@pytest.mark.parametrize("rule", sorted(BREAKING))
def test_rule_refuses_single_change(rule: str) -> None:
    key, value = BREAKING[rule]
    with pytest.raises(SettingRuleError) as caught:
        validate_change(BASE, S32, key, value)
    err = caught.value
    assert err.rule == rule
    assert err.translation_domain == DOMAIN
    assert err.translation_key == f"rule_{rule}"
    spec = next(r for r in RULES if r.name == rule)
    placeholders = err.translation_placeholders
    assert placeholders is not None
    assert placeholders["rule"] == rule
    assert placeholders["lower_key"] == spec.lower
    assert placeholders["upper_key"] == spec.upper
    merged = {**BASE, key: value}
    assert float(placeholders["lower_value"]) == pytest.approx(merged[spec.lower])
    assert float(placeholders["upper_value"]) == pytest.approx(merged[spec.upper])


@pytest.mark.parametrize("rule", sorted(BREAKING))
def test_rule_refuses_whole_set(rule: str) -> None:
    key, value = BREAKING[rule]
    with pytest.raises(SettingRuleError) as caught:
        validate_settings_set(BASE, S32, {**BASE, key: value})
    assert caught.value.rule == rule


def test_equal_allowed_only_where_not_strict() -> None:
    validate_change(BASE, S32, "soc_100_voltage", 3.65)  # SOC-100 % ≤ OVP
    validate_change(BASE, S32, "soc_0_voltage", 2.6)  # SOC-0 % ≥ UVP
    with pytest.raises(SettingRuleError):
        validate_change(BASE, S32, "cell_ovpr", 3.65)


def test_zero_means_unset_for_soc_and_charge_requests() -> None:
    old_unit = {**BASE, "soc_0_voltage": 0.0, "soc_100_voltage": 0.0, "rcv": 0.0}
    validate_change(old_unit, S32, "cell_uvp", 2.62)
    validate_change(old_unit, S32, "cell_ovp", 3.5)


def test_unrelated_oddity_does_not_block() -> None:
    # 11.17 firmware reports discharge UTP = UTPR = 0 (field absent).
    odd = {**BASE, "discharge_utp": 0, "discharge_utpr": 0}
    validate_change(odd, S32, "cell_ovp", 3.6)
    validate_settings_set(odd, S32, {"cell_ovp": 3.6})


@pytest.mark.parametrize(
    ("variant", "key", "value", "minimum", "maximum"),
    [
        (S32, "cell_ovp", 4.36, 1.2, 4.35),
        (S32, "cell_uvp", 1.19, 1.2, 4.35),
        (S24, "cell_count", 25, 2, 24),
        (S32, "cell_count", 33, 2, 32),
        (J04, "cell_count", 1, 2, 24),
        (J04, "max_balance_current", 5.5, 0.3, 5.0),
        (S32, "total_battery_capacity", 2001, 1, 2000),
        (S32, "rebulk_soc", 101, 0, 100),
    ],
)
def test_range_per_variant(
    variant: Variant, key: str, value: float, minimum: float, maximum: float
) -> None:
    with pytest.raises(SettingRuleError) as caught:
        validate_change(BASE, variant, key, value)
    err = caught.value
    assert err.translation_key == "value_out_of_range"
    assert err.translation_placeholders is not None
    assert float(err.translation_placeholders["minimum"]) == minimum
    assert float(err.translation_placeholders["maximum"]) == maximum
    assert err.translation_placeholders["variant"] == variant


@pytest.mark.parametrize(
    ("chemistry", "key", "value"),
    [
        (Chemistry.LIFEPO4, "cell_ovp", 3.7),
        (Chemistry.LIFEPO4, "cell_uvp", 1.9),
        (Chemistry.LI_ION, "cell_ovp", 4.3),
        (Chemistry.LTO, "cell_ovp", 2.9),
        (Chemistry.LTO, "power_off_voltage", 1.4),
    ],
)
def test_chemistry_window(chemistry: Chemistry, key: str, value: float) -> None:
    with pytest.raises(SettingRuleError) as caught:
        validate_change({}, S32, key, value, chemistry=chemistry)
    assert caught.value.translation_key == "value_outside_chemistry"
    assert caught.value.translation_placeholders is not None
    assert caught.value.translation_placeholders["chemistry"] == chemistry


@pytest.mark.parametrize("chemistry", list(Chemistry))
def test_presets_fit_their_windows_and_rules(chemistry: Chemistry) -> None:
    preset = CHEMISTRY_PRESETS[chemistry]
    validate_settings_set({}, S24, preset, chemistry=chemistry)


@pytest.mark.parametrize(
    ("variant", "key", "translation_key"),
    [
        (S24, "heating", "setting_not_supported"),
        (J04, "cell_ovp", "setting_not_supported"),
        (S32, "nonsense", "setting_unknown"),
    ],
)
def test_unknown_or_unsupported(
    variant: Variant, key: str, translation_key: str
) -> None:
    with pytest.raises(SettingRuleError) as caught:
        validate_change(BASE, variant, key, 1)
    assert caught.value.translation_key == translation_key


def test_set_with_unsupported_keys_names_them_all() -> None:
    with pytest.raises(SettingRuleError) as caught:
        validate_settings_set(
            {}, J04, {"cell_ovp": 3.6, "heating": True, "balancer": True}
        )
    assert caught.value.translation_key == "settings_not_supported"
    assert caught.value.translation_placeholders is not None
    assert caught.value.translation_placeholders["keys"] == "cell_ovp, heating"


@pytest.mark.parametrize(
    ("key", "value", "translation_key"),
    [
        ("uart1_protocol", "no_such_protocol", "setting_invalid_option"),
        ("uart1_protocol", 99, "setting_invalid_option"),
        ("charging", 2, "setting_invalid_switch"),
        ("cell_ovp", "3.6", "setting_not_a_number"),
        ("cell_ovp", float("nan"), "setting_not_a_number"),
        ("cell_ovp", True, "setting_not_a_number"),
    ],
)
def test_value_types(key: str, value: object, translation_key: str) -> None:
    with pytest.raises(SettingRuleError) as caught:
        validate_change(BASE, S32, key, value)  # type: ignore[arg-type]
    assert caught.value.translation_key == translation_key


def test_select_accepts_index_and_key() -> None:
    validate_change(BASE, S32, "uart1_protocol", 1)
    validate_change(BASE, S32, "uart1_protocol", "jk_bms_rs485_modbus_v1_0")


def test_unchanged_odd_value_is_not_range_checked() -> None:
    # Old units report 0 V for the SOC-100 % voltage (§7.1), below the 1.2 V range.
    current = {**BASE, "soc_100_voltage": 0.0}
    validate_settings_set(current, S32, {**current})
    with pytest.raises(SettingRuleError):
        validate_settings_set(BASE, S32, {"soc_100_voltage": 0.0})


def test_captured_smart_sleep_voltage_is_in_range() -> None:
    # Real 10.07/11.17 units report 0.6 V: a valid value, not an odd one.
    validate_settings_set(BASE, S32, {"smart_sleep_voltage": 0.6})
    validate_change(BASE, S32, "smart_sleep_voltage", 0.6)


def test_diff_uses_the_bms_resolution() -> None:
    current = {**BASE}
    changes = {
        "cell_ovp": 3.6504,  # below 1 mV: the same
        "cell_ovpr": 3.44,
        "charging": 1,
        "uart1_protocol": 14,  # index of the current option
        "charge_otp": 70.04,  # below 0.1 °C: the same
    }
    assert diff_settings(current, S32, changes) == {"cell_ovpr": 3.44}


def _apply(state: dict[str, object], plan: list[tuple[str, object]]) -> None:
    for key, value in plan:
        validate_change(state, S32, key, value)  # type: ignore[arg-type]
        state[key] = value


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (Chemistry.LIFEPO4, Chemistry.LI_ION),
        (Chemistry.LI_ION, Chemistry.LTO),
        (Chemistry.LTO, Chemistry.LIFEPO4),
        (Chemistry.LI_ION, Chemistry.LIFEPO4),
    ],
)
def test_plan_never_passes_through_an_invalid_state(
    start: Chemistry, target: Chemistry
) -> None:
    state: dict[str, object] = {**CHEMISTRY_PRESETS[start], "rcv": 0.0, "rfv": 0.0}
    changes = diff_settings(state, S32, CHEMISTRY_PRESETS[target])
    plan = plan_writes(state, S32, changes)
    assert sorted(key for key, _ in plan) == sorted(changes)
    _apply(state, plan)
    for key, value in CHEMISTRY_PRESETS[target].items():
        assert state[key] == value


def test_plan_switches_off_first_and_on_last() -> None:
    current = {**BASE, "charging": True, "discharging": False}
    changes = {"discharging": True, "charging": False, "cell_ovp": 3.6, "cell_count": 8}
    plan = plan_writes(current, S32, changes)
    assert [key for key, _ in plan] == [
        "charging",
        "cell_count",
        "cell_ovp",
        "discharging",
    ]


def test_plan_refuses_when_no_order_exists() -> None:
    # A target the set validation refuses anyway: no single first step is valid.
    current = {**BASE, "charge_otp": 60.0, "charge_otpr": 50.0}
    with pytest.raises(SettingRuleError) as caught:
        plan_writes(current, S32, {"charge_otp": 40.0, "charge_otpr": 65.0})
    assert caught.value.translation_key == "no_safe_order"


def test_every_writable_key_is_a_known_kind() -> None:
    for variant in Variant:
        for key, spec in registers_for(variant).items():
            assert spec.key == key


def _probe_values(variant: Variant, key: str) -> list[object]:
    spec = registers_for(variant)[key]
    if spec.kind is WriteKind.SELECT:
        return [*(spec.options or ()), 0, len(spec.options or ()), "no_such", -1]
    if spec.kind is WriteKind.SWITCH:
        return [True, False, 0, 1, 2, "on"]
    low, high = spec.minimum, spec.maximum
    return [low, high, (low + high) / 2, low - 1, high + 1, float("nan"), "x"]


@pytest.mark.parametrize("variant", list(Variant))
def test_validation_is_at_least_as_strict_as_the_encoder(variant: Variant) -> None:
    """What validate_change lets through, encode_write accepts: no second check needed."""
    for key in registers_for(variant):
        for value in _probe_values(variant, key):
            try:
                validate_change({}, variant, key, value)  # type: ignore[arg-type]
            except SettingRuleError:
                continue
            try:
                encode_write(key, value, variant)  # type: ignore[arg-type]
            except InvalidValueError as err:  # pragma: no cover - the failure report
                pytest.fail(f"{variant} {key}={value!r} passes validation: {err}")


# ------------------------------------------- a set refused before any I/O (issue 13)


@pytest.mark.parametrize(
    ("changes", "translation_key"),
    [
        ({}, "settings_empty"),
        ({"emergency": True, "cell_ovp": 3.6}, "setting_not_in_set"),
        ({"total_battery_capacity": 10**400}, "value_out_of_range"),
        ({"cell_ovp": float("nan")}, "setting_not_a_number"),
        ({"cell_ovp": 3.6005}, "value_off_step"),
        ({"uart1_protocol": float("nan")}, "setting_invalid_option"),
        ({"charging": "maybe"}, "setting_invalid_switch"),
    ],
)
def test_a_bad_set_is_refused_before_anything_is_read(
    changes: dict[str, object], translation_key: str
) -> None:
    with pytest.raises(SettingRuleError) as caught:
        check_settings_request(S32, changes)
    assert caught.value.translation_key == translation_key
    assert caught.value.translation_domain == DOMAIN


def test_five_thousand_unknown_keys_make_a_short_message() -> None:
    changes = {f"no_such_setting_{index}": 1 for index in range(5000)}
    with pytest.raises(SettingRuleError) as caught:
        check_settings_request(S32, changes)
    placeholders = caught.value.translation_placeholders or {}
    assert caught.value.translation_key == "settings_not_supported"
    assert len(placeholders["keys"]) < 600
    assert placeholders["keys"].endswith("(+4990)")


def test_a_good_set_comes_back_normalized() -> None:
    targets = check_settings_request(
        S32, {"cell_ovp": 3.6, "charging": 1, "uart1_protocol": 0}
    )
    assert targets == {
        "cell_ovp": 3.6,
        "charging": True,
        "uart1_protocol": registers_for(S32)["uart1_protocol"].options[0],  # type: ignore[index]
    }


def test_a_slider_value_a_hair_off_the_step_is_on_the_step() -> None:
    check_settings_request(S32, {"cell_ovp": 3.4499999999})
