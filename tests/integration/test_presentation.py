"""What a JK owner sees on the device page: names, states, units, defaults, snap-back."""

from __future__ import annotations

import pytest
from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.const import ATTR_FRIENDLY_NAME, EVENT_STATE_CHANGED, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import EntityCategory
from homeassistant.util import slugify
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.jk_bms.const import DOMAIN

from .platform_helpers import (
    all_entities_enabled,
    entity_id,
    publish,
    setup_bms,
    static_bms,
)

PLATFORMS = [
    Platform.SENSOR,
    Platform.BINARY_SENSOR,
    Platform.SWITCH,
    Platform.NUMBER,
    Platform.SELECT,
]
COMMISSIONING = {
    "cell_count",
    "total_battery_capacity",
    "balance_trigger_voltage",
    "cell_ovp",
    "cell_ovpr",
    "cell_uvp",
    "cell_uvpr",
    "soc_100_voltage",
    "soc_0_voltage",
    "max_charge_current",
    "max_discharge_current",
}


def _entries(hass: HomeAssistant, entry_id: str) -> list[er.RegistryEntry]:
    return er.async_entries_for_config_entry(er.async_get(hass), entry_id)


@pytest.mark.parametrize("model", ["JK-B2A8S20P", "JK-PB2A16S20P", "JK-B2A24S20P"])
async def test_no_two_entities_share_a_name_or_show_blank(
    hass: HomeAssistant, virtual_bms, model: str
) -> None:
    """Every entity of the device page, all enabled: distinct names, no blank state."""
    bms = static_bms(virtual_bms, model)
    with all_entities_enabled():
        entry = await setup_bms(hass, bms, PLATFORMS)
    await publish(hass, bms, advance_s=1)
    names: dict[str, str] = {}
    for registry_entry in _entries(hass, entry.entry_id):
        state = hass.states.get(registry_entry.entity_id)
        assert state is not None
        assert state.state.strip(), registry_entry.entity_id
        name = state.attributes[ATTR_FRIENDLY_NAME]
        assert name not in names, (name, names.get(name), registry_entry.entity_id)
        names[name] = registry_entry.entity_id


