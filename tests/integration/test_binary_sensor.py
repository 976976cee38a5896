"""Binary sensors: snapshots per variant; MOSFET, balancing and alarm states follow the pack."""

from __future__ import annotations

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.jk_bms.protocol import ALARMS
from virtual_bms.current_profile import ProfileKind

from .platform_helpers import (
    MODEL_IDS,
    SNAPSHOT_MODELS,
    all_entities_enabled,
    entity_id,
    publish,
    repeatable_coordinator,
    setup_bms,
    static_bms,
)


@pytest.mark.parametrize("model", SNAPSHOT_MODELS, ids=MODEL_IDS)
async def test_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    virtual_bms,
    model: str,
) -> None:
    """Every binary sensor of each variant: registry entry and state."""
    bms = static_bms(virtual_bms, model)
    with all_entities_enabled(), repeatable_coordinator():
        entry = await setup_bms(hass, bms, Platform.BINARY_SENSOR)
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.parametrize(
    ("model", "alarms"), [("JK-B2A8S20P", 29), ("JK-B2A24S20P", 16), ("JK-B2A16S", 0)]
)
async def test_one_problem_sensor_per_alarm_bit(
    hass: HomeAssistant, virtual_bms, model: str, alarms: int
) -> None:
    """29 alarm bits on JK02_32S, 16 on JK02_24S, none on JK04."""
    bms = static_bms(virtual_bms, model)
    entry = await setup_bms(hass, bms, Platform.BINARY_SENSOR)
    registry = er.async_get(hass)
    keys = {
        e.unique_id.removeprefix(f"{bms.address}_")
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
    }
    assert {k for k in keys if k.startswith("alarm_")} == {
        alarm.key for bit, alarm in ALARMS.items() if bit < alarms
    }


def _state(hass: HomeAssistant, address: str, platform: Platform, key: str) -> str:
    state = hass.states.get(entity_id(hass, platform, address, key))
    assert state is not None
    return state.state


@pytest.mark.parametrize("model", ["JK-B2A8S20P", "JK-B2A24S20P"])
async def test_cell_overvoltage(hass: HomeAssistant, virtual_bms, model: str) -> None:
    """A cell driven over OVP: alarm on, errors lists it, charge MOSFET off."""
    bms = static_bms(virtual_bms, model, profile="charge")
    with all_entities_enabled():
        await setup_bms(hass, bms, [Platform.BINARY_SENSOR, Platform.SENSOR])
    address = bms.address
    assert _state(hass, address, Platform.BINARY_SENSOR, "charging") == "on"
    assert (
        _state(hass, address, Platform.BINARY_SENSOR, "alarm_cell_overvoltage") == "off"
    )
    assert _state(hass, address, Platform.SENSOR, "errors") == "none"

    bms.battery.cells[0].state_of_charge = 0.9995  # the charger pushes it over OVP
    await publish(hass, bms, advance_s=5)
    assert "alarm_cell_overvoltage" in bms.battery.alarms
    assert not bms.battery.charge_mosfet_on

    assert (
        _state(hass, address, Platform.BINARY_SENSOR, "alarm_cell_overvoltage") == "on"
    )
    assert _state(hass, address, Platform.BINARY_SENSOR, "charging") == "off"
    assert _state(hass, address, Platform.BINARY_SENSOR, "discharging") == "on"
    assert "Cell overvoltage" in _state(hass, address, Platform.SENSOR, "errors").split(
        ", "
    )
    # The other alarms stay off.
    assert (
        _state(hass, address, Platform.BINARY_SENSOR, "alarm_cell_undervoltage")
        == "off"
    )

    # The cell relaxes below OVPR (no charge current): the BMS releases after 30 s.
    bms.battery.cells[0].state_of_charge = 0.9
    bms.battery.profile.kind = ProfileKind.IDLE
    await publish(hass, bms, advance_s=60)
    assert "alarm_cell_overvoltage" not in bms.battery.alarms
    assert (
        _state(hass, address, Platform.BINARY_SENSOR, "alarm_cell_overvoltage") == "off"
    )
    assert _state(hass, address, Platform.BINARY_SENSOR, "charging") == "on"
    assert _state(hass, address, Platform.SENSOR, "errors") == "none"
