"""A virtual ESPHome-style Bluetooth proxy that carries virtual JK BMS into Home Assistant.

It registers like an ESPHome proxy does: a habluetooth remote scanner with a
connector (N connection slots) whose bleak backend reaches the virtual devices.
Everything between an integration and this backend is Home Assistant's real
code: matchers and discovery, ``async_ble_device_from_address``,
``establish_connection`` and the ``HaBleakClientWrapper``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any, cast

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector.bluez import Allocations
from bluetooth_data_tools import monotonic_time_coarse
from habluetooth import BaseHaRemoteScanner, HaBluetoothConnector, get_manager
from homeassistant.components import bluetooth
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval

from .gatt import CHAR_MODEL_NUMBER, LAYOUTS, ModuleLayout, build_services
from .link import ConnectionRefusedByBmsError, RefusalReason, VirtualPeripheral

_LOGGER = logging.getLogger(__name__)

DEFAULT_SOURCE = "0A:4B:42:4D:53:01"  # locally administered MAC, "JKBMS"
DEFAULT_NAME = "jk-virtual-proxy"
DEFAULT_SLOTS = 3
DEFAULT_ADVERT_INTERVAL = timedelta(seconds=5)
ATT_HEADER_BYTES = 3

# How a real ESPHome proxy reports each refusal (bleak-retry-connector sorts on text).
REFUSAL_ERRORS: dict[RefusalReason, Callable[[], Exception]] = {
    RefusalReason.REFUSED: lambda: TimeoutError(
        "Timeout waiting for connect response while connecting"
    ),
    RefusalReason.BUSY: lambda: BleakError(
        "Connection failed: ESP_GATT_CONN_FAIL_ESTABLISH (another central holds the BMS)"
    ),
    RefusalReason.PAIRING_REQUIRED: lambda: BleakError(
        "Insufficient authentication: the BMS requires pairing (AuthenticationFailed)"
    ),
}


class VirtualProxyScanner(BaseHaRemoteScanner):
    """The proxy's scanner: adverts of the virtual BMS enter Home Assistant here."""


