"""Repairs: each issue is raised by a virtual BMS in that state and clears itself after."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from bleak_retry_connector import BleakOutOfConnectionSlotsError
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers import translation
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.jk_bms.const import (
    CONF_PAIR,
    CONF_SOC_RESYNC_DAYS,
    CONF_UPDATE_INTERVAL,
    DOMAIN,
)
from custom_components.jk_bms.coordinator import JkBmsCoordinator
from custom_components.jk_bms.protocol import (
    MissingCharacteristicError,
    NotJkBmsError,
    UnsupportedVariantError,
    VariantMismatchError,
)
from custom_components.jk_bms.protocol.client import connection_error
from custom_components.jk_bms.repairs import (
    Issue,
    classify_connection_error,
    issue_id,
)
from virtual_bms.device import VirtualJkBms
from virtual_bms.faults import Faults
from virtual_bms.proxy import VirtualProxy

from . import helpers

TRANSLATIONS = Path(__file__).parents[2] / "custom_components/jk_bms/translations"
LANGUAGES = sorted(path.stem for path in TRANSLATIONS.glob("*.json"))
FACTORY_SECRETS = ("1234", "123456")
USER_PIN = "8642"
USER_PASSWORD = "97531"  # noqa: S105 (a test value)


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    """No backoff sleeps between retries; give up waiting for a slot within a second."""
    with (
        patch("bleak_retry_connector.calculate_backoff_time", return_value=0),
        patch("custom_components.jk_bms.scheduler.STREAM_TURN_TIMEOUT", 0.5),
    ):
        yield


def add_entry(
    hass: HomeAssistant, bms: VirtualJkBms, **options: object
) -> MockConfigEntry:
    """A config entry for ``bms`` (state writes every second)."""
    return helpers.add_entry(hass, bms, **{CONF_UPDATE_INTERVAL: 1, **options})


def make_bms(
    virtual_bms, model: str = "JK-B2A8S20P", **options: object
) -> VirtualJkBms:
    """A virtual BMS that streams during set-up (the handshake waits for a cell frame)."""
    return virtual_bms(model, stream_interval=0.01, **options)


async def setup(hass: HomeAssistant, entry: MockConfigEntry, bms: VirtualJkBms) -> bool:
    """Set up one entry without platforms (repairs need only the coordinator)."""
    return await helpers.start(hass, entry, bms, platforms=[])


async def reload(
    hass: HomeAssistant, entry: MockConfigEntry, bms: VirtualJkBms
) -> None:
    """Reload: the session connects again and re-reads the device info."""
    await helpers.start(hass, entry, bms, platforms=[], reload=True)


def issue(
    hass: HomeAssistant, kind: Issue, entry: MockConfigEntry
) -> ir.IssueEntry | None:
    """The entry's issue of ``kind`` (None when not raised)."""
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id(kind, entry))


def added_days_ago(entry: MockConfigEntry, days: float) -> None:
    """Pretend the entry was created ``days`` ago (MockConfigEntry has no argument)."""
    object.__setattr__(entry, "created_at", dt_util.utcnow() - timedelta(days=days))


def our_issues(hass: HomeAssistant) -> set[str]:
    """Ids of every issue this integration has raised."""
    return {
        i.issue_id for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN
    }


def assert_no_secrets(found: ir.IssueEntry, *secrets: str) -> None:
    """No placeholder carries a password."""
    for value in (found.translation_placeholders or {}).values():
        for secret in secrets:
            assert secret not in value


async def push(hass: HomeAssistant, bms: VirtualJkBms, seconds: float = 2) -> None:
    """Send a cell frame (twice, as the stream does: the frame shield trusts a
    sudden change once a second frame shows it) and let the state cadence pass."""
    await bms.push_cell_info()
    await bms.push_cell_info(advance_s=0)
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done()


# ---------------------------------------------------------------- factory password


