"""Precompiled decoders: one plan per table and variant, built from the field specs.

Walking a table spec by spec costs a Python call, a ``match`` and a
``struct.unpack_from`` per value (about 150 values in a 32S cell frame, ~190 µs).
A plan does that walk once, when it is built: it lays every raw read into as
few ``struct.Struct`` s as the overlaps allow (two for a JK02 cell frame: the
frame, and the alarm word whose bytes the alarm flags also read), and compiles
one function that unpacks them and converts every value in a single expression
(``r[7] / 1000``, ``r[40] >> 3 & 1 == 1``, …), the way ``dataclasses`` compiles
``__init__``. The specs stay the single source: the source of that function is
generated from them, and ``build_frame`` encodes through the same tables.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

from .enums import Variant
from .fields import (
    F32,
    Choice,
    FieldSpec,
    Flag,
    Number,
    Role,
    Series,
    Table,
    Text,
    Value,
    is_entity,
    offset_of,
    round_float32,
)

type Row = tuple[Value, ...]
type Picker = Callable[[Sequence[Value]], Row]


def pick(indices: Sequence[int]) -> Picker:
    """Like ``itemgetter(*indices)``, but always returns a tuple."""
    if not indices:
        return lambda _: ()
    if len(indices) == 1:
        index = indices[0]
        return lambda items: (items[index],)
    return itemgetter(*indices)


@dataclass(frozen=True, slots=True)
class _Element:
    """One output value: its key, role, raw read and how it converts."""

    key: str
    role: Role
    offset: int
    code: str  # struct code of the raw read, e.g. "H" or "16s"
    spec: FieldSpec


def _role(spec: FieldSpec, variant: Variant | None) -> Role:
    if is_entity(spec, variant):
        return Role.ENTITY
    # an entity key on another variant is a detail here
    return Role.DETAIL if spec.role is Role.ENTITY else spec.role


def _elements(spec: FieldSpec, variant: Variant | None) -> Iterator[_Element]:
    offset = offset_of(spec, variant)
    if offset is None:
        return
    role = _role(spec, variant)
    match spec:
        case Series(fmt=fmt):
            for index, key in enumerate(spec.keys(variant)):
                yield _Element(
                    key, role, offset + index * fmt.size, fmt.format[-1], spec
                )
        case Text(key=key, length=length):
            yield _Element(key, role, offset, f"{length}s", spec)
        case (
            Number(key=key, fmt=fmt) | Flag(key=key, fmt=fmt) | Choice(key=key, fmt=fmt)
        ):
            yield _Element(key, role, offset, fmt.format[-1], spec)


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("ascii", errors="replace")


def _expression(spec: FieldSpec, raw: str, constants: dict[str, object]) -> str:
    """Python source converting ``raw`` (a raw read) as ``spec`` says."""
    match spec:
        case Number(fmt=fmt, divisor=divisor) | Series(fmt=fmt, divisor=divisor):
            if fmt is F32:
                value = f"_round({raw})"
            else:
                value = raw if divisor == 1 else f"{raw} / {divisor}"
            absent = spec.absent if isinstance(spec, Number) else None
            if absent is None:
                return value
            return f"(None if {raw} == {absent} else {value})"
        case Flag(bit=bit):
            return f"{raw} != 0" if bit is None else f"{raw} >> {bit} & 1 == 1"
        case Choice(options=options, bit=bit):
            name = f"_options_{len(constants)}"
            constants[name] = dict(enumerate(options))
            index = raw if bit is None else f"{raw} >> {bit} & 1"
            return f"{name}.get({index})"
        case Text():
            return f"_text({raw})"


def _layouts(reads: Sequence[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Split the raw reads into layers whose reads do not overlap (first fit)."""
    layers: list[list[tuple[int, str]]] = []
    ends: list[int] = []
    for offset, code in sorted(reads):
        size = struct.calcsize("<" + code)
        for number, end in enumerate(ends):
            if offset >= end:
                layers[number].append((offset, code))
                ends[number] = offset + size
                break
        else:
            layers.append([(offset, code)])
            ends.append(offset + size)
    return layers


def _struct(layer: Sequence[tuple[int, str]]) -> struct.Struct:
    parts, position = ["<"], 0
    for offset, code in layer:
        if offset > position:
            parts.append(f"{offset - position}x")
        parts.append(code)
        position = offset + struct.calcsize("<" + code)
    return struct.Struct("".join(parts))


