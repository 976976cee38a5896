"""One Bluetooth LE link to a JK BMS: bleak + bleak-retry-connector, no Home Assistant.

The client connects, finds the data characteristic(s) of either BLE module
layout (protocol doc §1.1), subscribes, asks for the device info (0x97), picks
the protocol variant, asks for the settings (0x96, which also starts the
cell-info stream) and checks the first cell frame against the variant (§3, §10).
From then on every notification is reassembled, decoded and handed to the
frame listeners. Writes are serialised with requests and only count once the
BMS's own read-back shows the new value (§8.4).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import bleak_retry_connector
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTServiceCollection
from bleak.exc import BleakError

from . import (
    Ack,
    CellInfo,
    Command,
    DeviceInfo,
    FrameType,
    ImplausibleFrameError,
    Logbook,
    ProtocolError,
    RawFrame,
    Settings,
    StreamParser,
    Variant,
    VariantMismatchError,
    check_cell_info,
    check_plausibility,
    decode_cell_info,
    decode_device_info,
    decode_frame,
    decode_settings,
    detect_variant,
    encode_action,
    encode_request,
    encode_write,
    registers_for,
)

_LOGGER = logging.getLogger(__name__)

DATA_CHAR_UUID = "0000ffe1-0000-1000-8000-00805f9b34fb"

REQUEST_TIMEOUT = 5.0  # s to wait for a requested frame
ACK_TIMEOUT = 1.0  # s to wait for the ack of a write (protocol doc §8.4)
REQUEST_ATTEMPTS = 2  # the first request after subscribing is sometimes missed
# Streamed cell frames to wait for when a write reads back from them (emergency).
CELL_READBACK_FRAMES = 3
# Cell frames read while connecting until one is plausible (a garbled one is rare).
FIRST_CELL_FRAME_ATTEMPTS = 3

type Frame = DeviceInfo | CellInfo | Settings | Logbook
type FrameListener = Callable[[Frame], None]
type LinkListener = Callable[[bool], None]


class JkBmsClientError(ProtocolError):
    """Talking to the BMS failed (link, timeout, read-back)."""


class JkBmsConnectionError(JkBmsClientError):
    """The link could not be established, was lost, or a GATT operation failed."""


class NotConnectedError(JkBmsClientError):
    """An operation needs the link, and it is down."""


class ResponseTimeoutError(JkBmsClientError):
    """The BMS did not answer a request or acknowledge a write in time."""


class NotJkBmsError(JkBmsClientError):
    """The device connected, but it does not look or talk like a JK BMS."""


class ReadBackError(JkBmsClientError):
    """The BMS acknowledged a write, but its settings do not show the new value."""

    def __init__(self, key: str, expected: object, actual: object) -> None:
        """Keep the key and both values for the caller's message."""
        super().__init__(f"{key}: wrote {expected!r}, BMS reports {actual!r}")
        self.key = key
        self.expected = expected
        self.actual = actual


