"""Frame decoders (bytes -> models); the inverse, ``build_frame``, is in building.py."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from .enums import FrameType, Variant
from .errors import ChecksumError, UnknownFrameError
from .fields import Series as SeriesSpec
from .fields import Table, Value
from .framing import FRAME_LENGTH, RESPONSE_HEADER, RawFrame, checksum
from .models import CellInfo, Decoded, DeviceInfo, Logbook, LogEntry, Settings
from .plan import DecodePlan, pick
from .tables.alarms import ALARMS
from .tables.cell_info_jk02 import CELL_INFO_JK02_TABLE
from .tables.cell_info_jk04 import CELL_INFO_JK04_TABLE
from .tables.device_info import DEVICE_INFO_TABLE
from .tables.logbook import (
    LOGBOOK_CODES,
    LOGBOOK_ENTRY_TABLE,
    LOGBOOK_TABLE,
    MAX_ENTRIES,
)
from .tables.settings_jk02 import SETTINGS_JK02_TABLE
from .tables.settings_jk04 import SETTINGS_JK04_TABLE
from .variant import variant_from_versions

TEMPERATURE_SENSORS = {Variant.JK02_24S: 2, Variant.JK02_32S: 5}
MOSFET_PRESENCE_BIT = 0


LOGBOOK_FRAME_TABLE: Table = LOGBOOK_TABLE + LOGBOOK_ENTRY_TABLE


def table_for(frame_type: FrameType, variant: Variant | None) -> Table:
    """Return the field table for a frame type and variant."""
    match frame_type:
        case FrameType.DEVICE_INFO:
            return DEVICE_INFO_TABLE
        case FrameType.LOGBOOK:
            return LOGBOOK_FRAME_TABLE
        case FrameType.CELL_INFO:
            return (
                CELL_INFO_JK04_TABLE
                if variant is Variant.JK04
                else CELL_INFO_JK02_TABLE
            )
        case FrameType.SETTINGS:
            return (
                SETTINGS_JK04_TABLE if variant is Variant.JK04 else SETTINGS_JK02_TABLE
            )


@cache
def plan(frame_type: FrameType, variant: Variant | None) -> DecodePlan:
    """Return the precompiled decoder for a frame type and variant."""
    return DecodePlan(table_for(frame_type, variant), variant)


def check_envelope(data: bytes, frame_type: FrameType) -> None:
    """Raise unless ``data`` is a whole frame of ``frame_type`` with its checksum."""
    if len(data) != FRAME_LENGTH or not data.startswith(RESPONSE_HEADER):
        raise UnknownFrameError(
            f"expected a {FRAME_LENGTH}-byte frame starting 55 AA EB 90"
        )
    if data[4] != frame_type:
        raise UnknownFrameError(
            f"expected frame type {frame_type:#04x}, got {data[4]:#04x}"
        )
    if checksum(data[:-1]) != data[-1]:
        raise ChecksumError(
            f"frame checksum {data[-1]:#04x} != {checksum(data[:-1]):#04x}"
        )


# --- typed accessors (values are checked by the tables; these only narrow types) ---


def as_int(value: Value) -> int | None:
    """Narrow a decoded value to int (None: another type)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_bool(value: Value) -> bool | None:
    """Narrow a decoded value to bool."""
    return value if isinstance(value, bool) else None


