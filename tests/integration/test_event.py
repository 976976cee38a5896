"""The BMS event entity, end to end through the virtual BMS and HA's Bluetooth stack.

A simulated trip is written to the virtual BMS's logbook; the integration sees
"Detail Logs Count" grow, reads the logbook over the open link and fires the
event once, dated with the BMS runtime; a restart does not fire it again.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch
from urllib.parse import quote

import pytest
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.const import (
    CONF_ADDRESS,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    ServiceCall,
    callback,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_restore_state_shutdown_restart,
    async_mock_service,
)

from custom_components.jk_bms.bms_events import EVENT_TYPES, MIN_READ_INTERVAL_S
from custom_components.jk_bms.const import (
    CONF_CONNECTION_MODE,
    CONF_POLL_INTERVAL,
    CONF_UPDATE_INTERVAL,
    DOMAIN,
)
from custom_components.jk_bms.protocol import Command
from virtual_bms.device import VirtualJkBms

LOGBOOK_READ = Command.LOGBOOK


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    """No backoff sleeps between connection retries."""
    with patch("bleak_retry_connector.calculate_backoff_time", return_value=0):
        yield


class Clock:
    """The event entity's monotonic clock and HA's timer clock, moved by the test."""

    def __init__(self) -> None:
        """Start now."""
        self.mono = 1000.0
        self.now = dt_util.utcnow()

    def monotonic(self) -> float:
        """Return the entity's monotonic time."""
        return self.mono

    async def tick(
        self, hass: HomeAssistant, bms: VirtualJkBms, seconds: float = 2.0
    ) -> None:
        """The BMS runs ``seconds`` and sends a cell frame; let every read finish.

        The frame goes out twice (the stream repeats it): the frame shield
        trusts a changed logbook count once a second frame shows it.
        """
        await bms.push_cell_info(advance_s=seconds)
        await bms.push_cell_info(advance_s=0)
        await hass.async_block_till_done()
        self.mono += seconds
        self.now += timedelta(seconds=seconds)
        async_fire_time_changed(hass, self.now)
        await settle(hass, bms)
        await bms.push_cell_info(advance_s=0.5)  # the stream goes on
        self.now += timedelta(seconds=1)
        async_fire_time_changed(hass, self.now)
        await settle(hass, bms)


async def settle(hass: HomeAssistant, bms: VirtualJkBms) -> None:
    """Let a logbook read (request, answer, hand-on) run to its end."""
    for _ in range(5):
        await hass.async_block_till_done(wait_background_tasks=True)
        await bms.flush()
        await asyncio.sleep(0)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The entity's clock, under the test's control."""
    clock = Clock()
    with patch("custom_components.jk_bms.event.time", clock):
        yield clock


class Fired:
    """Every event the entity fired (a new state that is a new event time)."""

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """Listen to the entity's state changes."""
        self.states: list[Any] = []
        self._seen: set[str] = set()
        if (state := hass.states.get(entity_id)) is not None:
            self._seen.add(state.state)

        @callback
        def changed(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is None or new.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
                return
            if new.state in self._seen:
                return  # restored or rewritten, not a new event
            self._seen.add(new.state)
            self.states.append(new)

        self.remove = async_track_state_change_event(hass, entity_id, changed)

    @property
    def types(self) -> list[str]:
        """The event types fired, in order."""
        return [state.attributes["event_type"] for state in self.states]


async def setup_entry(
    hass: HomeAssistant, bms: VirtualJkBms, entry: MockConfigEntry | None = None
) -> MockConfigEntry:
    """Set the BMS up (as the config flow would) and stop its live stream."""
    if entry is None:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=bms.local_name,
            unique_id=bms.address,
            data={CONF_ADDRESS: bms.address},
            options={CONF_UPDATE_INTERVAL: 1},
        )
        entry.add_to_hass(hass)
    bms.faults.stop_streaming = False
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    bms.faults.stop_streaming = True
    await settle(hass, bms)
    return entry


def event_entity(hass: HomeAssistant, bms: VirtualJkBms) -> str | None:
    """The BMS event entity's id, if there is one."""
    return er.async_get(hass).async_get_entity_id(
        "event", DOMAIN, f"{bms.address}_bms_event"
    )


def undervoltage(bms: VirtualJkBms) -> None:
    """Empty cells under a 40 A load: the BMS trips cell undervoltage protection."""
    for cell in bms.battery.cells:
        cell.state_of_charge = 0.0
    bms.battery.profile.custom = lambda _t: -40.0