async def test_factory_password_raised_and_cleared(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Factory PIN in the device-info frame → issue; a new PIN → gone after reconnect."""
    bms = make_bms(virtual_bms, pin="1234", settings_password=USER_PASSWORD)
    entry = add_entry(hass, bms)
    assert await setup(hass, entry, bms)

    found = issue(hass, Issue.FACTORY_PASSWORD, entry)
    assert found is not None
    assert found.severity is ir.IssueSeverity.WARNING
    assert found.translation_key == "factory_password"
    assert found.is_fixable is False
    assert found.translation_placeholders == {"name": entry.title}
    assert_no_secrets(found, *FACTORY_SECRETS, USER_PASSWORD)

    # The user changed the PIN in the JK app; the next connection reads it.
    bms.device_info["pin"] = USER_PIN
    await reload(hass, entry, bms)
    assert entry.state is ConfigEntryState.LOADED
    assert issue(hass, Issue.FACTORY_PASSWORD, entry) is None


async def test_factory_settings_password_alone_raises(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The settings password 123456 alone is enough (PIN changed)."""
    bms = make_bms(virtual_bms, pin=USER_PIN, settings_password="123456")  # noqa: S106
    entry = add_entry(hass, bms)
    assert await setup(hass, entry, bms)
    found = issue(hass, Issue.FACTORY_PASSWORD, entry)
    assert found is not None
    assert_no_secrets(found, *FACTORY_SECRETS, USER_PIN)


async def test_password_alarm_raises_and_clears_live(
    hass: HomeAssistant, virtual_bms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The alarm "Modify password in time" alone raises it, and clears with the alarm."""
    bms = make_bms(
        virtual_bms, "JK-PB2A16S20P", pin=USER_PIN, settings_password=USER_PASSWORD
    )
    monkeypatch.setattr(
        bms, "alarms", lambda: frozenset({"alarm_modify_password_in_time"})
    )
    entry = add_entry(hass, bms)
    assert await setup(hass, entry, bms)
    assert issue(hass, Issue.FACTORY_PASSWORD, entry) is not None

    monkeypatch.setattr(bms, "alarms", frozenset)
    await push(hass, bms)
    assert issue(hass, Issue.FACTORY_PASSWORD, entry) is None


async def test_no_issue_with_user_passwords(hass: HomeAssistant, virtual_bms) -> None:
    """A BMS with its own passwords, recently full, detected right: no issue at all."""
    bms = make_bms(virtual_bms, pin=USER_PIN, settings_password=USER_PASSWORD)
    entry = add_entry(hass, bms)
    assert await setup(hass, entry, bms)
    assert our_issues(hass) == set()


# ------------------------------------------------------------- SoC re-synchronisation


async def test_soc_not_resynchronised_raised_and_cleared(
    hass: HomeAssistant, virtual_bms
) -> None:
    """No full charge for longer than the option → issue; a full charge clears it."""
    bms = make_bms(
        virtual_bms, pin=USER_PIN, settings_password=USER_PASSWORD, state_of_charge=0.6
    )
    entry = add_entry(hass, bms, **{CONF_SOC_RESYNC_DAYS: 5})
    # Never seen full: the days count from when the battery was added.
    added_days_ago(entry, 6)
    assert await setup(hass, entry, bms)

    found = issue(hass, Issue.SOC_NOT_RESYNCHRONISED, entry)
    assert found is not None
    assert found.severity is ir.IssueSeverity.WARNING
    placeholders = found.translation_placeholders or {}
    assert placeholders["days"] == "6"
    assert placeholders["limit"] == "5"
    assert placeholders["soc"] == str(bms.battery.state_of_charge)
    assert placeholders["soc_100_voltage"] == "3.520"
    assert found.learn_more_url is not None
    assert found.learn_more_url.endswith("#why-can-the-soc-be-wrong")

    # Charge until a cell reaches the SOC-100 % voltage: the BMS re-synchronises.
    for cell in bms.battery.cells:
        cell.state_of_charge = 0.999
    await push(hass, bms)
    coordinator: JkBmsCoordinator = entry.runtime_data
    assert coordinator.data.derived["last_full_charge"] is not None
    assert issue(hass, Issue.SOC_NOT_RESYNCHRONISED, entry) is None


async def test_soc_issue_follows_the_option(hass: HomeAssistant, virtual_bms) -> None:
    """Within the limit (default 30 days) nothing is raised."""
    bms = make_bms(
        virtual_bms, pin=USER_PIN, settings_password=USER_PASSWORD, state_of_charge=0.6
    )
    entry = add_entry(hass, bms)
    added_days_ago(entry, 29)
    assert await setup(hass, entry, bms)
    assert issue(hass, Issue.SOC_NOT_RESYNCHRONISED, entry) is None


async def test_soc_issue_uses_restored_last_full_charge(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The last full charge from before a restart counts, and clears the issue."""
    bms = make_bms(
        virtual_bms, pin=USER_PIN, settings_password=USER_PASSWORD, state_of_charge=0.6
    )
    entry = add_entry(hass, bms)
    added_days_ago(entry, 90)
    assert await setup(hass, entry, bms)
    found = issue(hass, Issue.SOC_NOT_RESYNCHRONISED, entry)
    assert found is not None
    assert (found.translation_placeholders or {})["days"] == "90"

    # The "Last full charge" sensor restores its state after a restart.
    coordinator: JkBmsCoordinator = entry.runtime_data
    coordinator.restore_last_full_charge(dt_util.utcnow() - timedelta(days=31))
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1, seconds=1))
    await hass.async_block_till_done()
    found = issue(hass, Issue.SOC_NOT_RESYNCHRONISED, entry)
    assert found is not None
    assert (found.translation_placeholders or {})["days"] == "31"

    coordinator.restore_last_full_charge(dt_util.utcnow() - timedelta(days=3))
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=2, seconds=2))
    await hass.async_block_till_done()
    assert issue(hass, Issue.SOC_NOT_RESYNCHRONISED, entry) is None


