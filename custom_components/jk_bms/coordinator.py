"""Coordinator for a JK BMS: one BLE link, every frame processed, states at a cadence."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, override

from bleak.backends.device import BLEDevice
from homeassistant.components import bluetooth
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_CONNECTION_MODE,
    CONF_PAIR,
    CONF_POLL_INTERVAL,
    CONF_UPDATE_INTERVAL,
    CURRENT_EWMA_TAU,
    DEFAULT_CONNECTION_MODE,
    DEFAULT_PAIR,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    ENERGY_MAX_GAP,
    IDLE_CURRENT,
    RECONNECT_INITIAL_DELAY,
    RECONNECT_MAX_DELAY,
    SETTINGS_REFRESH_INTERVAL,
    ConnectionMode,
)
from .protocol import (
    CellInfo,
    DeviceInfo,
    FrameType,
    ProtocolError,
    Settings,
    Variant,
    registers_for,
)
from .protocol.client import Frame, JkBmsClient, ReadBackError
from .scheduler import async_connection_turn
from .soc_check import REST_MAX_GAP, SocCheckState, check_soc, derived_values
from .validation import validate_change

_LOGGER = logging.getLogger(__name__)

type JkBmsConfigEntry = ConfigEntry[JkBmsCoordinator]
type DerivedValue = float | int | str | bool | datetime | None

# A cell-info frame stalls (no stream) for this long → restart it with 0x96.
STREAM_STALL_SECONDS = 15.0
WATCHDOG_INTERVAL = timedelta(seconds=10)
# After a failed or unconfirmed write, re-read what the BMS has this much later:
# a lost ack does not mean a lost write (batmon waits 0.2 s before re-reading).
WRITE_REREAD_DELAY = 1.0


@dataclass(frozen=True, slots=True)
class JkBmsData:
    """What the entities read: the BMS's frames plus values derived from them."""

    device_info: DeviceInfo
    cell_info: CellInfo | None
    settings: Settings | None
    derived: dict[str, DerivedValue] = field(default_factory=dict)


class EnergyMeter:
    """Integrates every frame's V x I into charged and discharged kWh.

    Trapezoid rule between consecutive frames; when the power changes sign
    within an interval the trapezoid is split at the zero crossing, so charge
    and discharge each get their exact share. A gap longer than ``max_gap``
    (the link was down) is not integrated.
    """

    def __init__(self, max_gap: float) -> None:
        """Start at zero."""
        self.max_gap = max_gap
        self.charged_kwh = 0.0
        self.discharged_kwh = 0.0
        self._last: tuple[float, float] | None = None  # (time s, power W)

    def add(self, when: float, power_w: float) -> None:
        """Add one sample (monotonic seconds, W; > 0 = charging)."""
        last, self._last = self._last, (when, power_w)
        if last is None:
            return
        dt = when - last[0]
        if dt <= 0 or dt > self.max_gap:
            return
        p0, p1 = last[1], power_w
        if p0 * p1 >= 0:
            area = (p0 + p1) / 2 * dt
            positive, negative = (area, 0.0) if p0 + p1 >= 0 else (0.0, -area)
        else:
            crossing = dt * p0 / (p0 - p1)
            first, second = p0 * crossing / 2, p1 * (dt - crossing) / 2
            positive = max(first, second)
            negative = -min(first, second)
        self.charged_kwh += positive / 3_600_000
        self.discharged_kwh += negative / 3_600_000

    def break_chain(self) -> None:
        """Forget the last sample (the link dropped)."""
        self._last = None