@dataclass(slots=True)
class LinkStats:
    """Counters for diagnostics (the parser keeps its own)."""

    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    unexpected_disconnects: int = 0
    notifications: int = 0
    bytes_received: int = 0
    decode_errors: int = 0
    # Cell frames that passed the checksum but not the plausibility check.
    implausible_frames: int = 0
    timeouts: int = 0
    missing_acks: int = 0
    writes: int = 0
    write_failures: int = 0
    last_connect_seconds: float | None = None

    @property
    def reconnects(self) -> int:
        """Connections after the first one."""
        return max(0, self.connects - 1)

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as a plain dict."""
        return asdict(self) | {"reconnects": self.reconnects}


def find_characteristics(
    services: BleakGATTServiceCollection,
) -> tuple[BleakGATTCharacteristic, BleakGATTCharacteristic]:
    """Return (write, notify) FFE1 characteristics for either module layout.

    The old module has one FFE1 characteristic that writes and notifies; the
    new one has two characteristics with the same UUID, one that writes and one
    that notifies (protocol doc §1.1). They are told apart by their properties.
    """
    candidates = [
        char
        for service in services
        for char in service.characteristics
        if char.uuid == DATA_CHAR_UUID
    ]
    notify = next((c for c in candidates if "notify" in c.properties), None)
    write = next(
        (
            c
            for c in candidates
            if {"write", "write-without-response"} & set(c.properties)
        ),
        None,
    )
    if notify is None or write is None:
        raise NotJkBmsError("no FFE1 characteristic that writes and notifies")
    return write, notify


def _values_match(actual: object, expected: float | str, tolerance: float) -> bool:
    """Compare a read-back value with the value written."""
    if isinstance(expected, str) or isinstance(actual, str):
        return actual == expected
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(actual) == bool(expected)
    if not isinstance(actual, int | float):
        return False
    return math.isclose(actual, expected, rel_tol=1e-5, abs_tol=tolerance)


class JkBmsClient:
    """One BLE link to one JK BMS."""

    def __init__(
        self,
        ble_device_callback: Callable[[], BLEDevice],
        *,
        pair: bool = False,
    ) -> None:
        """Remember how to find the device; nothing is sent until connect()."""
        self._ble_device_callback = ble_device_callback
        self._pair = pair
        self._client: BleakClient | None = None
        self._write_char: BleakGATTCharacteristic | None = None
        self._write_response = False
        self._parser = StreamParser()
        self._lock = asyncio.Lock()
        self._ready = False
        self._variant: Variant | None = None
        self._device_info: DeviceInfo | None = None
        self._settings: Settings | None = None
        self._last_cell_info: CellInfo | None = None
        self._logbook: Logbook | None = None
        self._raw_frames: dict[FrameType, RawFrame] = {}
        self._frame_waiters: dict[FrameType, list[asyncio.Future[RawFrame]]] = {}
        self._ack_waiters: list[asyncio.Future[None]] = []
        self._frame_listeners: list[FrameListener] = []
        self._link_listeners: list[LinkListener] = []
        self.stats = LinkStats()

    # ------------------------------------------------------------------ state

    @property
    def is_connected(self) -> bool:
        """Whether the link is up and the handshake finished."""
        return self._ready and self._client is not None and self._client.is_connected

    @property
    def variant(self) -> Variant | None:
        """Protocol variant, known after the first connect."""
        return self._variant

    @property
    def device_info(self) -> DeviceInfo | None:
        """Last decoded device-info frame."""
        return self._device_info

    @property
    def settings(self) -> Settings | None:
        """Last decoded settings frame."""
        return self._settings

    @property
    def last_cell_info(self) -> CellInfo | None:
        """Last decoded cell-info frame."""
        return self._last_cell_info

    @property
    def logbook(self) -> Logbook | None:
        """Last decoded logbook frame (32S, after request_logbook)."""
        return self._logbook

    @property
    def raw_frames(self) -> dict[FrameType, RawFrame]:
        """The last raw frame of each type (diagnostics)."""
        return dict(self._raw_frames)

    @property
    def parser_stats(self) -> dict[str, int]:
        """Stream parser counters (frames, acks, bad checksums, junk …)."""
        return self._parser.stats.as_dict()

    def add_frame_listener(self, listener: FrameListener) -> Callable[[], None]:
        """Call ``listener`` with every decoded frame; returns the remover."""
        self._frame_listeners.append(listener)
        return lambda: self._frame_listeners.remove(listener)

    def add_link_listener(self, listener: LinkListener) -> Callable[[], None]:
        """Call ``listener(connected)`` when the link comes up or goes down."""
        self._link_listeners.append(listener)
        return lambda: self._link_listeners.remove(listener)

    # ------------------------------------------------------------- connecting

    async def connect(self) -> None:
        """Connect, subscribe and run the handshake (0x97 → variant → 0x96)."""
        async with self._lock:
            if self.is_connected:
                return
            device = self._ble_device_callback()
            started = time.monotonic()
            try:
                client = await bleak_retry_connector.establish_connection(
                    # Looked up at call time: Home Assistant swaps in its own
                    # class (proxies, slot management) once Bluetooth is set up.
                    bleak_retry_connector.BleakClientWithServiceCache,
                    device,
                    device.name or device.address,
                    disconnected_callback=self._on_disconnected,
                    ble_device_callback=self._ble_device_callback,
                    pair=self._pair,
                )
            except (BleakError, TimeoutError) as err:
                self.stats.connect_failures += 1
                raise JkBmsConnectionError(str(err) or type(err).__name__) from err
            self._client = client
            try:
                await self._handshake(client)
            except BaseException:
                self.stats.connect_failures += 1
                await self._drop_client(client)
                raise
            self.stats.connects += 1
            self.stats.last_connect_seconds = round(time.monotonic() - started, 3)
        _LOGGER.debug(
            "%s: connected in %.2f s, variant %s",
            device.address,
            self.stats.last_connect_seconds,
            self._variant,
        )
        self._notify_link(True)

    async def _handshake(self, client: BleakClient) -> None:
        try:
            write_char, notify_char = find_characteristics(client.services)
        except NotJkBmsError:
            await self._clear_cache(client)
            raise
        self._write_char = write_char
        self._write_response = "write-without-response" not in write_char.properties
        self._parser.reset()
        await self._gatt(client.start_notify(notify_char, self._on_notification))

        raw = await self._request(Command.DEVICE_INFO, FrameType.DEVICE_INFO)
        try:
            device_info = decode_device_info(raw.data)
        except ProtocolError as err:
            raise NotJkBmsError(f"device info not understood: {err}") from err
        try:
            detected: Variant | None = detect_variant(device_info)
        except VariantMismatchError:
            detected = None  # unknown firmware: the cell frame decides

        settings_raw = await self._request(Command.SETTINGS, FrameType.SETTINGS)
        try:
            cell_raw = await self._wait_frame(FrameType.CELL_INFO)
        except ResponseTimeoutError:
            # The stream sometimes does not start: ask again (protocol doc §3).
            cell_raw = await self._request(Command.SETTINGS, FrameType.CELL_INFO)
        variant = self._confirm_variant(detected, cell_raw.data)

        self._variant = variant
        self._device_info = device_info
        self._settings = decode_settings(settings_raw.data, variant)
        self._last_cell_info = await self._plausible_cell_info(cell_raw, variant)
        self._ready = True

    async def _plausible_cell_info(self, raw: RawFrame, variant: Variant) -> CellInfo:
        """Decode the first cell frame that passes the plausibility check.

        In poll mode this first frame is the only one a poll reads, so a garbled
        frame with a lucky checksum is skipped here just as in the stream.
        """
        for _ in range(FIRST_CELL_FRAME_ATTEMPTS - 1):
            cell_info = decode_cell_info(raw.data, variant)
            try:
                check_plausibility(cell_info)
            except ImplausibleFrameError as err:
                self.stats.implausible_frames += 1
                _LOGGER.debug("Skipped an implausible first cell frame: %s", err)
                raw = await self._wait_frame(FrameType.CELL_INFO)
            else:
                return cell_info
        cell_info = decode_cell_info(raw.data, variant)
        check_plausibility(cell_info)
        return cell_info

    @staticmethod
    def _confirm_variant(detected: Variant | None, cell_frame: bytes) -> Variant:
        """Check the first cell frame; fall back to the variant whose shape fits."""
        candidates = [v for v in Variant if v is not detected]
        if detected is not None:
            candidates.insert(0, detected)
        errors: list[str] = []
        for candidate in candidates:
            try:
                check_cell_info(cell_frame, candidate)
            except VariantMismatchError as err:
                errors.append(str(err))
                continue
            if candidate is not detected:
                _LOGGER.warning(
                    "The firmware suggests %s but the cell frames are %s",
                    detected,
                    candidate,
                )
            return candidate
        raise NotJkBmsError("; ".join(errors))

    async def disconnect(self) -> None:
        """Let go of the link (frees the proxy slot; the phone app can connect)."""
        client, self._client = self._client, None
        was_ready = self._ready
        self._ready = False
        self._fail_waiters(NotConnectedError("disconnected"))
        if client is not None:
            await self._drop_client(client)
            self.stats.disconnects += 1
        if was_ready:
            self._notify_link(False)

    async def _drop_client(self, client: BleakClient) -> None:
        if self._client is client:
            self._client = None
        try:
            await client.disconnect()
        except BleakError as err:  # pragma: no cover - the link is gone anyway
            _LOGGER.debug("Disconnect failed: %s", err)

    @staticmethod
    async def _clear_cache(client: BleakClient) -> None:
        """Forget a cached GATT table: BlueZ keeps empty/stale ones on some firmware."""
        if isinstance(client, bleak_retry_connector.BleakClientWithServiceCache):
            await client.clear_cache()

    def _on_disconnected(self, client: BleakClient) -> None:
        if client is not self._client:
            return  # an old link, or our own disconnect()
        self._client = None
        was_ready = self._ready
        self._ready = False
        self._parser.reset()
        self.stats.disconnects += 1
        self.stats.unexpected_disconnects += 1
        self._fail_waiters(JkBmsConnectionError("link lost"))
        if was_ready:
            self._notify_link(False)

    def _notify_link(self, connected: bool) -> None:
        for listener in list(self._link_listeners):
            listener(connected)

    # ------------------------------------------------------ requests / writes

    async def request_settings(self) -> Settings:
        """Re-read the settings (0x96; also restarts a stalled stream)."""
        async with self._lock:
            variant = self._require_ready()
            raw = await self._request(Command.SETTINGS, FrameType.SETTINGS)
            return decode_settings(raw.data, variant)

    async def request_device_info(self) -> DeviceInfo:
        """Re-read the device info (0x97)."""
        async with self._lock:
            self._require_ready()
            raw = await self._request(Command.DEVICE_INFO, FrameType.DEVICE_INFO)
            return decode_device_info(raw.data)

    async def request_logbook(self) -> Logbook:
        """Read the logbook (0xA1, JK02_32S)."""
        async with self._lock:
            self._require_ready()
            raw = await self._request(Command.LOGBOOK, FrameType.LOGBOOK)
            logbook = decode_frame(raw, self._variant)
            assert isinstance(logbook, Logbook)
            return logbook

    async def send_action(self, command: Command, value: float | None = None) -> None:
        """Send a one-shot action (restart, preset, calibration …); wait for the ack."""
        variant = self._require_ready()
        payload = encode_action(command, variant, value)  # validates first
        async with self._lock:
            self._require_ready()
            await self._send_acked(payload)

    async def write(self, key: str, value: float | str) -> Settings:
        """Write one setting: write → ack → read back → compare.

        The read-back comes from the frame the register table names: settings
        (0x96), device info (0x97) or the streamed cell-info frame. Raises
        ``InvalidValueError`` before anything is sent when the value is out of
        range, ``ResponseTimeoutError``/``JkBmsConnectionError`` when the BMS
        does not answer, ``ReadBackError`` when it answers with another value.
        """
        variant = self._require_ready()
        payload = encode_write(key, value, variant)  # validates first
        spec = registers_for(variant)[key]
        async with self._lock:
            self._require_ready()
            self.stats.writes += 1
            tolerance = (spec.step or spec.factor or 0.0) / 2
            try:
                await self._send_acked(payload)
                actual = await self._read_back(
                    spec.readback.frame_type,
                    spec.readback.key,
                    lambda actual: _values_match(actual, value, tolerance),
                )
            except JkBmsClientError:
                self.stats.write_failures += 1
                raise
            if not _values_match(actual, value, tolerance):
                self.stats.write_failures += 1
                raise ReadBackError(key, value, actual)
            assert self._settings is not None
            return self._settings

    async def _read_back(
        self,
        frame_type: FrameType,
        key: str,
        matches: Callable[[object], bool],
    ) -> object:
        """Read ``key`` back from the frame the register table names (§8.4).

        Settings and device info are requested (0x96 / 0x97). The cell-info
        frame (the emergency countdown) is streamed, not requested: wait for the
        next few frames, since the one already on its way may predate the write.
        """
        if frame_type is FrameType.DEVICE_INFO:
            raw = await self._request(Command.DEVICE_INFO, FrameType.DEVICE_INFO)
            return decode_device_info(raw.data).values().get(key)
        variant = self._require_ready()
        if frame_type is FrameType.SETTINGS:
            raw = await self._request(Command.SETTINGS, FrameType.SETTINGS)
            return decode_settings(raw.data, variant).get(key)
        actual: object = None
        for _ in range(CELL_READBACK_FRAMES):
            raw = await self._wait_frame(FrameType.CELL_INFO)
            actual = decode_cell_info(raw.data, variant).values().get(key)
            if matches(actual):
                break
        return actual

    def _require_ready(self) -> Variant:
        if not self.is_connected or self._variant is None:
            raise NotConnectedError("not connected")
        return self._variant

    def _expect_ack(self) -> asyncio.Future[None]:
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ack_waiters.append(ack)
        return ack

    def _forget_ack(self, ack: asyncio.Future[None]) -> None:
        if ack in self._ack_waiters:
            self._ack_waiters.remove(ack)

    async def _settle_ack(self, ack: asyncio.Future[None]) -> None:
        """Let the ack of a request arrive (it is not required)."""
        try:
            async with asyncio.timeout(ACK_TIMEOUT):
                await ack
        except TimeoutError:
            self.stats.missing_acks += 1
        finally:
            self._forget_ack(ack)

    async def _send_acked(self, payload: bytes) -> None:
        ack = self._expect_ack()
        try:
            await self._send(payload)
            try:
                async with asyncio.timeout(ACK_TIMEOUT):
                    await ack
            except TimeoutError as err:
                self.stats.timeouts += 1
                raise ResponseTimeoutError("no ack from the BMS") from err
        finally:
            self._forget_ack(ack)

    async def _request(
        self,
        command: Command,
        frame_type: FrameType,
        *,
        attempts: int = REQUEST_ATTEMPTS,
    ) -> RawFrame:
        """Send a request; wait for a frame of ``frame_type`` and the request's ack.

        The ack follows the answer; consuming it here keeps it from being taken
        for the ack of a write that comes next.
        """
        for _ in range(attempts):
            waiter = self._expect(frame_type)
            ack = self._expect_ack()
            try:
                await self._send(encode_request(command))
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    frame = await waiter
            except TimeoutError:
                self.stats.timeouts += 1
                self._forget_ack(ack)
                continue
            except BaseException:
                self._forget_ack(ack)
                raise
            finally:
                self._forget(frame_type, waiter)
            await self._settle_ack(ack)
            return frame
        raise ResponseTimeoutError(f"no {frame_type.name} frame after {command.name}")

    async def _wait_frame(self, frame_type: FrameType) -> RawFrame:
        waiter = self._expect(frame_type)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                return await waiter
        except TimeoutError as err:
            self.stats.timeouts += 1
            raise ResponseTimeoutError(f"no {frame_type.name} frame") from err
        finally:
            self._forget(frame_type, waiter)

    def _expect(self, frame_type: FrameType) -> asyncio.Future[RawFrame]:
        waiter: asyncio.Future[RawFrame] = asyncio.get_running_loop().create_future()
        self._frame_waiters.setdefault(frame_type, []).append(waiter)
        return waiter

    def _forget(self, frame_type: FrameType, waiter: asyncio.Future[RawFrame]) -> None:
        waiters = self._frame_waiters.get(frame_type, [])
        if waiter in waiters:
            waiters.remove(waiter)

    def _fail_waiters(self, error: Exception) -> None:
        waiters: list[asyncio.Future[Any]] = [
            w for ws in self._frame_waiters.values() for w in ws
        ]
        waiters += self._ack_waiters
        self._frame_waiters.clear()
        self._ack_waiters = []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(error)
                # Its owner may never await it (the link dropped while it was
                # still sending): mark it retrieved, or asyncio logs "Future
                # exception was never retrieved". An owner that awaits still gets it.
                waiter.exception()

    async def _send(self, payload: bytes) -> None:
        client = self._client
        if client is None or self._write_char is None:
            raise NotConnectedError("not connected")
        await self._gatt(
            client.write_gatt_char(
                self._write_char, payload, response=self._write_response
            )
        )

    @staticmethod
    async def _gatt[T](operation: Awaitable[T]) -> T:
        """Await a GATT operation, turning bleak's errors into ours."""
        try:
            result: T = await operation
        except BleakError as err:
            raise JkBmsConnectionError(str(err) or type(err).__name__) from err
        return result

    # ---------------------------------------------------------- notifications

    def _on_notification(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self.stats.notifications += 1
        self.stats.bytes_received += len(data)
        for item in self._parser.feed(bytes(data)):
            if isinstance(item, Ack):
                self._resolve_ack()
                continue
            self._raw_frames[item.frame_type] = item
            for waiter in self._frame_waiters.pop(item.frame_type, []):
                if not waiter.done():
                    waiter.set_result(item)
            if self._ready:
                self._dispatch(item)

    def _resolve_ack(self) -> None:
        while self._ack_waiters:
            waiter = self._ack_waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return

    def _dispatch(self, raw: RawFrame) -> None:
        try:
            frame = decode_frame(raw, self._variant)
        except ProtocolError as err:
            self.stats.decode_errors += 1
            _LOGGER.debug("Dropped a %s frame: %s", raw.frame_type.name, err)
            return
        if isinstance(frame, CellInfo):
            try:
                # A garbled frame with a lucky checksum must not reach entities
                # (nor the energy meter).
                check_plausibility(frame)
            except ImplausibleFrameError as err:
                self.stats.implausible_frames += 1
                _LOGGER.debug("Dropped an implausible cell frame: %s", err)
                return
        match frame:
            case CellInfo():
                self._last_cell_info = frame
            case Settings():
                self._settings = frame
            case DeviceInfo():
                self._device_info = frame
            case Logbook():
                self._logbook = frame
        for listener in list(self._frame_listeners):
            listener(frame)
