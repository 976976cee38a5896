"""Every validation rule, end to end: refused with a translated error, and the BMS receives nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.translation import async_get_translations
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.protocol import Variant, decode_settings
from custom_components.jk_bms.validation import RULES
from tests.test_validation_rules import BASE, BREAKING
from virtual_bms.profiles import find_profile

from .helpers import setup_bms

TRANSLATIONS = Path(__file__).parents[2] / "custom_components/jk_bms/translations"


async def _setup(hass: HomeAssistant, virtual_bms, model: str, **options: Any):
    bms, entry, coordinator = await setup_bms(
        hass, virtual_bms, model, live=True, options={"update_interval": 1}, **options
    )
    await async_get_translations(hass, "en", "exceptions", {DOMAIN})
    return bms, entry, coordinator


def _base_settings(model: str) -> dict[str, Any]:
    """BASE (a consistent LiFePO4 set) restricted to the settings-frame keys of ``model``."""
    profile = find_profile(model)
    keys = decode_settings(profile.templates.settings, profile.variant).values()
    return {key: value for key, value in BASE.items() if key in keys}


@pytest.fixture
async def pb(hass: HomeAssistant, virtual_bms):
    """A JK-PB (32S, every rule's keys present) holding BASE."""
    bms, entry, coordinator = await _setup(
        hass, virtual_bms, "JK-PB2A16S20P", settings=_base_settings("JK-PB2A16S20P")
    )
    yield bms, entry, coordinator
    assert await hass.config_entries.async_unload(entry.entry_id)


def _check(err: ServiceValidationError, rule: str, key: str, value: float) -> None:
    spec = next(r for r in RULES if r.name == rule)
    assert err.translation_domain == DOMAIN
    assert err.translation_key == f"rule_{rule}"
    placeholders = err.translation_placeholders or {}
    assert placeholders["rule"] == rule
    assert placeholders["lower_key"] == spec.lower
    assert placeholders["upper_key"] == spec.upper
    merged = {**BASE, key: value}
    assert float(placeholders["lower_value"]) == pytest.approx(merged[spec.lower])
    assert float(placeholders["upper_value"]) == pytest.approx(merged[spec.upper])
    # The translated message names both values.
    message = str(err)
    assert placeholders["lower_value"] in message
    assert placeholders["upper_value"] in message
    assert "Nothing was sent" in message


@pytest.mark.parametrize("rule", sorted(BREAKING))
async def test_rule_refused_on_write_and_nothing_sent(pb, rule: str) -> None:
    bms, _, coordinator = pb
    key, value = BREAKING[rule]
    received = len(bms.received)
    with pytest.raises(ServiceValidationError) as caught:
        await coordinator.async_write(key, value)
    _check(caught.value, rule, key, value)
    assert len(bms.received) == received  # not one byte
    assert bms.settings[key] == BASE[key]


@pytest.mark.parametrize("rule", sorted(BREAKING))
async def test_rule_refused_by_apply_settings_and_nothing_sent(
    hass: HomeAssistant, pb, rule: str
) -> None:
    bms, entry, _ = pb
    key, value = BREAKING[rule]
    device_id = _device_id(hass, entry)
    received = len(bms.received)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "apply_settings",
            {"device_id": device_id, "settings": {**BASE, key: value}},
            blocking=True,
            return_response=True,
        )
    _check(caught.value, rule, key, value)
    assert len(bms.received) == received


async def test_rule_refused_through_the_number_entity(hass: HomeAssistant, pb) -> None:
    bms, entry, _ = pb
    from homeassistant.helpers import entity_registry as er

    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id(
        "number", DOMAIN, f"{bms.address}_cell_ovpr"
    )
    assert entity_id is not None
    registry.async_update_entity(entity_id, disabled_by=None)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    received = len(bms.received)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": entity_id, "value": 3.65},
            blocking=True,
        )
    assert caught.value.translation_key == "rule_ovpr_below_ovp"
    assert len(bms.received) == received
    assert float(hass.states.get(entity_id).state) == pytest.approx(BASE["cell_ovpr"])