def as_float(value: Value) -> float | None:
    """Narrow a decoded number to float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def as_str(value: Value) -> str | None:
    """Narrow a decoded value to str."""
    return value if isinstance(value, str) else None


# --- device info ---


def decode_device_info(data: bytes) -> DeviceInfo:
    """Decode a device-info frame; 32S-only fields are included for 32S devices."""
    check_envelope(data, FrameType.DEVICE_INFO)
    common = plan(FrameType.DEVICE_INFO, None).decode(data)
    variant = variant_from_versions(
        str(common["model"]),
        str(common["software_version"]),
        str(common["manufacturing_date"]),
        str(common["serial_number"]),
    )
    entities, details, secrets = plan(FrameType.DEVICE_INFO, variant).split(data)
    decoded = entities | details | secrets
    return DeviceInfo(
        counter=data[5],
        model=str(decoded["model"]),
        hardware_version=str(decoded["hardware_version"]),
        software_version=str(decoded["software_version"]),
        uptime=int(decoded["uptime"] or 0),
        power_on_count=int(decoded["power_on_count"] or 0),
        device_name=str(decoded["device_name"]),
        manufacturing_date=str(decoded["manufacturing_date"]),
        serial_number=str(decoded["serial_number"]),
        user_data=str(decoded["user_data"]),
        user_data_2=str(decoded["user_data_2"]),
        variant=variant,
        entries=entities,
        details=details,
        pin=str(decoded["pin"]),
        settings_password=str(decoded["settings_password"]),
        passcode=str(decoded["passcode"]),
    )


# --- cell info ---


@dataclass(frozen=True, slots=True)
class _CellLayout:
    """Where a variant's cell frame keeps what ``decode_cell_info`` derives from."""

    plan: DecodePlan
    slots: int  # cell voltage slots in the frame
    voltages: Callable[[Sequence[Value]], tuple[float, ...]]  # every slot
    resistances: Callable[[Sequence[Value]], tuple[float, ...]]
    shown: Callable[[Sequence[Value]], tuple[Value, ...]]  # entities passed through
    shown_keys: tuple[str, ...]
    voltage_keys: tuple[str, ...]  # cell_voltage_1 … for every slot
    resistance_keys: tuple[str, ...]
    alarm_keys: tuple[tuple[str, str], ...]  # (key, name) carried by the variant
    alarm_word: int  # index of alarm_bitmask (its bits are the alarm flags)
    temperature_mask: int | None  # index of temperature_presence_mask
    sensors: tuple[tuple[int, str, int], ...]  # (sensor, key, index) of JK02 probes


def series_picker(
    decoder: DecodePlan, key: str, count: int
) -> Callable[[Sequence[Value]], tuple[float, ...]]:
    """Pick a series of floats (cell voltages, resistances) out of the values."""
    indices = [decoder.index[f"{key}_{index}"] for index in range(1, count + 1)]
    return cast(Callable[[Sequence[Value]], tuple[float, ...]], pick(indices))


def cell_slots(variant: Variant) -> int:
    """Cell voltage slots in the variant's cell frame (24 or 32)."""
    return next(
        s
        for s in table_for(FrameType.CELL_INFO, variant)
        if isinstance(s, SeriesSpec) and s.key == "cell_voltage"
    ).count_for(variant)


@cache
def _cell_layout(variant: Variant) -> _CellLayout:
    decoder = plan(FrameType.CELL_INFO, variant)
    table = table_for(FrameType.CELL_INFO, variant)
    slots = cell_slots(variant)
    resistances = next(
        s for s in table if isinstance(s, SeriesSpec) and s.key == "cell_resistance"
    ).count_for(variant)
    shown_keys = tuple(
        key
        for key in decoder.entity_keys
        if not key.startswith(
            ("cell_voltage_", "cell_resistance_", "temperature_sensor_")
        )
    )
    return _CellLayout(
        plan=decoder,
        slots=slots,
        voltages=series_picker(decoder, "cell_voltage", slots),
        resistances=series_picker(decoder, "cell_resistance", resistances),
        shown=pick([decoder.index[key] for key in shown_keys]),
        shown_keys=shown_keys,
        voltage_keys=tuple(f"cell_voltage_{index}" for index in range(1, slots + 1)),
        resistance_keys=tuple(
            f"cell_resistance_{index}" for index in range(1, slots + 1)
        ),
        alarm_word=decoder.index.get("alarm_bitmask", 0),
        alarm_keys=tuple(
            (alarm.key, alarm.name)
            for alarm in ALARMS.values()
            if alarm.key in shown_keys
        ),
        temperature_mask=decoder.index.get("temperature_presence_mask"),
        sensors=tuple(
            (sensor, key, decoder.index[key])
            for sensor in range(1, TEMPERATURE_SENSORS.get(variant, 0) + 1)
            if (key := f"temperature_sensor_{sensor}")
        ),
    )


