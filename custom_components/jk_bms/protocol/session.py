"""The link session: the one owner of the Bluetooth link to one JK BMS (no Home Assistant).

A session connects (inside the connection turn its owner passes in, held until
the link is down), streams or polls, reconnects with backoff, restarts a stalled
stream, re-reads after a failed write, and publishes one immutable ``Snapshot``
per accepted frame (link.py: connection, shield, exchanges; snapshot.py: the
published types). Errors are the typed ones of errors.py. See
docs/architecture.md for the contract.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from bleak.backends.device import BLEDevice

from .commands import Command
from .enums import FrameType, Variant
from .errors import ImplausibleFrameError, NotConnectedError, ProtocolError
from .link import LinkCore, no_turn
from .models import Logbook
from .shield import FrameShield as DefaultShield
from .snapshot import FrameShield, LinkMode, LinkStatus, Snapshot

__all__ = [
    "FrameShield",
    "JkBmsSession",
    "LinkMode",
    "LinkStatus",
    "Snapshot",
]

_LOGGER = logging.getLogger(__name__)

RECONNECT_INITIAL_DELAY: Final = 2.0  # s; doubles per failed attempt
RECONNECT_MAX_DELAY: Final = 300.0  # s
STREAM_STALL_SECONDS: Final = 15.0  # no cell frame this long: restart the stream
WATCHDOG_INTERVAL: Final = 10.0  # s
SETTINGS_REFRESH_INTERVAL: Final = 300.0  # s; the settings frame is not streamed
# After a failed or unconfirmed write, re-read what the BMS has this much later:
# a lost ack does not mean a lost write (batmon waits 0.2 s before re-reading).
WRITE_REREAD_DELAY: Final = 1.0

type Job = Callable[[], Coroutine[Any, Any, None]]


class JkBmsSession(LinkCore):
    """The Bluetooth link to one JK BMS, over its whole life."""

    def __init__(
        self,
        ble_device: Callable[[], BLEDevice | None],
        *,
        mode: LinkMode = LinkMode.STREAM,
        poll_interval: float = 60.0,
        pair: bool = False,
        connection_turn: Callable[[], AbstractAsyncContextManager[None]] = no_turn,
        shield_factory: Callable[[Variant], FrameShield] = DefaultShield,
        create_task: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]
        | None = None,
        name: str = "",
    ) -> None:
        """Remember how to reach the BMS; nothing is sent before start() or probe()."""
        super().__init__(
            ble_device,
            mode=mode,
            pair=pair,
            connection_turn=connection_turn,
            shield_factory=shield_factory,
            name=name,
        )
        self.poll_interval = poll_interval
        self._create_task = create_task
        self._stopping = False
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._restart_sent = False
        self._reread: set[FrameType] = set()
        self._logbook_waiters: list[asyncio.Future[Logbook]] = []

    async def start(self) -> Snapshot:
        """Connect and read everything; then stream, or poll every poll interval."""
        self._stopping = False
        try:
            async with self._connecting:
                await self._connect()
        except ProtocolError as err:
            self._set_status(error=err)
            raise
        if self.mode is LinkMode.POLL:
            await self._disconnect()
            self._set_status(connected=False, available=True, error=None)
            self._arm("poll", self.poll_interval, self._poll)
        else:
            self._set_status(connected=True, available=True, error=None)
            self._arm("watchdog", WATCHDOG_INTERVAL, self._watchdog)
            self._arm("settings", SETTINGS_REFRESH_INTERVAL, self._refresh_settings)
        assert self._snapshot is not None
        return self._snapshot

    async def probe(self) -> Snapshot:
        """Connect, read everything, let go (a config flow checking a device)."""
        async with self._connecting:
            await self._connect()
        try:
            assert self._snapshot is not None
            return self._snapshot
        finally:
            await self._disconnect()

    async def stop(self) -> None:
        """Cancel every timer and task, let go of the link; nothing reconnects."""
        self._stopping = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        for waiter in self._logbook_waiters:
            if not waiter.done():
                waiter.set_exception(NotConnectedError("stopped"))
                waiter.exception()
        self._logbook_waiters.clear()
        await self._disconnect()

    def advertisement_seen(self) -> None:
        """Reconnect now rather than after the backoff: it advertises again.

        Only a reconnect further away than the first backoff step is brought
        forward: a proxy passing on every advert (several a second) would
        otherwise push it back by that step again and again.
        """
        handle = self._timers.get("reconnect")
        if (
            self.mode is not LinkMode.STREAM
            or self._stopping
            or self._status.connected
            or handle is None
            or handle.when() - asyncio.get_running_loop().time()
            <= RECONNECT_INITIAL_DELAY
        ):
            return
        del self._timers["reconnect"]
        handle.cancel()
        self._set_status(attempt=0)
        self._schedule_reconnect()

    def _on_lost(self) -> None:
        """Bleak reports the link lost (not our own disconnect)."""
        self._ready = False
        self._spawn(self._release_turn())
        if self.mode is LinkMode.STREAM and not self._stopping:
            self._set_status(connected=False, available=False)
            self._schedule_reconnect()

    def _write_failed(self, frame_type: FrameType) -> None:
        """Re-read the frame that shows the setting (see _schedule_reread)."""
        self._schedule_reread(frame_type)

    def _arm(self, name: str, delay: float, job: Job) -> None:
        if (old := self._timers.pop(name, None)) is not None:
            old.cancel()

        def fire() -> None:
            self._timers.pop(name, None)
            self._spawn(job())

        self._timers[name] = asyncio.get_running_loop().call_later(delay, fire)

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        if self._create_task is not None:
            task = self._create_task(job)
        else:
            task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _schedule_reconnect(self) -> None:
        if "reconnect" in self._timers or self._stopping:
            return
        attempt = self._status.attempt
        delay = min(RECONNECT_INITIAL_DELAY * 2**attempt, RECONNECT_MAX_DELAY)
        self._set_status(attempt=attempt + 1)
        self._arm("reconnect", delay, self._reconnect)

    async def _reconnect(self) -> None:
        if self._stopping or self.connected:
            return
        try:
            async with self._connecting:
                await self._connect()
        except ProtocolError as err:
            _LOGGER.debug("Reconnect to %s failed: %s", self.name, err)
            self._set_status(error=err)
            self._schedule_reconnect()
            return
        self._set_status(connected=True, available=True, error=None, attempt=0)

    async def _watchdog(self) -> None:
        """Restart a stalled stream (0x96); let go (and reconnect) if that does not help.

        A BMS can keep answering requests while its stream stays stopped: the
        owner would then show frozen values as if they were current.
        """
        self._arm("watchdog", WATCHDOG_INTERVAL, self._watchdog)
        if not self.connected or self._last_cell_at is None:
            return
        if self._now() - self._last_cell_at < STREAM_STALL_SECONDS:
            self._restart_sent = False
            return
        if not self._restart_sent:
            try:
                await self.request_settings()
            except ProtocolError:
                pass  # no answer at all: reconnect
            else:
                self._restart_sent = True
                return
        _LOGGER.debug("Stream from %s stalled; reconnecting", self.name)
        self._restart_sent = False
        await self._disconnect()
        self._set_status(connected=False, available=False)
        self._schedule_reconnect()

    async def _refresh_settings(self) -> None:
        self._arm("settings", SETTINGS_REFRESH_INTERVAL, self._refresh_settings)
        if self.connected:
            try:
                await self.request_settings()
            except ProtocolError as err:
                _LOGGER.debug("Settings refresh from %s failed: %s", self.name, err)

    async def _poll(self) -> None:
        """Poll mode: connect (turn), read everything, serve the logbook, let go."""
        try:
            async with self._link():
                await self._serve_logbook()
        except ProtocolError as err:
            _LOGGER.debug("Poll of %s failed: %s", self.name, err)
            self._set_status(available=False, error=err, force=True)
        else:
            self._set_status(available=True, error=None, force=True)
        finally:
            if not self._stopping:
                self._arm("poll", self.poll_interval, self._poll)

    async def request_logbook(self) -> Logbook:
        """Read the logbook (0xA1, JK02_32S); poll mode between polls: at the next poll."""
        if self.mode is LinkMode.POLL and not self.connected:
            waiter: asyncio.Future[Logbook] = asyncio.get_running_loop().create_future()
            self._logbook_waiters.append(waiter)
            return await waiter
        frame = self._accepted_frame(
            await self._request(Command.LOGBOOK, FrameType.LOGBOOK)
        )
        if not isinstance(frame, Logbook):
            raise ImplausibleFrameError("logbook frame dropped")
        return frame

    async def _serve_logbook(self) -> None:
        waiters, self._logbook_waiters = self._logbook_waiters, []
        for waiter in waiters:
            try:
                waiter.set_result(await self.request_logbook())
            except ProtocolError as err:
                waiter.set_exception(err)

    def _schedule_reread(self, frame_type: FrameType) -> None:
        """Re-read the frame that shows a setting shortly after a failed write.

        The BMS may have applied the value although its ack or read-back got lost.
        """
        self._reread.add(frame_type)
        if "reread" not in self._timers and not self._stopping:
            self._arm("reread", WRITE_REREAD_DELAY, self._do_reread)

    async def _do_reread(self) -> None:
        frames, self._reread = self._reread, set()
        if self.mode is LinkMode.POLL:
            await self._poll()  # connect, read everything, let go
            return
        try:
            if FrameType.SETTINGS in frames:
                await self.request_settings()
            if FrameType.DEVICE_INFO in frames:
                await self.request_device_info()
        except ProtocolError as err:
            _LOGGER.debug("Re-read after a failed write failed: %s", err)
        # Cell-info read-backs (emergency) come with the stream.
