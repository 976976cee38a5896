"""Home Assistant's logbook shows the BMS event readably (needs the recorder)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.jk_bms.bms_events import MIN_READ_INTERVAL_S
from custom_components.jk_bms.const import DOMAIN
from tests.ha_compat import LOGBOOK_ROWS_CARRY_THE_EVENT_TYPE
from virtual_bms.device import VirtualJkBms

from .test_event import (
    Clock,
    clock,
    event_entity,
    no_backoff,
    setup_entry,
    undervoltage,
)

__all__ = ["clock", "no_backoff"]  # fixtures used here


@pytest.fixture(autouse=True)
def quiet_sql() -> Iterator[None]:
    """The test harness logs every SQL statement; the recorder thread outlives capture."""
    logger = logging.getLogger("sqlalchemy.engine")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before Home Assistant (the logbook reads it)."""


async def test_logbook_shows_the_event_readably(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    virtual_bms,
    clock: Clock,
) -> None:
    """HA's logbook lists the event with its type; the type is translated."""
    assert await async_setup_component(hass, "logbook", {})
    start = dt_util.utcnow()
    bms: VirtualJkBms = virtual_bms(stream_interval=0.01)
    entry = await setup_entry(hass, bms)
    entity_id = event_entity(hass, bms)
    assert entity_id is not None
    undervoltage(bms)
    bms.battery.advance(5)
    await clock.tick(hass, bms, MIN_READ_INTERVAL_S)
    await async_wait_recording_done(hass)

    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": start.isoformat(),
            "entity_ids": [entity_id],
        }
    )
    response = await client.receive_json()
    assert response["success"]
    (row,) = [r for r in response["result"] if r.get("state") not in (None, "unknown")]
    assert row["entity_id"] == entity_id
    # The frontend names the row by the entity and shows the translated type.
    assert hass.states.get(entity_id).name == "JK_B2A8S20P BMS event"
    if LOGBOOK_ROWS_CARRY_THE_EVENT_TYPE:
        assert row["attributes"] == {"event_type": "cell_undervoltage_protection"}
    else:  # 2026.6's logbook rows have the state (the time) only
        assert "attributes" not in row
    # The frontend shows the translated event type next to the name.
    names = await async_get_translations(hass, "en", "entity", {DOMAIN})
    key = (
        f"component.{DOMAIN}.entity.event.bms_event.state_attributes.event_type"
        ".state.cell_undervoltage_protection"
    )
    assert names[key] == "Cell undervoltage protection"
    german = await async_get_translations(hass, "de", "entity", {DOMAIN})
    assert german[key] == "Zellen-Unterspannungsschutz"
    assert await hass.config_entries.async_unload(entry.entry_id)