async def test_mosfet_sensors_keep_the_card_entity_ids(
    hass: HomeAssistant, virtual_bms
) -> None:
    """ "Charge MOSFET" next to the "Charging" switch; ids stay ``…_charging``."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P")
    await setup_bms(hass, bms, PLATFORMS)
    device = slugify(bms.local_name)
    expected = {
        "binary_sensor.{}_charging": "Charge MOSFET",
        "binary_sensor.{}_discharging": "Discharge MOSFET",
        "binary_sensor.{}_heating": "Heater",
        "switch.{}_charging": "Charging",
        "switch.{}_discharging": "Discharging",
        "switch.{}_balancer": "Balancer",
        "switch.{}_heating": "Heating",
        "sensor.{}_balancer_status": "Balancing action",
        "sensor.{}_cell_count": "Detected cells",
    }
    for pattern, name in expected.items():
        state = hass.states.get(pattern.format(device))
        assert state is not None, pattern
        assert state.attributes[ATTR_FRIENDLY_NAME] == f"{bms.local_name} {name}"
    heater = hass.states.get(f"binary_sensor.{device}_heating")
    assert heater.attributes["device_class"] == BinarySensorDeviceClass.RUNNING


async def test_errors_read_no_errors_without_an_alarm(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The state is ``none`` (translated "No errors"), then the alarm names."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P")
    await setup_bms(hass, bms, Platform.SENSOR)
    errors = entity_id(hass, Platform.SENSOR, bms.address, "errors")
    assert hass.states.get(errors).state == "none"
    bms.settings["cell_count"] = 5  # the pack has 4: "Cell count is not equal …"
    await publish(hass, bms, advance_s=1)
    assert hass.states.get(errors).state == "Cell count is not equal to settings"


async def test_cell_differences_show_in_millivolts(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Delta cell voltage in mV; the balance trigger number reads and writes mV."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P")
    await setup_bms(hass, bms, [Platform.SENSOR, Platform.NUMBER])
    delta = hass.states.get(
        entity_id(hass, Platform.SENSOR, bms.address, "delta_cell_voltage")
    )
    assert delta.attributes["unit_of_measurement"] == "mV"
    assert float(delta.state) == pytest.approx(
        (max(bms.battery.cell_voltages) - min(bms.battery.cell_voltages)) * 1000,
        abs=1.5,
    )
    trigger = entity_id(hass, Platform.NUMBER, bms.address, "balance_trigger_voltage")
    state = hass.states.get(trigger)
    assert state.attributes["unit_of_measurement"] == "mV"
    assert float(state.state) == pytest.approx(
        bms.settings["balance_trigger_voltage"] * 1000
    )
    assert state.attributes["step"] == 1
    await hass.services.async_call(
        "number", "set_value", {"entity_id": trigger, "value": 15}, blocking=True
    )
    await hass.async_block_till_done()
    assert bms.settings["balance_trigger_voltage"] == pytest.approx(0.015)
    assert float(hass.states.get(trigger).state) == pytest.approx(15)


async def test_defaults_enable_commissioning_not_a_wall_of_ok(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Commissioning's settings under Configuration; no alarm row enabled by default."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P")
    entry = await setup_bms(hass, bms, PLATFORMS)
    entries = _entries(hass, entry.entry_id)
    prefix = f"{bms.address}_"
    numbers = {
        e.unique_id.removeprefix(prefix): e for e in entries if e.domain == "number"
    }
    for key in COMMISSIONING:
        assert numbers[key].disabled_by is None, key
        assert numbers[key].entity_category is EntityCategory.CONFIG, key
    problems = [
        e
        for e in entries
        if e.domain == "binary_sensor"
        and e.original_device_class == BinarySensorDeviceClass.PROBLEM
        # Not an alarm row: the SoC cross-check's verdict is shown by default.
        and e.unique_id != f"{prefix}soc_doubtful"
    ]
    assert problems
    assert all(e.disabled_by is not None for e in problems)
    doubt = next(e for e in entries if e.unique_id == f"{prefix}soc_doubtful")
    assert doubt.disabled_by is None


async def test_energy_capacity_and_stored_energy(
    hass: HomeAssistant, virtual_bms
) -> None:
    """kWh capacity for the energy settings; stored energy is not a statistic."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P")
    await setup_bms(hass, bms, Platform.SENSOR)
    settings = bms.settings
    capacity = hass.states.get(
        entity_id(hass, Platform.SENSOR, bms.address, "energy_capacity")
    )
    assert capacity.attributes["unit_of_measurement"] == "kWh"
    expected = (
        settings["total_battery_capacity"]
        * settings["cell_count"]
        * (settings["soc_100_voltage"] + settings["soc_0_voltage"])
        / 2
        / 1000
    )
    assert float(capacity.state) == pytest.approx(expected)
    stored = hass.states.get(
        entity_id(hass, Platform.SENSOR, bms.address, "stored_energy")
    )
    assert "state_class" not in stored.attributes


@pytest.mark.parametrize("platform", [Platform.NUMBER, Platform.SWITCH])
async def test_a_rejected_write_shows_the_bms_value_again(
    hass: HomeAssistant, virtual_bms, platform: Platform
) -> None:
    """The control gets a fresh state at once, holding what the BMS still has."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P")
    await setup_bms(hass, bms, platform)
    if platform is Platform.NUMBER:
        control = entity_id(hass, Platform.NUMBER, bms.address, "cell_ovpr")
        call = ("number", "set_value", {"value": bms.settings["cell_ovp"] + 0.05})
        error: type[HomeAssistantError] = ServiceValidationError
    else:
        control = entity_id(hass, Platform.SWITCH, bms.address, "charging")
        call = ("switch", "turn_off", {})
        error = HomeAssistantError
        # The write is never confirmed (the first ack skipped is the fresh
        # settings read's, which a read tolerates; the second the write's).
        bms.faults.skip_next_acks = 2
    before = hass.states.get(control)
    events = async_capture_events(hass, EVENT_STATE_CHANGED)
    with pytest.raises(error) as caught:
        await hass.services.async_call(
            call[0], call[1], {"entity_id": control, **call[2]}, blocking=True
        )
    assert caught.value.translation_domain == DOMAIN
    changes = [e for e in events if e.data["entity_id"] == control]
    assert changes, "no fresh state after the rejected write"
    assert changes[0].data["new_state"].state == before.state
    assert changes[0].data["new_state"].last_updated > before.last_updated
