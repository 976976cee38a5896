"""The coordinator's side of the link: the session it owns, and what callers ask of it.

A mixin of the coordinator. It creates the link session (with the BLE-device
lookup and the proxy-slot turn of scheduler.py) and offers the reads, writes
and actions controls and services need: validated before anything is sent,
errors translated by errors.py. Nothing else reaches the session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

from bleak.backends.device import BLEDevice
from homeassistant.components import bluetooth
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from . import errors
from .const import DOMAIN, ConnectionMode
from .protocol import (
    Command,
    DeviceInfo,
    FrameType,
    Logbook,
    ProtocolError,
    RawFrame,
    Variant,
)
from .protocol.session import JkBmsSession, Snapshot
from .scheduler import async_connection_turn
from .validation import check_change_request, validate_change


class LinkCommands:
    """The link session of one BMS, and the reads, writes and actions on it."""

    hass: HomeAssistant
    address: str
    connection_mode: ConnectionMode
    poll_interval: timedelta
    session: JkBmsSession
    _ble_device: BLEDevice | None = None

    def _create_session(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], address: str, *, pair: bool
    ) -> JkBmsSession:
        options: Mapping[str, Any] = entry.options

        def turn() -> AbstractAsyncContextManager[None]:
            return async_connection_turn(
                hass,
                address,
                options,
                streaming=self.connection_mode is ConnectionMode.STREAM,
                poll_interval=self.poll_interval.total_seconds(),
            )

        return JkBmsSession(
            self._current_ble_device,
            mode=self.connection_mode,
            poll_interval=self.poll_interval.total_seconds(),
            pair=pair,
            connection_turn=turn,
            create_task=lambda job: entry.async_create_task(
                hass, job, f"{DOMAIN} {address} link"
            ),
            name=f"{entry.title} ({address})",
        )

    def _current_ble_device(self) -> BLEDevice | None:
        """Return the freshest BLEDevice: from the manager, else the last one seen."""
        if device := bluetooth.async_ble_device_from_address(
            self.hass, self.address, connectable=True
        ):
            self._ble_device = device
        return self._ble_device

    def _cannot_connect(self, err: ProtocolError) -> Exception:
        reason = bluetooth.async_address_reachability_diagnostics(
            self.hass, self.address, bluetooth.BluetoothReachabilityIntent.CONNECTION
        )
        return errors.translate(err, errors.CONNECT, reason=reason)

    @property
    def raw_frames(self) -> Mapping[FrameType, RawFrame]:
        """The last raw frame of each type (diagnostics)."""
        return self.session.raw_frames

    def _async_publish(self) -> None:
        """Hand the latest data to the entities (the coordinator's)."""
        raise NotImplementedError

    @property
    def snapshot(self) -> Snapshot:
        """The session's newest snapshot (known after the first refresh).

        The newest streamed cell frame is decoded in full for it, if one waits.
        """
        snapshot = self.session.refresh()
        assert snapshot is not None
        return snapshot

    @property
    def _shown(self) -> Snapshot:
        """The snapshot last shown (variant, device info, settings: no decode)."""
        assert self.session.snapshot is not None
        return self.session.snapshot

    @property
    def variant(self) -> Variant:
        """Protocol variant (known after the first refresh)."""
        return self._shown.variant

    @property
    def device_info(self) -> DeviceInfo:
        """Decoded device-info frame (known after the first refresh)."""
        return self._shown.device_info

    async def async_write(self, key: str, value: float | str) -> None:
        """Validate, write, read back (nothing is sent when the value is refused).

        Range, chemistry and cross-field rules: validation.py
        (``ServiceValidationError``); a BMS that does not answer or does not
        apply the value: a translated ``HomeAssistantError``.
        """
        check_change_request(self.variant, key, value)  # before anything is read
        settings = self._shown.settings  # refusing early on the newest is safe
        validate_change(settings.values() if settings else {}, self.variant, key, value)
        # Accepting is decided on confirmed settings only (read again if need be).
        current = await self.async_confirmed_values(errors.WRITE, key=key)
        validate_change(current, self.variant, key, value)
        try:
            await self.session.write(key, value)
        except ProtocolError as err:
            raise errors.translate(err, errors.WRITE, key=key, value=value) from err
        self._async_publish()

    async def async_confirmed_values(
        self, operation: str = errors.READ_SETTINGS, *, key: str = ""
    ) -> dict[str, Any]:
        """Return the settings writes are checked against: confirmed, never one frame.

        Read twice alike, or read right now (the session asks the BMS when they
        are not confirmed); errors translated as part of ``operation``.
        """
        try:
            values = await self.session.confirmed_values()
        except ProtocolError as err:
            raise errors.translate(err, operation, key=key) from err
        self._async_publish()
        return values

    async def async_send_action(
        self, command: Command, value: float | None = None
    ) -> None:
        """Send a one-shot action; the BMS's ack confirms it."""
        try:
            await self.session.send_action(command, value)
        except ProtocolError as err:
            raise errors.translate(err, command.name.lower()) from err

    async def async_refresh_settings(self, *, device_info: bool = False) -> None:
        """Re-read the settings (and the device info) now and show them."""
        try:
            await self.session.request_settings()
            if device_info:
                await self.session.request_device_info()
        except ProtocolError as err:
            raise errors.translate(err, errors.READ_SETTINGS) from err
        self._async_publish()

    async def async_request_logbook(self) -> Logbook:
        """Read the logbook (JK02_32S) over the link the session holds or polls."""
        try:
            return await self.session.request_logbook()
        except ProtocolError as err:
            raise errors.translate(err, errors.READ_LOGBOOK) from err

    @asynccontextmanager
    async def async_hold_link(self) -> AsyncIterator[None]:
        """Hold the link for a multi-step action (poll mode connects for it)."""
        try:
            async with self.session.hold_link():
                yield
        except ProtocolError as err:
            raise errors.translate(err, errors.HOLD) from err
