"""Issue 13 through Home Assistant: garbled frames and bad input reach nothing.

Single-bit flips with a fixed checksum (the virtual BMS's ``flip_bits`` knob)
are what 1 garbled frame in 256 looks like; each case asserts what a user
would notice: states, energy counters, the commands the BMS received.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.protocol import FrameType
from virtual_bms.device import VirtualJkBms

from .helpers import Clock, entity_id, session_clock, setup_bms
from .platform_helpers import all_entities_enabled

MODEL = "JK-PB2A16S20P"  # JK02_32S: current int32 at 158, Cell OVP uint32 at 18
CURRENT_BIT_24 = (FrameType.CELL_INFO, 158 + 3, 0)  # +16,777 A
CELL_OVP_BIT_16 = (FrameType.SETTINGS, 18 + 2, 0)  # +65.536 V
CELL_OVPR_REGISTER = 0x05


@pytest.fixture(autouse=True)
def clock() -> Iterator[Clock]:
    """The session's receive times follow the pack's simulated time."""
    with session_clock(Clock()) as moved:
        yield moved


async def _setup(
    hass: HomeAssistant, virtual_bms: Any
) -> tuple[VirtualJkBms, Any, str]:
    with all_entities_enabled():  # frames only when the test pushes them
        bms, entry, _ = await setup_bms(hass, virtual_bms, MODEL)
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return bms, entry, devices[0].id


def _state(hass: HomeAssistant, bms: VirtualJkBms, platform: str, key: str) -> float:
    state = hass.states.get(entity_id(hass, platform, bms.address, key))  # type: ignore[arg-type]
    assert state is not None
    return float(state.state)


async def _push(hass: HomeAssistant, bms: VirtualJkBms, clock: Clock) -> None:
    clock.now += 0.5
    await bms.push_cell_info(advance_s=0.5)
    await hass.async_block_till_done()


async def _call(hass: HomeAssistant, name: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, name, data, blocking=True, return_response=name == "export_settings"
    )


async def test_a_16_kiloamp_current_flip_never_shows_nor_counts(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    virtual_bms: Any,
    clock: Clock,
) -> None:
    bms, entry, _ = await _setup(hass, virtual_bms)
    await _push(hass, bms, clock)
    before = (await get_diagnostics_for_config_entry(hass, hass_client, entry))["link"]
    energy = _state(hass, bms, "sensor", "energy_charged") + _state(
        hass, bms, "sensor", "energy_discharged"
    )
    currents: list[float] = []
    for _ in range(3):
        bms.faults.flip_bits.append(CURRENT_BIT_24)
        await _push(hass, bms, clock)
        currents.append(_state(hass, bms, "sensor", "current"))
        await _push(hass, bms, clock)  # a real frame between the garbled ones
    assert bms.faults.flip_bits == []  # every flip went out
    assert all(abs(current) < 1000 for current in currents)  # never 16,844 A
    assert abs(_state(hass, bms, "sensor", "power")) < 50_000  # never 921 kW
    moved = (
        _state(hass, bms, "sensor", "energy_charged")
        + _state(hass, bms, "sensor", "energy_discharged")
        - energy
    )
    # The real pack moves well under a kWh meanwhile; each flip would add ~0.1.
    assert moved < 0.05
    # The user (or a bug report) sees why: three more drops, counted per reason.
    after = (await get_diagnostics_for_config_entry(hass, hass_client, entry))["link"]
    assert {
        reason: count - before["drops"].get(reason, 0)
        for reason, count in after["drops"].items()
        if count != before["drops"].get(reason, 0)
    } == {"current_limit": 3}
    assert (
        after["link"]["implausible_frames"] == before["link"]["implausible_frames"] + 3
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_flipped_cell_ovp_never_shows_and_ovpr_is_checked_against_the_bms(
    hass: HomeAssistant, virtual_bms: Any
) -> None:
    bms, entry, device_id = await _setup(hass, virtual_bms)
    ovp = _state(hass, bms, "number", "cell_ovp")
    assert ovp < 4.35
    bms.faults.flip_bits.append(CELL_OVP_BIT_16)
    exported = await _call(hass, "export_settings", {"device_id": device_id})
    assert bms.faults.flip_bits == []  # the flipped settings frame was sent
    assert exported["settings"]["cell_ovp"] == pytest.approx(ovp)  # not 69.186 V
    assert _state(hass, bms, "number", "cell_ovp") == pytest.approx(ovp)

    sent = len(bms.received)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            "number",
            "set_value",
            {
                "entity_id": entity_id(hass, "number", bms.address, "cell_ovpr"),  # type: ignore[arg-type]
                "value": ovp + 0.35,  # above the real OVP: would latch the protection
            },
            blocking=True,
        )
    assert caught.value.translation_key == "rule_ovpr_below_ovp"
    assert bms.commands(CELL_OVPR_REGISTER) == []
    assert all(
        c.frame is None or c.frame.register != CELL_OVPR_REGISTER
        for c in bms.received[sent:]
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("settings", "translation_key"),
    [
        ({"total_battery_capacity": 10**400}, "value_out_of_range"),
        ({"emergency": True}, "setting_not_in_set"),
        ({"cell_ovp": 3.6005}, "value_off_step"),
        ({}, "settings_empty"),
        ({"uart1_protocol": math.nan}, "setting_invalid_option"),
        ({"settings": {"cell_ovp": 3.6}, "cell_ovpr": 3.5}, "settings_beside_settings"),
        ({f"no_such_key_{n}": 1 for n in range(5000)}, "settings_not_supported"),
    ],
    ids=[
        "10**400",
        "emergency",
        "off_step",
        "empty",
        "nan_option",
        "beside",
        "5000_keys",
    ],
)
async def test_bad_apply_settings_input_reads_and_sends_nothing(
    hass: HomeAssistant,
    virtual_bms: Any,
    settings: dict[str, Any],
    translation_key: str,
) -> None:
    bms, entry, device_id = await _setup(hass, virtual_bms)
    received = len(bms.received)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(
            hass, "apply_settings", {"device_id": device_id, "settings": settings}
        )
    assert caught.value.translation_key == translation_key
    assert (
        len(str(caught.value)) < 1000
    )  # 5,000 keys do not make a 34,000-character line
    assert len(bms.received) == received  # nothing read, nothing sent
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("service", ["calibrate_voltage", "calibrate_current"])
async def test_a_nan_calibration_is_refused_before_connecting(
    hass: HomeAssistant, virtual_bms: Any, service: str
) -> None:
    bms, entry, device_id = await _setup(hass, virtual_bms)
    received = len(bms.received)
    field = service.removeprefix("calibrate_")
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, service, {"device_id": device_id, field: math.nan})
    assert caught.value.translation_key == "setting_not_a_number"
    assert len(bms.received) == received
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_nan_option_is_refused_in_the_form(
    hass: HomeAssistant, virtual_bms: Any
) -> None:
    _, entry, _ = await _setup(hass, virtual_bms)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    options = {**entry.options}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "connection_mode": "stream",
            "poll_interval": 60,
            "update_interval": math.nan,
            "pair": False,
            "leave_slot_free": False,
            "soc_resync_days": 30,
        },
    )
    assert result["type"] == "form"
    assert result["errors"] == {"update_interval": "not_a_number"}
    assert dict(entry.options) == options
    assert entry.state.name == "LOADED"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_write_is_refused_when_the_settings_cannot_be_confirmed(
    hass: HomeAssistant, virtual_bms: Any
) -> None:
    """Every settings read garbled differently: no write decision on them."""
    bms, entry, _ = await _setup(hass, virtual_bms)
    # Each read comes back with another flipped bit (cell UVP, 2 mV apart).
    bms.faults.flip_bits.extend((FrameType.SETTINGS, 10, bit) for bit in range(1, 8))
    sent = len(bms.commands(0x1F))
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "switch",
            "turn_off",
            {"entity_id": entity_id(hass, "switch", bms.address, "balancer")},  # type: ignore[arg-type]
            blocking=True,
        )
    assert len(bms.commands(0x1F)) == sent  # the balancer register: nothing sent
    assert await hass.config_entries.async_unload(entry.entry_id)
