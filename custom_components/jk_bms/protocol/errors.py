"""Exceptions raised by the protocol layer (all derive from ProtocolError)."""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class: the only exception type the protocol layer raises."""


class ChecksumError(ProtocolError):
    """A frame's additive checksum does not match its last byte."""


class UnknownFrameError(ProtocolError):
    """Bytes that are not a frame this library understands (header, type or length)."""


class VariantMismatchError(ProtocolError):
    """A frame does not fit the protocol variant it is being decoded as."""


class ImplausibleFrameError(ProtocolError):
    """A frame passed its checksum but holds values no real pack reports.

    The 8-bit checksum lets about 1 in 256 garbled frames through.
    """


class SettingsUnconfirmedError(ImplausibleFrameError):
    """The settings could not be read twice alike: no write is checked against them."""


class InvalidValueError(ProtocolError):
    """A write was refused before any byte was produced.

    The value is out of range, the key is unknown, or the variant does not support it.
    """

    def __init__(
        self,
        message: str,
        *,
        key: str,
        value: object = None,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> None:
        """Store the offending key/value and the allowed range for the caller."""
        super().__init__(message)
        self.key = key
        self.value = value
        self.minimum = minimum
        self.maximum = maximum


class LinkError(ProtocolError):
    """Talking to the BMS failed (link, timeout, read-back)."""


class ConnectionFailedError(LinkError):
    """The link could not be established, was lost, or a GATT operation failed."""


class PairingRequiredError(ConnectionFailedError):
    """The firmware wants a bonded link (BlueZ reports an authentication failure)."""


class NoFreeSlotError(ConnectionFailedError):
    """No Bluetooth adapter or proxy in range had a free connection slot."""


class NotConnectedError(LinkError):
    """An operation needs the link, and it is down."""


class ResponseTimeoutError(LinkError):
    """The BMS did not answer a request or acknowledge a write in time."""


class NotJkBmsError(LinkError):
    """The device connected, but it does not look or talk like a JK BMS."""


class MissingCharacteristicError(NotJkBmsError):
    """No FFE1 characteristic that writes and notifies.

    19.3x firmware shows an empty or partial GATT table until the link is bonded.
    """


class UnsupportedVariantError(NotJkBmsError):
    """No protocol variant fits the first cell-info frame."""


class WriteNotConfirmedError(LinkError):
    """The BMS acknowledged a write, but reading it back shows another value."""

    def __init__(self, key: str, expected: object, actual: object) -> None:
        """Keep the key and both values for the caller's message."""
        super().__init__(f"{key}: wrote {expected!r}, BMS reports {actual!r}")
        self.key = key
        self.expected = expected
        self.actual = actual