@pytest.mark.parametrize(
    ("model", "key", "value", "translation_key"),
    [
        ("JK-B2A24S20P", "cell_count", 25, "value_out_of_range"),
        ("JK-B2A8S20P", "cell_count", 33, "value_out_of_range"),
        ("JK-B2A16S", "cell_count", 25, "value_out_of_range"),
        ("JK-B2A16S", "max_balance_current", 6.0, "value_out_of_range"),
        ("JK-B2A8S20P", "cell_ovp", 4.4, "value_out_of_range"),
        ("JK-B2A24S20P", "charge_otp", 120.0, "value_out_of_range"),
        ("JK-B2A24S20P", "heating", True, "setting_not_supported"),
        ("JK-B2A16S", "cell_ovp", 3.6, "setting_not_supported"),
        ("JK-B2A8S20P", "uart1_protocol", "no_such_protocol", "setting_invalid_option"),
    ],
)
async def test_range_refused_per_variant_and_nothing_sent(
    hass: HomeAssistant, virtual_bms, model, key, value, translation_key
) -> None:
    bms, entry, coordinator = await _setup(hass, virtual_bms, model)
    received = len(bms.received)
    with pytest.raises(ServiceValidationError) as caught:
        await coordinator.async_write(key, value)
    assert caught.value.translation_key == translation_key
    assert caught.value.translation_placeholders["key"] == key
    placeholders = caught.value.translation_placeholders
    if translation_key == "value_out_of_range":
        assert f"{placeholders['minimum']} to {placeholders['maximum']}" in str(
            caught.value
        )
    assert len(bms.received) == received
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("chemistry", "key", "value"),
    [
        ("lifepo4", "cell_ovp", 3.7),
        ("li_ion", "cell_ovp", 4.3),
        ("lto", "cell_ovp", 2.9),
        ("lto", "cell_uvp", 1.4),
    ],
)
async def test_chemistry_window_refused_and_nothing_sent(
    hass: HomeAssistant, pb, chemistry: str, key: str, value: float
) -> None:
    bms, entry, _ = pb
    received = len(bms.received)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "apply_settings",
            {
                "device_id": _device_id(hass, entry),
                "settings": {key: value},
                "chemistry": chemistry,
                "dry_run": False,
            },
            blocking=True,
        )
    assert caught.value.translation_key == "value_outside_chemistry"
    assert caught.value.translation_placeholders["chemistry"] == chemistry
    assert len(bms.received) == received


async def test_rules_only_check_the_changed_key(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The B2A8S20P 11.17 capture has discharge UTP = UTPR = 0: other writes still work."""
    bms, entry, coordinator = await _setup(hass, virtual_bms, "JK-B2A8S20P")
    assert bms.settings["discharge_utp"] == bms.settings["discharge_utpr"] == 0
    await coordinator.async_write("cell_ovp", 3.58)
    assert bms.settings["cell_ovp"] == 3.58
    assert await hass.config_entries.async_unload(entry.entry_id)


def _device_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    from homeassistant.helpers import device_registry as dr

    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 1
    return devices[0].id


# ------------------------------------------------------------- translations

CODE_KEYS = {
    *(f"rule_{rule.name}" for rule in RULES),
    "value_out_of_range",
    "value_outside_chemistry",
    "setting_not_supported",
    "settings_not_supported",
    "setting_unknown",
    "setting_invalid_option",
    "setting_invalid_switch",
    "setting_not_a_number",
    "no_safe_order",
    "action_not_supported",
    "action_failed",
    "calibration_implausible",
    "bms_not_connected",
    "apply_settings_failed",
}


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_error_is_translated_with_the_same_placeholders(language: str) -> None:
    english = json.loads((TRANSLATIONS / "en.json").read_text(encoding="utf-8"))
    other = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    for key in CODE_KEYS:
        assert key in other["exceptions"], key
        fields = set(re.findall(r"{(\w+)}", other["exceptions"][key]["message"]))
        expected = set(re.findall(r"{(\w+)}", english["exceptions"][key]["message"]))
        assert fields == expected, key
    assert set(other["services"]) == set(english["services"])


def test_rule_messages_name_their_values() -> None:
    english = json.loads((TRANSLATIONS / "en.json").read_text(encoding="utf-8"))
    for rule in RULES:
        message = english["exceptions"][f"rule_{rule.name}"]["message"]
        assert "{lower_value}" in message
        assert "{upper_value}" in message


def test_variants_covered() -> None:
    assert {
        find_profile(m).variant for m in ("JK-PB2A16S20P", "JK-B2A24S20P", "JK-B2A16S")
    } == set(Variant)
