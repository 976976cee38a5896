"""One Bluetooth LE connection to a JK BMS: bleak + bleak-retry-connector, no Home Assistant.

Used by the session (session.py) only. ``connect()`` establishes the link, finds
the data characteristic(s) of either BLE module layout (protocol doc §1.1),
subscribes, asks for the device info (0x97), picks the protocol variant, asks for
the settings (0x96, which also starts the cell-info stream) and checks the first
cell frame against the variant (§3, §10). From then on every reassembled frame
goes to the owner's callback; requests and acknowledged sends are serialised by
the owner. bleak's untyped errors become the typed errors of errors.py here, at
the library boundary, and nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

import bleak_retry_connector
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTServiceCollection
from bleak.exc import BleakError

from .commands import Command, encode_request
from .decoding import decode_device_info
from .enums import FrameType, Variant
from .errors import (
    ConnectionFailedError,
    MissingCharacteristicError,
    NoFreeSlotError,
    NotConnectedError,
    NotJkBmsError,
    PairingRequiredError,
    ProtocolError,
    ResponseTimeoutError,
    VariantMismatchError,
)
from .framing import Ack, RawFrame, StreamParser
from .models import DeviceInfo
from .variant import confirm_variant, detect_variant

_LOGGER = logging.getLogger(__name__)

DATA_CHAR_UUID: Final = "0000ffe1-0000-1000-8000-00805f9b34fb"

REQUEST_TIMEOUT = 5.0  # s to wait for a requested frame
ACK_TIMEOUT = 1.0  # s to wait for the ack of a write (protocol doc §8.4)
REQUEST_ATTEMPTS = 2  # the first request after subscribing is sometimes missed

# What proxies and BlueZ say when they refuse for these reasons (bleak has no
# types for them), lower case.
_NO_SLOT_MARKERS: Final = ("connection slot", "available connection")
_PAIRING_MARKERS: Final = (
    "authentication",
    "authorization",
    "encryption",
    "pairing",
    "not paired",
    "bonding",
)

type FrameCallback = Callable[[RawFrame], None]


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
    # Frames that passed the checksum but not the shield (sum of ``drops``).
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


@dataclass(frozen=True, slots=True)
class Handshake:
    """What connecting read: the variant and the first frame of each kind."""

    variant: Variant
    device_info: DeviceInfo
    device_info_raw: RawFrame
    settings_raw: RawFrame
    cell_raw: RawFrame


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
        raise MissingCharacteristicError(
            "no FFE1 characteristic that writes and notifies"
        )
    return write, notify


def connection_error(err: BaseException) -> ConnectionFailedError:
    """Type what bleak (or a proxy, or BlueZ) reported when connecting failed."""
    text = str(err) or type(err).__name__
    lowered = text.lower()
    error: ConnectionFailedError
    if isinstance(err, bleak_retry_connector.BleakOutOfConnectionSlotsError) or any(
        marker in lowered for marker in _NO_SLOT_MARKERS
    ):
        error = NoFreeSlotError(text)
    elif any(marker in lowered for marker in _PAIRING_MARKERS):
        error = PairingRequiredError(text)
    else:
        error = ConnectionFailedError(text)
    error.__cause__ = err
    return error


class JkBmsClient:
    """One BLE connection to one JK BMS (a new one for every connect)."""

    def __init__(
        self,
        ble_device: Callable[[], BLEDevice],
        *,
        pair: bool,
        stats: LinkStats,
        on_frame: FrameCallback,
        on_lost: Callable[[], None],
    ) -> None:
        """Remember how to find the device and whom to tell; nothing is sent yet."""
        self._ble_device = ble_device
        self._pair = pair
        self.stats = stats
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._client: BleakClient | None = None
        self._write_char: BleakGATTCharacteristic | None = None
        self._write_response = False
        self.parser = StreamParser()
        self.raw_frames: dict[FrameType, RawFrame] = {}
        self._frame_waiters: dict[FrameType, list[asyncio.Future[RawFrame]]] = {}
        self._ack_waiters: list[asyncio.Future[None]] = []
        self.handshake_done = False

    @property
    def is_connected(self) -> bool:
        """Whether the link is up and the handshake finished."""
        return (
            self.handshake_done
            and self._client is not None
            and self._client.is_connected
        )

    # ------------------------------------------------------------- connecting

    async def connect(self) -> Handshake:
        """Connect, subscribe and run the handshake (0x97 → variant → 0x96 → cells)."""
        device = self._ble_device()
        started = time.monotonic()
        try:
            client = await bleak_retry_connector.establish_connection(
                # Looked up at call time: Home Assistant swaps in its own
                # class (proxies, slot management) once Bluetooth is set up.
                bleak_retry_connector.BleakClientWithServiceCache,
                device,
                device.name or device.address,
                disconnected_callback=self._on_disconnected,
                ble_device_callback=self._ble_device,
                pair=self._pair,
            )
        except (BleakError, TimeoutError) as err:
            self.stats.connect_failures += 1
            raise connection_error(err) from err
        self._client = client
        try:
            handshake = await self._handshake(client)
        except BaseException:
            self.stats.connect_failures += 1
            await self.disconnect()
            raise
        self.handshake_done = True
        self.stats.connects += 1
        self.stats.last_connect_seconds = round(time.monotonic() - started, 3)
        _LOGGER.debug(
            "%s: connected in %.2f s, variant %s",
            device.address,
            self.stats.last_connect_seconds,
            handshake.variant,
        )
        return handshake

    async def _handshake(self, client: BleakClient) -> Handshake:
        try:
            write_char, notify_char = find_characteristics(client.services)
        except NotJkBmsError:
            # BlueZ keeps empty or stale GATT tables on some firmware.
            if isinstance(client, bleak_retry_connector.BleakClientWithServiceCache):
                await client.clear_cache()
            raise
        self._write_char = write_char
        self._write_response = "write-without-response" not in write_char.properties
        self.parser.reset()
        await self._gatt(client.start_notify(notify_char, self._on_notification))

        info_raw = await self.request(Command.DEVICE_INFO, FrameType.DEVICE_INFO)
        try:
            device_info = decode_device_info(info_raw.data)
        except ProtocolError as err:
            raise NotJkBmsError(f"device info not understood: {err}") from err
        try:
            detected: Variant | None = detect_variant(device_info)
        except VariantMismatchError:
            detected = None  # unknown firmware: the cell frame decides

        settings_raw = await self.request(Command.SETTINGS, FrameType.SETTINGS)
        try:
            cell_raw = await self.wait_frame(FrameType.CELL_INFO)
        except ResponseTimeoutError:
            # The stream sometimes does not start: ask again (protocol doc §3).
            cell_raw = await self.request(Command.SETTINGS, FrameType.CELL_INFO)
        variant = confirm_variant(detected, cell_raw.data)
        return Handshake(variant, device_info, info_raw, settings_raw, cell_raw)

    async def disconnect(self) -> None:
        """Let go of the link (frees the proxy slot; the phone app can connect)."""
        client, self._client = self._client, None
        self.handshake_done = False
        self._fail_waiters(NotConnectedError("disconnected"))
        if client is None:
            return
        self.stats.disconnects += 1
        try:
            await client.disconnect()
        except BleakError as err:  # pragma: no cover - the link is gone anyway
            _LOGGER.debug("Disconnect failed: %s", err)

    def _on_disconnected(self, client: BleakClient) -> None:
        if client is not self._client:
            return  # an old link, or our own disconnect()
        self._client = None
        was_ready, self.handshake_done = self.handshake_done, False
        self.parser.reset()
        self.stats.disconnects += 1
        self.stats.unexpected_disconnects += 1
        self._fail_waiters(ConnectionFailedError("link lost"))
        if was_ready:
            self._on_lost()

    # ---------------------------------------------------------------- requests

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

    async def send_acked(self, payload: bytes) -> None:
        """Send a write or an action; wait for the BMS's ack."""
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

    async def request(
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

    async def wait_frame(self, frame_type: FrameType) -> RawFrame:
        """Wait for the next frame of ``frame_type`` (streamed cell info)."""
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
            raise ConnectionFailedError(str(err) or type(err).__name__) from err
        return result

    # ---------------------------------------------------------- notifications

    def _on_notification(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self.stats.notifications += 1
        self.stats.bytes_received += len(data)
        for item in self.parser.feed(bytes(data)):
            if isinstance(item, Ack):
                self._resolve_ack()
                continue
            self.raw_frames[item.frame_type] = item
            for waiter in self._frame_waiters.pop(item.frame_type, []):
                if not waiter.done():
                    waiter.set_result(item)
            if self.handshake_done:
                self._on_frame(item)

    def _resolve_ack(self) -> None:
        while self._ack_waiters:
            waiter = self._ack_waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return
