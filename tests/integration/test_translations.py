"""Every string is translated in every language, entities have icons and are documented.

``docs/entities.md`` is generated from the descriptions; regenerate it with
``scripts/run python -m tests.integration.test_translations``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import yaml
from homeassistant.components.select import SelectEntityDescription
from homeassistant.components.sensor import SensorDeviceClass, SensorEntityDescription
from homeassistant.helpers.entity import EntityDescription

from custom_components.jk_bms import (
    binary_sensor,
    event,
    number,
    select,
    sensor_descriptions,
    sensor_values,
    switch,
    validation,
)
from custom_components.jk_bms.coordinator import JkBmsCoordinator
from custom_components.jk_bms.entity import (
    PB_MIN_SOFTWARE_MAJOR,
    JkBmsEntityDescription,
    is_supported,
)
from custom_components.jk_bms.protocol import Variant, WriteKind, registers_for

ROOT = Path(__file__).parents[2]
COMPONENT = ROOT / "custom_components" / "jk_bms"
DOC = ROOT / "docs" / "entities.md"
# Every file in translations/ is checked; these must be among them.
REQUIRED_LANGUAGES = {"en", "de", "nl", "fr", "es", "it", "pl", "cs"}
LANGUAGES = tuple(
    sorted(path.stem for path in (COMPONENT / "translations").glob("*.json"))
)
# States of non-enum sensors that the frontend shows translated.
EXTRA_STATES: dict[tuple[str, str], list[str]] = {
    ("sensor", "errors"): [sensor_values.NO_ERRORS],
}
# Twins that never exist together: a setting is a number where the variant has a
# write register and a read-only sensor where it has none.
EXCLUSIVE_TWINS = {
    "device_address",
    "lcd_buzzer_trigger_value",
    "lcd_buzzer_release_value",
    "connection_wire_resistance",
}

DESCRIPTIONS: dict[str, Sequence[JkBmsEntityDescription]] = {
    "sensor": sensor_descriptions.ALL_SENSORS,
    "binary_sensor": binary_sensor.ALL_BINARY_SENSORS,
    "switch": switch.SWITCHES,
    "number": number.ALL_NUMBERS,
    "select": select.SELECTS,
    "event": event.EVENTS,
}
WRITE_KINDS = {
    "switch": WriteKind.SWITCH,
    "number": WriteKind.NUMBER,
    "select": WriteKind.SELECT,
}
MAX_CELLS = {Variant.JK02_24S: 24, Variant.JK02_32S: 32, Variant.JK04: 24}
VARIANT_LABELS = {Variant.JK02_24S: "24", Variant.JK02_32S: "32", Variant.JK04: "04"}


def _file(language: str) -> dict[str, Any]:
    text = (COMPONENT / "translations" / f"{language}.json").read_text(encoding="utf-8")
    tree: dict[str, Any] = json.loads(text)
    return tree


def _translations(language: str) -> dict[str, Any]:
    entity: dict[str, Any] = _file(language)["entity"]
    return entity


def _leaves(
    tree: Any, path: tuple[str, ...] = ()
) -> Iterable[tuple[tuple[str, ...], Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, tree


def _icons() -> dict[str, Any]:
    icons: dict[str, Any] = json.loads((COMPONENT / "icons.json").read_text())["entity"]
    return icons


def _all() -> Iterable[tuple[str, JkBmsEntityDescription]]:
    for platform, descriptions in DESCRIPTIONS.items():
        for description in descriptions:
            yield platform, description


def _states(description: EntityDescription, platform: str = "") -> list[str]:
    if extra := EXTRA_STATES.get((platform, str(description.translation_key))):
        return extra
    if isinstance(description, SelectEntityDescription):
        return list(description.options or [])
    if (
        isinstance(description, SensorEntityDescription)
        and description.device_class is SensorDeviceClass.ENUM
    ):
        return list(description.options or [])
    return []


# ------------------------------------------------------------------ translations


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_description_is_translated(language: str) -> None:
    """Name for every translation key; {n} exactly where placeholders are given."""
    entity = _translations(language)
    for platform, description in _all():
        key = description.translation_key
        assert key is not None, description.key
        name = entity[platform][key]["name"]
        assert name.strip(), (platform, key)
        placeholders = set(re.findall(r"{(\w+)}", name))
        assert placeholders == set(description.translation_placeholders or {}), (
            platform,
            key,
            name,
        )
        for state in _states(description, platform):
            assert entity[platform][key]["state"][state].strip(), (platform, key, state)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_stale_translations(language: str) -> None:
    """Every translated entity and state belongs to a description."""
    used: dict[str, set[str]] = {}
    states: dict[tuple[str, str], set[str]] = {}
    for platform, description in _all():
        key = cast(str, description.translation_key)
        used.setdefault(platform, set()).add(key)
        states.setdefault((platform, key), set()).update(_states(description, platform))
    for platform, entries in _translations(language).items():
        assert set(entries) == used[platform], platform
        for key, entry in entries.items():
            assert set(entry.get("state", {})) == states[(platform, key)], key


def test_the_required_languages_are_shipped() -> None:
    """en, de, nl, fr, es, it, pl and cs at least."""
    assert set(LANGUAGES) >= REQUIRED_LANGUAGES


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_languages_have_the_same_keys(language: str) -> None:
    """Each language covers exactly what English covers: nothing missing, nothing stale."""
    english = dict(_leaves(_file("en")))
    other = dict(_leaves(_file(language)))
    assert sorted(set(english) - set(other)) == [], f"{language} lacks these keys"
    assert sorted(set(other) - set(english)) == [], f"{language} has stale keys"
    for path, text in other.items():
        assert isinstance(text, str), (language, path)
        assert text.strip(), (language, path)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_placeholders_match_english(language: str) -> None:
    """Every {placeholder} of the English text, no more and no fewer, in each string."""
    english = dict(_leaves(_file("en")))
    for path, text in _leaves(_file(language)):
        expected = sorted(re.findall(r"{(\w+)}", english[path]))
        assert sorted(re.findall(r"{(\w+)}", text)) == expected, (language, path, text)
        # Markdown code spans (e.g. `bluetoothctl remove {address}`) stay as they are.
        assert re.findall(r"`[^`]*`", text) == re.findall(r"`[^`]*`", english[path]), (
            language,
            path,
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_names_tell_entities_apart(language: str) -> None:
    """No two entities of one BMS share a name (a switch and its MOSFET sensor …)."""
    seen: dict[str, tuple[str, str]] = {}
    for platform, entries in _translations(language).items():
        for key, entry in entries.items():
            name = entry["name"].casefold()
            other = seen.setdefault(name, (platform, key))
            assert other == (platform, key) or key in EXCLUSIVE_TWINS, (
                language,
                entry["name"],
                other,
                (platform, key),
            )


@pytest.mark.parametrize("language", LANGUAGES)
def test_actions_are_translated(language: str) -> None:
    """Every action in services.yaml and each of its fields has a name and description."""
    actions = yaml.safe_load((COMPONENT / "services.yaml").read_text())
    services = _file(language)["services"]
    assert set(services) == set(actions), language
    for action, spec in actions.items():
        assert services[action]["name"].strip(), (language, action)
        assert services[action]["description"].strip(), (language, action)
        assert set(services[action].get("fields", {})) == set(spec.get("fields", {}))
        for field in spec.get("fields", {}):
            assert services[action]["fields"][field]["name"].strip(), (action, field)
            assert services[action]["fields"][field]["description"].strip()


def test_english_names_give_the_dashboard_entity_ids() -> None:
    """The ids the JK dashboard cards expect (device + English name, or object_id)."""
    entity = _translations("en")
    assert entity["sensor"]["total_voltage"]["name"] == "Total voltage"
    assert entity["sensor"]["cell_voltage"]["name"] == "Cell voltage {n}"
    assert entity["sensor"]["state_of_charge"]["name"] == "State of charge"
    assert entity["switch"]["charging"]["name"] == "Charging"
    for platform, description in _all():
        if description.translation_placeholders:
            continue
        name = entity[platform][cast(str, description.translation_key)]["name"]
        name = description.object_id or name
        slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        expected = description.key.removeprefix("alarm_")
        if platform == "binary_sensor" and description.key.startswith("alarm_"):
            continue  # alarm names are the protocol's English texts
        assert slug == expected or (platform, description.key) in NAMED_APART, (
            platform,
            description.key,
            name,
        )


# Where entities.md's English name does not spell the key.
NAMED_APART = {
    ("sensor", "rssi"),
    ("binary_sensor", "emergency"),
    ("number", "cell_ovp"),
    ("number", "cell_ovpr"),
    ("number", "cell_uvp"),
    ("number", "cell_uvpr"),
    ("number", "soc_100_voltage"),
    ("number", "soc_0_voltage"),
    ("number", "charge_ocp_delay"),
    ("number", "charge_ocp_recovery"),
    ("number", "discharge_ocp_delay"),
    ("number", "discharge_ocp_recovery"),
    ("number", "charge_otp"),
    ("number", "charge_otpr"),
    ("number", "discharge_otp"),
    ("number", "discharge_otpr"),
    ("number", "charge_utp"),
    ("number", "charge_utpr"),
    ("number", "discharge_utp"),
    ("number", "discharge_utpr"),
    ("number", "mosfet_otp"),
    ("number", "mosfet_otpr"),
    ("number", "scp_delay"),
    ("number", "scp_recovery"),
    ("number", "rcv"),
    ("number", "rfv"),
    ("number", "rcv_time"),
    ("number", "rfv_time"),
}


# -------------------------------------------------------------------- exceptions

# Keys built at run time: SettingRuleError forwards the key it is given, and
# ``validation.translated`` maps a protocol rule to ``VALUE_RULE_KEYS`` or, for a
# cross-field rule, ``rule_<name>`` (validation.RULES).
DYNAMIC_EXCEPTION_KEYS = {"translation_key", "key"}


def _exception_messages(language: str) -> dict[str, Any]:
    text = (COMPONENT / "translations" / f"{language}.json").read_text(encoding="utf-8")
    exceptions: dict[str, Any] = json.loads(text)["exceptions"]
    return exceptions


def _raised_exception_keys() -> set[str]:
    """Every exception translation key the integration's code can raise."""
    keys: set[str] = set()
    dynamic: set[str] = set()
    for path in sorted(COMPONENT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            keywords = {kw.arg: kw.value for kw in node.keywords}
            if name == "SettingRuleError" and len(node.args) >= 2:
                key = node.args[1]  # SettingRuleError(rule, translation_key, ...)
            elif "translation_domain" in keywords and "translation_key" in keywords:
                key = keywords["translation_key"]  # HA exceptions, UpdateFailed …
            else:
                continue
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                keys.add(key.value)
            else:
                dynamic.add(ast.unparse(key))
    assert dynamic == DYNAMIC_EXCEPTION_KEYS, "a new run-time key: list it here"
    rules = {f"rule_{rule.name}" for rule in validation.RULES}
    return keys | rules | set(validation.VALUE_RULE_KEYS.values())


def test_every_exception_message_is_raised_somewhere() -> None:
    """No dead messages: each ``exceptions`` key in en.json is raised by the code."""
    unused = set(_exception_messages("en")) - _raised_exception_keys()
    assert not unused, f"no code raises {sorted(unused)}: remove them"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_raised_exception_has_a_message(language: str) -> None:
    """Each translation key the code raises has a non-empty message."""
    messages = _exception_messages(language)
    for key in _raised_exception_keys():
        assert messages.get(key, {}).get("message", "").strip(), (language, key)


# ------------------------------------------------------------------------- icons


def test_icons_exist_for_translation_keys() -> None:
    """icons.json names only entities that exist, with mdi: icons."""
    used = {(p, cast(str, d.translation_key)) for p, d in _all()}
    for platform, entries in _icons().items():
        for key, icon in entries.items():
            assert (platform, key) in used, (platform, key)
            for value in (icon["default"], *icon.get("state", {}).values()):
                assert value.startswith("mdi:"), (platform, key)


def test_every_action_has_an_icon() -> None:
    """icons.json has an mdi: icon for exactly the actions in services.yaml."""
    actions = set(yaml.safe_load((COMPONENT / "services.yaml").read_text()))
    icons = json.loads((COMPONENT / "icons.json").read_text())["services"]
    assert set(icons) == actions
    for action, icon in icons.items():
        assert icon["service"].startswith("mdi:"), action


def test_switches_and_binary_sensors_have_state_icons() -> None:
    """On and off look different."""
    icons = _icons()
    for platform in ("switch", "binary_sensor"):
        for description in DESCRIPTIONS[platform]:
            key = cast(str, description.translation_key)
            if key.startswith("alarm_"):
                continue  # the problem device class has its own on/off icons
            assert "off" in icons[platform][key].get("state", {}) or key in {
                "disable_pcl_module",
                "button_triggers_emergency",
            }, key


# -------------------------------------------------------------------------- docs


def _fake_coordinator(variant: Variant, *, pb: bool) -> JkBmsCoordinator:
    """Enough of a coordinator for supported_fn: every cell and sensor present."""
    major = PB_MIN_SOFTWARE_MAJOR if pb else PB_MIN_SOFTWARE_MAJOR - 4
    fake = SimpleNamespace(
        variant=variant,
        device_info=SimpleNamespace(software_major=major),
        data=SimpleNamespace(
            cell_info=SimpleNamespace(
                cell_count=MAX_CELLS[variant],
                temperatures=dict.fromkeys(range(1, 6), 25.0),
            )
        ),
    )
    return cast(JkBmsCoordinator, fake)


def _exists(
    platform: str, description: JkBmsEntityDescription, variant: Variant, *, pb: bool
) -> bool:
    coordinator = _fake_coordinator(variant, pb=pb)
    if not is_supported(description, coordinator):
        return False
    if platform in WRITE_KINDS:
        spec = registers_for(variant).get(description.key)
        return spec is not None and spec.kind is WRITE_KINDS[platform]
    return True


def _variants(platform: str, description: JkBmsEntityDescription) -> str:
    labels = [
        label
        for variant, label in VARIANT_LABELS.items()
        if _exists(platform, description, variant, pb=False)
    ]
    if not labels and _exists(platform, description, Variant.JK02_32S, pb=True):
        labels = ["pb"]
    return " ".join(labels)


def _unit_and_class(platform: str, description: EntityDescription) -> tuple[str, str]:
    if platform == "number":
        variant = next(v for v in VARIANT_LABELS if description.key in registers_for(v))
        unit, device_class = number.ha_unit(registers_for(variant)[description.key])
        if getattr(description, "in_millivolts", False):
            unit = "mV"
        return unit or "", device_class or ""
    unit = (
        getattr(description, "suggested_unit_of_measurement", None)
        or getattr(description, "native_unit_of_measurement", None)
        or ""
    )
    classes = [str(description.device_class or "")]
    state_class = getattr(description, "state_class", None)
    if state_class:
        classes.append(str(state_class))
    return str(unit), " / ".join(c for c in classes if c) or ""


@dataclass
class _Row:
    platform: str
    key: str
    en: str
    de: str
    unit: str
    classes: str
    category: str
    enabled: str
    variants: str
    numbers: list[int]


def _rows() -> list[_Row]:
    en, de = _translations("en"), _translations("de")
    rows: dict[tuple[str, str, str], _Row] = {}
    for platform, description in _all():
        variants = _variants(platform, description)
        if not variants:
            continue  # no variant has it (e.g. a read-only twin of a number)
        key = cast(str, description.translation_key)
        placeholders = description.translation_placeholders or {}
        doc_key = f"{key}_{{n}}" if placeholders else description.key
        unit, classes = _unit_and_class(platform, description)
        group = (platform, doc_key, variants)
        row = rows.get(group)
        if row is None:
            row = rows[group] = _Row(
                platform=platform,
                key=doc_key,
                en=en[platform][key]["name"],
                de=de[platform][key]["name"],
                unit=unit,
                classes=classes,
                category=str(description.entity_category or ""),
                enabled="y" if description.entity_registry_enabled_default else "n",
                variants=variants,
                numbers=[],
            )
        if "n" in placeholders:
            row.numbers.append(int(placeholders["n"]))
    return list(rows.values())


def render() -> str:
    """The whole docs/entities.md."""
    lines = [
        "# Entities",
        "",
        "Generated from the entity descriptions by",
        "`scripts/run python -m tests.integration.test_translations` (a test fails when",
        "this file and the code disagree). Contract: `shared/docs/entities.md`.",
        "",
        "Every entity's unique id is `<bluetooth address>_<key>`; `{n}` rows exist once per",
        "cell present (cell voltage, resistance, wire resistance), per temperature sensor the",
        "presence mask reports, or per dry contact. **variants**: 24 = JK02_24S, 32 = JK02_32S,",
        "04 = JK04, pb = JK02_32S with firmware ≥ 15 only. Switches, numbers and selects exist",
        "where the protocol's register table has a write register for the variant; settings",
        "without a known register are read-only diagnostic sensors instead. Sensors and binary",
        "sensors show the BMS's frames; controls show what the BMS reads back after a write.",
        "",
        "| platform | key | English name | German name | unit | class | category | enabled | variants |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in _rows():
        key = row.key
        if row.numbers:
            key += f" (n = {min(row.numbers)}-{max(row.numbers)})"
        lines.append(
            f"| {row.platform} | `{key}` | {row.en} | {row.de} | {row.unit} | "
            f"{row.classes} | {row.category} | {row.enabled} | {row.variants} |"
        )
    lines += [
        "",
        "Select options and enum states are translated in every language shipped; see",
        "`custom_components/jk_bms/translations/`.",
        "",
        *DEFAULTS_TEXT,
    ]
    return "\n".join(lines)


DEFAULTS_TEXT = [
    "## Why these defaults",
    "",
    "A JK owner opens the device page to see the pack, to switch charging,",
    "discharging, balancer or heater, and to commission the BMS. So:",
    "",
    "- **Enabled, no category (the main cards)**: what the JK app's status screen",
    "  shows: voltage, current, power, SoC, remaining Ah, cell voltages, min / max /",
    "  average / delta, temperatures, balancing current, the MOSFET and balancing",
    "  states, *Errors*, the energy counters, time to empty / full, last full charge,",
    "  lowest cell headroom, and the four switches.",
    "- **Enabled under Configuration**: the settings that `docs/commissioning.md`",
    "  walks through (cell count, capacity, balance trigger, cell OVP / OVPR / UVP /",
    "  UVPR, SOC-100 % / SOC-0 % voltage, max charge / discharge current), the two",
    "  other balancer settings and the selects (UART / CAN protocol for the",
    "  inverter, dry contact and buzzer triggers; UART3 only on request). Changing",
    "  one needs no trip to the entity settings and no reload.",
    "- **Disabled**: settings changed once in a battery's life or never (delays,",
    "  recoveries, temperature limits, smart sleep, RCV / RFV, device address, the",
    "  32S control bits, wire resistances), and readings nobody watches (runtime,",
    "  uptime, power-on count, user data, RSSI, logbook count, emergency countdown).",
    "- **Alarms**: one problem sensor per alarm bit exists (16 on JK02_24S, 29 on",
    "  JK02_32S) but is disabled: enabled they are a wall of *OK* rows. *Errors*",
    "  names every active alarm (*No errors* otherwise); enable a single alarm",
    "  sensor to automate on it.",
    "- **Diagnostic and enabled**: what explains the battery's health: full charge",
    "  capacity, SoH, cycles, cycle capacity, cell resistances, which cell is",
    "  min / max, detected cells, balancing action, charge status (PB), the heater,",
    "  and the kWh *Energy capacity* to type into the energy dashboard's battery",
    "  capacity field.",
    "",
    "Names are unique on the device page and in the logbook in every language: the",
    "sensors beside a switch say what they show (*Charge MOSFET* next to the",
    "*Charging* switch, *Heater* running next to the *Heating* switch, *Balancing",
    "action* next to *Balancing* and the *Balancer* switch, *Detected cells* next to",
    "the *Cell count* setting). Their entity ids stay what the JK dashboard cards",
    "expect (`binary_sensor.<device>_charging`, `sensor.<device>_balancer_status` …).",
    "Cell differences show in mV: *Delta cell voltage* (suggested unit) and the",
    "*Balance trigger voltage* setting.",
    "",
]


def test_docs_table_matches_the_code() -> None:
    """docs/entities.md is exactly what the descriptions generate."""
    assert DOC.read_text(encoding="utf-8") == render(), (
        "regenerate: scripts/run python -m tests.integration.test_translations"
    )


def test_every_description_has_a_docs_row() -> None:
    """Each description (or its {n} family) appears in the table."""
    text = DOC.read_text(encoding="utf-8")
    for platform, description in _all():
        if not _variants(platform, description):
            continue
        key = cast(str, description.translation_key)
        doc_key = (
            f"{key}_{{n}}" if description.translation_placeholders else description.key
        )
        assert f"| {platform} | `{doc_key}" in text, (platform, description.key)


if __name__ == "__main__":
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")  # noqa: T201