def happened_at(state: Any) -> datetime:
    """The wall-clock time the event attribute gives."""
    when = dt_util.parse_datetime(state.attributes["occurred_at"])
    assert when is not None
    return when


async def test_undervoltage_trip_fires_once_with_its_time(
    hass: HomeAssistant, virtual_bms, clock: Clock
) -> None:
    """Tripped ten minutes ago while nobody listened: one event, dated ten minutes back."""
    bms: VirtualJkBms = virtual_bms(stream_interval=0.01)
    entry = await setup_entry(hass, bms)
    entity_id = event_entity(hass, bms)
    assert entity_id == "event.jk_b2a8s20p_bms_event"
    # Read at connect: the history already there is the starting point.
    assert len(bms.commands(LOGBOOK_READ)) == 1
    assert hass.states.get(entity_id).state == STATE_UNKNOWN
    fired = Fired(hass, entity_id)
    await clock.tick(hass, bms)
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    assert fired.states == []
    assert len(bms.commands(LOGBOOK_READ)) == 1  # the count did not change

    undervoltage(bms)
    bms.battery.advance(5)  # the trip happens within these 5 s …
    assert "alarm_cell_undervoltage" in bms.alarms()
    bms.battery.advance(600)  # … and the BMS runs on for 10 min
    await clock.tick(hass, bms)
    assert len(bms.commands(LOGBOOK_READ)) == 2  # Detail Logs Count grew
    assert fired.types == ["cell_undervoltage_protection"]
    state = fired.states[0]
    assert state.attributes["code"] == 0x1D
    assert state.attributes["event"] == "Cell undervoltage protection"
    assert state.attributes["derived"] is False
    # 0-5 s into the first 5 s, then 600 s, then the 2 s of the tick.
    age = (dt_util.utcnow() - happened_at(state)).total_seconds()
    assert 602 - 2 <= age <= 607 + 2, age

    for _ in range(3):  # more frames, more reads: nothing new
        await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    assert len(fired.states) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_restart_does_not_fire_again(
    hass: HomeAssistant, virtual_bms, clock: Clock
) -> None:
    """After a Home Assistant restart the same logbook fires nothing; what is new fires."""
    bms: VirtualJkBms = virtual_bms(stream_interval=0.01)
    entry = await setup_entry(hass, bms)
    entity_id = event_entity(hass, bms)
    assert entity_id is not None
    fired = Fired(hass, entity_id)
    undervoltage(bms)
    bms.battery.advance(5)
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    assert fired.types == ["cell_undervoltage_protection"]
    before = hass.states.get(entity_id)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await async_mock_restore_state_shutdown_restart(hass)
    bms.drop_link()
    reads = len(bms.commands(LOGBOOK_READ))
    await setup_entry(hass, bms, entry)
    assert len(bms.commands(LOGBOOK_READ)) == reads + 1  # read again at connect …
    after = hass.states.get(entity_id)
    assert after.state == before.state  # … the last event restored, not refired
    assert after.attributes["event_type"] == "cell_undervoltage_protection"
    assert len(fired.states) == 1

    # Recovered: the release is new and fires once.
    for cell in bms.battery.cells:
        cell.state_of_charge = 0.5
    bms.battery.profile.custom = lambda _t: 0.0
    bms.battery.advance(60)
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    assert fired.types == [
        "cell_undervoltage_protection",
        "cell_undervoltage_protection_released",
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_app_switching_unknown_codes_and_garbled_frames(
    hass: HomeAssistant, virtual_bms, clock: Clock
) -> None:
    """Switching from HA is logged by the BMS; an unknown code fires as such; garbage fires nothing."""
    bms: VirtualJkBms = virtual_bms(stream_interval=0.01)
    entry = await setup_entry(hass, bms)
    entity_id = event_entity(hass, bms)
    assert entity_id is not None
    fired = Fired(hass, entity_id)

    switch = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{bms.address}_charging"
    )
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": switch}, blocking=True
    )
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    assert fired.types == ["app_charge_off"]

    # Entries out of order: a garbled logbook frame. Nothing fires.
    bms.logbook.record(0x1D, 17)
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    assert fired.types == ["app_charge_off"]

    # The log is cleared (the count goes down) and holds a code we do not know.
    bms.battery.advance(10)
    bms.logbook.clear()
    bms.logbook.record(0x4A, bms.runtime_s)
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    assert fired.types == ["app_charge_off", "unknown"]
    state = fired.states[-1]
    assert state.attributes["event"] == "Unknown event (code 74)"
    assert state.attributes["code"] == 74
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_failed_read_is_made_again_after_the_reconnect(
    hass: HomeAssistant, virtual_bms, clock: Clock
) -> None:
    """The link drops in the middle of the logbook answer: read again, fire once."""
    bms: VirtualJkBms = virtual_bms(stream_interval=0.01)
    entry = await setup_entry(hass, bms)
    entity_id = event_entity(hass, bms)
    assert entity_id is not None
    fired = Fired(hass, entity_id)
    undervoltage(bms)
    bms.battery.advance(5)
    for _ in range(2):  # Detail Logs Count grew (trusted once two frames show it)
        await bms.push_cell_info(advance_s=0)
    await hass.async_block_till_done()
    bms.drop_link(after_bytes=150)  # the logbook answer is cut off
    clock.mono += MIN_READ_INTERVAL_S
    clock.now += timedelta(seconds=2)
    async_fire_time_changed(hass, clock.now)
    await settle(hass, bms)
    assert not bms.connected
    assert len(bms.commands(LOGBOOK_READ)) == 2
    assert fired.states == []

    bms.faults.stop_streaming = False  # the reconnect's handshake needs a cell frame
    for _ in range(3):
        clock.mono += 10
        clock.now += timedelta(seconds=10)
        async_fire_time_changed(hass, clock.now)
        await settle(hass, bms)
    assert bms.connected
    assert len(bms.commands(LOGBOOK_READ)) == 3
    assert fired.types == ["cell_undervoltage_protection"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_poll_mode_reads_the_logbook_inside_its_polls(
    hass: HomeAssistant, virtual_bms, clock: Clock
) -> None:
    """Poll mode: the logbook rides the polls' own connections; no extra connect."""
    bms: VirtualJkBms = virtual_bms(stream_interval=0.01)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=bms.local_name,
        unique_id=bms.address,
        data={CONF_ADDRESS: bms.address},
        options={
            CONF_UPDATE_INTERVAL: 1,
            CONF_CONNECTION_MODE: "poll",
            CONF_POLL_INTERVAL: 30,
        },
    )
    entry.add_to_hass(hass)
    await setup_entry(hass, bms, entry)
    entity_id = event_entity(hass, bms)
    assert entity_id is not None
    fired = Fired(hass, entity_id)

    async def poll() -> int:
        """Let polls run; return how many connections they made."""
        before = bms.connections
        bms.faults.stop_streaming = False  # a poll reads the first cell frame
        for seconds in (31.0, 2.0):
            clock.mono += seconds
            clock.now += timedelta(seconds=seconds)
            async_fire_time_changed(hass, clock.now)
            await settle(hass, bms)
        return bms.connections - before

    await poll()
    assert len(bms.commands(LOGBOOK_READ)) == 1  # the read asked for at set-up
    undervoltage(bms)
    bms.battery.advance(5)
    with_read = await poll()  # sees Detail Logs Count grow and reads
    assert len(bms.commands(LOGBOOK_READ)) == 2
    assert fired.types == ["cell_undervoltage_protection"]
    without_read = await poll()
    assert len(bms.commands(LOGBOOK_READ)) == 2
    assert with_read == without_read > 0  # the read took no connection of its own
    assert not bms.connected
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_24s_derives_the_trip_from_its_alarm_bits(
    hass: HomeAssistant, virtual_bms, clock: Clock
) -> None:
    """No logbook on JK02_24S: the same event type, marked derived, and no 0xA1 sent."""
    bms: VirtualJkBms = virtual_bms("JK-B2A24S20P", stream_interval=0.01)
    entry = await setup_entry(hass, bms)
    entity_id = event_entity(hass, bms)
    assert entity_id is not None
    fired = Fired(hass, entity_id)
    await clock.tick(hass, bms)
    assert fired.states == []

    undervoltage(bms)
    await bms.push_cell_info(advance_s=5)
    await clock.tick(hass, bms)
    assert fired.types == ["cell_undervoltage_protection"]
    state = fired.states[0]
    assert state.attributes["derived"] is True
    age = (dt_util.utcnow() - happened_at(state)).total_seconds()
    assert 0 <= age <= 5, age
    await clock.tick(hass, bms)
    assert len(fired.states) == 1
    assert bms.commands(LOGBOOK_READ) == []
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_jk04_has_no_event_entity(
    hass: HomeAssistant, virtual_bms, clock: Clock
) -> None:
    """JK04 frames carry neither a logbook nor alarm bits."""
    bms: VirtualJkBms = virtual_bms("JK-B2A16S", stream_interval=0.01)
    entry = await setup_entry(hass, bms)
    assert event_entity(hass, bms) is None
    assert bms.commands(LOGBOOK_READ) == []
    assert await hass.config_entries.async_unload(entry.entry_id)


