"""Energy counters: exact integration, gap guard, restore, and HA's energy validation."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.energy.data import async_get_manager
from homeassistant.components.recorder import Recorder
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import restore_state
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.jk_bms.const import CONF_UPDATE_INTERVAL, DOMAIN
from custom_components.jk_bms.derived import EnergyMeter, capped_power
from custom_components.jk_bms.freshness import freshness_for
from custom_components.jk_bms.protocol import decode_cell_info, decode_settings
from virtual_bms.profiles import find_profile

from .helpers import FROZEN, add_entry, entity_id, fire, setup_bms, start


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_db_url: str, enable_custom_integrations: None
) -> None:
    """As in conftest, but the recorder's database is prepared before ``hass``."""


# JK04 frames carry no current: no energy counters there.
ENERGY_MODELS = ["JK-B2A8S20P", "JK-B2A24S20P", "JK-PB2A16S20P"]
# Measured error (charged %, discharged %) per model, for the report.
ENERGY_ERRORS: dict[str, tuple[float, float]] = {}


def test_trapezoid_charge_and_discharge() -> None:
    """Constant power integrates to P x t on the right side."""
    meter = EnergyMeter(max_gap=30)
    for second in range(3601):
        meter = meter.add(float(second), 1000.0)
    assert meter.charged_kwh == pytest.approx(1.0)
    assert meter.discharged_kwh == 0
    for second in range(3601, 3601 + 1800):
        meter = meter.add(float(second), -2000.0)
    # The interval across the reversal (+1000 W → -2000 W) crosses zero after 1/3 s.
    assert meter.charged_kwh == pytest.approx((3_600_000 + 1000 / 3 / 2) / 3.6e6)
    assert meter.discharged_kwh == pytest.approx(
        (1799 * 2000 + 2000 * 2 / 3 / 2) / 3.6e6
    )


def test_sign_change_is_split_at_the_zero_crossing() -> None:
    """+3 kW → -1 kW over 4 s: the line crosses zero after 3 s."""
    meter = EnergyMeter(max_gap=30)
    meter = meter.add(0.0, 3000.0).add(4.0, -1000.0)
    assert meter.charged_kwh == pytest.approx(3000 * 3 / 2 / 3.6e6)
    assert meter.discharged_kwh == pytest.approx(1000 * 1 / 2 / 3.6e6)


def test_one_frame_adds_at_most_what_the_current_limits_allow() -> None:
    """Whatever slips past the shield, a frame's power is capped at V x the OCP limit."""
    profile = find_profile("JK-PB2A16S20P")
    cell = decode_cell_info(profile.templates.cell_info, profile.variant)
    settings = decode_settings(profile.templates.settings, profile.variant)
    limits = [settings.get(k) for k in ("max_charge_current", "max_discharge_current")]
    assert all(isinstance(limit, float) for limit in limits)
    volts = cell.total_voltage
    assert volts is not None
    ceiling = volts * (max(limits) * 2 + 20)  # type: ignore[type-var, operator]
    real = capped_power(cell, settings)
    assert real == pytest.approx(volts * (cell.current or 0.0))  # untouched
    for current in (16_844.0, -16_844.0):
        flipped = replace(cell, current=current)
        assert capped_power(flipped, settings) == pytest.approx(
            ceiling if current > 0 else -ceiling
        )
    meter = EnergyMeter(max_gap=10).add(0.0, 0.0).add(0.5, ceiling * 10)
    capped = (
        EnergyMeter(max_gap=10)
        .add(0.0, 0.0)
        .add(0.5, capped_power(replace(cell, current=16_844.0), settings) or 0.0)
    )
    assert capped.charged_kwh < meter.charged_kwh / 9


def test_gap_guard_and_break_chain() -> None:
    """A gap longer than max_gap (link down) and a broken chain add nothing."""
    meter = EnergyMeter(max_gap=30)
    meter = meter.add(0.0, 1000.0).add(100.0, 1000.0)  # 100 s gap: skipped
    assert meter.charged_kwh == 0
    meter = meter.break_chain().add(101.0, 1000.0)
    assert meter.charged_kwh == 0
    meter = meter.add(102.0, 1000.0)
    assert meter.charged_kwh == pytest.approx(1000 / 3.6e6)
    meter = meter.add(102.0, 1000.0)  # same timestamp: nothing
    assert meter.charged_kwh == pytest.approx(1000 / 3.6e6)