# CellInfo's fields between ``alarms`` and ``entries`` are named after the entity
# key they hold: decode_cell_info passes them positionally, straight from the dict.
_MODEL_FIELDS = tuple(CellInfo.__dataclass_fields__)
_TYPED_FIELDS = _MODEL_FIELDS[6:-2]
if _MODEL_FIELDS[:6] + _MODEL_FIELDS[-2:] != (
    *("variant", "counter", "cell_voltages", "cell_resistances"),
    *("temperatures", "alarms", "entries", "details"),
):
    raise TypeError("decode_cell_info passes CellInfo's fields in this order")


_STATISTICS = (
    "min_cell_voltage",
    "max_cell_voltage",
    "min_voltage_cell",
    "max_voltage_cell",
    "average_cell_voltage",
    "delta_cell_voltage",
)


def _cell_statistics(values: dict[str, Value], voltages: tuple[float, ...]) -> None:
    if not voltages:
        values.update(dict.fromkeys(_STATISTICS))
        return
    minimum = min(voltages)
    total = sum(voltages)
    present: Sequence[float] = voltages
    if not minimum > 0 or math.isnan(total):  # a gap in the cells, or a NaN float
        present = [volts for volts in voltages if volts > 0]
        if not present:
            values.update(dict.fromkeys(_STATISTICS))
            return
        minimum = min(present)
        total = sum(present)
    maximum = max(present)
    values["min_cell_voltage"] = minimum
    values["max_cell_voltage"] = maximum
    values["min_voltage_cell"] = voltages.index(minimum) + 1  # first match on ties
    values["max_voltage_cell"] = voltages.index(maximum) + 1
    values["average_cell_voltage"] = round(total / len(present), 4)
    values["delta_cell_voltage"] = round(maximum - minimum, 4)


def _temperatures(
    values: dict[str, Value], raw: Sequence[Value], layout: _CellLayout
) -> dict[int, float]:
    """Sensors the presence mask marks as connected (JK02 only)."""
    temperatures: dict[int, float] = {}
    if layout.temperature_mask is None:
        return temperatures
    mask = as_int(raw[layout.temperature_mask]) or 0
    for sensor, key, index in layout.sensors:
        reading = raw[index]  # None: not connected
        if isinstance(reading, float) and mask >> sensor & 1:
            temperatures[sensor] = reading
            values[key] = reading
    if not mask >> MOSFET_PRESENCE_BIT & 1:
        values["mosfet_temperature"] = None
    return temperatures


def _power(values: dict[str, Value]) -> None:
    """Power and its split, from the JK02 frame's pack voltage and current."""
    voltage = values["total_voltage"]  # U32 / I32 in every JK02 frame
    current = values["current"]
    if not isinstance(voltage, float) or not isinstance(current, float):
        values["power"] = values["charging_power"] = values["discharging_power"] = None
        return
    power = round(voltage * current, 3)
    values["power"] = power
    values["charging_power"] = power if power > 0 else 0.0
    values["discharging_power"] = -power if power < 0 else 0.0


def present_cells(slots: tuple[float, ...], count: int) -> tuple[float, ...]:
    """Return the cells up to the last one present (every slot in V; 0: empty)."""
    # Usually the slots after the first empty one are all empty, which two
    # C-level scans confirm.
    present = slots.index(0.0) if 0.0 in slots else count
    if any(slots[present:]):
        present = count
    while present and not slots[present - 1] > 0:
        present -= 1
    return slots[:present]


