"""The BMS's own story: one event entity per BMS that fires once per new BMS event.

JK02_32S: each new logbook entry (read at connect and when "Detail Logs Count"
changes, else every half hour). JK02_24S has no logbook: protection trips and
releases derived from the alarm bits of the stream, marked ``derived``. JK04
frames carry neither, so it gets no event entity. What was seen last is kept in
the entity's restore data, so nothing fires twice after a reconnect or a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, override

from homeassistant.components.event import (
    EventEntity,
    EventEntityDescription,
    EventExtraStoredData,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .bms_events import (
    EVENT_TYPES,
    AlarmTrips,
    BmsEvent,
    LogbookReads,
    LogbookTracker,
    Marker,
)
from .coordinator import JkBmsConfigEntry, JkBmsCoordinator
from .entity import JK02, JkBmsEntity, JkBmsEntityDescription, is_supported
from .protocol import CellInfo, Logbook, Variant

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0
STORY_KEY = "jk_bms"  # our part of the restore data


@dataclass(frozen=True, kw_only=True)
class JkBmsEventEntityDescription(JkBmsEntityDescription, EventEntityDescription):
    """Describes the BMS event entity."""


BMS_EVENT = JkBmsEventEntityDescription(
    key="bms_event",
    translation_key="bms_event",
    event_types=list(EVENT_TYPES),
    variants=JK02,
)
EVENTS: tuple[JkBmsEventEntityDescription, ...] = (BMS_EVENT,)


@dataclass
class StoredStory(EventExtraStoredData):
    """The event entity's restore data plus what was seen last."""

    jk_bms: dict[str, Any] = field(default_factory=dict)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: JkBmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the event entity where the variant tells a story."""
    coordinator = entry.runtime_data
    async_add_entities(
        JkBmsEventEntity(coordinator, description)
        for description in EVENTS
        if is_supported(description, coordinator)
    )


class JkBmsEventEntity(JkBmsEntity, EventEntity):
    """Fires once per new logbook entry (32S) or derived protection trip (24S)."""

    entity_description: JkBmsEventEntityDescription

    def __init__(
        self, coordinator: JkBmsCoordinator, description: JkBmsEventEntityDescription
    ) -> None:
        """Start with nothing seen; the restore data fills it in when added."""
        super().__init__(coordinator, description)
        self._has_logbook = coordinator.variant is Variant.JK02_32S
        self._logbook = LogbookTracker()
        self._trips = AlarmTrips()
        self._reads = LogbookReads()
        self._seen_logbook: Logbook | None = None
        self._seen_cell_info: CellInfo | None = None
        self._was_connected = False
        self._reading = False  # a read is in flight (poll mode: until the next poll)
        self._read_task: asyncio.Task[None] | None = None

    @property
    @override
    def available(self) -> bool:
        """Always: the last event stays true while the link is down."""
        return True

    @override
    def _shown_value(self) -> object:
        """Unused: the entity writes its state when it fires, not per update."""
        return None

    @property
    @override
    def extra_restore_state_data(self) -> StoredStory:
        """Keep the last event and what was seen last."""
        event = super().extra_restore_state_data
        marker = self._logbook.marker
        last_alarms = self._trips.last
        return StoredStory(
            event.last_event_type,
            event.last_event_attributes,
            {
                "logbook": None if marker is None else marker.as_dict(),
                "alarms": None if last_alarms is None else sorted(last_alarms),
            },
        )

    @override
    async def async_added_to_hass(self) -> None:
        """Restore what was seen last, then look at the current data."""
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel_read)
        extra = await self.async_get_last_extra_data()
        story = extra.as_dict().get(STORY_KEY) if extra is not None else None
        if isinstance(story, dict):
            self._logbook = LogbookTracker(Marker.from_dict(story.get("logbook")))
            alarms = story.get("alarms")
            if isinstance(alarms, list) and all(isinstance(a, str) for a in alarms):
                self._trips = AlarmTrips(frozenset(alarms))
        self._process()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Fire what is new in this update."""
        self._process()

    def _process(self) -> None:
        data = self.coordinator.data
        connected = self.coordinator.link_connected
        if connected and not self._was_connected:
            self._reads.connected()
        self._was_connected = connected
        if self._has_logbook:
            events = self._new_logbook_events(data.logbook, data.cell_info)
            self._maybe_read(data.cell_info, connected)
        else:
            events = self._new_trips(data.cell_info)
        for event in events:
            self._fire(event)

    def _new_logbook_events(
        self, logbook: Logbook | None, cell_info: CellInfo | None
    ) -> list[BmsEvent]:
        if logbook is None or logbook is self._seen_logbook:
            return []
        self._seen_logbook = logbook
        # Handed on at once: the latest cell frame's runtime is at most one
        # frame interval older than now (the README states the accuracy).
        runtime = None if cell_info is None else cell_info.total_runtime
        dropped = sum(self._logbook.drops.values())
        events = self._logbook.new_events(logbook, runtime, dt_util.utcnow())
        if sum(self._logbook.drops.values()) > dropped:
            _LOGGER.debug(
                "%s: logbook frame dropped (%s)",
                self.entity_id,
                dict(self._logbook.drops),
            )
        return events

    def _new_trips(self, cell_info: CellInfo | None) -> list[BmsEvent]:
        if cell_info is None or cell_info is self._seen_cell_info:
            return []
        self._seen_cell_info = cell_info
        return self._trips.new_events(cell_info.alarms, dt_util.utcnow())

    def _maybe_read(self, cell_info: CellInfo | None, connected: bool) -> None:
        count = None if cell_info is None else cell_info.detail_logs_count
        now = time.monotonic()
        if self._reading or not connected or not self._reads.due(count, now):
            return
        self._reads.read(now)
        self._reading = True
        # Not a tracked background task: in poll mode the read waits for the
        # next poll (minutes), and nothing should wait for it (start-up, tests).
        # Cancelled when the entity goes.
        self._read_task = self.hass.loop.create_task(self._read_logbook())

    @callback
    def _cancel_read(self) -> None:
        if self._read_task is not None:
            self._read_task.cancel()

    async def _read_logbook(self) -> None:
        try:
            await self.coordinator.async_request_logbook()
        except HomeAssistantError as err:
            self._reads.failed(time.monotonic())
            _LOGGER.debug("%s: logbook read failed: %s", self.entity_id, err)
        finally:
            self._reading = False

    def _fire(self, event: BmsEvent) -> None:
        self._trigger_event(event.event_type, event.attributes())
        self.async_write_ha_state()