# ------------------------------------------------------------- end to end


def _truth_kwh(bms) -> tuple[float, float]:
    truth = bms.battery.truth
    return truth.energy_in_wh / 1000, truth.energy_out_wh / 1000


async def _run(
    bms, freezer: FrozenDateTimeFactory, seconds: float, step: float = 5.0
) -> None:
    """Let the pack live ``seconds`` of pack time, one cell frame every ``step``."""
    for _ in range(round(seconds / step)):
        freezer.tick(step)
        await bms.push_cell_info(advance_s=step)


@FROZEN
@pytest.mark.parametrize("model", ENERGY_MODELS)
async def test_energy_counters_match_the_truth(
    hass: HomeAssistant, virtual_bms, freezer: FrozenDateTimeFactory, model: str
) -> None:
    """Charge to full, then discharge: both counters within 0.5 % of the pack's truth."""
    bms, entry, coordinator = await setup_bms(
        hass, virtual_bms, model, state_of_charge=0.9, capacity_ah=50, freezer=freezer
    )
    truth_in, truth_out = _truth_kwh(bms)
    charged, discharged = (
        coordinator.energy.charged_kwh,
        coordinator.energy.discharged_kwh,
    )
    await _run(bms, freezer, 3 * 3600)
    truth_in, truth_out = (
        _truth_kwh(bms)[0] - truth_in,
        _truth_kwh(bms)[1] - truth_out,
    )
    charged = coordinator.energy.charged_kwh - charged
    discharged = coordinator.energy.discharged_kwh - discharged
    assert truth_in > 0.05
    assert truth_out > 0.05
    assert charged == pytest.approx(truth_in, rel=0.005)
    assert discharged == pytest.approx(truth_out, rel=0.005)
    ENERGY_ERRORS[model] = (
        (charged - truth_in) / truth_in * 100,
        (discharged - truth_out) / truth_out * 100,
    )
    logging.getLogger(__name__).info(
        "%s: energy error vs truth %s %%", model, ENERGY_ERRORS[model]
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


@FROZEN
async def test_energy_survives_a_restart(
    hass: HomeAssistant, virtual_bms, freezer: FrozenDateTimeFactory
) -> None:
    """Reload (as on a restart): the counters continue from their last state."""
    bms, entry, coordinator = await setup_bms(
        hass,
        virtual_bms,
        options={CONF_UPDATE_INTERVAL: 1},
        state_of_charge=0.9,
        capacity_ah=50,
        freezer=freezer,
    )
    await _run(bms, freezer, 3600)
    fire(hass, 2)
    await hass.async_block_till_done(wait_background_tasks=True)
    eid_in = entity_id(hass, "sensor", bms.address, "energy_charged")
    eid_out = entity_id(hass, "sensor", bms.address, "energy_discharged")
    # The meters count every frame; the states follow within their deadband.
    before_in = coordinator.energy.charged_kwh
    before_out = coordinator.energy.discharged_kwh
    assert before_in > 0
    deadband = freshness_for("energy_charged").deadband
    assert float(hass.states.get(eid_in).state) == pytest.approx(
        before_in, abs=deadband
    )

    # A real BMS streams on the new link; then the test feeds the frames again.
    assert await start(hass, entry, bms, reload=True, freezer=freezer)
    coordinator = entry.runtime_data
    restored_in = float(hass.states.get(eid_in).state)
    assert restored_in == pytest.approx(before_in, abs=1e-3)
    assert float(hass.states.get(eid_out).state) == pytest.approx(before_out, abs=1e-3)
    await _run(bms, freezer, 600)
    fire(hass, 2)
    await hass.async_block_till_done(wait_background_tasks=True)
    # The counter continues from the restored state (stored rounded), never below it.
    assert float(hass.states.get(eid_in).state) >= restored_in
    assert coordinator.energy.charged_kwh >= restored_in
    # Restored once: a second restore call does not add again.
    total = coordinator.energy.charged_kwh
    coordinator.restore_energy(5.0, 5.0)
    assert coordinator.energy.charged_kwh == total
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_energy_restored_from_the_last_run(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Cold start with stored states: the counters start from them."""
    bms = virtual_bms(stream_interval=0.01)
    address = bms.address
    registry = er.async_get(hass)
    ids = {}
    for key in ("energy_charged", "energy_discharged"):
        ids[key] = registry.async_get_or_create(
            "sensor", DOMAIN, f"{address}_{key}", suggested_object_id=f"jk_{key}"
        ).entity_id
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(ids["energy_charged"], "123.456"),
                {"native_value": 123.456, "native_unit_of_measurement": "kWh"},
            ),
            (
                State(ids["energy_discharged"], "99.5"),
                {"native_value": 99.5, "native_unit_of_measurement": "kWh"},
            ),
        ],
    )
    entry = add_entry(hass, bms)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = entry.runtime_data
    assert coordinator.energy.charged_kwh >= 123.456
    assert coordinator.energy.charged_kwh < 123.5
    assert coordinator.energy.discharged_kwh == pytest.approx(99.5, abs=0.01)
    assert float(hass.states.get(ids["energy_charged"]).state) >= 123.456
    assert await hass.config_entries.async_unload(entry.entry_id)


@FROZEN
async def test_energy_dashboard_validation(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    virtual_bms,
    freezer: FrozenDateTimeFactory,
) -> None:
    """HA's own energy/validate finds no issue with the battery's counters."""
    assert await async_setup_component(hass, "energy", {})
    bms, entry, _ = await setup_bms(
        hass, virtual_bms, options={CONF_UPDATE_INTERVAL: 1}, freezer=freezer
    )
    await _run(bms, freezer, 600)
    fire(hass, 2)
    await hass.async_block_till_done(wait_background_tasks=True)
    eid_in = entity_id(hass, "sensor", bms.address, "energy_charged")
    eid_out = entity_id(hass, "sensor", bms.address, "energy_discharged")
    eid_soc = entity_id(hass, "sensor", bms.address, "state_of_charge")
    eid_power = entity_id(hass, "sensor", bms.address, "power")

    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    period = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    do_adhoc_statistics(hass, start=period)
    await async_wait_recording_done(hass)

    manager = await async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {
                    "type": "battery",
                    "stat_energy_from": eid_out,
                    "stat_energy_to": eid_in,
                    "stat_rate": eid_power,
                    "stat_soc": eid_soc,
                }
            ]
        }
    )
    client = await hass_ws_client(hass)
    await client.send_json({"id": 1, "type": "energy/validate"})
    msg = await client.receive_json()
    assert msg["success"], msg
    assert msg["result"]["energy_sources"] == [[]], msg["result"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def _stored_energy(hass: HomeAssistant, eid: str, removed: bool) -> float:
    """The energy the entity stored for the next start (as RestoreSensor reads it)."""
    data = restore_state.async_get(hass)
    if removed:
        stored = data.last_states[eid]
    else:
        stored = next(
            s for s in data.async_get_stored_states() if s.state.entity_id == eid
        )
    assert stored.extra_data is not None
    return float(stored.extra_data.as_dict()["native_value"])


@FROZEN
@pytest.mark.parametrize("how", ["stop", "unload"])
async def test_energy_stored_at_stop_is_the_latest(
    hass: HomeAssistant, virtual_bms, freezer: FrozenDateTimeFactory, how: str
) -> None:
    """A restart within the cadence loses no energy: the final value is stored."""
    bms, entry, coordinator = await setup_bms(
        hass,
        virtual_bms,
        options={CONF_UPDATE_INTERVAL: 300},
        state_of_charge=0.9,
        capacity_ah=50,
        freezer=freezer,
    )
    eid_in = entity_id(hass, "sensor", bms.address, "energy_charged")
    eid_out = entity_id(hass, "sensor", bms.address, "energy_discharged")
    assert eid_in is not None
    assert eid_out is not None
    await _run(bms, freezer, 280)  # within one cadence of the last state write
    await hass.async_block_till_done(wait_background_tasks=True)
    charged = coordinator.energy.charged_kwh
    discharged = coordinator.energy.discharged_kwh
    # Within the 300 s cadence: the entity still shows an older value.
    assert float(hass.states.get(eid_in).state) < charged - 1e-3

    if how == "stop":
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done(wait_background_tasks=True)
    else:
        assert await hass.config_entries.async_unload(entry.entry_id)
    removed = how == "unload"
    assert await _stored_energy(hass, eid_in, removed) == pytest.approx(
        charged, abs=1e-6
    )
    assert await _stored_energy(hass, eid_out, removed) == pytest.approx(
        discharged, abs=1e-6
    )
    if how == "stop":
        assert await hass.config_entries.async_unload(entry.entry_id)