def decode_cell_info(data: bytes, variant: Variant) -> CellInfo:
    """Decode a cell-info frame as ``variant`` (see ``check_cell_info`` first)."""
    check_envelope(data, FrameType.CELL_INFO)
    layout = _cell_layout(variant)
    decoder = layout.plan
    raw = decoder.values(data)
    voltages = present_cells(layout.voltages(raw), layout.slots)
    count = len(voltages)
    resistances: tuple[float, ...] = layout.resistances(raw)[:count]

    values = dict(zip(layout.shown_keys, layout.shown(raw), strict=True))
    values.update(zip(layout.voltage_keys, voltages, strict=False))
    values.update(zip(layout.resistance_keys, resistances, strict=False))
    values["cell_count"] = count
    _cell_statistics(values, voltages)
    if variant is Variant.JK04:
        values["total_voltage"] = round(sum(voltages, 0.0), 4)
    status = as_str(values.get("balancer_status"))
    values["balancing"] = None if status is None else status != "off"
    temperatures = _temperatures(values, raw, layout)
    alarms: frozenset[str] = frozenset()
    if variant is not Variant.JK04:
        _power(values)
        values["errors"] = ""
        if raw[layout.alarm_word]:  # the word the alarm flags are bits of
            active = [(key, name) for key, name in layout.alarm_keys if values[key]]
            values["errors"] = ", ".join(name for _, name in active)
            alarms = frozenset(key for key, _ in active)
    if variant is Variant.JK02_32S:
        countdown = values["emergency_time_countdown"]  # U16: always an int
        values["emergency"] = countdown != 0
    details = decoder.details(raw)
    # The tables give every key its type; CellInfo's fields in between are named
    # after the keys they hold (see _TYPED_FIELDS), so they are passed in order.
    fields: tuple[Any, ...] = (
        variant,
        data[5],
        voltages,
        resistances,
        temperatures,
        alarms,
        *map(values.get, _TYPED_FIELDS),
        values,
        details,
    )
    return CellInfo(*fields)


# --- settings and logbook ---


def decode_settings(data: bytes, variant: Variant) -> Settings:
    """Decode a settings frame as ``variant``."""
    check_envelope(data, FrameType.SETTINGS)
    entities, details, _ = plan(FrameType.SETTINGS, variant).split(data)
    return Settings(variant=variant, counter=data[5], entries=entities, details=details)


def decode_logbook(data: bytes) -> Logbook:
    """Decode a logbook frame (up to 50 entries are carried per frame)."""
    check_envelope(data, FrameType.LOGBOOK)
    decoded = plan(FrameType.LOGBOOK, None).decode(data)
    count = as_int(decoded["entry_count"]) or 0
    entries: list[LogEntry] = []
    for index in range(1, min(count, MAX_ENTRIES) + 1):
        code = as_int(decoded[f"entry_{index}_code"]) or 0
        entries.append(
            LogEntry(
                timestamp_s=as_int(decoded[f"entry_{index}_timestamp"]) or 0,
                code=code,
                event=LOGBOOK_CODES.get(code, f"Unknown event 0x{code:02X}"),
            )
        )
    return Logbook(counter=data[5], entry_count=count, entries=tuple(entries))


def decode_frame(frame: RawFrame, variant: Variant | None) -> Decoded:
    """Decode any frame; cell info and settings need the variant."""
    match frame.frame_type:
        case FrameType.DEVICE_INFO:
            return decode_device_info(frame.data)
        case FrameType.LOGBOOK:
            return decode_logbook(frame.data)
        case _ if variant is None:
            raise UnknownFrameError(
                f"frame type {frame.frame_type:#04x} needs the protocol variant"
            )
        case FrameType.CELL_INFO:
            return decode_cell_info(frame.data, variant)
        case FrameType.SETTINGS:
            return decode_settings(frame.data, variant)
