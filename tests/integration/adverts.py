"""Real JK advertisements, as Home Assistant's Bluetooth stack receives them."""

from __future__ import annotations

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bluetooth_data_tools import monotonic_time_coarse
from homeassistant.components.bluetooth import (
    BluetoothServiceInfoBleak,
    async_get_advertisement_callback,
)
from homeassistant.core import HomeAssistant

FFE0 = "0000ffe0-0000-1000-8000-00805f9b34fb"
FEE7 = "0000fee7-0000-1000-8000-00805f9b34fb"


def service_info(
    address: str,
    name: str,
    manufacturer_data: dict[int, bytes],
    service_uuids: list[str] | None = None,
) -> BluetoothServiceInfoBleak:
    """Build the service info a local adapter reports for one advertisement."""
    uuids = service_uuids if service_uuids is not None else [FFE0, FEE7]
    return BluetoothServiceInfoBleak(
        name=name,
        address=address,
        rssi=-60,
        manufacturer_data=manufacturer_data,
        service_data={},
        service_uuids=uuids,
        source="local",
        device=BLEDevice(address, name, {}),
        advertisement=AdvertisementData(
            local_name=name,
            manufacturer_data=manufacturer_data,
            service_data={},
            service_uuids=uuids,
            tx_power=-127,
            rssi=-60,
            platform_data=(),
        ),
        connectable=True,
        time=monotonic_time_coarse(),
        tx_power=-127,
    )


# JK_B2A8S20P with the common 0x0B65 payload: 88 A0 + the MAC (protocol doc §1.3).
JK_B2A8S20P = service_info(
    "C8:47:80:0F:D5:C5",
    "JK_B2A8S20P",
    {0x0B65: bytes.fromhex("88a0c847800fd5c5")},
)
# JK-BD4A8S-4P advertises the ASCII "JK" company id 0x4B4A with payload 00 01.
JK_BD4A8S4P = service_info(
    "20:25:03:11:22:33", "JK-BD4A8S-4P", {0x4B4A: bytes.fromhex("0001")}
)
# Another BMS brand on the same FFE0 service with its own manufacturer id.
OTHER_FFE0_BMS = service_info(
    "A4:C1:38:AA:BB:CC", "xiaoxiang BMS", {0x1234: bytes.fromhex("0102")}
)


def inject(hass: HomeAssistant, info: BluetoothServiceInfoBleak) -> None:
    """Feed one advertisement into Home Assistant's Bluetooth manager."""
    async_get_advertisement_callback(hass)(info)
