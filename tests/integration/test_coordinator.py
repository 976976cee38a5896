"""End to end through Home Assistant's Bluetooth stack, the virtual proxy and the virtual BMS.

Everything between the integration and the virtual BMS is real: the matcher,
the discovery flow, ``establish_connection``, Home Assistant's client wrapper
and path selection, the proxy's connection slots.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from unittest.mock import AsyncMock, MagicMock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_BLUETOOTH, ConfigEntryState
from homeassistant.const import (
    CONF_ADDRESS,
    EVENT_HOMEASSISTANT_STOP,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.jk_bms import compat
from custom_components.jk_bms.const import (
    CONF_CONNECTION_MODE,
    CONF_POLL_INTERVAL,
    CONF_UPDATE_INTERVAL,
    DOMAIN,
)
from custom_components.jk_bms.coordinator import JkBmsCoordinator
from custom_components.jk_bms.freshness import freshness_for
from custom_components.jk_bms.protocol import (
    Command,
    ConnectionFailedError,
    NotConnectedError,
    NotJkBmsError,
    ResponseTimeoutError,
    Variant,
    WriteNotConfirmedError,
)
from custom_components.jk_bms.protocol.client import find_characteristics
from virtual_bms.device import VirtualJkBms
from virtual_bms.profiles import find_profile
from virtual_bms.proxy import VirtualProxy

from .helpers import (
    FROZEN,
    TICKING,
    add_entry,
    entity_id,
    fire,
    setup_bms,
    state_of,
)

MODELS = ["JK-B2A8S20P", "JK-B2A24S20P", "JK-B2A16S", "JK-PB2A16S20P"]
MODEL_IDS = ["JK02_32S", "JK02_24S", "JK04", "JK02_32S_PB"]
LOGGER = "custom_components.jk_bms.coordinator"


def battery_truth(bms: VirtualJkBms) -> dict[str, float | int]:
    """What the pack really is, rounded to what the BMS can report."""
    battery = bms.battery
    voltages = [round(v, 3) for v in battery.cell_voltages]
    truth: dict[str, float | int] = {
        f"cell_voltage_{n}": v for n, v in enumerate(voltages, start=1)
    }
    truth["min_cell_voltage"] = min(voltages)
    truth["max_cell_voltage"] = max(voltages)
    truth["cell_count"] = len(voltages)
    if bms.variant is not Variant.JK04:
        total = round(sum(voltages), 3)
        truth |= {
            "total_voltage": total,
            "current": round(battery.current_a, 3),
            "state_of_charge": battery.state_of_charge,
            "capacity_remaining": round(battery.bms_remaining_ah, 3),
            "full_charge_capacity": round(battery.full_charge_capacity_ah, 3),
            "charging_cycles": battery.charging_cycles,
            "stored_energy": round(battery.bms_remaining_ah * total / 1000, 3),
        }
    if "cell_uvp" in bms.settings:
        truth["lowest_cell_headroom"] = round(
            min(voltages) - float(bms.settings["cell_uvp"]), 3
        )
    return truth


# ----------------------------------------------------------------------- set-up


async def test_discovery_to_entry_through_the_proxy(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Advert → discovery flow → confirm connects for real → entry → entities."""
    bms = virtual_bms("JK-B2A8S20P", stream_interval=0.01)
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["unique_id"] for flow in flows] == [bms.address]
    assert flows[0]["context"]["source"] == SOURCE_BLUETOOTH

    result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"], {})
    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"]
    assert placeholders["model"] == "JK_B2A8S20P"
    assert placeholders["firmware"] == "11.17"
    assert placeholders["variant"] == "JK02_32S"
    assert placeholders["cells"] == "4"
    assert not bms.connected  # the flow let go of the BMS
    assert virtual_proxy.free_slots == virtual_proxy.slots

    result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert bms.connected
    assert state_of(hass, "sensor", bms.address, "total_voltage") not in (
        STATE_UNAVAILABLE,
        STATE_UNKNOWN,
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("all_entities")
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
async def test_entities_match_the_battery(
    hass: HomeAssistant, virtual_bms, model: str
) -> None:
    """Every entity is available and shows what the virtual pack really is."""
    bms, entry, coordinator = await setup_bms(
        hass, virtual_bms, model, options={CONF_UPDATE_INTERVAL: 1}
    )
    assert coordinator.variant is bms.variant
    await bms.push_cell_info(advance_s=0)
    fire(hass, 2)  # past the state-write cadence
    await hass.async_block_till_done(wait_background_tasks=True)

    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert entities
    for registry_entry in entities:
        state = hass.states.get(registry_entry.entity_id)
        assert state is not None, registry_entry.entity_id
        assert state.state != STATE_UNAVAILABLE, registry_entry.entity_id

    truth = battery_truth(bms)
    compared = 0
    for key, expected in truth.items():
        if (eid := entity_id(hass, "sensor", bms.address, key)) is None:
            continue
        # A state follows the pack within its deadband (freshness.py).
        tolerance = max(1e-3, freshness_for(key).deadband)
        assert float(hass.states.get(eid).state) == pytest.approx(
            expected, abs=tolerance
        ), key
        compared += 1
    assert compared >= len(bms.battery.cells) + 3

    # Controls show the BMS's settings.
    for key, value in bms.settings.items():
        if isinstance(value, bool) and entity_id(hass, "switch", bms.address, key):
            assert state_of(hass, "switch", bms.address, key) == (
                STATE_ON if value else STATE_OFF
            ), key
        elif isinstance(value, int | float) and entity_id(
            hass, "number", bms.address, key
        ):
            number = hass.states.get(entity_id(hass, "number", bms.address, key))
            per_unit = (
                1000 if number.attributes.get("unit_of_measurement") == "mV" else 1
            )
            assert float(number.state) == pytest.approx(value * per_unit, abs=1e-3), key
    if bms.variant is not Variant.JK04:
        assert state_of(hass, "binary_sensor", bms.address, "charging") == (
            STATE_ON if bms.battery.charge_mosfet_on else STATE_OFF
        )
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("layout", ["old", "new"])
async def test_both_module_layouts(
    hass: HomeAssistant, virtual_bms, layout: str
) -> None:
    """One FFE1 that writes and notifies, or two FFE1 handles (write 0x03 / notify 0x05)."""
    bms, entry, coordinator = await setup_bms(
        hass, virtual_bms, "JK-B2A24S20P", module_layout=layout
    )
    assert coordinator.link_connected
    assert bms.commands(0x97)
    assert bms.commands(0x96)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_not_advertising_is_not_ready(hass: HomeAssistant) -> None:
    """A BMS Home Assistant has never heard: retry later, and say why."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="C8:47:8C:00:00:99",
        data={CONF_ADDRESS: "C8:47:8C:00:00:99"},
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None


@pytest.mark.usefixtures("no_backoff")
async def test_refused_connection_is_not_ready(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """The JK app holds the BMS: not ready, nothing left connected."""
    bms = virtual_bms(stream_interval=0.01)
    bms.faults.other_central_connected = True
    entry = add_entry(hass, bms)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert virtual_proxy.free_slots == virtual_proxy.slots


# ----------------------------------------------------------------- link state


@pytest.mark.usefixtures("no_backoff")
async def test_link_drop_unavailable_and_back(
    hass: HomeAssistant, virtual_bms, caplog: pytest.LogCaptureFixture
) -> None:
    """Link lost → unavailable (one log line) → reconnect with backoff → back (one line)."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    connections = bms.connections

    bms.faults.refuse_connections = True  # the first reconnects fail
    bms.drop_link()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not coordinator.link_connected
    assert state_of(hass, "sensor", bms.address, "total_voltage") == STATE_UNAVAILABLE

    for _ in range(3):  # backoff 2 s, 4 s, 8 s …
        fire(hass, 20)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert state_of(hass, "sensor", bms.address, "total_voltage") == STATE_UNAVAILABLE

    bms.faults.refuse_connections = False
    bms.faults.stop_streaming = False
    fire(hass, 60)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.link_connected
    assert bms.connections == connections + 1
    assert state_of(hass, "sensor", bms.address, "total_voltage") != STATE_UNAVAILABLE

    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert sum("is unavailable" in m for m in messages) == 1
    assert sum("is back online" in m for m in messages) == 1
    assert coordinator.session.stats.unexpected_disconnects == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("all_entities")
async def test_signal_strength_known_from_set_up(
    hass: HomeAssistant, virtual_bms
) -> None:
    """A connected BMS is silent: its signal strength is the advert heard before."""
    bms, entry, _ = await setup_bms(hass, virtual_bms, rssi=-71)
    assert state_of(hass, "sensor", bms.address, "rssi") == "-71"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def _drop_and_refuse_three_reconnects(
    hass: HomeAssistant, bms: VirtualJkBms, coordinator: JkBmsCoordinator
) -> None:
    """Drop the link, refuse three reconnects (the next one in 16 s), then let it in."""
    bms.faults.refuse_connections = True
    bms.drop_link()
    await hass.async_block_till_done(wait_background_tasks=True)
    for delay in (2, 4, 8):
        fire(hass, delay + 0.6)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.session.stats.connect_failures == 3
    assert not coordinator.link_connected
    bms.faults.refuse_connections = False
    bms.faults.stop_streaming = False


@pytest.mark.usefixtures("no_backoff")
async def test_advert_after_drop_reconnects_early(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """The BMS advertises again: the long backoff is cut short."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    await _drop_and_refuse_three_reconnects(hass, bms, coordinator)
    virtual_proxy.advertise(bms.address)
    await hass.async_block_till_done(wait_background_tasks=True)
    # Before 2026.10 the unchanged advert is found at the next check (1 s).
    for seconds in (compat.UNCHANGED_ADVERT_CHECK.total_seconds(), 3):
        fire(hass, seconds)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.link_connected
    assert coordinator.data.derived["rssi"] == bms.rssi
    assert await hass.config_entries.async_unload(entry.entry_id)


@TICKING
@pytest.mark.skipif(
    not compat.HA_2026_10, reason="before 2026.10 an unchanged advert is passed on once"
)
async def test_adverts_every_half_second_do_not_postpone_the_reconnect(
    hass: HomeAssistant,
    virtual_bms,
    virtual_proxy: VirtualProxy,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A proxy passing on every advert (twice a second) still gets it reconnected."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    await _drop_and_refuse_three_reconnects(hass, bms, coordinator)
    for _ in range(8):  # 4 s of adverts, two a second
        virtual_proxy.advertise(bms.address)
        freezer.tick(0.5)
        fire(hass, 0)
        await hass.async_block_till_done(wait_background_tasks=True)
        if coordinator.link_connected:
            break
    assert coordinator.link_connected
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_frees_the_proxy_slot(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Unload disconnects: the proxy gets its slot back, no reconnect follows."""
    bms, entry, _ = await setup_bms(hass, virtual_bms)
    assert virtual_proxy.free_slots == virtual_proxy.slots - 1
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert virtual_proxy.free_slots == virtual_proxy.slots
    assert not bms.connected
    connections = bms.connections
    fire(hass, 600)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert bms.connections == connections


async def test_home_assistant_stop_disconnects(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Stopping Home Assistant lets go of the BMS (it accepts one central)."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not bms.connected
    assert virtual_proxy.free_slots == virtual_proxy.slots
    assert not coordinator.link_connected
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_advert_loss_while_connected_keeps_entities(
    hass: HomeAssistant, virtual_bms
) -> None:
    """A connected BMS stops advertising: availability follows the link, not adverts."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    bms.faults.stop_streaming = False
    # Long past the advertisement stale timeout, without a single advert.
    fire(hass, 400)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.link_connected
    assert state_of(hass, "sensor", bms.address, "total_voltage") != STATE_UNAVAILABLE
    assert await hass.config_entries.async_unload(entry.entry_id)


# -------------------------------------------------------------------- options


async def test_poll_mode_releases_the_slot(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Poll mode connects every poll interval and lets go in between."""
    bms = virtual_bms(stream_interval=0.01)
    entry = add_entry(
        hass, bms, **{CONF_CONNECTION_MODE: "poll", CONF_POLL_INTERVAL: 30}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator: JkBmsCoordinator = entry.runtime_data
    assert not bms.connected
    assert virtual_proxy.free_slots == virtual_proxy.slots
    assert state_of(hass, "sensor", bms.address, "total_voltage") != STATE_UNAVAILABLE
    connections = bms.connections

    fire(hass, 31)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert bms.connections == connections + 1
    assert not bms.connected
    assert virtual_proxy.free_slots == virtual_proxy.slots

    # The JK app holds the BMS at the next poll: unavailable until it lets go.
    bms.faults.other_central_connected = True
    with patch("bleak_retry_connector.calculate_backoff_time", return_value=0):
        fire(hass, 62)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert not coordinator.last_update_success
    assert state_of(hass, "sensor", bms.address, "total_voltage") == STATE_UNAVAILABLE
    bms.faults.other_central_connected = False
    fire(hass, 93)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.link_connected
    assert state_of(hass, "sensor", bms.address, "total_voltage") != STATE_UNAVAILABLE

    # A write in poll mode connects for the write and lets go again.
    await coordinator.async_write("charging", False)
    assert bms.settings["charging"] is False
    assert not bms.connected
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_change_reloads_into_poll_mode(
    hass: HomeAssistant, virtual_bms, virtual_proxy: VirtualProxy
) -> None:
    """Saving the options flow switches stream → poll at once."""
    bms, entry, _ = await setup_bms(hass, virtual_bms)
    assert bms.connected
    bms.faults.stop_streaming = False
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_CONNECTION_MODE: "poll",
            CONF_POLL_INTERVAL: 60,
            CONF_UPDATE_INTERVAL: 5,
            "pair": False,
        },
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.connection_mode == "poll"
    assert not bms.connected
    assert virtual_proxy.free_slots == virtual_proxy.slots
    assert await hass.config_entries.async_unload(entry.entry_id)


@FROZEN
@pytest.mark.parametrize("cadence", [1, 5])
async def test_state_writes_follow_the_cadence(
    hass: HomeAssistant, virtual_bms, freezer: FrozenDateTimeFactory, cadence: int
) -> None:
    """Every frame is processed, but states are written once per cadence."""
    bms, entry, coordinator = await setup_bms(
        hass, virtual_bms, options={CONF_UPDATE_INTERVAL: cadence}, freezer=freezer
    )
    eid = entity_id(hass, "sensor", bms.address, "power")  # a live value
    for _ in range(2):  # let the set-up's cooldown (and a trailing one) run out
        fire(hass, cadence + 1)
        await hass.async_block_till_done(wait_background_tasks=True)
    writes: list[str] = []
    for event_type in ("state_changed", "state_reported"):
        hass.bus.async_listen(
            event_type,
            lambda event: writes.append(event.data["new_state"].state),
            event_filter=callback(lambda data: data["entity_id"] == eid),
        )
    for _ in range(10):  # ten frames within one cadence
        freezer.tick(0.05)
        await bms.push_cell_info(advance_s=0.05)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(writes) == 1  # the first frame after a quiet period: at once
    power_after_10 = coordinator.data.cell_info.power
    fire(hass, 2 * cadence + 2)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(writes) == 2  # the rest, once, at the end of the cooldown
    assert float(writes[-1]) == pytest.approx(power_after_10, abs=1e-6)
    assert await hass.config_entries.async_unload(entry.entry_id)


# ------------------------------------------------------------- settings, writes


async def test_settings_are_reread_periodically(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The settings frame is not streamed: 0x96 again every few minutes."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    requests = len(bms.commands(0x96))
    bms.settings["cell_ovp"] = 3.6  # changed in the JK app, say
    fire(hass, 301)
    await hass.async_block_till_done(wait_background_tasks=True)
    # A change made elsewhere is trusted once a second read shows it too.
    assert len(bms.commands(0x96)) == requests + 2
    assert coordinator.snapshot.settings["cell_ovp"] == pytest.approx(3.6)
    assert await hass.config_entries.async_unload(entry.entry_id)


@TICKING
async def test_stalled_stream_is_restarted(
    hass: HomeAssistant, virtual_bms, freezer: FrozenDateTimeFactory
) -> None:
    """No cell frame for a while: 0x96 restarts the stream; no answer: reconnect."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    requests = len(bms.commands(0x96))
    fire(hass, 11)  # watchdog, but the stream is fresh
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(bms.commands(0x96)) == requests
    freezer.tick(60)
    fire(hass, 22)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(bms.commands(0x96)) == requests + 1

    with patch.object(
        coordinator.session,
        "request_settings",
        AsyncMock(side_effect=ConnectionFailedError("silent")),
    ):
        fire(hass, 33)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert not bms.connected or coordinator.session.stats.disconnects >= 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_write_round_trip_and_errors(hass: HomeAssistant, virtual_bms) -> None:
    """Write → ack → read back; bad values never leave; failures are translated."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    await coordinator.async_write("cell_ovp", 3.58)
    assert bms.settings["cell_ovp"] == pytest.approx(3.58)
    assert coordinator.data.settings["cell_ovp"] == pytest.approx(3.58)
    await coordinator.async_write(
        "uart1_protocol", coordinator.data.device_info.values()["uart1_protocol"]
    )

    sent = len(bms.received)
    with pytest.raises(ServiceValidationError):
        await coordinator.async_write("cell_ovp", 9.9)
    with pytest.raises(ServiceValidationError):
        await coordinator.async_write("cell_ovp", 2.0)  # below OVPR
    assert len(bms.received) == sent

    bms.faults.skip_all_acks = True
    with pytest.raises(HomeAssistantError) as failed:
        await coordinator.async_write("cell_ovp", 3.57)
    assert failed.value.translation_key == "write_failed"
    bms.faults.skip_all_acks = False

    with (
        patch.object(
            coordinator.session,
            "write",
            AsyncMock(side_effect=WriteNotConfirmedError("cell_ovp", 3.57, 3.58)),
        ),
        pytest.raises(HomeAssistantError) as not_applied,
    ):
        await coordinator.async_write("cell_ovp", 3.57)
    assert not_applied.value.translation_key == "write_not_applied"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_write_select_by_option(hass: HomeAssistant, virtual_bms) -> None:
    """Selects take their option key; unknown options are refused before sending."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    sent = len(bms.received)
    with pytest.raises(ServiceValidationError):
        await coordinator.async_write("uart1_protocol", "no such protocol")
    assert len(bms.received) == sent
    assert await hass.config_entries.async_unload(entry.entry_id)


# -------------------------------------------------------------- derived values


@FROZEN
async def test_derived_values(
    hass: HomeAssistant, virtual_bms, freezer: FrozenDateTimeFactory
) -> None:
    """Time to empty/full from the smoothed current; last full charge; headroom."""
    bms, entry, coordinator = await setup_bms(
        hass, virtual_bms, profile="charge", state_of_charge=0.5, freezer=freezer
    )
    for _ in range(5):
        freezer.tick(1)
        await bms.push_cell_info(advance_s=1)
    coordinator.async_publish_now()
    derived = coordinator.data.derived
    assert derived["time_to_empty"] is None
    cell_info = coordinator.data.cell_info
    expected_full = (
        (cell_info.full_charge_capacity - cell_info.capacity_remaining)
        / cell_info.current
        * 3600
    )
    assert derived["time_to_full"] == pytest.approx(expected_full, rel=0.01)
    assert derived["last_full_charge"] is None

    bms.battery.profile.kind = "discharge"
    for _ in range(5):
        freezer.tick(1)
        await bms.push_cell_info(advance_s=1)
    coordinator.async_publish_now()
    derived = coordinator.data.derived
    assert derived["time_to_full"] is None
    assert derived["time_to_empty"] > 0

    # A full battery (max cell at SOC-100 % voltage) sets the last full charge.
    bms.settings["soc_100_voltage"] = 3.0  # below the cells, above SOC-0 %
    await coordinator.async_refresh_settings()
    for _ in range(2):  # the BMS sets SoC 100 %: a jump a second frame confirms
        freezer.tick(0.5)
        await bms.push_cell_info(advance_s=0.5)
    coordinator.async_publish_now()
    when = coordinator.data.derived["last_full_charge"]
    assert when is not None
    # Restoring an older value keeps the newer one.
    coordinator.restore_last_full_charge(when - timedelta(days=3))
    assert coordinator.data.derived["last_full_charge"] == when
    assert await hass.config_entries.async_unload(entry.entry_id)


# ------------------------------------------------------------ client branches


async def test_client_requests_and_actions(hass: HomeAssistant, virtual_bms) -> None:
    """Device info, settings and the logbook on demand, actions acked, timeouts."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    session = coordinator.session
    snapshot = await session.request_device_info()
    assert snapshot.device_info.model == "JK_B2A8S20P"
    logbook = await session.request_logbook()  # the captured 32S logbook
    assert [e.event for e in logbook.entries][:2] == ["Boot", "Factory setting LFP"]
    assert session.snapshot.logbook == logbook
    bms.variant = Variant.JK02_24S  # a 24S BMS does not answer 0xA1
    with (
        patch("custom_components.jk_bms.protocol.client.REQUEST_TIMEOUT", 0.05),
        pytest.raises(ResponseTimeoutError),
    ):
        await session.request_logbook()
    bms.variant = Variant.JK02_32S
    await session.send_action(Command.RESTART)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert bms.commands(0x66)
    assert session.stats.as_dict()["writes"] == 0
    assert session.raw_frames
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(NotConnectedError):
        await session.request_settings()


async def test_client_variant_fallback(hass: HomeAssistant, virtual_bms) -> None:
    """Firmware says 24S, the frames are 32S: the frames win (and it is logged)."""
    profile = replace(
        find_profile("JK-B2A8S20P"),
        device_info={
            **find_profile("JK-B2A8S20P").device_info,
            "software_version": "10.07",
        },
    )
    _, entry, coordinator = await setup_bms(hass, virtual_bms, profile)
    assert coordinator.device_info.software_version == "10.07"
    assert coordinator.variant is Variant.JK02_32S
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_client_not_a_jk_bms(hass: HomeAssistant) -> None:
    """No FFE1 that notifies and writes: not a JK BMS."""
    services = MagicMock()
    services.__iter__.return_value = iter([])
    with pytest.raises(NotJkBmsError):
        find_characteristics(services)


@pytest.mark.usefixtures("no_backoff")
async def test_client_link_lost_during_a_write(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The link drops while a write waits for its ack: a translated failure."""
    bms, entry, coordinator = await setup_bms(hass, virtual_bms)
    bms.faults.ack_delay_s = 0.5
    write = hass.async_create_task(coordinator.async_write("cell_ovp", 3.57))
    await asyncio.sleep(0.05)
    bms.drop_link()
    with pytest.raises(HomeAssistantError):
        await write
    assert await hass.config_entries.async_unload(entry.entry_id)