class JkBmsCoordinator(DataUpdateCoordinator[JkBmsData]):
    """Push-style coordinator of one JK BMS.

    Every frame is processed at once (energy stays exact); the entities are
    told at most once per ``update_interval`` option. Availability follows the
    link, not the advertisements.
    """

    config_entry: JkBmsConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: JkBmsConfigEntry, address: str
    ) -> None:
        """Prepare; nothing is connected until the first refresh."""
        options = entry.options
        self.connection_mode = ConnectionMode(
            options.get(CONF_CONNECTION_MODE, DEFAULT_CONNECTION_MODE)
        )
        self.poll_interval = timedelta(
            seconds=options.get(CONF_POLL_INTERVAL, DEFAULT_POLL_INTERVAL)
        )
        self.update_cadence = float(
            options.get(CONF_UPDATE_INTERVAL, DEFAULT_UPDATE_INTERVAL)
        )
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=(
                self.poll_interval
                if self.connection_mode is ConnectionMode.POLL
                else None
            ),
            always_update=False,
        )
        self.address = address
        self._ble_device: BLEDevice | None = bluetooth.async_ble_device_from_address(
            hass, address, connectable=True
        )
        self.client = JkBmsClient(
            self._current_ble_device, pair=options.get(CONF_PAIR, DEFAULT_PAIR)
        )
        self.link_connected = False
        # Why the last (re)connect failed, for the repairs; None once connected.
        self.last_connection_error: Exception | None = None
        self._rssi: int | None = None
        self._publisher = Debouncer(
            hass,
            _LOGGER,
            cooldown=self.update_cadence,
            immediate=True,
            function=self._async_publish,
        )
        max_gap = ENERGY_MAX_GAP
        if self.connection_mode is ConnectionMode.POLL:
            max_gap += self.poll_interval.total_seconds() * 2
        self.energy = EnergyMeter(max_gap)
        self._restored: set[str] = set()
        self._current_ewma: float | None = None
        self._last_sample: float | None = None
        self._last_cell_frame: float | None = None
        self._was_full = False
        self._last_full_charge: datetime | None = None
        self._derived: dict[str, DerivedValue] = {}
        self._soc_state = SocCheckState()
        self._soc_max_gap = max(REST_MAX_GAP, max_gap)
        self._reconnect_attempt = 0
        self._cancel_reconnect: CALLBACK_TYPE | None = None
        self._cancel_reread: CALLBACK_TYPE | None = None
        self._stream_restart_sent = False
        self._reread_frames: set[FrameType] = set()
        self._stopping = False
        self._unsubs: list[Callable[[], None]] = []
        self._unsub_stop: CALLBACK_TYPE | None = None

    # ---------------------------------------------------------------- set-up

    def _current_ble_device(self) -> BLEDevice:
        """Return the freshest BLEDevice: from the manager, else the last one seen."""
        if device := bluetooth.async_ble_device_from_address(
            self.hass, self.address, connectable=True
        ):
            self._ble_device = device
        if self._ble_device is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="device_not_found",
                translation_placeholders={"reason": self._reachability()},
            )
        return self._ble_device

    def _connection_turn(self) -> AbstractAsyncContextManager[None]:
        """Wait for a free slot on the BMS's proxy (scheduler.py) before connecting."""
        if self.client.is_connected:
            # connect() is a no-op (poll right after set-up): waiting behind
            # others for a slot we already hold would deadlock a full proxy.
            return nullcontext()
        return async_connection_turn(
            self.hass,
            self.address,
            self.config_entry.options,
            streaming=self.connection_mode is ConnectionMode.STREAM,
            poll_interval=self.poll_interval.total_seconds(),
        )

    def _reachability(self) -> str:
        return bluetooth.async_address_reachability_diagnostics(
            self.hass, self.address, bluetooth.BluetoothReachabilityIntent.CONNECTION
        )

    @property
    def variant(self) -> Variant:
        """Protocol variant (known after the first refresh)."""
        assert self.client.variant is not None
        return self.client.variant

    @property
    def device_info(self) -> DeviceInfo:
        """Decoded device-info frame (known after the first refresh)."""
        assert self.client.device_info is not None
        return self.client.device_info

    @override
    async def _async_setup(self) -> None:
        """Connect and read device info, settings and the first cell frame."""
        self._unsubs.append(self.client.add_frame_listener(self._handle_frame))
        self._unsubs.append(self.client.add_link_listener(self._handle_link))
        try:
            async with self._connection_turn():
                await self.client.connect()
        except (ProtocolError, HomeAssistantError) as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={
                    "error": str(err),
                    "reason": self._reachability(),
                },
            ) from err
        if self.connection_mode is ConnectionMode.STREAM:
            self._after_connect()
        entry = self.config_entry
        entry.async_on_unload(
            # Every advert, even unchanged ones: RSSI, the best path, and the
            # moment a dropped BMS is back on the air.
            bluetooth.async_register_advertisement_callback(
                self.hass, self._handle_advertisement, self.address
            )
        )
        entry.async_on_unload(
            bluetooth.async_track_unavailable(
                self.hass,
                self._handle_advert_unavailable,
                self.address,
                connectable=True,
            )
        )
        self._unsub_stop = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_handle_stop
        )
        if self.connection_mode is ConnectionMode.STREAM:
            entry.async_on_unload(
                async_track_time_interval(
                    self.hass,
                    self._async_refresh_settings,
                    SETTINGS_REFRESH_INTERVAL,
                    name=f"{self.name} settings",
                    cancel_on_shutdown=True,
                )
            )
            entry.async_on_unload(
                async_track_time_interval(
                    self.hass,
                    self._async_watchdog,
                    WATCHDOG_INTERVAL,
                    name=f"{self.name} watchdog",
                    cancel_on_shutdown=True,
                )
            )

    @override
    async def _async_update_data(self) -> JkBmsData:
        """Stream mode: the current data. Poll mode: connect, read, let go."""
        if self.connection_mode is ConnectionMode.POLL:
            await self._async_poll()
        return self._build_data()

    async def _async_poll(self) -> None:
        try:
            async with self._connection_turn():
                await self.client.connect()  # no-op right after set-up
        except (ProtocolError, HomeAssistantError) as err:
            self.energy.break_chain()
            self.link_connected = False
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={
                    "error": str(err),
                    "reason": self._reachability(),
                },
            ) from err
        try:
            self._after_connect()
        finally:
            await self.client.disconnect()

    @callback
    def _after_connect(self) -> None:
        """Process the handshake's frames (the client does not dispatch them)."""
        self.link_connected = True
        self.last_connection_error = None
        self._reconnect_attempt = 0
        if (cell_info := self.client.last_cell_info) is not None:
            self._process_cell_info(cell_info)

    # ------------------------------------------------------ frames and state

    @callback
    def _handle_frame(self, frame: Frame) -> None:
        if isinstance(frame, CellInfo):
            self._process_cell_info(frame)
        if self.connection_mode is ConnectionMode.STREAM and self.data is not None:
            self._publisher.async_schedule_call()

    def _process_cell_info(self, cell_info: CellInfo) -> None:
        now = time.monotonic()
        self._last_cell_frame = now
        voltage = cell_info.total_voltage
        current = cell_info.current
        derived: dict[str, DerivedValue] = {}
        if voltage is not None and current is not None:
            self.energy.add(now, voltage * current)
            self._update_current_ewma(now, current)
        derived["energy_charged"] = round(self.energy.charged_kwh, 6)
        derived["energy_discharged"] = round(self.energy.discharged_kwh, 6)

        remaining = cell_info.capacity_remaining
        derived["stored_energy"] = (
            round(remaining * voltage / 1000, 3)
            if remaining is not None and voltage is not None
            else None
        )
        derived["time_to_empty"], derived["time_to_full"] = self._times(cell_info)
        self._update_full_charge(cell_info)
        derived["last_full_charge"] = self._last_full_charge
        derived["lowest_cell_headroom"] = self._headroom(cell_info)
        derived["rssi"] = self._rssi
        self._soc_state, verdict = check_soc(
            self._soc_state,
            cell_info,
            self.client.settings,
            now,
            max_gap=self._soc_max_gap,
        )
        derived |= derived_values(verdict)
        self._derived = derived

    def _update_current_ewma(self, now: float, current: float) -> None:
        if self._current_ewma is None or self._last_sample is None:
            self._current_ewma = current
        else:
            dt = max(0.0, now - self._last_sample)
            alpha = 1 - math.exp(-dt / CURRENT_EWMA_TAU)
            # A reversal of direction resets the average (charger plugged in).
            if current * self._current_ewma < 0:
                alpha = 1.0
            self._current_ewma += alpha * (current - self._current_ewma)
        self._last_sample = now

    def _times(self, cell_info: CellInfo) -> tuple[int | None, int | None]:
        current = self._current_ewma
        remaining = cell_info.capacity_remaining
        if current is None or remaining is None or abs(current) < IDLE_CURRENT:
            return None, None
        if current < 0:
            return round(remaining / -current * 3600), None
        full = cell_info.full_charge_capacity
        if full is None:
            return None, None
        return None, round(max(0.0, full - remaining) / current * 3600)

    def _update_full_charge(self, cell_info: CellInfo) -> None:
        full = cell_info.state_of_charge == 100
        settings = self.client.settings
        if not full and settings is not None and cell_info.cell_voltages:
            soc_100 = settings.get("soc_100_voltage")
            if isinstance(soc_100, int | float) and soc_100 > 0:
                full = max(cell_info.cell_voltages) >= soc_100
        if full and not self._was_full:
            self._last_full_charge = dt_util.utcnow()
        self._was_full = full

    def _headroom(self, cell_info: CellInfo) -> float | None:
        settings = self.client.settings
        if settings is None or not cell_info.cell_voltages:
            return None
        uvp = settings.get("cell_uvp")
        if not isinstance(uvp, int | float):
            return None
        return round(min(cell_info.cell_voltages) - uvp, 3)

    def _build_data(self) -> JkBmsData:
        return JkBmsData(
            device_info=self.device_info,
            cell_info=self.client.last_cell_info,
            settings=self.client.settings,
            derived=dict(self._derived) | {"rssi": self._rssi},
        )

    @callback
    def _async_publish(self) -> None:
        """Hand the latest data to the entities (at most once per cadence)."""
        data = self._build_data()
        if data != self.data or not self.last_update_success:
            self.async_set_updated_data(data)

    @callback
    def async_publish_now(self) -> None:
        """Write the latest values to the entities now, ignoring the cadence.

        Before a stop or an unload: the throttled write would be cancelled, and
        the energy counters would store (and later restore) a value up to one
        cadence old, losing that energy on every restart.
        """
        self._publisher.async_cancel()
        if self.client.device_info is None:
            return  # stopped before the first refresh: nothing to show yet
        data = self._build_data()
        if data != self.data:
            # Not async_set_updated_data: that would mark a lost link as a
            # successful update and re-arm the poll timer while stopping.
            self.data = data
            self.async_update_listeners()

    # ---------------------------------------------------------------- restore

    @callback
    def restore_energy(
        self, charged_kwh: float | None, discharged_kwh: float | None
    ) -> None:
        """Continue the counters from the values before the restart (once each)."""
        if charged_kwh is not None and "charged" not in self._restored:
            self._restored.add("charged")
            self.energy.charged_kwh += charged_kwh
        if discharged_kwh is not None and "discharged" not in self._restored:
            self._restored.add("discharged")
            self.energy.discharged_kwh += discharged_kwh
        self._derived["energy_charged"] = round(self.energy.charged_kwh, 6)
        self._derived["energy_discharged"] = round(self.energy.discharged_kwh, 6)
        if self.data is not None:
            self.data.derived.update(
                energy_charged=self._derived["energy_charged"],
                energy_discharged=self._derived["energy_discharged"],
            )

    @callback
    def restore_last_full_charge(self, when: datetime | None) -> None:
        """Keep the last full charge from before the restart, unless newer is known."""
        if when is None:
            return
        if self._last_full_charge is None or when > self._last_full_charge:
            self._last_full_charge = when
            self._derived["last_full_charge"] = when
            if self.data is not None:
                self.data.derived["last_full_charge"] = when

    # ----------------------------------------------------------- link state

    @callback
    def _handle_link(self, connected: bool) -> None:
        if connected or self.connection_mode is ConnectionMode.POLL:
            return
        self.energy.break_chain()
        self._current_ewma = None
        if self._stopping:
            return
        self._set_unavailable("link lost")
        self._schedule_reconnect()

    @callback
    def _set_unavailable(self, reason: str) -> None:
        if self.link_connected:
            _LOGGER.info(
                "%s (%s) is unavailable: %s",
                self.config_entry.title,
                self.address,
                reason,
            )
        self.link_connected = False
        self._publisher.async_cancel()
        self.async_update_listeners()

    @callback
    def _schedule_reconnect(self) -> None:
        if self._cancel_reconnect is not None or self._stopping:
            return
        delay = min(
            RECONNECT_INITIAL_DELAY * 2**self._reconnect_attempt, RECONNECT_MAX_DELAY
        )
        self._reconnect_attempt += 1
        self._cancel_reconnect = async_call_later(
            self.hass,
            delay,
            HassJob(self._async_reconnect, cancel_on_shutdown=True),
        )

    async def _async_reconnect(self, _now: datetime) -> None:
        self._cancel_reconnect = None
        if self._stopping or self.client.is_connected:
            return
        try:
            async with self._connection_turn():
                await self.client.connect()
        except (ProtocolError, HomeAssistantError) as err:
            _LOGGER.debug("Reconnect to %s failed: %s", self.address, err)
            self.last_connection_error = err
            self.async_update_listeners()  # the repairs look at the error
            self._schedule_reconnect()
            return
        _LOGGER.info("%s (%s) is back online", self.config_entry.title, self.address)
        self._after_connect()
        self.async_set_updated_data(self._build_data())

    async def _async_refresh_settings(self, _now: datetime | None = None) -> None:
        """Re-read the settings (not streamed by the BMS)."""
        await self.async_request_settings()

    async def async_request_settings(self) -> None:
        """Re-read settings now (on demand, and every few minutes)."""
        if not self.client.is_connected:
            return
        try:
            await self.client.request_settings()
        except ProtocolError as err:
            _LOGGER.debug("Settings refresh from %s failed: %s", self.address, err)

    async def _async_watchdog(self, _now: datetime) -> None:
        """Restart a stalled stream (0x96); reconnect if that does not help.

        A BMS can keep answering requests while its stream stays stopped: the
        entities would then show frozen values as if they were current.
        """
        if not self.client.is_connected or self._last_cell_frame is None:
            return
        if time.monotonic() - self._last_cell_frame < STREAM_STALL_SECONDS:
            self._stream_restart_sent = False
            return
        if not self._stream_restart_sent:
            try:
                await self.client.request_settings()
            except ProtocolError:
                pass  # no answer at all: reconnect
            else:
                self._stream_restart_sent = True
                return
        _LOGGER.debug("Stream from %s stalled; reconnecting", self.address)
        self._stream_restart_sent = False
        await self.client.disconnect()

    # ------------------------------------------------------ advertisements

    @callback
    def _handle_advertisement(
        self, service_info: bluetooth.BluetoothServiceInfoBleak
    ) -> None:
        """Keep the BLEDevice (best path) and the RSSI fresh."""
        self._ble_device = service_info.device
        self._rssi = service_info.rssi
        if (
            self.connection_mode is ConnectionMode.STREAM
            and not self.link_connected
            and self._cancel_reconnect is not None
            and not self._stopping
        ):
            # It advertises again: try now rather than at the end of the backoff.
            self._cancel_reconnect()
            self._cancel_reconnect = None
            self._reconnect_attempt = 0
            self._schedule_reconnect()

    @callback
    def _handle_advert_unavailable(
        self, _service_info: bluetooth.BluetoothServiceInfoBleak
    ) -> None:
        """No adverts for a while: normal while connected (a BMS stops advertising)."""
        _LOGGER.debug("%s stopped advertising", self.address)

    # ------------------------------------------------------- writes / stop

    async def async_write(self, key: str, value: float | str) -> None:
        """Validate, write, read back. Serialised per BMS by the client.

        Selects take their option key. Nothing is sent when the value is out of
        range or breaks a cross-field rule (ServiceValidationError); a BMS that
        does not answer or does not apply the value raises HomeAssistantError.
        """
        # Checks everything encode_write() checks (range, options) and more.
        self._validate_cross_fields(key, value)
        poll = (
            self.connection_mode is ConnectionMode.POLL and not self.client.is_connected
        )
        sending = False
        try:
            if poll:
                async with self._connection_turn():
                    await self.client.connect()
            sending = True
            await self.client.write(key, value)
        except ReadBackError as err:
            self._schedule_reread(key)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="write_not_applied",
                translation_placeholders={
                    "key": key,
                    "value": _fmt(value),
                    "actual": _fmt(err.actual),
                },
            ) from err
        except (ProtocolError, HomeAssistantError) as err:
            if sending:
                self._schedule_reread(key)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="write_failed",
                translation_placeholders={"key": key, "error": str(err)},
            ) from err
        finally:
            if poll:
                await self.client.disconnect()
        self.async_set_updated_data(self._build_data())

    @callback
    def _schedule_reread(self, key: str) -> None:
        """Re-read the frame that shows ``key`` shortly after a failed write.

        The BMS may have applied the value although its ack or read-back got
        lost; without this the entity would show the old value until the next
        periodic settings refresh.
        """
        self._reread_frames.add(registers_for(self.variant)[key].readback.frame_type)
        if self._cancel_reread is None:
            self._cancel_reread = async_call_later(
                self.hass,
                WRITE_REREAD_DELAY,
                HassJob(self._async_reread, cancel_on_shutdown=True),
            )

    async def _async_reread(self, _now: datetime) -> None:
        self._cancel_reread = None
        frames, self._reread_frames = self._reread_frames, set()
        if self.connection_mode is ConnectionMode.POLL:
            await self.async_request_refresh()  # connect, read everything, let go
            return
        if not self.client.is_connected:
            return  # the reconnect reads everything anyway
        try:
            if FrameType.SETTINGS in frames:
                await self.client.request_settings()
            if FrameType.DEVICE_INFO in frames:
                await self.client.request_device_info()
        except ProtocolError as err:
            _LOGGER.debug("Re-read after a failed write failed: %s", err)
        # Cell-info read-backs (emergency) come with the stream.
        self.async_set_updated_data(self._build_data())

    def _validate_cross_fields(self, key: str, value: float | str) -> None:
        """Range, chemistry and cross-field rules live in validation.py (one place)."""
        settings = self.client.settings
        current = settings.values() if settings is not None else {}
        validate_change(current, self.variant, key, value)

    async def _async_handle_stop(self, _event: Event) -> None:
        """Home Assistant stops: let go of the link (the BMS holds one central)."""
        self._unsub_stop = None  # a fired listen_once is already gone
        # Before the final write of the restore states (energy counters).
        self.async_publish_now()
        await self._async_stop()

    async def _async_stop(self) -> None:
        self._stopping = True
        if self._cancel_reconnect is not None:
            self._cancel_reconnect()
            self._cancel_reconnect = None
        if self._cancel_reread is not None:
            self._cancel_reread()
            self._cancel_reread = None
        self._publisher.async_shutdown()
        if self._unsub_stop is not None:
            self._unsub_stop()
            self._unsub_stop = None
        while self._unsubs:
            self._unsubs.pop()()
        await self.client.disconnect()
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
            "client_connected": self.client.is_connected,
            "reconnect_attempt": self._reconnect_attempt,
            "rssi": self._rssi,
            "link": self.client.stats.as_dict(),
            "parser": self.client.parser_stats,
        }


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)
