"""Sensors: entities per variant (snapshots), values against the virtual pack's truth."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.jk_bms.freshness import freshness_for
from custom_components.jk_bms.protocol import FrameType, Variant
from tests.ha_compat import device_by_connection
from virtual_bms.proxy import VirtualProxy

from .platform_helpers import (
    FIXED_NOW,
    MODEL_IDS,
    SNAPSHOT_MODELS,
    all_entities_enabled,
    coordinator_of,
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
    virtual_proxy: VirtualProxy,
    virtual_bms,
    model: str,
) -> None:
    """Every sensor of each variant: registry entry and state."""
    bms = static_bms(virtual_bms, model)
    with all_entities_enabled(), repeatable_coordinator():
        entry = await setup_bms(hass, bms, Platform.SENSOR)
        virtual_proxy.advertise(bms.address)  # RSSI
        await publish(hass, bms, advance_s=0)
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


def _value(hass: HomeAssistant, address: str, key: str) -> float:
    state = hass.states.get(entity_id(hass, Platform.SENSOR, address, key))
    assert state is not None
    return float(state.state)


def _deadband(key: str) -> float:
    """How far a state may lag the pack (freshness.py): written past this move."""
    return freshness_for(key).deadband


@pytest.mark.parametrize(
    ("model", "profile"),
    [
        ("JK-B2A8S20P", "charge"),
        ("JK-B2A24S20P", "discharge"),
        ("JK-PB2A16S20P", "charge"),
        ("JK-B2A16S", "idle"),
    ],
    ids=["JK02_32S", "JK02_24S", "JK02_32S_PB", "JK04"],
)
async def test_values_match_the_pack(
    hass: HomeAssistant, virtual_bms, model: str, profile: str
) -> None:
    """Cell voltages, pack voltage, SoC, current and temperatures are the pack's."""
    bms = static_bms(virtual_bms, model, profile=profile, state_of_charge=0.5)
    with all_entities_enabled():
        await setup_bms(hass, bms, Platform.SENSOR)
    await publish(hass, bms, advance_s=120)
    battery = bms.battery
    address = bms.address
    jk04 = bms.variant is Variant.JK04
    # JK02 frames carry mV; JK04 frames float32 (6 significant digits).
    volts = 1e-4 if jk04 else 0.0005

    assert _value(hass, address, "cell_count") == len(battery.cells)
    for cell, truth in enumerate(battery.cell_voltages, 1):
        assert _value(hass, address, f"cell_voltage_{cell}") == pytest.approx(
            truth, abs=volts + _deadband(f"cell_voltage_{cell}")
        )
    for cell, truth in enumerate(battery.cells, 1):
        assert _value(hass, address, f"cell_resistance_{cell}") == pytest.approx(
            truth.wire_resistance_ohm, abs=volts
        )
    assert _value(hass, address, "total_voltage") == pytest.approx(
        battery.total_voltage, abs=volts * len(battery.cells)
    )
    assert _value(hass, address, "min_cell_voltage") == pytest.approx(
        min(battery.cell_voltages), abs=volts + _deadband("min_cell_voltage")
    )
    assert _value(hass, address, "max_cell_voltage") == pytest.approx(
        max(battery.cell_voltages), abs=volts + _deadband("max_cell_voltage")
    )
    if jk04:
        # No current, SoC or temperatures in JK04 frames: no such entities.
        registry = er.async_get(hass)
        for key in ("current", "state_of_charge", "temperature_sensor_1", "errors"):
            assert (
                registry.async_get_entity_id("sensor", "jk_bms", f"{address}_{key}")
                is None
            )
        return

    assert battery.current_a != 0 or profile == "idle"
    assert _value(hass, address, "current") == pytest.approx(
        battery.current_a, abs=0.001
    )
    assert _value(hass, address, "power") == pytest.approx(battery.power_w, rel=1e-3)
    assert _value(hass, address, "state_of_charge") == battery.state_of_charge
    assert _value(hass, address, "capacity_remaining") == pytest.approx(
        battery.bms_remaining_ah, abs=0.001 + _deadband("capacity_remaining")
    )
    assert _value(hass, address, "mosfet_temperature") == pytest.approx(
        battery.mosfet_temperature_c, abs=0.05 + _deadband("mosfet_temperature")
    )
    for sensor, truth in enumerate(battery.temperatures_c, 1):
        assert _value(hass, address, f"temperature_sensor_{sensor}") == pytest.approx(
            truth, abs=0.05 + _deadband("temperature_sensor_1")
        )
    # Only the sensors the presence mask reports exist.
    registry = er.async_get(hass)
    missing = len(battery.temperatures_c) + 1
    assert (
        registry.async_get_entity_id(
            "sensor", "jk_bms", f"{address}_temperature_sensor_{missing}"
        )
        is None
    )
    stored = (
        battery.bms_remaining_ah
        * (sum(round(v, 3) for v in battery.cell_voltages))
        / 1000
    )
    assert _value(hass, address, "stored_energy") == pytest.approx(
        stored, abs=0.002 + _deadband("stored_energy")
    )
    if profile == "charge":
        assert _value(hass, address, "charging_power") > 0
        assert _value(hass, address, "discharging_power") == 0
    else:
        assert _value(hass, address, "discharging_power") > 0
        assert _value(hass, address, "charging_power") == 0
    assert hass.states.get(
        entity_id(hass, Platform.SENSOR, address, "errors")
    ).state in (
        "none",  # shown as "No errors"
        "Modify password in time",  # the JK-PB profile runs on factory passwords
    )