class VirtualBleakBackend(BaseBleakClient):
    """bleak client backend that talks to a virtual BMS through the proxy."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        proxy: VirtualProxy,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        """Set up; Home Assistant's client wrapper creates one per connection attempt."""
        super().__init__(
            address_or_ble_device,
            disconnected_callback=disconnected_callback,
            timeout=timeout,
            **kwargs,
        )
        self._proxy = proxy
        self._device: VirtualPeripheral | None = None
        self._connected = False
        self._callbacks: dict[int, NotifyCallback] = {}
        self._cccd: dict[int, bytes] = {}

    # --- LinkPeer (called by the device) ------------------------------------------

    def notification(self, data: bytes) -> None:
        """Deliver one notification to every subscriber of the notify characteristic."""
        if not self._connected:
            return
        for notify in list(self._callbacks.values()):
            notify(bytearray(data))

    def link_lost(self) -> None:
        """Handle the BMS side dropping the link."""
        self._on_link_down()

    # --- bleak backend -----------------------------------------------------------

    @property
    def name(self) -> str:
        """Name of the connected device."""
        return self._device.local_name if self._device else self.address

    @property
    def mtu_size(self) -> int:
        """Negotiated ATT MTU."""
        return self._device.mtu if self._device else 23

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._connected

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Take a proxy slot and ask the virtual BMS to accept us."""
        device = self._proxy.devices.get(self.address)
        if device is None:
            raise BleakError(f"Device with address {self.address} was not found")
        self._proxy.connect_attempts[self.address] = (
            self._proxy.connect_attempts.get(self.address, 0) + 1
        )
        if not self._proxy.reserve_slot(self.address):
            raise BleakError("No available connection slot on the virtual proxy")
        try:
            if self._proxy.connect_delay:
                await asyncio.sleep(self._proxy.connect_delay)
            if pair:
                self._proxy.bonds.add(self.address)
            device.accept(self, paired=self.address in self._proxy.bonds)
        except ConnectionRefusedByBmsError as err:
            self._proxy.release_slot(self.address)
            error = REFUSAL_ERRORS[err.reason]()
            raise error from err
        except BaseException:
            self._proxy.release_slot(self.address)
            raise
        self._device = device
        self._connected = True
        self.services = build_services(
            ModuleLayout(device.module_layout), lambda: device.mtu - ATT_HEADER_BYTES
        )

    async def disconnect(self) -> None:
        """Close the link from our side."""
        if self._connected and self._device is not None:
            self._device.central_disconnected()
        self._on_link_down()

    def _on_link_down(self) -> None:
        if not self._connected:
            return
        self._connected = False
        self._callbacks.clear()
        self._proxy.release_slot(self.address)
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Bond with the BMS (remembered by the proxy, like a BlueZ bond)."""
        self._proxy.bonds.add(self.address)

    async def unpair(self) -> None:
        """Forget the bond."""
        self._proxy.bonds.discard(self.address)

    def _require_connected(self) -> VirtualPeripheral:
        if not self._connected or self._device is None:
            raise BleakError("Not connected")
        return self._device

    async def read_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        """Model number for 0x2A24, nothing useful elsewhere (like the real module)."""
        device = self._require_connected()
        if "read" not in characteristic.properties:
            raise BleakError(f"Characteristic {characteristic.handle} is not readable")
        if characteristic.uuid == CHAR_MODEL_NUMBER:
            return bytearray(device.model_number.encode())
        return bytearray()

    async def read_gatt_descriptor(
        self,
        descriptor: BleakGATTDescriptor,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        """CCCD value as last written."""
        self._require_connected()
        return bytearray(self._cccd.get(descriptor.handle, b"\x00\x00"))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        """Commands go to the BMS only on its command characteristic."""
        device = self._require_connected()
        layout = LAYOUTS[ModuleLayout(device.module_layout)]
        if characteristic.handle not in layout.write_handles():
            raise BleakError(
                f"Characteristic {characteristic.handle} does not accept commands"
            )
        device.receive(bytes(data))

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: Any
    ) -> None:
        """Switch notifications on a raw CCCD write, like start_notify does."""
        device = self._require_connected()
        self._cccd[descriptor.handle] = bytes(data)
        device.set_notifications(bytes(data)[:1] == b"\x01")

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: NotifyCallback,
        **kwargs: Any,
    ) -> None:
        """Subscribe (writes 01 00 to the CCCD on a real module)."""
        device = self._require_connected()
        if "notify" not in characteristic.properties:
            raise BleakError(f"Characteristic {characteristic.handle} does not notify")
        self._callbacks[characteristic.handle] = callback
        device.set_notifications(True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Unsubscribe."""
        device = self._require_connected()
        self._callbacks.pop(characteristic.handle, None)
        if not self._callbacks:
            device.set_notifications(False)


class VirtualProxy:
    """An ESPHome-style Bluetooth proxy with virtual JK BMS in range."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        source: str = DEFAULT_SOURCE,
        name: str = DEFAULT_NAME,
        slots: int = DEFAULT_SLOTS,
        advert_interval: timedelta | None = DEFAULT_ADVERT_INTERVAL,
        connect_delay: float = 0.0,
    ) -> None:
        """Configure; ``async_start`` registers it with Home Assistant."""
        self.hass = hass
        self.source = source
        self.name = name
        self.slots = slots
        self.advert_interval = advert_interval
        self.connect_delay = connect_delay
        self.devices: dict[str, VirtualPeripheral] = {}
        self.allocated: list[str] = []
        self.bonds: set[str] = set()
        self.connect_attempts: dict[str, int] = {}
        self.scanner: VirtualProxyScanner | None = None
        self._unsubscribers: list[CALLBACK_TYPE] = []

    @property
    def free_slots(self) -> int:
        """Connection slots not in use."""
        return self.slots - len(self.allocated)

    def async_start(self) -> None:
        """Register the scanner and connector with Home Assistant's Bluetooth manager."""
        connector = HaBluetoothConnector(
            client=cast(
                type[BaseBleakClient], partial(VirtualBleakBackend, proxy=self)
            ),
            source=self.source,
            can_connect=lambda: self.free_slots > 0,
        )
        self.scanner = VirtualProxyScanner(
            self.source, self.name, connector, connectable=True
        )
        self._unsubscribers.append(
            bluetooth.async_register_scanner(
                self.hass, self.scanner, source_domain="esphome"
            )
        )
        self._unsubscribers.append(self.scanner.async_setup())
        if self.advert_interval is not None:
            self._unsubscribers.append(
                async_track_time_interval(
                    self.hass,
                    self._advertise_on_timer,
                    self.advert_interval,
                    name="jk virtual proxy adverts",
                )
            )
        self._report_allocations()
        _LOGGER.info(
            "Virtual Bluetooth proxy %s (%s) registered", self.name, self.source
        )

    def async_stop(self) -> None:
        """Undo the registration (and the scanner's watchdog)."""
        while self._unsubscribers:
            self._unsubscribers.pop()()
        self.scanner = None

    def add(self, device: VirtualPeripheral) -> None:
        """Bring a virtual BMS into range and advertise it."""
        self.devices[device.address] = device
        self.advertise(device.address)

    def remove(self, address: str) -> None:
        """Take a virtual BMS out of range (its adverts stop)."""
        self.devices.pop(address, None)

    def advertise(self, address: str) -> None:
        """Pass one advertisement of ``address`` to Home Assistant."""
        device = self.devices[address]
        if self.scanner is None:
            raise RuntimeError("The virtual proxy is not started")
        self.scanner._async_on_advertisement(  # noqa: SLF001 - how remote scanners feed HA
            device.address,
            device.rssi,
            device.local_name,
            device.service_uuids,
            {},
            device.manufacturer_data,
            None,
            {"address_type": 0},
            monotonic_time_coarse(),
        )

    @callback
    def _advertise_on_timer(self, _now: object) -> None:
        # A callback runs in the event loop; a plain function would be run in
        # an executor thread and Bluetooth's advert callbacks with it.
        self.advertise_idle()

    def advertise_idle(self) -> None:
        """Re-advertise every device that no central is connected to (a connected BMS is silent)."""
        for address, device in list(self.devices.items()):
            if not device.connected:
                self.advertise(address)

    def reserve_slot(self, address: str) -> bool:
        """Take a connection slot for ``address``; False when none is free."""
        if self.free_slots <= 0:
            return False
        self.allocated.append(address)
        self._report_allocations()
        return True

    def release_slot(self, address: str) -> None:
        """Give the slot of ``address`` back."""
        if address in self.allocated:
            self.allocated.remove(address)
            self._report_allocations()

    def _report_allocations(self) -> None:
        if self.scanner is None:
            return
        get_manager().async_on_allocation_changed(
            Allocations(self.source, self.slots, self.free_slots, list(self.allocated))
        )