# --- what the user sees: HA's logbook, the blueprint --------------------------------

TRANSLATIONS = (
    Path(__file__).parents[2] / "custom_components" / "jk_bms" / "translations"
)
BLUEPRINT = "protection_trip_alert.yaml"
BLUEPRINTS = Path(__file__).parents[2] / "blueprints" / "automation" / "jk_bms"
RAW_BASE = "https://raw.githubusercontent.com/jk-bms-ha/jk_bms/main/blueprints/automation/jk_bms/"


def test_every_event_type_is_translated_in_every_language() -> None:
    """Each language shipped names the entity, every event type and every attribute."""
    files = sorted(TRANSLATIONS.glob("*.json"))
    assert {f.stem for f in files} >= {"en", "de"}
    for path in files:
        entity = json.loads(path.read_text(encoding="utf-8"))["entity"]["event"]
        strings = entity["bms_event"]
        assert strings["name"].strip(), path.stem
        attributes = strings["state_attributes"]
        names = attributes["event_type"]["state"]
        assert set(names) == set(EVENT_TYPES), path.stem
        assert all(name.strip() for name in names.values()), path.stem
        assert set(attributes) == {
            "event_type", "code", "event", "occurred_at", "derived", "bms_runtime", "cell"
        }, path.stem  # fmt: skip


