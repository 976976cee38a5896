"""Issue 13 through Home Assistant: garbled frames and bad input reach nothing.

Single-bit flips with a fixed checksum (the virtual BMS's ``flip_bits`` knob)
are what 1 garbled frame in 256 looks like; each case asserts what a user
would notice: states, energy counters, the commands the BMS received.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
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
