"""The connection core of a link session: connect, handshake, shield, publish, exchange.

``LinkCore`` holds what one connection needs: the client, the connection turn
(entered before connecting, left when the link is down), the shield, the newest
snapshot and the serialised exchanges on the link (requests, actions, writes
with ack and read-back). ``JkBmsSession`` (session.py) adds the life cycle.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import replace
from typing import Any, Final

from bleak.backends.device import BLEDevice

from .client import Handshake, JkBmsClient, LinkStats
from .commands import Command, encode_action, encode_write, registers_for
from .decoding import decode_frame
from .enums import FrameType, Variant
from .errors import (
    ConnectionFailedError,
    ImplausibleFrameError,
    NotConnectedError,
    ProtocolError,
    SettingsUnconfirmedError,
    WriteNotConfirmedError,
)
from .fields import Value
from .framing import RawFrame
from .models import CellInfo, CellSample, DeviceInfo, Logbook, Settings
from .register_spec import Readback
from .sampling import decode_cell_sample
from .setting_rules import holds, normalize
from .snapshot import Frame, FrameShield, LinkMode, LinkStatus, Snapshot

_LOGGER = logging.getLogger(__name__)

# Streamed cell frames to wait for when a write reads back from them (emergency).
CELL_READBACK_FRAMES: Final = 3
# Frames of one kind read while connecting until the shield accepts one.
FIRST_FRAME_ATTEMPTS: Final = 3

_FRAME_TYPES: Final[Mapping[type, tuple[str, FrameType]]] = {
    DeviceInfo: ("device_info", FrameType.DEVICE_INFO),
    Settings: ("settings", FrameType.SETTINGS),
    CellInfo: ("cell_info", FrameType.CELL_INFO),
    Logbook: ("logbook", FrameType.LOGBOOK),
}


def no_turn() -> AbstractAsyncContextManager[None]:
    """Connect without waiting for a turn (no scheduler)."""
    return nullcontext()


class LinkCore:
    """One BMS's connection, its snapshot and the exchanges on it."""

    def __init__(
        self,
        ble_device: Callable[[], BLEDevice | None],
        *,
        mode: LinkMode,
        pair: bool,
        connection_turn: Callable[[], AbstractAsyncContextManager[None]],
        shield_factory: Callable[[Variant], FrameShield],
        name: str,
    ) -> None:
        """Remember how to reach the BMS; nothing is sent yet."""
        self._ble_device = ble_device
        self.mode = mode
        self._turn_factory = connection_turn
        self._shield_factory = shield_factory
        self.name = name
        self.stats = LinkStats()
        self._client = JkBmsClient(
            self._device,
            pair=pair,
            stats=self.stats,
            on_frame=self._on_raw,
            on_lost=self._on_lost,
        )
        self._turn: AbstractAsyncContextManager[None] | None = None
        self._shield: FrameShield | None = None
        self._variant: Variant | None = None
        self._snapshot: Snapshot | None = None
        self._accepted: dict[FrameType, tuple[RawFrame, Frame]] = {}
        self._status = LinkStatus()
        self._ready = False
        self._io = asyncio.Lock()  # one exchange on the link at a time
        self._hold = asyncio.Lock()  # one multi-step action at a time
        self._connecting = asyncio.Lock()
        self._users = 0  # poll mode: who uses the connection now
        self._subscribers: list[Callable[[Snapshot], None]] = []
        self._link_subscribers: list[Callable[[LinkStatus], None]] = []
        self._last_cell_at: float | None = None
        self._pending_cell: tuple[RawFrame, float] | None = None  # sampled, not shown
        self._before_pending: tuple[RawFrame, float] | None = None  # the one before
        self._refresh_dropped = False  # the shield dropped the last frame to show
        self._sample_subscribers: list[Callable[[CellSample, float], None]] = []

    @staticmethod
    def _now() -> float:
        """Return the session clock: monotonic seconds (receive times, the watchdog)."""
        return time.monotonic()

    def _on_lost(self) -> None:
        """Bleak reports the link lost (not our own disconnect)."""
        self._ready = False

    def _write_failed(self, frame_type: FrameType) -> None:
        """Handle a failed write that may have reached the BMS (the session re-reads)."""

    @property
    def snapshot(self) -> Snapshot | None:
        """The newest snapshot."""
        return self._snapshot

    @property
    def status(self) -> LinkStatus:
        """The current link status."""
        return self._status

    @property
    def variant(self) -> Variant | None:
        """Protocol variant, known after the first connect."""
        return self._variant

    @property
    def connected(self) -> bool:
        """Whether the link is up and the handshake is done."""
        return self._ready and self._client.is_connected

    @property
    def raw_frames(self) -> Mapping[FrameType, RawFrame]:
        """The last raw frame of each type (diagnostics)."""
        return dict(self._client.raw_frames)

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]:
        """Call ``callback`` with every new snapshot; returns the remover."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def subscribe_samples(
        self, callback: Callable[[CellSample, float], None]
    ) -> Callable[[], None]:
        """Call ``callback`` with every streamed cell frame's sample; the remover."""
        self._sample_subscribers.append(callback)
        return lambda: self._sample_subscribers.remove(callback)

    def subscribe_link(
        self, callback: Callable[[LinkStatus], None]
    ) -> Callable[[], None]:
        """Call ``callback`` with every link status; returns the remover."""
        self._link_subscribers.append(callback)
        return lambda: self._link_subscribers.remove(callback)

    def diagnostics(self) -> dict[str, Any]:
        """Counters of the link, the parser and the shield."""
        return {
            "link": self.stats.as_dict(),
            "parser": self._client.parser.stats.as_dict(),
            "drops": dict(self._shield.drops) if self._shield else {},
            "reconnect_attempt": self._status.attempt,
        }

    def _check(self, frame: Frame, at: float) -> str | None:
        assert self._shield is not None
        reason = self._shield.check(frame, at)
        if reason is not None:
            self.stats.implausible_frames += 1
        return reason

    def _on_raw(self, raw: RawFrame) -> None:
        """Take a frame that arrived on the open link (cell frames: sampled)."""
        if not self._ready:
            return  # the handshake reads these itself
        at = self._now()
        if raw.frame_type is FrameType.CELL_INFO:
            self._sample(raw, at)
            return
        if (frame := self._decode(raw)) is not None and self._check(frame, at) is None:
            self._accepted[raw.frame_type] = (raw, frame)
            self._publish(frame, at)

    def _decode(self, raw: RawFrame) -> Frame | None:
        try:
            return decode_frame(raw, self._variant)
        except ProtocolError as err:
            self.stats.decode_errors += 1
            _LOGGER.debug("Dropped a %s frame: %s", raw.frame_type.name, err)
            return None

    def _sample(self, raw: RawFrame, at: float) -> None:
        """Every cell frame: its sampled values, shielded, to the sample subscribers.

        The whole frame is decoded and shielded when it is shown (``refresh``).
        """
        assert self._variant is not None
        try:
            sample = decode_cell_sample(raw.data, self._variant)
        except ProtocolError as err:
            self.stats.decode_errors += 1
            _LOGGER.debug("Dropped a cell frame: %s", err)
            return
        assert self._shield is not None
        if self._shield.check_sample(sample, at) is not None:
            self.stats.implausible_frames += 1
            # The full check sees frames in order: this one, not older ones.
            self._pending_cell = self._before_pending = None
            self._observe((raw, at))  # a real jump: this frame shows it first
            return
        self._last_cell_at = at
        self._before_pending, self._pending_cell = self._pending_cell, (raw, at)
        for callback in list(self._sample_subscribers):
            callback(sample, at)
        if self._refresh_dropped:
            self.refresh()  # the last one shown was dropped: try this frame now

    def refresh(self) -> Snapshot | None:
        """Decode and shield the newest sampled cell frame in full; the newest snapshot.

        Called when the data is shown (the hand-on): the snapshot subscribers get
        the frame if the shield accepts it; if not, the last accepted one stays
        and the next sampled frame is tried at once. When the check fails, the
        frame received before it is checked first (see ``check_sampled``).
        """
        if (pending := self._pending_cell) is None:
            return self._snapshot
        before, self._pending_cell, self._before_pending = (
            self._before_pending,
            None,
            None,
        )
        raw, at = pending
        if not isinstance(frame := self._decode(raw), CellInfo):
            return self._snapshot  # undecodable (counted)

        def earlier() -> tuple[CellInfo, float] | None:
            if before is None or not isinstance(
                cell := self._decode(before[0]), CellInfo
            ):
                return None
            return cell, before[1]

        assert self._shield is not None
        self._refresh_dropped = (
            self._shield.check_sampled(frame, at, earlier) is not None
        )
        if self._refresh_dropped:
            self.stats.implausible_frames += 1
        else:
            self._accepted[raw.frame_type] = (raw, frame)
            self._publish(frame, at)
        return self._snapshot

    def _observe(self, cell: tuple[RawFrame, float]) -> None:
        """Let a cell frame that is not shown meet the full check (uncounted)."""
        raw, at = cell
        if isinstance(frame := self._decode(raw), CellInfo):
            assert self._shield is not None
            self._shield.observe(frame, at)

    def _accepted_frame(self, raw: RawFrame) -> Frame | None:
        """Return the decoded frame of ``raw`` if the shield let it through."""
        pending = self._pending_cell
        if pending is not None and pending[0] is raw:
            self.refresh()
        accepted = self._accepted.get(raw.frame_type)
        return accepted[1] if accepted is not None and accepted[0] is raw else None

    def _publish(self, frame: Frame, at: float) -> None:
        name, frame_type = _FRAME_TYPES[type(frame)]
        assert self._variant is not None
        if isinstance(frame, CellInfo):
            self._last_cell_at = max(at, self._last_cell_at or at)
        if self._snapshot is None:
            assert isinstance(frame, DeviceInfo)
            snapshot = Snapshot(self._variant, frame, None, None, None, frame_type, at)
        else:
            snapshot = replace(
                self._snapshot,
                variant=self._variant,
                frame_type=frame_type,
                received_at=at,
                **{name: frame},  # type: ignore[arg-type]  # the field of its type
            )
        self._snapshot = snapshot
        for callback in list(self._subscribers):
            callback(snapshot)

    def _set_status(self, *, force: bool = False, **changes: Any) -> None:
        status = replace(self._status, **changes)
        if status == self._status and not force:
            return
        self._status = status
        for callback in list(self._link_subscribers):
            callback(status)

    def _device(self) -> BLEDevice:
        if (device := self._ble_device()) is None:
            raise ConnectionFailedError("no Bluetooth adapter or proxy sees it")
        return device

    async def _connect(self) -> None:
        """Connect (the one place): turn first, held until the link is down."""
        turn = self._turn_factory()
        await turn.__aenter__()
        try:
            handshake = await self._client.connect()
            await self._take_handshake(handshake)
        except BaseException:
            await self._client.disconnect()
            await turn.__aexit__(None, None, None)
            raise
        self._turn = turn

    async def _take_handshake(self, handshake: Handshake) -> None:
        """Shield and publish what connecting read (device info, settings, cells)."""
        client = self._client
        if self._shield is None or self._variant is not handshake.variant:
            self._shield = self._shield_factory(handshake.variant)
        self._variant = handshake.variant
        frames = [
            await self._first_accepted(
                handshake.device_info_raw,
                lambda: client.request(Command.DEVICE_INFO, FrameType.DEVICE_INFO),
            ),
            await self._first_accepted(
                handshake.settings_raw,
                lambda: client.request(Command.SETTINGS, FrameType.SETTINGS),
            ),
            await self._first_accepted(
                handshake.cell_raw, lambda: client.wait_frame(FrameType.CELL_INFO)
            ),
        ]
        self._ready = True
        self._pending_cell = self._before_pending = None
        self._refresh_dropped = False  # the handshake's frames are shown whole
        for frame, at in frames:
            self._publish(frame, at)
        cell_raw, _ = self._accepted[FrameType.CELL_INFO]
        self._sample(cell_raw, frames[-1][1])
        self._pending_cell = self._before_pending = None  # shown already

    async def _first_accepted(
        self, raw: RawFrame, again: Callable[[], Awaitable[RawFrame]]
    ) -> tuple[Frame, float]:
        """Decode ``raw``; while the shield drops it, read the next one (a few times)."""
        reason = ""
        for attempt in range(FIRST_FRAME_ATTEMPTS):
            if attempt:
                raw = await again()
            at = self._now()
            frame = decode_frame(raw, self._variant)
            if (reason := self._check(frame, at) or "") == "":
                self._accepted[raw.frame_type] = (raw, frame)
                return frame, at
        raise ImplausibleFrameError(f"{raw.frame_type.name} frame dropped: {reason}")

    async def _disconnect(self) -> None:
        self._ready = False
        await self._client.disconnect()
        await self._release_turn()

    async def _release_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            await turn.__aexit__(None, None, None)

    @asynccontextmanager
    async def _link(self) -> AsyncIterator[JkBmsClient]:
        """Use the link; in poll mode connect for it, and let go after the last user."""
        if self.mode is LinkMode.STREAM:
            if not self.connected:
                raise NotConnectedError("not connected")
            yield self._client
            return
        self._users += 1
        try:
            async with self._connecting:
                if not self.connected:
                    await self._connect()
            yield self._client
        finally:
            self._users -= 1
            if self._users == 0:
                await self._disconnect()

    @asynccontextmanager
    async def hold_link(self) -> AsyncIterator[None]:
        """Hold the link for a multi-step action (one at a time per BMS)."""
        async with self._hold, self._link():
            yield

    async def _request(self, command: Command, frame_type: FrameType) -> RawFrame:
        async with self._link() as client, self._io:
            if not self.connected:
                raise NotConnectedError("not connected")
            return await self._accepted_request(client, command, frame_type)

    async def request_settings(self) -> Snapshot:
        """Re-read the settings (0x96; also restarts a stalled stream)."""
        await self._request(Command.SETTINGS, FrameType.SETTINGS)
        assert self._snapshot is not None
        return self._snapshot

    async def request_device_info(self) -> Snapshot:
        """Re-read the device info (0x97)."""
        await self._request(Command.DEVICE_INFO, FrameType.DEVICE_INFO)
        assert self._snapshot is not None
        return self._snapshot

    async def confirmed_values(self) -> dict[str, Value]:
        """Return the settings (and device-info values) writes are checked against.

        Never one unverified frame: the settings confirmed by two matching reads,
        else read right now (the shield confirms a read that matches the last
        one, and asks again for a changed one). ``SettingsUnconfirmedError`` when
        even that leaves them unconfirmed (every read garbled differently).
        """
        if self._shield is None or self._shield.confirmed_settings is None:
            await self.request_settings()
        settings = self._shield.confirmed_settings if self._shield else None
        if settings is None:
            raise SettingsUnconfirmedError("the settings could not be read twice alike")
        assert self._snapshot is not None
        info = self._shield.confirmed_device_info if self._shield else None
        return {**(info or self._snapshot.device_info).values(), **settings.values()}

    async def send_action(self, command: Command, value: float | None = None) -> None:
        """Send a one-shot action (restart, preset, calibration …); wait for the ack."""
        if self._variant is None:
            raise NotConnectedError("not connected yet")
        payload = encode_action(command, self._variant, value)  # validates first
        async with self._link() as client, self._io:
            if not self.connected:
                raise NotConnectedError("not connected")
            await client.send_acked(payload)

    async def write(self, key: str, value: float | str) -> Snapshot:
        """Write one setting: write → ack → read back → compare (protocol doc §8.4).

        ``InvalidValueError`` before anything is sent when the value is out of
        range; ``ResponseTimeoutError`` / ``ConnectionFailedError`` when the BMS
        does not answer; ``WriteNotConfirmedError`` when it reads back another value.
        """
        if self._variant is None:
            raise NotConnectedError("not connected yet")
        payload = encode_write(key, value, self._variant)  # validates first
        spec = registers_for(self._variant)[key]
        target = normalize(spec, value)
        if self._shield is not None:
            self._shield.expect_write(spec.readback.key, target)
        sent = False
        try:
            async with self._link() as client, self._io:
                if not self.connected:
                    raise NotConnectedError("not connected")
                self.stats.writes += 1
                sent = True
                await client.send_acked(payload)
                actual = await self._read_back(
                    spec.readback, lambda got: holds(spec, got, target)
                )
            if not holds(spec, actual, target):
                raise WriteNotConfirmedError(key, value, actual)
        except ProtocolError:
            if sent:
                self.stats.write_failures += 1
                self._write_failed(spec.readback.frame_type)
            raise
        assert self._snapshot is not None
        return self._snapshot

    async def _read_back(
        self, readback: Readback, matches: Callable[[object], bool]
    ) -> object:
        """Read the value back from the frame the register table names.

        Settings and device info are requested (0x96 / 0x97). The cell-info
        frame (the emergency countdown) is streamed, not requested: wait for the
        next few frames, since the one already on its way may predate the write.
        """
        client = self._client
        if readback.frame_type is FrameType.CELL_INFO:
            actual: object = None
            for _ in range(CELL_READBACK_FRAMES):
                actual = self._value(
                    await client.wait_frame(readback.frame_type), readback
                )
                if matches(actual):
                    break
            return actual
        command = (
            Command.DEVICE_INFO
            if readback.frame_type is FrameType.DEVICE_INFO
            else Command.SETTINGS
        )
        raw = await self._accepted_request(client, command, readback.frame_type)
        return self._value(raw, readback)

    async def _accepted_request(
        self, client: JkBmsClient, command: Command, frame_type: FrameType
    ) -> RawFrame:
        """Request a frame; while the shield drops the answer, ask again (a few times).

        A garbled settings frame or one with a value changed behind our back is
        not trusted until read twice: the second read decides.
        """
        raw = await client.request(command, frame_type)
        for _ in range(FIRST_FRAME_ATTEMPTS - 1):
            if self._accepted_frame(raw) is not None:
                break
            raw = await client.request(command, frame_type)
        return raw

    def _value(self, raw: RawFrame, readback: Readback) -> object:
        frame = self._accepted_frame(raw)
        return None if frame is None else frame.values().get(readback.key)