async def test_energy_counters_follow_the_pack(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Energy charged grows by what really went into the pack; discharged stays put."""
    bms = virtual_bms("JK-B2A8S20P", profile="charge", stream_interval=0.02)
    with all_entities_enabled():
        entry = await setup_bms(hass, bms, Platform.SENSOR)
    address = bms.address
    await publish(hass, bms, advance_s=None)
    charged_before = coordinator_of(entry).energy.charged_kwh
    discharged_before = _value(hass, address, "energy_discharged")
    truth_before = bms.battery.truth.energy_in_wh
    await asyncio.sleep(1.5)  # the pack runs in real time, frames every 20 ms
    await publish(hass, bms, advance_s=None)
    meter = coordinator_of(entry).energy
    charged = meter.charged_kwh - charged_before
    truth = (bms.battery.truth.energy_in_wh - truth_before) / 1000
    assert truth > 0.0002  # about 0.8 kW for 1.5 s
    assert charged == pytest.approx(truth, rel=0.05)  # every frame counts
    # the state follows the meter within its deadband
    assert _value(hass, address, "energy_charged") == pytest.approx(
        meter.charged_kwh, abs=freshness_for("energy_charged").deadband
    )
    assert _value(hass, address, "energy_discharged") == discharged_before


async def test_restored_energy_and_last_full_charge(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The RestoreSensors hand the values from before the restart to the coordinator."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P", profile="idle")
    registry = er.async_get(hass)
    before = datetime(2026, 9, 30, 8, 0, tzinfo=FIXED_NOW.tzinfo)
    ids = {}
    for key in ("energy_charged", "energy_discharged", "last_full_charge"):
        ids[key] = registry.async_get_or_create(
            "sensor", "jk_bms", f"{bms.address}_{key}", suggested_object_id=f"jk_{key}"
        ).entity_id
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(ids["energy_charged"], "12.5"),
                {"native_value": 12.5, "native_unit_of_measurement": "kWh"},
            ),
            (
                State(ids["energy_discharged"], "7.25"),
                {"native_value": 7.25, "native_unit_of_measurement": "kWh"},
            ),
            (
                State(ids["last_full_charge"], before.isoformat()),
                {
                    "native_value": {
                        "__type": "<class 'datetime.datetime'>",
                        "isoformat": before.isoformat(),
                    },
                    "native_unit_of_measurement": None,
                },
            ),
        ],
    )
    with all_entities_enabled():
        entry = await setup_bms(hass, bms, Platform.SENSOR)
    assert float(hass.states.get(ids["energy_charged"]).state) == pytest.approx(12.5)
    assert float(hass.states.get(ids["energy_discharged"]).state) == pytest.approx(7.25)
    assert hass.states.get(ids["last_full_charge"]).state == before.isoformat()
    derived = coordinator_of(entry).data.derived
    assert derived["energy_charged"] == pytest.approx(12.5)
    assert derived["last_full_charge"] == before


async def test_unavailable_when_the_link_drops(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Availability follows the BLE link, not the adverts."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P")
    entry = await setup_bms(hass, bms, Platform.SENSOR)
    voltage = entity_id(hass, Platform.SENSOR, bms.address, "total_voltage")
    assert hass.states.get(voltage).state != STATE_UNAVAILABLE
    bms.faults.refuse_connections = True
    bms.drop_link()
    await hass.async_block_till_done()
    assert hass.states.get(voltage).state == STATE_UNAVAILABLE
    assert not coordinator_of(entry).link_connected


@pytest.mark.parametrize("model", SNAPSHOT_MODELS, ids=MODEL_IDS)
async def test_device_registry(
    hass: HomeAssistant, device_registry: dr.DeviceRegistry, virtual_bms, model: str
) -> None:
    """One device per BMS, with the device-info frame's model, versions and serial."""
    bms = static_bms(virtual_bms, model)
    entry = await setup_bms(hass, bms, Platform.SENSOR)
    info = coordinator_of(entry).device_info
    device = device_by_connection(
        device_registry, (dr.CONNECTION_BLUETOOTH, bms.address), entry.entry_id
    )
    assert device is not None
    assert device.manufacturer == "Jikong (JK BMS)"
    assert device.model == info.model
    assert device.hw_version == info.hardware_version
    assert device.sw_version == info.software_version
    assert device.serial_number == (info.serial_number or None)
    assert device.name == (info.device_name or entry.title)
    assert info.software_version  # the template frames carry one
    entities = er.async_entries_for_device(er.async_get(hass), device.id)
    assert entities
    assert all(e.config_entry_id == entry.entry_id for e in entities)


async def test_state_written_only_when_the_value_changes(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Frames keep coming; a state changes only when its own value moved.

    Live values (the pack voltage here) are reported again at every hand-on, which
    moves ``last_reported`` but writes no row; others are not written at all.
    """
    bms = static_bms(virtual_bms, "JK-B2A8S20P", profile="charge")
    await setup_bms(hass, bms, Platform.SENSOR)
    voltage = entity_id(hass, Platform.SENSOR, bms.address, "total_voltage")
    cells = entity_id(hass, Platform.SENSOR, bms.address, "cell_count")
    await publish(hass, bms, advance_s=0)
    first = hass.states.get(voltage)
    # HA updates last_reported in place on every write, even of an equal state.
    reported = first.last_reported
    cells_reported = hass.states.get(cells).last_reported
    frames = bms.frames_sent[FrameType.CELL_INFO]
    for _ in range(3):
        await publish(hass, bms, advance_s=0)  # same pack state, new frames
    assert bms.frames_sent[FrameType.CELL_INFO] > frames
    assert hass.states.get(voltage).last_updated == first.last_updated
    assert hass.states.get(voltage).last_reported > reported
    await publish(hass, bms, advance_s=600)  # ten minutes of charging
    assert hass.states.get(voltage).state != first.state
    assert hass.states.get(voltage).last_updated > first.last_updated
    # The cell count did not change: never rewritten.
    assert hass.states.get(cells).last_reported == cells_reported
