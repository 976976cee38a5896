"""Switches: snapshots per variant; writes reach the BMS, state only from the read-back."""

from __future__ import annotations

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

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
    """Every switch of each variant: registry entry and state."""
    bms = static_bms(virtual_bms, model)
    with all_entities_enabled(), repeatable_coordinator():
        entry = await setup_bms(hass, bms, Platform.SWITCH)
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.parametrize(
    ("model", "key", "register"),
    [
        ("JK-B2A24S20P", "discharging", 0x1E),
        ("JK-B2A16S", "balancer", 0x6C),  # JK04: length-1 register
        ("JK-B2A8S20P", "balancer", 0x1F),
        ("JK-PB2A16S20P", "display_always_on", 0x2B),  # a 32S control bit
        ("JK-PB2A16S20P", "heating", 0x27),
    ],
)
async def test_toggle_changes_only_after_readback(
    hass: HomeAssistant, virtual_bms, model: str, key: str, register: int
) -> None:
    """The BMS receives the write; the switch changes once the settings frame says so."""
    bms = static_bms(virtual_bms, model)
    with all_entities_enabled():
        await setup_bms(hass, bms, Platform.SWITCH)
    switch = entity_id(hass, Platform.SWITCH, bms.address, key)
    before = hass.states.get(switch).state
    assert before == ("on" if bms.settings[key] else "off")
    seen: list[tuple[int, str]] = []
    receive = bms.receive

    def spy(data: bytes) -> None:
        seen.append((data[4], hass.states.get(switch).state))
        receive(data)

    bms.receive = spy  # type: ignore[method-assign]
    service = "turn_off" if before == "on" else "turn_on"
    await hass.services.async_call(
        "switch", service, {"entity_id": switch}, blocking=True
    )
    await hass.async_block_till_done()

    # The write, then the settings request that reads it back; unchanged meanwhile.
    # First a fresh settings read: the first write after connecting is checked
    # against settings read twice alike.
    assert seen == [(0x96, before), (register, before), (0x96, before)]
    assert bms.commands(register)[-1].value[0] == (service == "turn_on")
    assert bool(bms.settings[key]) is (service == "turn_on")
    assert hass.states.get(switch).state == ("on" if service == "turn_on" else "off")


async def test_mosfet_binary_sensor_shows_what_the_bms_does(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Charging switch off: the setting reads back off, and the charge MOSFET opens."""
    bms = static_bms(virtual_bms, "JK-B2A8S20P", profile="charge")
    await setup_bms(hass, bms, [Platform.SWITCH, Platform.BINARY_SENSOR])
    switch = entity_id(hass, Platform.SWITCH, bms.address, "charging")
    mosfet = entity_id(hass, Platform.BINARY_SENSOR, bms.address, "charging")
    assert hass.states.get(switch).state == "on"
    assert hass.states.get(mosfet).state == "on"

    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": switch}, blocking=True
    )
    assert hass.states.get(switch).state == "off"
    await publish(hass, bms, advance_s=1)
    assert not bms.battery.charge_mosfet_on
    assert bms.battery.current_a == 0  # the charger can no longer push current
    assert hass.states.get(mosfet).state == "off"

    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": switch}, blocking=True
    )
    await publish(hass, bms, advance_s=1)
    assert hass.states.get(switch).state == "on"
    assert hass.states.get(mosfet).state == "on"


async def test_ignored_write_keeps_the_real_state(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The BMS acks but keeps its value: an error, and the switch shows the truth."""
    bms = static_bms(virtual_bms, "JK-B2A24S20P")
    await setup_bms(hass, bms, Platform.SWITCH)
    bms._apply_command = lambda frame: (None, False)  # type: ignore[method-assign]
    switch = entity_id(hass, Platform.SWITCH, bms.address, "charging")
    assert hass.states.get(switch).state == "on"
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            "switch", "turn_off", {"entity_id": switch}, blocking=True
        )
    assert caught.value.translation_key == "write_not_applied"
    assert bms.commands(0x1D)  # it was sent
    assert bms.settings["charging"] is True
    assert hass.states.get(switch).state == "on"
