"""Host -> BMS command frames (protocol doc §2, §8).

A command frame is 20 bytes: ``AA 55 90 EB``, command byte, value length, the
value (little-endian), zero filler, checksum. Writes are driven by the register
table; nothing is produced unless the value passes validation.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from .enums import Variant
from .errors import ChecksumError, InvalidValueError, UnknownFrameError
from .framing import COMMAND_HEADER, COMMAND_LENGTH, checksum
from .register_spec import Encoding, RegisterSpec, WriteKind
from .setting_rules import check_value, normalize
from .tables.registers import REGISTERS

MAX_VALUE_LENGTH = COMMAND_LENGTH - 7  # bytes 6..18
ACK_REGISTER = 0xC8


class Command(IntEnum):
    """Request and action command bytes (JK02_32S numbering for actions)."""

    SETTINGS = 0x96  # settings frame + start of cell-info streaming
    DEVICE_INFO = 0x97
    LOGBOOK = 0xA1
    VOLTAGE_CALIBRATION = 0x64
    SHUTDOWN = 0x65
    RESTART = 0x66
    CURRENT_CALIBRATION = 0x67
    PRESET_LI_ION = 0x68
    PRESET_LIFEPO4 = 0x69
    PRESET_LTO = 0x6A
    EMERGENCY = 0x6B
    TIME_CALIBRATION = 0x6C
    FACTORY_RESET = 0x9D


REQUESTS = frozenset({Command.SETTINGS, Command.DEVICE_INFO, Command.LOGBOOK})


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """How one action is sent on one variant (value range in physical units)."""

    register: int
    length: int = 0
    factor: float = 1
    minimum: float | None = None
    maximum: float | None = None
    signed: bool = False


# Trigger-only actions carry no value (ESPHome sends value 0); calibrations carry one.
# 24S numbers its calibrations 0x21/0x24 (§8.2); JK04 calibrates an ADC reference
# instead of the pack voltage, which is a different user action and is left out.
ACTIONS: Mapping[Command, Mapping[Variant, ActionSpec]] = {
    Command.VOLTAGE_CALIBRATION: {
        Variant.JK02_24S: ActionSpec(0x21, 4, 1000, 1.0, 200.0),
        Variant.JK02_32S: ActionSpec(0x64, 4, 1000, 1.0, 200.0),
    },
    Command.CURRENT_CALIBRATION: {
        Variant.JK02_24S: ActionSpec(0x24, 4, 1000, 0.0, 1000.0),
        Variant.JK02_32S: ActionSpec(0x67, 4, 1000, 0.0, 1000.0),
    },
    # Seconds since 2020-01-01 00:00 local time (captured from the app).
    Command.TIME_CALIBRATION: {
        Variant.JK02_32S: ActionSpec(0x6C, 4, 1, 0, 0xFFFFFFFF),
    },
    Command.EMERGENCY: {Variant.JK02_32S: ActionSpec(0x6B, 4, 1, 0, 1)},
    Command.SHUTDOWN: {Variant.JK02_32S: ActionSpec(0x65)},
    Command.RESTART: {Variant.JK02_32S: ActionSpec(0x66)},
    Command.FACTORY_RESET: {Variant.JK02_32S: ActionSpec(0x9D)},
    Command.PRESET_LI_ION: {Variant.JK02_32S: ActionSpec(0x68)},
    Command.PRESET_LIFEPO4: {Variant.JK02_32S: ActionSpec(0x69)},
    Command.PRESET_LTO: {Variant.JK02_32S: ActionSpec(0x6A)},
}


@dataclass(frozen=True, slots=True)
class CommandFrame:
    """A decoded 20-byte command frame (what the virtual BMS receives)."""

    register: int
    length: int
    value: bytes
    data: bytes

    @property
    def value_uint(self) -> int:
        """The value bytes as an unsigned little-endian integer."""
        return int.from_bytes(self.value, "little")

    @property
    def value_int(self) -> int:
        """The value bytes as a signed little-endian integer."""
        return int.from_bytes(self.value, "little", signed=True)

    @property
    def value_float(self) -> float:
        """The value bytes as float32 (JK04 settings)."""
        return float(struct.unpack("<f", self.value.ljust(4, b"\x00")[:4])[0])

    @property
    def is_ack(self) -> bool:
        """Tell whether this is the BMS's ``C8`` acknowledgement."""
        return self.register == ACK_REGISTER


def build_command(register: int, value: bytes = b"") -> bytes:
    """Frame ``value`` for ``register`` with zero filler and the checksum."""
    if not 0 <= register <= 0xFF:
        raise InvalidValueError(
            f"register {register!r} out of range", key=str(register)
        )
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidValueError(
            "value longer than 13 bytes", key=hex(register), value=value
        )
    body = COMMAND_HEADER + bytes((register, len(value))) + value
    body = body.ljust(COMMAND_LENGTH - 1, b"\x00")
    return body + bytes((checksum(body),))


