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
