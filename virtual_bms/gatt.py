"""The GATT tables of the two JK BLE module generations (protocol doc §1.1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection

type CharacteristicProperty = Literal[
    "read", "write", "write-without-response", "notify"
]


def uuid16(short: int) -> str:
    """Full 128-bit UUID string of a 16-bit Bluetooth SIG UUID."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


SERVICE_FFE0 = uuid16(0xFFE0)
CHAR_FFE1 = uuid16(0xFFE1)
CHAR_FFE2 = uuid16(0xFFE2)
SERVICE_DEVICE_INFORMATION = uuid16(0x180A)
CHAR_MODEL_NUMBER = uuid16(0x2A24)
CCCD = uuid16(0x2902)


class ModuleLayout(StrEnum):
    """Which BLE module generation the virtual BMS carries."""

    OLD = "old"  # one FFE1 for write and notify (value handle 0x12, CCCD 0x13)
    NEW = "new"  # two FFE1: 0x03 write/write-without-response, 0x05 read/notify


@dataclass(frozen=True, slots=True)
class CharacteristicSpec:
    """One characteristic of a layout."""

    service_handle: int
    handle: int
    uuid: str
    properties: tuple[CharacteristicProperty, ...]
    cccd_handle: int | None = None


@dataclass(frozen=True, slots=True)
class GattLayout:
    """Services and characteristics one module generation exposes."""

    services: tuple[tuple[int, str], ...]
    characteristics: tuple[CharacteristicSpec, ...]

    def write_handles(self) -> frozenset[int]:
        """Return the handles the BMS accepts commands on."""
        return frozenset(
            c.handle
            for c in self.characteristics
            if c.uuid == CHAR_FFE1
            and {"write", "write-without-response"} & set(c.properties)
        )

    def notify_handles(self) -> frozenset[int]:
        """Return the handles the BMS sends notifications from."""
        return frozenset(
            c.handle
            for c in self.characteristics
            if c.uuid == CHAR_FFE1 and "notify" in c.properties
        )


LAYOUTS: dict[ModuleLayout, GattLayout] = {
    ModuleLayout.OLD: GattLayout(
        services=((0x10, SERVICE_FFE0), (0x20, SERVICE_DEVICE_INFORMATION)),
        characteristics=(
            CharacteristicSpec(
                0x10,
                0x12,
                CHAR_FFE1,
                ("write-without-response", "write", "notify"),
                0x13,
            ),
            CharacteristicSpec(0x10, 0x15, CHAR_FFE2, ("write",)),
            CharacteristicSpec(0x20, 0x22, CHAR_MODEL_NUMBER, ("read",)),
        ),
    ),
    ModuleLayout.NEW: GattLayout(
        services=((0x01, SERVICE_FFE0), (0x20, SERVICE_DEVICE_INFORMATION)),
        characteristics=(
            CharacteristicSpec(
                0x01, 0x03, CHAR_FFE1, ("write-without-response", "write")
            ),
            CharacteristicSpec(0x01, 0x05, CHAR_FFE1, ("read", "notify"), 0x06),
            CharacteristicSpec(0x20, 0x22, CHAR_MODEL_NUMBER, ("read",)),
        ),
    ),
}


def build_services(
    layout: ModuleLayout, max_write_without_response_size: Callable[[], int]
) -> BleakGATTServiceCollection:
    """Build the bleak service collection a central discovers on a module of ``layout``."""
    spec = LAYOUTS[layout]
    collection = BleakGATTServiceCollection()
    services: dict[int, BleakGATTService] = {}
    for handle, uuid in spec.services:
        services[handle] = BleakGATTService(None, handle, uuid)
        collection.add_service(services[handle])
    for char_spec in spec.characteristics:
        characteristic = BleakGATTCharacteristic(
            None,
            char_spec.handle,
            char_spec.uuid,
            list(char_spec.properties),
            max_write_without_response_size,
            services[char_spec.service_handle],
        )
        collection.add_characteristic(characteristic)
        if char_spec.cccd_handle is not None:
            collection.add_descriptor(
                BleakGATTDescriptor(None, char_spec.cccd_handle, CCCD, characteristic)
            )
    return collection