# ------------------------------------------------------------------ pairing / slots


async def test_pairing_required_raised_and_cleared(
    hass: HomeAssistant, virtual_bms
) -> None:
    """19.3x firmware refuses an unpaired link → issue; pairing on → connected, gone."""
    bms = make_bms(
        virtual_bms,
        pin=USER_PIN,
        settings_password=USER_PASSWORD,
        faults=Faults(require_pairing=True),
    )
    entry = add_entry(hass, bms)
    assert not await setup(hass, entry, bms)
    assert entry.state is ConfigEntryState.SETUP_RETRY

    found = issue(hass, Issue.PAIRING_REQUIRED, entry)
    assert found is not None
    assert found.severity is ir.IssueSeverity.ERROR
    placeholders = found.translation_placeholders or {}
    assert placeholders["address"] == bms.address
    assert "authentication" in placeholders["error"].lower()
    assert placeholders["reason"]  # Home Assistant's reachability diagnostics
    assert our_issues(hass) == {issue_id(Issue.PAIRING_REQUIRED, entry)}

    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_PAIR: True}
    )
    await reload(hass, entry, bms)
    assert entry.state is ConfigEntryState.LOADED
    assert our_issues(hass) == set()


async def test_no_connection_slot_raised_and_cleared(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Every proxy slot taken → issue with the reachability text; a free slot clears it."""
    bms = make_bms(virtual_bms, pin=USER_PIN, settings_password=USER_PASSWORD)
    others = [f"AA:BB:CC:DD:EE:{n:02X}" for n in range(virtual_proxy.slots)]
    for other in others:
        assert virtual_proxy.reserve_slot(other)
    entry = add_entry(hass, bms)
    assert not await setup(hass, entry, bms)

    found = issue(hass, Issue.NO_CONNECTION_SLOT, entry)
    assert found is not None
    assert found.severity is ir.IssueSeverity.ERROR
    placeholders = found.translation_placeholders or {}
    assert "slot" in placeholders["error"].lower()
    assert placeholders["reason"]

    virtual_proxy.release_slot(others[0])
    await reload(hass, entry, bms)
    assert entry.state is ConfigEntryState.LOADED
    assert issue(hass, Issue.NO_CONNECTION_SLOT, entry) is None


async def test_no_slot_on_reconnect_raised_and_cleared(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """A running BMS whose link drops and whose slot is taken meanwhile."""
    bms = make_bms(virtual_bms, pin=USER_PIN, settings_password=USER_PASSWORD)
    entry = add_entry(hass, bms)
    assert await setup(hass, entry, bms)

    bms.drop_link()
    await hass.async_block_till_done()
    others = [f"AA:BB:CC:DD:EE:{n:02X}" for n in range(virtual_proxy.free_slots)]
    for other in others:
        assert virtual_proxy.reserve_slot(other)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=3))
    await hass.async_block_till_done()
    assert issue(hass, Issue.NO_CONNECTION_SLOT, entry) is not None

    for other in others:
        virtual_proxy.release_slot(other)
    bms.faults.stop_streaming = False  # the handshake waits for a cell frame
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=10))
    await hass.async_block_till_done()
    coordinator: JkBmsCoordinator = entry.runtime_data
    assert coordinator.link_connected
    assert issue(hass, Issue.NO_CONNECTION_SLOT, entry) is None


# ------------------------------------------------------------------ variant mismatch


async def test_variant_mismatch_raised_and_cleared(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Firmware 10.x says JK02_24S but the frames are JK02_32S (esphome #1061)."""
    bms = make_bms(virtual_bms, pin=USER_PIN, settings_password=USER_PASSWORD)
    real_version = bms.device_info.get("software_version")
    bms.device_info["software_version"] = "10.07"
    entry = add_entry(hass, bms)
    assert await setup(hass, entry, bms)

    found = issue(hass, Issue.VARIANT_MISMATCH, entry)
    assert found is not None
    assert found.translation_placeholders == {
        "name": entry.title,
        "model": entry.runtime_data.device_info.model,
        "firmware": "10.07",
        "expected": "JK02_24S",
        "variant": "JK02_32S",
    }

    # After a firmware update the version fits the frames again.
    if real_version is None:
        del bms.device_info["software_version"]
    else:
        bms.device_info["software_version"] = real_version
    await reload(hass, entry, bms)
    assert issue(hass, Issue.VARIANT_MISMATCH, entry) is None


@pytest.mark.parametrize("language", LANGUAGES)
async def test_issue_texts_name_the_bms_once(
    hass: HomeAssistant, virtual_bms, language: str
) -> None:
    """As shown under Repairs: the BMS's name once, never "JK_B2A8S20P (JK_B2A8S20P)".

    The virtual BMS is named like its model, as most JK units are out of the box.
    """
    bms = make_bms(virtual_bms)  # factory passwords
    bms.device_info["software_version"] = "10.07"  # and a variant mismatch
    entry = add_entry(hass, bms)
    assert await setup(hass, entry, bms)
    model = entry.runtime_data.device_info.model
    assert entry.title == model
    texts = await translation.async_get_translations(hass, language, "issues", {DOMAIN})
    for kind in (Issue.FACTORY_PASSWORD, Issue.VARIANT_MISMATCH):
        found = issue(hass, kind, entry)
        assert found is not None
        placeholders = found.translation_placeholders or {}
        prefix = f"component.{DOMAIN}.issues.{kind}"
        title = texts[f"{prefix}.title"].format(**placeholders)
        description = texts[f"{prefix}.description"].format(**placeholders)
        assert entry.title in title, (kind, title)
        assert title.count(entry.title) == 1, (kind, title)
        for text in (title, description):
            assert f"({model})" not in text, (kind, text)
            assert f"({model}," not in text, (kind, text)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_variant_unsupported_raised_and_cleared(
    hass: HomeAssistant, virtual_bms
) -> None:
    """No variant fits the first cell frame: set-up fails with an explanation."""
    bms = make_bms(virtual_bms, pin=USER_PIN, settings_password=USER_PASSWORD)
    entry = add_entry(hass, bms)
    with patch(
        "custom_components.jk_bms.protocol.variant.check_cell_info",
        side_effect=VariantMismatchError("cell-info frame does not fit"),
    ):
        assert not await setup(hass, entry, bms)
    found = issue(hass, Issue.VARIANT_UNSUPPORTED, entry)
    assert found is not None
    assert found.severity is ir.IssueSeverity.ERROR

    await reload(hass, entry, bms)
    assert entry.state is ConfigEntryState.LOADED
    assert our_issues(hass) == set()


# ---------------------------------------------------------------- life cycle, texts


async def test_unload_and_remove_delete_issues(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Issues belong to a loaded entry; a failed entry's issue goes with the entry."""
    bms = make_bms(virtual_bms)  # factory passwords
    entry = add_entry(hass, bms)
    assert await setup(hass, entry, bms)
    assert our_issues(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert our_issues(hass) == set()

    bms.faults.require_pairing = True
    await setup(hass, entry, bms)
    assert our_issues(hass) == {issue_id(Issue.PAIRING_REQUIRED, entry)}
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert our_issues(hass) == set()


def test_classify_connection_errors() -> None:
    """What proxies and BlueZ say, typed at the library boundary, mapped to issues."""

    def wrapped(error: Exception) -> UpdateFailed:
        # As the coordinator raises it: UpdateFailed ← typed link error ← bleak error.
        failed = UpdateFailed("cannot connect")
        failed.__cause__ = connection_error(error)
        return failed

    assert classify_connection_error(None) is None
    assert classify_connection_error(wrapped(TimeoutError("timeout"))) is None
    assert (
        classify_connection_error(
            wrapped(Exception("No backend with an available connection slot"))
        )
        is Issue.NO_CONNECTION_SLOT
    )
    assert (
        classify_connection_error(wrapped(BleakOutOfConnectionSlotsError("full")))
        is Issue.NO_CONNECTION_SLOT
    )
    assert (
        classify_connection_error(
            wrapped(Exception("org.bluez.Error.AuthenticationFailed"))
        )
        is Issue.PAIRING_REQUIRED
    )
    assert (
        classify_connection_error(
            MissingCharacteristicError(
                "no FFE1 characteristic that writes and notifies"
            )
        )
        is Issue.PAIRING_REQUIRED
    )
    assert (
        classify_connection_error(
            UnsupportedVariantError("cell-info frame does not fit JK02_32S")
        )
        is Issue.VARIANT_UNSUPPORTED
    )
    # Typed, not read from text: the same words in another error are no issue.
    assert (
        classify_connection_error(NotJkBmsError("device info not understood")) is None
    )
    assert (
        classify_connection_error(NotJkBmsError("pairing: no FFE1 characteristic"))
        is None
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_issue_texts(language: str) -> None:
    """Every issue has a title and steps; placeholders match; no password in a text."""
    issues = json.loads((TRANSLATIONS / f"{language}.json").read_text())["issues"]
    assert set(issues) == {kind.value for kind in Issue}
    for kind, texts in issues.items():
        assert texts["title"], kind
        assert texts["description"], kind
        for text in texts.values():
            for secret in FACTORY_SECRETS:
                assert secret not in text, kind
    english = json.loads((TRANSLATIONS / "en.json").read_text())["issues"]
    for kind, texts in issues.items():
        for field, text in texts.items():
            assert _placeholders(text) == _placeholders(english[kind][field]), kind


def _placeholders(text: str) -> set[str]:
    import re

    return set(re.findall(r"\{(\w+)\}", text))
