"""The contract between a virtual BMS and whatever radio carries its BLE link.

The device knows nothing about bleak or Home Assistant: a transport (the virtual
proxy's bleak backend, or a plain test double) hands it a ``LinkPeer`` when a
central connects, and the device talks back only through that peer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class LinkPeer(Protocol):
    """The central's end of one connection, as the device sees it."""

    def notification(self, data: bytes) -> None:
        """Deliver one notification (one ATT packet's payload) to the central."""

    def link_lost(self) -> None:
        """Tell the central the link dropped (supervision timeout, BMS reset …)."""


class RefusalReason(StrEnum):
    """Why the BMS did not accept a connection."""

    REFUSED = "refused"  # fault knob: the module ignores connection requests
    BUSY = "busy"  # another central (the JK app) holds the only link
    PAIRING_REQUIRED = "pairing_required"  # 19.3x firmware with BlueZ, §8.5


class ConnectionRefusedByBmsError(Exception):
    """The virtual BMS did not accept the connection."""

    def __init__(self, reason: RefusalReason) -> None:
        """Remember why, so the transport can report it the way a real radio would."""
        super().__init__(reason.value)
        self.reason = reason


class VirtualPeripheral(Protocol):
    """What a transport needs from a virtual BLE peripheral."""

    @property
    def address(self) -> str:
        """BLE MAC address."""

    @property
    def local_name(self) -> str:
        """Advertised name (the device name from the device-info frame)."""

    @property
    def manufacturer_data(self) -> dict[int, bytes]:
        """Manufacturer-specific advertisement data."""

    @property
    def service_uuids(self) -> list[str]:
        """Advertised service UUIDs."""

    @property
    def rssi(self) -> int:
        """Signal strength the proxy hears the adverts with, dBm."""

    @property
    def model_number(self) -> str:
        """Device Information "Model Number" characteristic value."""

    @property
    def mtu(self) -> int:
        """ATT MTU the module negotiates."""

    @property
    def module_layout(self) -> str:
        """``ModuleLayout`` value: which GATT table the module exposes."""

    @property
    def connected(self) -> bool:
        """Whether a central holds the link."""

    def accept(self, peer: LinkPeer, *, paired: bool) -> None:
        """Accept a central or raise ``ConnectionRefusedByBmsError``."""

    def set_notifications(self, enabled: bool) -> None:
        """Handle the central writing the CCCD (``01 00`` on, ``00 00`` off)."""

    def receive(self, data: bytes) -> None:
        """Handle ``data`` the central wrote to the command characteristic."""

    def central_disconnected(self) -> None:
        """Handle the central closing the link."""
