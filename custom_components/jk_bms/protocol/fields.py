"""Field-spec types and the generic encoder that walks a table (decoding: plan.py).

A table is a tuple of specs. Each spec names its key (the entities.md key where
there is one), where it lives (one offset for every variant, or one per variant;
a variant missing from the mapping does not carry the field), how the raw bytes
are encoded and how raw units convert to SI/HA units (``physical = raw / divisor``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum, auto

from .enums import Variant
from .errors import InvalidValueError

type Value = float | int | str | bool | None
type Offset = int | Mapping[Variant, int]
type PerVariant[T] = T | Mapping[Variant, T]

U8 = struct.Struct("<B")
I8 = struct.Struct("<b")
U16 = struct.Struct("<H")
I16 = struct.Struct("<h")
U32 = struct.Struct("<I")
I32 = struct.Struct("<i")
F32 = struct.Struct("<f")

# float32 carries about 7 significant digits; 6 survive decimal -> float32 -> decimal,
# so decoded JK04 values are stable under build/decode round trips.
FLOAT32_DIGITS = 6


class Role(Enum):
    """Where a decoded field ends up in a model."""

    ENTITY = auto()  # an entities.md key: part of ``values()``
    DETAIL = auto()  # documented but not an entity: diagnostics / CLI only
    SECRET = auto()  # PINs and passwords: never in ``values()``, details or repr


def at(
    jk02_24s: int | None = None,
    jk02_32s: int | None = None,
    jk04: int | None = None,
) -> Mapping[Variant, int]:
    """Per-variant offsets; a variant given as None does not carry the field."""
    pairs = (
        (Variant.JK02_24S, jk02_24s),
        (Variant.JK02_32S, jk02_32s),
        (Variant.JK04, jk04),
    )
    return {variant: offset for variant, offset in pairs if offset is not None}


@dataclass(frozen=True, slots=True)
class Number:
    """A scalar number: ``physical = raw / divisor``; ``absent`` raw value -> None."""

    key: str
    offset: Offset
    fmt: struct.Struct
    divisor: int = 1
    absent: int | None = None
    role: Role = Role.ENTITY
    entity_on: tuple[Variant, ...] | None = None


@dataclass(frozen=True, slots=True)
class Flag:
    """A boolean: a whole byte/word != 0, or one bit of it."""

    key: str
    offset: Offset
    fmt: struct.Struct = U8
    bit: int | None = None
    role: Role = Role.ENTITY
    entity_on: tuple[Variant, ...] | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """An enumerated value stored as an index; decoded to a snake_case option key."""

    key: str
    offset: Offset
    fmt: struct.Struct
    options: tuple[str, ...]
    bit: int | None = None
    role: Role = Role.ENTITY
    entity_on: tuple[Variant, ...] | None = None


@dataclass(frozen=True, slots=True)
class Text:
    """A NUL-padded ASCII string of fixed maximum length."""

    key: str
    offset: Offset
    length: int
    role: Role = Role.ENTITY
    entity_on: tuple[Variant, ...] | None = None


@dataclass(frozen=True, slots=True)
class Series:
    """Consecutive numbers decoded to ``<key>_1`` … ``<key>_<count>``."""

    key: str
    offset: Offset
    fmt: struct.Struct
    count: PerVariant[int]
    divisor: int = 1
    role: Role = Role.ENTITY
    entity_on: tuple[Variant, ...] | None = None

    def count_for(self, variant: Variant | None) -> int:
        """Return how many elements this variant carries."""
        if isinstance(self.count, int):
            return self.count
        return self.count.get(variant, 0) if variant is not None else 0

    def keys(self, variant: Variant | None) -> Iterator[str]:
        """Yield the flattened keys for this variant."""
        for index in range(1, self.count_for(variant) + 1):
            yield f"{self.key}_{index}"


type FieldSpec = Number | Flag | Choice | Text | Series
type Table = tuple[FieldSpec, ...]


def offset_of(spec: FieldSpec, variant: Variant | None) -> int | None:
    """Return the byte offset of ``spec`` for ``variant`` (None: not carried)."""
    if isinstance(spec.offset, int):
        return spec.offset
    return spec.offset.get(variant) if variant is not None else None


def is_entity(spec: FieldSpec, variant: Variant | None) -> bool:
    """Tell whether ``spec`` is an entities.md key for ``variant``."""
    if spec.role is not Role.ENTITY:
        return False
    return spec.entity_on is None or variant in spec.entity_on


def table_keys(table: Table, variant: Variant | None) -> list[str]:
    """All keys a table yields for ``variant`` (flattened series included)."""
    keys: list[str] = []
    for spec in table:
        if offset_of(spec, variant) is None:
            continue
        if isinstance(spec, Series):
            keys.extend(spec.keys(variant))
        else:
            keys.append(spec.key)
    return keys


def round_float32(value: float) -> float:
    """Round a float32 reading to the digits it really carries."""
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{FLOAT32_DIGITS}g}")


def _integer_limits(fmt: struct.Struct) -> tuple[int, int]:
    bits = fmt.size * 8
    if fmt.format[-1].islower():  # b, h, i: signed
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _pack_number(
    key: str,
    value: Value,
    fmt: struct.Struct,
    divisor: int,
    buffer: bytearray,
    offset: int,
) -> None:
    if isinstance(value, str) or value is None:
        raise InvalidValueError(
            f"{key}: expected a number, got {value!r}", key=key, value=value
        )
    if fmt is F32:
        fmt.pack_into(buffer, offset, float(value))
        return
    raw = round(value * divisor)
    low, high = _integer_limits(fmt)
    if not low <= raw <= high:
        raise InvalidValueError(
            f"{key}: {value!r} does not fit the field",
            key=key,
            value=value,
            minimum=low / divisor,
            maximum=high / divisor,
        )
    fmt.pack_into(buffer, offset, raw)


def _pack_bit(
    fmt: struct.Struct, buffer: bytearray, offset: int, bit: int, on: bool
) -> None:
    word = fmt.unpack_from(buffer, offset)[0]
    word = word | (1 << bit) if on else word & ~(1 << bit)
    fmt.pack_into(buffer, offset, word)


def _encode_one(spec: FieldSpec, value: Value, buffer: bytearray, offset: int) -> None:
    match spec:
        case Number(key=key, fmt=fmt, divisor=divisor, absent=absent):
            if value is None and absent is not None:
                fmt.pack_into(buffer, offset, absent)
            else:
                _pack_number(key, value, fmt, divisor, buffer, offset)
        case Flag(key=key, fmt=fmt, bit=bit):
            if not isinstance(value, bool | int):
                raise InvalidValueError(f"{key}: expected a bool", key=key, value=value)
            if bit is None:
                fmt.pack_into(buffer, offset, 1 if value else 0)
            else:
                _pack_bit(fmt, buffer, offset, bit, bool(value))
        case Choice(key=key, fmt=fmt, options=options, bit=bit):
            if value is None:
                return  # an index outside the table decodes to None: keep the stored one
            index = option_index(key, options, value)
            if bit is None:
                fmt.pack_into(buffer, offset, index)
            else:
                _pack_bit(fmt, buffer, offset, bit, bool(index))
        case Text(key=key, length=length):
            if not isinstance(value, str):
                raise InvalidValueError(f"{key}: expected text", key=key, value=value)
            encoded = value.encode("ascii", errors="replace")
            if len(encoded) > length:
                raise InvalidValueError(
                    f"{key}: longer than {length} characters", key=key, value=value
                )
            buffer[offset : offset + length] = encoded.ljust(length, b"\x00")
        case Series():
            raise TypeError("series are expanded by encode_fields")


def option_index(key: str, options: tuple[str, ...], value: Value) -> int:
    """Map an option key (or an index) to its index; raise InvalidValueError."""
    if isinstance(value, str) and value in options:
        return options.index(value)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 0 <= value < len(options)
    ):
        return value
    raise InvalidValueError(
        f"{key}: {value!r} is not one of {', '.join(options)}",
        key=key,
        value=value,
        minimum=0,
        maximum=len(options) - 1,
    )


def encode_fields(
    table: Table,
    buffer: bytearray,
    variant: Variant | None,
    values: Mapping[str, Value],
) -> set[str]:
    """Write every key of ``values`` the table carries for ``variant``.

    Returns the keys that were written, so callers can reject unknown ones.
    """
    written: set[str] = set()
    for spec in table:
        offset = offset_of(spec, variant)
        if offset is None:
            continue
        if isinstance(spec, Series):
            size = spec.fmt.size
            for index, key in enumerate(spec.keys(variant)):
                if key in values:
                    _pack_number(
                        key,
                        values[key],
                        spec.fmt,
                        spec.divisor,
                        buffer,
                        offset + index * size,
                    )
                    written.add(key)
        elif spec.key in values:
            _encode_one(spec, values[spec.key], buffer, offset)
            written.add(spec.key)
    return written