def encode_request(command: Command) -> bytes:
    """Encode a value-less request (0x96 settings, 0x97 device info, 0xA1 logbook)."""
    return build_command(int(command))


def registers_for(variant: Variant) -> Mapping[str, RegisterSpec]:
    """Every writable key the variant supports, resolved for that variant."""
    return _RESOLVED[variant]


def register_lookup(variant: Variant, register: int) -> RegisterSpec:
    """Find the row a command byte writes on ``variant`` (for the virtual BMS)."""
    spec = _BY_REGISTER[variant].get(register)
    if spec is None:
        raise InvalidValueError(
            f"register 0x{register:02X} is not writable on {variant}",
            key=f"0x{register:02X}",
        )
    return spec


def _resolve_all() -> dict[Variant, dict[str, RegisterSpec]]:
    resolved: dict[Variant, dict[str, RegisterSpec]] = {}
    for variant in Variant:
        specs = (row.resolve(variant) for row in REGISTERS.values())
        resolved[variant] = {spec.key: spec for spec in specs if spec is not None}
    return resolved


_RESOLVED = _resolve_all()
_BY_REGISTER = {
    variant: {spec.register: spec for spec in specs.values()}
    for variant, specs in _RESOLVED.items()
}


def _check_range(
    key: str, number: float, minimum: float | None, maximum: float | None
) -> None:
    if not math.isfinite(number) or (
        (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
    ):
        raise InvalidValueError(
            f"{key}: {number!r} is outside {minimum}…{maximum}",
            key=key,
            value=number,
            minimum=minimum,
            maximum=maximum,
        )


def _integer_bytes(key: str, raw: int, length: int, signed: bool) -> bytes:
    try:
        return raw.to_bytes(length, "little", signed=signed)
    except OverflowError:
        raise InvalidValueError(
            f"{key}: {raw} does not fit {length} bytes", key=key, value=raw
        ) from None


def value_bytes(spec: RegisterSpec, value: float | str) -> bytes:
    """Validate ``value`` against a resolved spec and return its value bytes.

    The checks are the protocol's one validation path (``setting_rules``: option,
    switch, finite number, range, step); a ``RuleViolationError`` names the rule.
    """
    normalized = normalize(spec, value)
    check_value(spec, normalized)
    if spec.kind is WriteKind.SELECT:
        number = float((spec.options or ()).index(str(normalized)))
    else:
        number = float(normalized)
    if spec.encoding is Encoding.FLOAT32:
        return struct.pack("<f", number * spec.factor)
    raw = round(number * spec.factor)
    return _integer_bytes(spec.key, raw, spec.length, spec.encoding is Encoding.INT)


def encode_write(key: str, value: float | str, variant: Variant) -> bytes:
    """Encode a write of ``key`` = ``value`` (physical units) for ``variant``.

    Selects also accept their option key. Raises InvalidValueError for unknown
    keys, keys the variant lacks and out-of-range values, before any byte exists.
    """
    spec = _RESOLVED[variant].get(key)
    if spec is None:
        reason = (
            "unknown setting" if key not in REGISTERS else f"not writable on {variant}"
        )
        raise InvalidValueError(f"{key}: {reason}", key=key, value=value)
    return build_command(spec.register, value_bytes(spec, value))


def encode_action(
    command: Command, variant: Variant, value: float | None = None
) -> bytes:
    """Encode an action (calibration, restart, presets, …) for ``variant``."""
    if command in REQUESTS:
        return encode_request(command)
    spec = ACTIONS.get(command, {}).get(variant)
    key = command.name.lower()
    if spec is None:
        raise InvalidValueError(
            f"{key}: not supported on {variant}", key=key, value=value
        )
    if spec.length == 0:
        return build_command(spec.register)
    if value is None:
        raise InvalidValueError(f"{key}: needs a value", key=key)
    _check_range(key, float(value), spec.minimum, spec.maximum)
    raw = round(value * spec.factor)
    return build_command(
        spec.register, _integer_bytes(key, raw, spec.length, spec.signed)
    )


def parse_command(data: bytes) -> CommandFrame:
    """Decode a 20-byte command frame, validating header, length and checksum."""
    if len(data) != COMMAND_LENGTH or not data.startswith(COMMAND_HEADER):
        raise UnknownFrameError(
            f"not a {COMMAND_LENGTH}-byte command frame: {data.hex()}"
        )
    if checksum(data[:-1]) != data[-1]:
        raise ChecksumError(f"command checksum mismatch: {data.hex()}")
    length = data[5]
    if length > MAX_VALUE_LENGTH:
        raise UnknownFrameError(f"command value length {length} exceeds 13 bytes")
    return CommandFrame(data[4], length, bytes(data[6 : 6 + length]), bytes(data))
