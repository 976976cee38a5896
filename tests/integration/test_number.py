"""Numbers: snapshots per variant; ranges from the register table; writes read back."""

from __future__ import annotations

import pytest
from homeassistant.components.number import ATTR_MAX, ATTR_MIN, ATTR_STEP, NumberMode
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.number import ha_unit
from custom_components.jk_bms.protocol import FrameType, WriteKind, registers_for

from .platform_helpers import (
    MODEL_IDS,
    SNAPSHOT_MODELS,
    all_entities_enabled,
    coordinator_of,
    entity_id,
    repeatable_coordinator,
    setup_bms,
    static_bms,
)

# entities.md: only these numbers are enabled by default; protection limits are not.
# What docs/commissioning.md walks through, plus the two balancer settings.
ENABLED_BY_DEFAULT = {
    "cell_count",
    "total_battery_capacity",
    "balance_trigger_voltage",
    "balancing_start_voltage",
    "max_balance_current",
    "cell_ovp",
    "cell_ovpr",
    "cell_uvp",
    "cell_uvpr",
    "soc_100_voltage",
    "soc_0_voltage",
    "max_charge_current",
    "max_discharge_current",
}


@pytest.mark.parametrize("model", SNAPSHOT_MODELS, ids=MODEL_IDS)
async def test_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    virtual_bms,
    model: str,
) -> None:
    """Every number of each variant: registry entry and state."""
    bms = static_bms(virtual_bms, model)
    with all_entities_enabled(), repeatable_coordinator():
        entry = await setup_bms(hass, bms, Platform.NUMBER)
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.parametrize("model", SNAPSHOT_MODELS, ids=MODEL_IDS)
async def test_ranges_come_from_the_register_table(
    hass: HomeAssistant, virtual_bms, model: str
) -> None:
    """Min, max, step and unit per variant; one number per writable setting the BMS has."""
    bms = static_bms(virtual_bms, model)
    with all_entities_enabled():
        entry = await setup_bms(hass, bms, Platform.NUMBER)
    registry = er.async_get(hass)
    specs = registers_for(coordinator_of(entry).variant)
    entries = er.async_entries_for_config_entry(registry, entry.entry_id)
    cells = len(bms.battery.cells)
    expected = {
        key
        for key, spec in specs.items()
        if spec.kind is WriteKind.NUMBER
        and not (
            key.startswith("connection_wire_resistance_")
            and int(key.rsplit("_", 1)[1]) > cells
        )
    }
    assert {e.unique_id.removeprefix(f"{bms.address}_") for e in entries} == expected
    for entity in entries:
        key = entity.unique_id.removeprefix(f"{bms.address}_")
        spec = specs[key]
        state = hass.states.get(entity.entity_id)
        assert state is not None
        # Cell differences (the balance trigger) show in mV, the rest in the table's unit.
        scale = 1000 if key == "balance_trigger_voltage" else 1
        unit = "mV" if scale == 1000 else ha_unit(spec)[0]
        assert state.attributes[ATTR_MIN] == pytest.approx(spec.minimum * scale)
        assert state.attributes[ATTR_MAX] == pytest.approx(spec.maximum * scale)
        assert state.attributes[ATTR_STEP] == pytest.approx(spec.step * scale)
        assert state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) == unit
        assert state.attributes["mode"] == NumberMode.BOX
        assert entity.entity_category is EntityCategory.CONFIG
        assert state.state not in ("unknown", "unavailable"), key


async def test_commissioning_settings_are_enabled_by_default(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The settings commissioning sets are there at once; the rarely used ones not."""
    bms = static_bms(virtual_bms, "JK-PB2A16S20P")
    entry = await setup_bms(hass, bms, Platform.NUMBER)
    registry = er.async_get(hass)
    enabled = {
        e.unique_id.removeprefix(f"{bms.address}_")
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.disabled_by is None
    }
    assert enabled == ENABLED_BY_DEFAULT


@pytest.mark.parametrize(
    ("model", "key", "value", "register"),
    [
        ("JK-B2A8S20P", "heating_start_temperature", -5, 0x37),  # int8, length 1
        ("JK-B2A16S", "max_balance_current", 2.5, 0x68),  # JK04 float32
        ("JK-B2A24S20P", "total_battery_capacity", 120, 0x20),
        ("JK-PB2A16S20P", "rcv_time", 1.5, 0xB3),  # read back from device info
    ],
)
async def test_set_value_changes_only_after_readback(
    hass: HomeAssistant,
    virtual_bms,
    model: str,
    key: str,
    value: float,
    register: int,
) -> None:
    """The BMS receives the write; the number changes once the BMS reads it back."""
    bms = static_bms(virtual_bms, model)
    with all_entities_enabled():
        entry = await setup_bms(hass, bms, Platform.NUMBER)
    number = entity_id(hass, Platform.NUMBER, bms.address, key)
    before = hass.states.get(number).state
    assert float(before) != pytest.approx(value)
    seen: list[tuple[int, str]] = []
    receive = bms.receive

    def spy(data: bytes) -> None:
        seen.append((data[4], hass.states.get(number).state))
        receive(data)

    bms.receive = spy  # type: ignore[method-assign]
    await hass.services.async_call(
        "number", "set_value", {"entity_id": number, "value": value}, blocking=True
    )
    await hass.async_block_till_done()
    spec = registers_for(coordinator_of(entry).variant)[key]
    in_device_info = spec.readback.frame_type is FrameType.DEVICE_INFO
    readback = 0x97 if in_device_info else 0x96
    # First a fresh settings read: the first write after connecting is checked
    # against settings read twice alike.
    assert seen == [(0x96, before), (register, before), (readback, before)]
    stored = (bms.device_info if in_device_info else bms.settings)[key]
    assert stored == pytest.approx(value, abs=1e-6)
    assert float(hass.states.get(number).state) == pytest.approx(value, abs=1e-6)


async def test_out_of_range_and_rule_breaking_values_send_nothing(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Out of range (HA's own check) or OVPR ≥ OVP (ours): refused, nothing sent."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P")
    with all_entities_enabled():
        await setup_bms(hass, bms, Platform.NUMBER)
    ovp = entity_id(hass, Platform.NUMBER, bms.address, "cell_ovp")
    ovpr = entity_id(hass, Platform.NUMBER, bms.address, "cell_ovpr")
    sent = len(bms.received)
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number", "set_value", {"entity_id": ovp, "value": 5.0}, blocking=True
        )
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": ovpr, "value": bms.settings["cell_ovp"] + 0.05},
            blocking=True,
        )
    assert caught.value.translation_domain == DOMAIN
    assert len(bms.received) == sent
    assert float(hass.states.get(ovpr).state) == pytest.approx(
        bms.settings["cell_ovpr"]
    )
