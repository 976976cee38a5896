r"""A virtual JK BMS: the BLE protocol state machine in front of a simulated pack.

Behaves like the app captures (protocol doc §3, vectors/commands_and_acks.json):
silent until notifications are enabled; ``0x97`` → device info + ack; ``0x96`` →
settings (+ device info again on JK-PB) + ack, then a cell-info frame about every
0.5 s while the link is up; an ack after every command, often followed by
``AT\r\n``; frames cut into notifications like the real module; one central at a
time. Every received command is recorded so tests can assert exact bytes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import cycle
from typing import Final

from custom_components.jk_bms.protocol import (
    COMMAND_LENGTH,
    CommandFrame,
    Encoding,
    FrameType,
    InvalidValueError,
    ProtocolError,
    RegisterSpec,
    Value,
    Variant,
    WriteKind,
    build_frame,
    decode_device_info,
    decode_settings,
    parse_command,
    register_lookup,
)

from .battery import Battery
from .chemistry import Chemistry, protection_preset
from .current_profile import CurrentProfile, ProfileKind
from .faults import Faults
from .frames import cell_info_values
from .gatt import SERVICE_FFE0, ModuleLayout, uuid16
from .link import ConnectionRefusedByBmsError, LinkPeer, RefusalReason
from .logbook import VirtualLogbook
from .profiles import DEFAULT_PROFILE, DeviceProfile, find_profile

_LOGGER = logging.getLogger(__name__)

ACK: Final = bytes.fromhex("aa5590ebc8010100000000000000000000000044")
AT_JUNK: Final = b"AT\r\n"
JK_MANUFACTURER_ID: Final = 0x0B65
SERVICE_FEE7: Final = uuid16(0xFEE7)
FACTORY_PIN: Final = "1234"
FACTORY_SETTINGS_PASSWORD: Final = "123456"  # noqa: S105 - the JK factory default
PB_REPEAT_COUNTER: Final = 0xA5
# Wall-clock gap the pack catches up on at most (a sleeping BMS does not replay days).
MAX_CATCH_UP_S: Final = 600.0

REQUEST_DEVICE_INFO: Final = 0x97
REQUEST_SETTINGS: Final = 0x96
REQUEST_LOGBOOK: Final = 0xA1
ACTION_SHUTDOWN: Final = 0x65
ACTION_RESTART: Final = 0x66
ACTION_FACTORY_RESET: Final = 0x9D
PRESETS: Final = {0x68: Chemistry.LI_ION, 0x69: Chemistry.LFP, 0x6A: Chemistry.LTO}


@dataclass(frozen=True, slots=True)
class ReceivedCommand:
    """One write the BMS received on its command characteristic."""

    data: bytes
    frame: CommandFrame | None  # None: not a valid command frame (ignored by the BMS)
    setting: tuple[str, Value] | None  # the setting it changed, if it was a write


class _DropLink:
    """Outbox marker: the link drops here."""


_DROP: Final = _DropLink()


def _mac_bytes(address: str) -> bytes:
    return bytes.fromhex(address.replace(":", ""))


class VirtualJkBms:
    """One virtual JK BMS with its pack. Plug it into a ``VirtualProxy``."""

    def __init__(
        self,
        model: str | DeviceProfile = DEFAULT_PROFILE,
        *,
        address: str = "C8:47:8C:00:00:01",
        name: str | None = None,
        cells: int | None = None,
        chemistry: Chemistry | str | None = None,
        capacity_ah: float | None = None,
        state_of_charge: float = 0.70,
        soc_drift: float = 0.0,
        soc_drift_per_hour: float = 0.0,
        profile: CurrentProfile | ProfileKind | str = ProfileKind.CYCLE,
        module_layout: ModuleLayout | str | None = None,
        chunk_layout: tuple[int, ...] | None = None,
        mtu: int | None = None,
        stream_interval: float | None = 0.5,
        time_scale: float = 1.0,
        resolution_s: float = 0.1,
        settings: Mapping[str, Value] | None = None,
        pin: str = FACTORY_PIN,
        settings_password: str = FACTORY_SETTINGS_PASSWORD,
        at_junk_probability: float = 0.5,
        rssi: int = -60,
        seed: int = 1,
        faults: Faults | None = None,
    ) -> None:
        """Configure the device; nothing runs until a central connects."""
        self.profile = (
            model if isinstance(model, DeviceProfile) else find_profile(model)
        )
        self.variant: Variant = self.profile.variant
        self._address = address.upper()
        self._module_layout = ModuleLayout(module_layout or self.profile.module_layout)
        self.chunk_layout = chunk_layout or self.profile.chunk_layout
        self._mtu = mtu or self.profile.mtu
        self.stream_interval = stream_interval
        self.at_junk_probability = at_junk_probability
        self._rssi = rssi
        self.faults = faults or Faults()
        self._rng = random.Random(seed)
        chemistry = Chemistry(chemistry or self.profile.chemistry)
        cell_count = cells or self.profile.cell_count
        capacity = capacity_ah or self.profile.capacity_ah

        templates = self.profile.templates
        self._template_info = decode_device_info(templates.device_info)
        self.settings: dict[str, Value] = dict(
            decode_settings(templates.settings, self.variant).values()
        )
        self.settings.update(self.profile.settings)
        if chemistry is not self.profile.chemistry:
            self._apply_preset(chemistry)
        if "cell_count" in self.settings:
            self.settings["cell_count"] = cell_count
        if "total_battery_capacity" in self.settings:
            self.settings["total_battery_capacity"] = capacity
        self.settings.update(settings or {})
        self.device_info: dict[str, Value] = {
            "device_name": name or self._template_info.device_name,
            "pin": pin,
            "settings_password": settings_password,
            **self.profile.device_info,
        }

        current_profile = (
            profile
            if isinstance(profile, CurrentProfile)
            else CurrentProfile(
                ProfileKind(profile),
                # The app guide's 61 A charge / 40 A load on 280 Ah, scaled to the pack.
                charge_current=round(61.0 * capacity / 280.0, 1),
                discharge_current=round(40.0 * capacity / 280.0, 1),
            )
        )
        self.battery = Battery(
            cell_count=cell_count,
            chemistry=chemistry,
            capacity_ah=capacity,
            state_of_charge=state_of_charge,
            settings=self.settings,
            profile=current_profile,
            temperature_sensors=self.profile.temperature_sensors,
            time_scale=time_scale,
            resolution_s=resolution_s,
            seed=seed,
        )
        # The SoC counter starts ``soc_drift`` points off the truth and runs away
        # by ``soc_drift_per_hour`` (until a full charge re-synchronises it).
        self.battery.drift_counter(soc_drift)
        self.battery.soc_drift_per_hour = soc_drift_per_hour
        # The logbook the BMS writes on protection trips and app switching
        # (served to 0xA1 on JK02_32S only; the others have none).
        self.logbook = VirtualLogbook(self._template_info.uptime)
        self.battery.protection_listener = self._protection_changed
        self.received: list[ReceivedCommand] = []
        self.frames_sent: dict[FrameType, int] = dict.fromkeys(FrameType, 0)
        self.acks_sent = 0
        self.connections = 0
        self._counters: dict[FrameType, int] = dict.fromkeys(FrameType, 0)
        self._peer: LinkPeer | None = None
        self._notifying = False
        self._streaming = False
        self._outbox: deque[bytes | _DropLink] = deque()
        self._drained = asyncio.Event()
        self._drained.set()
        self._drain_task: asyncio.Task[None] | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._last_step: float | None = None

    # --- identity and advertising (VirtualPeripheral) ------------------------------

    @property
    def address(self) -> str:
        """BLE MAC address."""
        return self._address

    @property
    def local_name(self) -> str:
        """Advertised name: the device name stored in the device-info frame."""
        return str(self.device_info["device_name"])

    @property
    def manufacturer_data(self) -> dict[int, bytes]:
        """Company 0x0B65 with ``88 A0`` + the MAC, the common JK advert (§1.3)."""
        return {JK_MANUFACTURER_ID: b"\x88\xa0" + _mac_bytes(self._address)}

    @property
    def service_uuids(self) -> list[str]:
        """FFE0 and FEE7, as real modules advertise."""
        return [SERVICE_FFE0, SERVICE_FEE7]

    @property
    def rssi(self) -> int:
        """Signal strength at the proxy, dBm."""
        return self._rssi

    @property
    def model_number(self) -> str:
        """The model string (Device Information service)."""
        return self._template_info.model

    @property
    def mtu(self) -> int:
        """ATT MTU the module negotiates."""
        return self._mtu

    @property
    def module_layout(self) -> str:
        """GATT table generation."""
        return self._module_layout.value

    @property
    def connected(self) -> bool:
        """Whether a central holds the link."""
        return self._peer is not None

    @property
    def streaming(self) -> bool:
        """Whether cell-info streaming was started (by 0x96) on this link."""
        return self._streaming

    @property
    def uses_factory_passwords(self) -> bool:
        """Whether the PIN or the settings password is still the factory default."""
        return (
            self.device_info["pin"] == FACTORY_PIN
            or self.device_info["settings_password"] == FACTORY_SETTINGS_PASSWORD
        )

    # --- link (called by the transport) ----------------------------------------------

    def accept(self, peer: LinkPeer, *, paired: bool) -> None:
        """Accept a central, or refuse it for the reason a real BMS would."""
        if self.faults.refuse_connections:
            raise ConnectionRefusedByBmsError(RefusalReason.REFUSED)
        if self._peer is not None or self.faults.other_central_connected:
            raise ConnectionRefusedByBmsError(RefusalReason.BUSY)
        if self.faults.require_pairing and not paired:
            raise ConnectionRefusedByBmsError(RefusalReason.PAIRING_REQUIRED)
        self._peer = peer
        self._notifying = False
        self._streaming = False
        self._counters = dict.fromkeys(FrameType, 0)
        self.connections += 1
        self._advance_to_now()

    def set_notifications(self, enabled: bool) -> None:
        """CCCD written: nothing is sent before notifications are on."""
        self._notifying = enabled

    def central_disconnected(self) -> None:
        """Handle the central closing the link."""
        self._close_link(tell_peer=False)

    def receive(self, data: bytes) -> None:
        """Handle one write on the command characteristic."""
        try:
            frame: CommandFrame | None = parse_command(data)
        except ProtocolError:
            frame = None
        setting: tuple[str, Value] | None = None
        if frame is not None and self._notifying:
            setting = self._handle(frame)
        self.received.append(ReceivedCommand(bytes(data), frame, setting))

    # --- test and fault API ----------------------------------------------------------

    def drop_link(self, *, after_bytes: int | None = None) -> None:
        """Drop the link now, or in the middle of the next frame after ``after_bytes``."""
        if after_bytes is not None:
            self.faults.drop_after_bytes = after_bytes
            return
        self._close_link(tell_peer=True)

    def power_off(self) -> None:
        """Stop everything the device runs (the link drops silently)."""
        self._close_link(tell_peer=False)

    async def push_cell_info(self, advance_s: float | None = None) -> bytes:
        """Send one cell-info frame now and wait until it is delivered.

        ``advance_s``: pack seconds to simulate first (default: the time elapsed
        since the last frame, times ``time_scale``). Returns the frame bytes sent.
        """
        if advance_s is not None:
            self.battery.advance(advance_s)
            self._last_step = asyncio.get_running_loop().time()
        else:
            self._advance_to_now()
        frame = self._frame(FrameType.CELL_INFO)
        self._queue_frame(frame)
        await self.flush()
        return frame

    async def push_frame(self, frame: bytes) -> None:
        """Send arbitrary frame bytes now (garbage with a valid checksum, …)."""
        self._queue_frame(frame)
        await self.flush()

    async def flush(self) -> None:
        """Wait until every queued notification has been delivered."""
        await self._drained.wait()

    def commands(self, register: int | None = None) -> list[CommandFrame]:
        """Return the valid command frames received (optionally only for ``register``)."""
        return [
            c.frame
            for c in self.received
            if c.frame is not None
            and (register is None or c.frame.register == register)
        ]

    def alarms(self) -> frozenset[str]:
        """Alarm keys the next cell-info frame will carry."""
        alarms = set(self.battery.alarms)
        cell_count = self.settings.get("cell_count")
        if self.variant is not Variant.JK04 and cell_count != len(self.battery.cells):
            alarms.add("alarm_cell_count_mismatch")
        if self.profile.password_alarm and self.uses_factory_passwords:
            alarms.add("alarm_modify_password_in_time")
        return frozenset(alarms)

    # --- protocol -----------------------------------------------------------------

    def _handle(self, frame: CommandFrame) -> tuple[str, Value] | None:
        register = frame.register
        setting: tuple[str, Value] | None = None
        drop_after_ack = False
        if register == REQUEST_DEVICE_INFO:
            self._queue_frame(self._frame(FrameType.DEVICE_INFO))
        elif register == REQUEST_SETTINGS:
            self._queue_frame(self._frame(FrameType.SETTINGS))
            if self.profile.repeats_device_info:
                self._queue_frame(self._frame(FrameType.DEVICE_INFO, PB_REPEAT_COUNTER))
            self._start_streaming()
        elif register == REQUEST_LOGBOOK:
            if self.variant is Variant.JK02_32S:
                self._queue_frame(self._logbook_frame())
        else:
            setting, drop_after_ack = self._apply_command(frame)
        self._queue_ack()
        if drop_after_ack:
            self._outbox.append(_DROP)
            self._ensure_drain()
        return setting

    def _apply_command(
        self, frame: CommandFrame
    ) -> tuple[tuple[str, Value] | None, bool]:
        """Apply a write or an action; return the changed setting and whether the link drops."""
        try:
            spec = register_lookup(self.variant, frame.register)
        except InvalidValueError:
            return None, self._apply_action(frame.register)
        value = _decode_write(spec, frame.value)
        key = spec.readback.key
        match spec.readback.frame_type:
            case FrameType.SETTINGS:
                if self.settings.get(key) != value and isinstance(value, bool):
                    self.logbook.switched(key, value, self.runtime_s)
                self.settings[key] = value
                if key == "total_battery_capacity" and isinstance(value, (int, float)):
                    self.battery.full_charge_capacity_ah = float(value)
                    self.battery.bms_remaining_ah = min(
                        self.battery.bms_remaining_ah, float(value)
                    )
            case FrameType.DEVICE_INFO:
                self.device_info[key] = value
            case FrameType.CELL_INFO:
                # The configured duration: an override, else the unit's own frame.
                minutes = (
                    self.device_info.get("emergency_duration")
                    or self._template_info.values().get("emergency_duration")
                    or 0
                )
                self.battery.emergency_s = float(minutes) * 60 if value else 0.0
            case _:
                pass
        return (spec.key, value), False

    def _apply_action(self, register: int) -> bool:
        if register in PRESETS and self.variant is Variant.JK02_32S:
            self._apply_preset(PRESETS[register])
        elif register == ACTION_FACTORY_RESET:
            self.settings.update(
                decode_settings(self.profile.templates.settings, self.variant).values()
            )
            return True
        return register in {ACTION_RESTART, ACTION_SHUTDOWN}

    def _apply_preset(self, chemistry: Chemistry) -> None:
        for key, value in protection_preset(chemistry).items():
            if key in self.settings:
                self.settings[key] = value

    def _frame(self, frame_type: FrameType, counter: int | None = None) -> bytes:
        if counter is None:
            counter = self._counters[frame_type]
            self._counters[frame_type] = (counter + 1) & 0xFF
        templates = self.profile.templates
        runtime = self.runtime_s
        match frame_type:
            case FrameType.DEVICE_INFO:
                values: Mapping[str, Value] = self.device_info | {"uptime": runtime}
                template = templates.device_info
            case FrameType.SETTINGS:
                values, template = self.settings, templates.settings
            case _:
                values = cell_info_values(
                    self.battery, self.variant, self.alarms(), runtime
                )
                if self.variant is Variant.JK02_32S:
                    values = {**values, "detail_logs_count": self.logbook.count}
                template = templates.cell_info
        return build_frame(
            frame_type, self.variant, values, template=template, counter=counter
        )

    def _logbook_frame(self) -> bytes:
        counter = self._counters[FrameType.LOGBOOK]
        self._counters[FrameType.LOGBOOK] = (counter + 1) & 0xFF
        return self.logbook.frame(counter)

    @property
    def runtime_s(self) -> int:
        """The BMS's runtime counter (s), as its frames and logbook stamps carry it."""
        return int(self._template_info.uptime + self.battery.time_s)

    def _protection_changed(self, alarm: str, active: bool, pack_time_s: float) -> None:
        stamp = int(self._template_info.uptime + pack_time_s)
        self.logbook.protection(alarm, active, stamp)

    def _start_streaming(self) -> None:
        self._streaming = True
        if self._stream_task is None and self.stream_interval is not None:
            self._stream_task = asyncio.get_running_loop().create_task(
                self._stream(self.stream_interval),
                name=f"virtual JK BMS {self.address} stream",
            )

    async def _stream(self, interval: float) -> None:
        while self._peer is not None:
            await asyncio.sleep(interval)
            if self.faults.stop_streaming or not self._streaming:
                continue
            self._advance_to_now()
            self._queue_frame(self._frame(FrameType.CELL_INFO))

    def _advance_to_now(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._last_step is not None:
            self.battery.step(min(max(now - self._last_step, 0.0), MAX_CATCH_UP_S))
        self._last_step = now

    # --- notifications ------------------------------------------------------------

    def _queue_frame(self, frame: bytes) -> None:
        type_byte = frame[4]
        if type_byte == FrameType.CELL_INFO and self.faults.take_garbling():
            frame = self._garbled(frame)
        if (flip := self.faults.take_flip(type_byte)) is not None:
            data = bytearray(frame)
            data[flip[0]] ^= 1 << flip[1]
            data[-1] = sum(data[:-1]) & 0xFF
            frame = bytes(data)
        if self.faults.take_corruption():
            # One payload byte off by one: the checksum no longer matches.
            frame = frame[:100] + bytes(((frame[100] + 1) & 0xFF,)) + frame[101:]
        cut = self.faults.drop_after_bytes
        if cut is not None:
            self.faults.drop_after_bytes = None
            self._outbox.extend(self._chunks(frame[:cut]))
            self._outbox.append(_DROP)
        else:
            self._outbox.extend(self._chunks(frame))
            self.frames_sent[FrameType(type_byte)] += 1
        self._ensure_drain()

    def _garbled(self, frame: bytes) -> bytes:
        """Cell 1 reads 9.9 V and the checksum still matches."""
        data = bytearray(frame)
        if self.variant is Variant.JK04:
            data[6:10] = struct.pack("<f", 9.9)
        else:
            data[6:8] = (9900).to_bytes(2, "little")
        data[-1] = sum(data[:-1]) & 0xFF
        return bytes(data)

    def _queue_ack(self) -> None:
        if not self.faults.take_ack():
            return
        delay = self.faults.ack_delay_s
        if delay > 0:
            timer = asyncio.get_running_loop().call_later(delay, self._send_ack)
            self._timers.append(timer)
        else:
            self._send_ack()

    def _send_ack(self) -> None:
        if self._peer is None:
            return
        self._outbox.append(ACK)
        self.acks_sent += 1
        if self._rng.random() < self.at_junk_probability:
            self._outbox.append(AT_JUNK)
        self._ensure_drain()

    def _chunks(self, data: bytes) -> list[bytes]:
        chunks: list[bytes] = []
        sizes = cycle(self.chunk_layout)
        position = 0
        while position < len(data):
            size = next(sizes)
            chunks.append(data[position : position + size])
            position += size
        return chunks

    def _ensure_drain(self) -> None:
        self._drained.clear()
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.get_running_loop().create_task(
                self._drain(), name=f"virtual JK BMS {self.address} notify"
            )

    async def _drain(self) -> None:
        # Yield first: a real BMS answers after the write that asked has returned.
        await asyncio.sleep(0)
        while self._outbox:
            item = self._outbox.popleft()
            if isinstance(item, _DropLink):
                self._close_link(tell_peer=True)
                break
            if self._peer is not None and self._notifying:
                self._peer.notification(item)
            await asyncio.sleep(0)
        self._outbox.clear()
        self._drained.set()

    def _close_link(self, *, tell_peer: bool) -> None:
        peer, self._peer = self._peer, None
        self._streaming = False
        self._notifying = False
        self._outbox.clear()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        try:
            current = asyncio.current_task()
        except RuntimeError:  # no running loop (teardown)
            current = None
        for task in (self._stream_task, self._drain_task):
            if task is not None and task is not current:
                task.cancel()
        self._stream_task = None
        if self._drain_task is not current:
            self._drain_task = None
        self._drained.set()
        if tell_peer and peer is not None:
            peer.link_lost()


def _decode_write(spec: RegisterSpec, value: bytes) -> Value:
    """Physical value of a write's value bytes, as the settings frame will carry it."""
    data = value[: spec.length].ljust(spec.length, b"\x00")
    if spec.encoding is Encoding.FLOAT32:
        return round(
            float(struct.unpack("<f", data[:4].ljust(4, b"\x00"))[0]) / spec.factor, 6
        )
    raw = int.from_bytes(data, "little", signed=spec.encoding is Encoding.INT)
    if spec.kind is WriteKind.SWITCH:
        return bool(raw)
    if spec.kind is WriteKind.SELECT:
        options = spec.options or ()
        return options[raw] if raw < len(options) else raw
    if spec.factor == 1:
        return raw
    return raw / spec.factor


__all__ = ["ACK", "AT_JUNK", "COMMAND_LENGTH", "ReceivedCommand", "VirtualJkBms"]
