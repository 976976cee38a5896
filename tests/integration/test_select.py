"""Selects (JK02_32S): snapshots; options from the protocol tables; writes read back."""

from __future__ import annotations

import pytest
from homeassistant.components.select import ATTR_OPTIONS
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.jk_bms.protocol import SELECT_OPTIONS, decode_device_info

from .platform_helpers import (
    all_entities_enabled,
    entity_id,
    repeatable_coordinator,
    setup_bms,
    static_bms,
)


@pytest.mark.parametrize(
    "model", ["JK-B2A8S20P", "JK-PB2A16S20P"], ids=["JK02_32S", "JK02_32S_PB"]
)
async def test_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    virtual_bms,
    model: str,
) -> None:
    """Every select of a JK02_32S: registry entry and state."""
    bms = static_bms(virtual_bms, model)
    with all_entities_enabled(), repeatable_coordinator():
        entry = await setup_bms(hass, bms, Platform.SELECT)
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.parametrize("model", ["JK-B2A24S20P", "JK-B2A16S"])
async def test_no_selects_before_32s(
    hass: HomeAssistant, virtual_bms, model: str
) -> None:
    """JK02_24S and JK04 have none of these settings."""
    bms = static_bms(virtual_bms, model)
    with all_entities_enabled():
        entry = await setup_bms(hass, bms, Platform.SELECT)
    assert not er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)


async def test_options_and_current_option(hass: HomeAssistant, virtual_bms) -> None:
    """Options are the protocol's option keys; the current one is the BMS's."""
    bms = static_bms(virtual_bms, "JK-PB2A16S20P")
    with all_entities_enabled():
        await setup_bms(hass, bms, Platform.SELECT)
    # What the BMS sends: its template frame with the values written since.
    device_info = (
        decode_device_info(bms.profile.templates.device_info).values() | bms.device_info
    )
    for key, options in SELECT_OPTIONS.items():
        state = hass.states.get(entity_id(hass, Platform.SELECT, bms.address, key))
        assert state is not None
        assert state.attributes[ATTR_OPTIONS] == list(options)
        truth = bms.settings[key] if key == "port_mode" else device_info[key]
        assert state.state == truth


@pytest.mark.parametrize(
    ("key", "option", "register", "readback"),
    [
        ("lcd_buzzer_trigger", "cell_over_voltage", 0xA9, 0x97),
        ("can_protocol", "victron_canbus_bms_20170717", 0xA6, 0x97),
        ("port_mode", "rs485", 0x2A, 0x96),  # a settings control bit
    ],
)
async def test_select_changes_only_after_readback(
    hass: HomeAssistant,
    virtual_bms,
    key: str,
    option: str,
    register: int,
    readback: int,
) -> None:
    """The BMS receives the option's index; the select follows the read-back."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P")
    with all_entities_enabled():
        await setup_bms(hass, bms, Platform.SELECT)
    select = entity_id(hass, Platform.SELECT, bms.address, key)
    before = hass.states.get(select).state
    assert before != option
    seen: list[tuple[int, str]] = []
    receive = bms.receive

    def spy(data: bytes) -> None:
        seen.append((data[4], hass.states.get(select).state))
        receive(data)

    bms.receive = spy  # type: ignore[method-assign]
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": select, "option": option},
        blocking=True,
    )
    await hass.async_block_till_done()
    # First a fresh settings read: the first write after connecting is checked
    # against settings read twice alike.
    assert seen == [(0x96, before), (register, before), (readback, before)]
    index = SELECT_OPTIONS[key].index(option)
    assert int.from_bytes(bms.commands(register)[-1].value[:2], "little") == index
    assert hass.states.get(select).state == option


async def test_unknown_option_is_refused(hass: HomeAssistant, virtual_bms) -> None:
    """HA refuses an option that is not in the table; nothing reaches the BMS."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P")
    await setup_bms(hass, bms, Platform.SELECT)
    select = entity_id(hass, Platform.SELECT, bms.address, "dry1_trigger")
    sent = len(bms.received)
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "select",
            "select_option",
            {"entity_id": select, "option": "Low SoC"},  # a label, not an option key
            blocking=True,
        )
    assert len(bms.received) == sent
