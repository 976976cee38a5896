"""Coordinator for a JK BMS: subscribes to the link session, derives values, states at a cadence.

The session (protocol/session.py) owns the link; every snapshot moves the energy
meters (data.py ``add``), and one frozen ``JkBmsData`` with derived.py's values
goes to the entities once per ``update_interval`` option, or at once when a
watched value changed. Typed protocol errors become translated exceptions in
errors.py, called only here and in link_commands.py (the reads, writes and
actions callers ask for).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, override

from homeassistant.components import bluetooth
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from . import compat
from .const import (
    CONF_CONNECTION_MODE,
    CONF_PAIR,
    CONF_POLL_INTERVAL,
    CONF_UPDATE_INTERVAL,
    DEFAULT_CONNECTION_MODE,
    DEFAULT_PAIR,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_UPDATE_INTERVAL,
    ENERGY_MAX_GAP,
    UPDATES_LOGGER,
    ConnectionMode,
)
from .data import DataBuilder, JkBmsData
from .derived import EnergyMeter
from .link_commands import LinkCommands
from .protocol import CellSample, ProtocolError
from .protocol.session import LinkStatus, Snapshot

_LOGGER = logging.getLogger(__name__)

type JkBmsConfigEntry = ConfigEntry[JkBmsCoordinator]

__all__ = ["JkBmsConfigEntry", "JkBmsCoordinator", "JkBmsData"]


class JkBmsCoordinator(LinkCommands, DataUpdateCoordinator[JkBmsData]):
    """Push-style coordinator of one JK BMS; availability follows the link."""

    config_entry: JkBmsConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: JkBmsConfigEntry, address: str
    ) -> None:
        """Prepare; nothing is connected until the first refresh."""
        options = entry.options
        mode = ConnectionMode(
            options.get(CONF_CONNECTION_MODE, DEFAULT_CONNECTION_MODE)
        )
        poll = float(options.get(CONF_POLL_INTERVAL, DEFAULT_POLL_INTERVAL))
        self.connection_mode = mode
        self.poll_interval = timedelta(seconds=poll)
        self.update_cadence = float(
            options.get(CONF_UPDATE_INTERVAL, DEFAULT_UPDATE_INTERVAL)
        )
        name = f"{entry.title} ({address})"  # in log lines
        super().__init__(hass, UPDATES_LOGGER, config_entry=entry, name=name)
        self.address = address
        self.session = self._create_session(
            hass, entry, address, pair=options.get(CONF_PAIR, DEFAULT_PAIR)
        )
        self.link_connected = False
        # Why the last connect or poll failed (repairs); None once connected.
        self.link_error: ProtocolError | None = None
        gap = ENERGY_MAX_GAP + (2 * poll if mode is ConnectionMode.POLL else 0.0)
        self._builder = DataBuilder(gap)
        self._live = False  # after the first refresh: snapshots are published
        self._hand_ons = 0  # _async_publish calls (did the Debouncer call it now?)
        self._building = False  # in _build: the snapshot it refreshes is shown now
        self._publisher = Debouncer(
            hass,
            _LOGGER,
            cooldown=self.update_cadence,
            immediate=True,
            function=self._async_publish,
        )
        self._unsubs: list[CALLBACK_TYPE] = []

    @property
    def energy(self) -> EnergyMeter:
        """The energy counters, every frame included (also those not shown yet)."""
        return self._builder.energy

    @override
    async def _async_setup(self) -> None:
        """Connect and read device info, settings and the first cell frame."""
        self._unsubs += [
            self.session.subscribe(self._on_snapshot),
            self.session.subscribe_samples(self._on_sample),
            self.session.subscribe_link(self._on_link),
        ]
        try:
            await self.session.start()
        except ProtocolError as err:
            self.link_error = err
            raise self._cannot_connect(err) from err
        self.link_connected = self._live = True
        self._unsubs += [
            # Every advert: RSSI, the best path, a dropped BMS back on the air.
            compat.async_register_advertisement_callback(
                self.hass, self._handle_advertisement, self.address
            ),
            # Last: a fired listen_once is already gone (see _async_handle_stop).
            self.hass.bus.async_listen_once(
                EVENT_HOMEASSISTANT_STOP, self._async_handle_stop
            ),
        ]

    @override
    async def _async_update_data(self) -> JkBmsData:
        """Return the data of the newest snapshot (the session streams or polls)."""
        data = self._build()
        assert data is not None
        return data

    def _build(self) -> JkBmsData | None:
        self._building = True
        try:
            self.session.refresh()  # the newest cell frame in full, to _on_snapshot
        finally:
            self._building = False
        return self._builder.build(dt_util.utcnow())

    @callback
    def _on_snapshot(self, snapshot: Snapshot) -> None:
        """Take a frame to show: urgent unless this hand-on asked for it.

        Settings, device info and the logbook come rarely; a cell frame comes
        outside a hand-on when it replaces one the shield dropped, or when a
        write or an action asked for the newest frame.
        """
        if self._builder.add(snapshot) or not self._building:
            self._hand_on_now()

    @callback
    def _on_sample(self, live: CellSample, at: float) -> None:
        """Every streamed cell frame: the meters move; the entities get it at the cadence."""
        if self._builder.add_sample(live, at):
            self._hand_on_now()  # a watched value changed
        elif self._live and self.connection_mode is ConnectionMode.STREAM:
            self._publisher.async_schedule_call()  # now, or at the end of the cooldown

    @callback
    def _hand_on_now(self) -> None:
        if not self._live or self.connection_mode is ConnectionMode.POLL:
            return  # the first refresh, or the end of the poll, publishes
        hand_ons = self._hand_ons
        self._publisher.async_schedule_call()  # now, or at the end of the cooldown
        if self._hand_ons == hand_ons:  # in the cooldown: show it now too
            self._async_publish()

    @callback
    def _on_link(self, status: LinkStatus) -> None:
        self.link_error = status.error
        if not self._live:
            return  # the first refresh reports for itself
        if status.available and not self.link_connected:
            _LOGGER.info("%s is back online", self.name)
        if self.connection_mode is ConnectionMode.POLL:
            self.link_connected = status.available
            if status.available:
                self._async_publish()
            elif status.error is not None:
                self._builder.link_lost(average_too=False)
                self.async_set_update_error(self._cannot_connect(status.error))
            return
        if not status.connected:
            self._builder.link_lost()
            compat.async_deliver_next_advert(self.hass, self.address)
        if status.available == self.link_connected:
            self.async_update_listeners()  # the repairs look at the error
            return
        self.link_connected = status.available
        if status.available and (data := self._build()) is not None:
            self.async_set_updated_data(data)  # availability changed
        else:
            _LOGGER.info("%s is unavailable: link lost", self.name)
            self._publisher.async_cancel()
            self.async_update_listeners()

    @callback
    def _async_publish(self) -> None:
        """Hand the latest data to the entities (cell frames: once per cadence)."""
        self._hand_ons += 1
        if (data := self._build()) is not None:
            self.async_set_updated_data(data)

    @callback
    def async_publish_now(self) -> None:
        """Write the latest values to the entities now, ignoring the cadence.

        Before a stop or an unload: the throttled write would be cancelled, and
        the energy counters would store (and later restore) a value up to one
        cadence old, losing that energy on every restart.
        """
        self._publisher.async_cancel()
        if (data := self._build()) is not None:
            # Not async_set_updated_data: that would mark a lost link as a
            # successful update while stopping.
            self.data = data
            self.async_update_listeners()

    @callback
    def _handle_advertisement(
        self, service_info: bluetooth.BluetoothServiceInfoBleak
    ) -> None:
        """Keep the BLEDevice (best path) and the RSSI fresh; hint a reconnect."""
        self._ble_device = service_info.device
        self._builder.update(rssi=service_info.rssi)  # shown at the next hand-on
        self.session.advertisement_seen()

    @callback
    def restore_energy(
        self, charged_kwh: float | None, discharged_kwh: float | None
    ) -> None:
        """Continue the counters from the values before the restart (once each)."""
        self._builder.restore_energy(charged_kwh, discharged_kwh)
        self._restored()

    @callback
    def restore_last_full_charge(self, when: datetime | None) -> None:
        """Keep the last full charge from before the restart, unless newer is known."""
        self._builder.restore_last_full_charge(when)
        self._restored()

    def _restored(self) -> None:
        if self._live and (data := self._build()) is not None:
            self.data = data  # entities being added read it; no write yet

    async def _async_handle_stop(self, _event: Event) -> None:
        """Home Assistant stops: let go of the link (the BMS holds one central)."""
        self._unsubs.pop()  # the stop listener, already gone once fired
        self.async_publish_now()  # before the final write of the restore states
        await self._async_stop()

    async def _async_stop(self) -> None:
        self._publisher.async_shutdown()
        while self._unsubs:
            self._unsubs.pop()()
        await self.session.stop()
        self.link_connected = False

    @override
    async def async_shutdown(self) -> None:
        """Unload: cancel timers and free the link (and the proxy slot)."""
        await super().async_shutdown()
        await self._async_stop()

    def diagnostics(self) -> dict[str, Any]:
        """Link state for diagnostics."""
        return {
            "connection_mode": self.connection_mode,
            "poll_interval": self.poll_interval.total_seconds(),
            "update_interval": self.update_cadence,
            "link_connected": self.link_connected,
            "client_connected": self.session.connected,
            "rssi": self._builder.state.rssi,
        } | self.session.diagnostics()