def _compile(elements: Sequence[_Element]) -> Callable[[bytes], Row]:
    """Build ``values(data)``: the raw reads, then one expression per element."""
    layers = _layouts(sorted({(e.offset, e.code) for e in elements}))
    raw_index = {read: n for n, read in enumerate(chain.from_iterable(layers))}
    constants: dict[str, object] = {"_round": round_float32, "_text": _text}
    unpacks = []
    for number, layer in enumerate(layers):
        constants[f"_unpack_{number}"] = _struct(layer).unpack_from
        unpacks.append(f"_unpack_{number}(data)")
    expressions = [
        _expression(e.spec, f"r[{raw_index[(e.offset, e.code)]}]", constants)
        for e in elements
    ]
    source = (
        "def values(data):\n"
        f"    r = {' + '.join(unpacks) or '()'}\n"
        f"    return ({''.join(f'{x}, ' for x in expressions)})\n"
    )
    namespace: dict[str, Any] = {}
    # Compiled from our own tables only (never from input), like dataclasses does.
    exec(compile(source, "<decode plan>", "exec"), constants, namespace)  # noqa: S102
    function: Callable[[bytes], Row] = namespace["values"]
    return function


class RowView(Mapping[str, Value]):
    """A read-only mapping over some keys of a decoded row, built in O(1).

    Details (diagnostics and CLI only) come with every cell frame; a view costs
    nothing until someone reads it.
    """

    __slots__ = ("_index", "_keys", "_row")

    def __init__(
        self, keys: tuple[str, ...], index: Mapping[str, int], row: Row
    ) -> None:
        """View ``keys`` of ``row``; ``index`` maps each key to its position."""
        self._keys = keys
        self._index = index
        self._row = row

    def __getitem__(self, key: str) -> Value:
        """Return the value of ``key``."""
        return self._row[self._index[key]]

    def __iter__(self) -> Iterator[str]:
        """Iterate over the keys in table order."""
        return iter(self._keys)

    def __len__(self) -> int:
        """Return the number of keys."""
        return len(self._keys)

    def __repr__(self) -> str:
        """Show the values like a dict."""
        return repr(dict(self))


class DecodePlan:
    """Decoder for one table and variant.

    ``values(data)`` returns one value per key, in ``keys`` order: the entity
    keys, then the detail keys, then the secret keys, each in table order
    (series flattened as in ``table_keys``); ``index`` maps a key to its position.
    """

    __slots__ = (
        "_detail_index",
        "detail_keys",
        "entity_keys",
        "index",
        "keys",
        "secret_keys",
        "values",
    )

    def __init__(self, table: Table, variant: Variant | None) -> None:
        """Lay out the reads and compile the conversions of ``table`` for ``variant``."""
        elements = [e for spec in table for e in _elements(spec, variant)]
        by_role = {role: [e for e in elements if e.role is role] for role in Role}
        ordered = by_role[Role.ENTITY] + by_role[Role.DETAIL] + by_role[Role.SECRET]
        self.entity_keys = tuple(e.key for e in by_role[Role.ENTITY])
        self.detail_keys = tuple(e.key for e in by_role[Role.DETAIL])
        self.secret_keys = tuple(e.key for e in by_role[Role.SECRET])
        self.keys = self.entity_keys + self.detail_keys + self.secret_keys
        self.index = {key: number for number, key in enumerate(self.keys)}
        self._detail_index = {key: self.index[key] for key in self.detail_keys}
        self.values = _compile(ordered)

    def split(
        self, data: bytes
    ) -> tuple[dict[str, Value], dict[str, Value], dict[str, Value]]:
        """Decode ``data`` into entity, detail and secret values."""
        values = self.values(data)
        entities = len(self.entity_keys)
        return (
            dict(zip(self.entity_keys, values[:entities], strict=True)),
            dict(self.details(values)),
            dict(
                zip(
                    self.secret_keys,
                    values[len(values) - len(self.secret_keys) :],
                    strict=True,
                )
            ),
        )

    def details(self, values: Row) -> Mapping[str, Value]:
        """Return the detail values of ``values(data)``, read when asked for."""
        return RowView(self.detail_keys, self._detail_index, values)

    def decode(self, data: bytes) -> dict[str, Value]:
        """Decode ``data`` into one dict of every key the variant carries."""
        return dict(zip(self.keys, self.values(data), strict=True))


_PLANS: dict[tuple[int, Variant | None], tuple[Table, DecodePlan]] = {}


def plan_for(table: Table, variant: Variant | None) -> DecodePlan:
    """Return the (cached) plan for ``table`` and ``variant``."""
    key = (id(table), variant)
    cached = _PLANS.get(key)
    if cached is None or cached[0] is not table:
        cached = _PLANS[key] = (table, DecodePlan(table, variant))
    return cached[1]


def decode_fields(
    table: Table, data: bytes, variant: Variant | None
) -> dict[str, Value]:
    """Decode every field ``variant`` carries (keys as in ``table_keys``)."""
    return plan_for(table, variant).decode(data)