def test_blueprint_is_valid() -> None:
    """Home Assistant's blueprint schema accepts it; it takes the event entity."""
    data = load_yaml_dict(str(BLUEPRINTS / BLUEPRINT))
    blueprint = models.Blueprint(
        data, expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA
    )
    assert set(blueprint.inputs) == {"bms_event", "include_releases", "notify_action"}
    (entity_filter,) = blueprint.inputs["bms_event"]["selector"]["entity"]["filter"]
    assert entity_filter["integration"] == DOMAIN
    assert entity_filter["domain"] in ("event", ["event"])
    assert blueprint.metadata["source_url"] == RAW_BASE + BLUEPRINT
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert quote(RAW_BASE + BLUEPRINT, safe="") in readme


async def test_blueprint_notifies_once_per_trip(
    hass: HomeAssistant, virtual_bms, clock: Clock, tmp_path: Path
) -> None:
    """A trip notifies once, with the BMS, the event and its time; switching does not."""
    target = tmp_path / "blueprints" / "automation" / "jk_bms"
    shutil.copytree(BLUEPRINTS, target)
    hass.config.config_dir = str(tmp_path)
    calls: list[ServiceCall] = async_mock_service(hass, "test", "notify")
    bms: VirtualJkBms = virtual_bms(stream_interval=0.01)
    entry = await setup_entry(hass, bms)
    entity_id = event_entity(hass, bms)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "jk_trip",
                "alias": "JK trip",
                "use_blueprint": {
                    "path": f"jk_bms/{BLUEPRINT}",
                    "input": {
                        "bms_event": entity_id,
                        "notify_action": [
                            {
                                "action": "test.notify",
                                "data": {
                                    "message": "{{ message }}",
                                    "code": "{{ code }}",
                                },
                            }
                        ],
                    },
                },
            }
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get("automation.jk_trip").state == STATE_ON

    switch = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{bms.address}_discharging"
    )
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": switch}, blocking=True
    )
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    assert hass.states.get(entity_id).attributes["event_type"] == "app_discharge_off"
    assert calls == []  # not a protection
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": switch}, blocking=True
    )
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)

    undervoltage(bms)
    bms.battery.advance(5)
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    await hass.async_block_till_done()
    assert len(calls) == 1
    message = calls[0].data["message"]
    assert message.startswith("JK_B2A8S20P: Cell undervoltage protection (")
    assert calls[0].data["code"] == 0x1D
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    assert len(calls) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)
