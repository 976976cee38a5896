"""Types describing one writable register row, and lookups over the table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from .enums import FrameType, Variant
from .errors import InvalidValueError


class Encoding(StrEnum):
    """How the value bytes of a write are encoded (little-endian)."""

    UINT = "uint"
    INT = "int"
    FLOAT32 = "float32"


class WriteKind(StrEnum):
    """What kind of Home Assistant control the register backs."""

    NUMBER = "number"
    SWITCH = "switch"
    SELECT = "select"


@dataclass(frozen=True, slots=True)
class Readback:
    """Which frame and decoded key show the value after a write."""

    frame_type: FrameType
    key: str


@dataclass(frozen=True, slots=True)
class VariantOverride:
    """Per-variant differences of a row (JK04 floats, shorter lengths, ranges)."""

    length: int | None = None
    encoding: Encoding | None = None
    factor: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A cross-field rule: ``lower`` below ``upper`` (or equal, unless ``strict``).

    ``bms``: the BMS itself keeps it (every real settings frame obeys it), so a
    frame breaking it is garbled; without it the rule only guards writes.
    """

    name: str
    lower: str
    upper: str
    strict: bool = True
    bms: bool = True


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """One writable setting or switch.

    ``registers`` maps each supporting variant to its command byte. ``factor``
    converts the physical value (``unit``) to the raw integer sent; ranges and step
    are in physical units. A spec returned by ``registers_for`` is resolved for one
    variant: ``registers`` has that single entry and ``overrides`` is applied.
    """

    key: str
    kind: WriteKind
    registers: Mapping[Variant, int]
    length: int
    encoding: Encoding
    factor: float
    minimum: float
    maximum: float
    step: float
    unit: str | None
    readback: Readback
    options: tuple[str, ...] | None = None
    overrides: Mapping[Variant, VariantOverride] = field(default_factory=dict)

    @property
    def register(self) -> int:
        """Command byte of a spec resolved for one variant."""
        if len(self.registers) != 1:
            raise InvalidValueError(
                f"{self.key}: resolve the spec for a variant first", key=self.key
            )
        return next(iter(self.registers.values()))

    def resolve(self, variant: Variant) -> RegisterSpec | None:
        """Return this row as it applies to ``variant`` (None: not supported)."""
        register = self.registers.get(variant)
        if register is None:
            return None
        override = self.overrides.get(variant, VariantOverride())
        return replace(
            self,
            registers={variant: register},
            length=override.length or self.length,
            encoding=override.encoding or self.encoding,
            factor=override.factor if override.factor is not None else self.factor,
            minimum=override.minimum if override.minimum is not None else self.minimum,
            maximum=override.maximum if override.maximum is not None else self.maximum,
            step=override.step if override.step is not None else self.step,
            overrides={},
        )
