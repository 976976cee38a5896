"""Frame decoders (bytes -> models) and ``build_frame`` (values -> bytes)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from .enums import FrameType, Variant
from .errors import ChecksumError, InvalidValueError, UnknownFrameError
from .fields import (
    Role,
    Table,
    Value,
    decode_fields,
    encode_fields,
    is_entity,
    offset_of,
)
from .fields import Series as SeriesSpec
from .framing import FRAME_LENGTH, RESPONSE_HEADER, RawFrame, checksum
from .models import CellInfo, Decoded, DeviceInfo, Logbook, LogEntry, Settings
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

# Keys computed from other fields: accepted (and ignored) by build_frame.
DERIVED_CELL_KEYS = frozenset(
    {
        "power",
        "charging_power",
        "discharging_power",
        "average_cell_voltage",
        "delta_cell_voltage",
        "min_cell_voltage",
        "max_cell_voltage",
        "min_voltage_cell",
        "max_voltage_cell",
        "cell_count",
        "errors",
        "balancing",
        "emergency",
    }
)
DERIVED_JK04_CELL_KEYS = DERIVED_CELL_KEYS | {"total_voltage"}
TEMPERATURE_SENSORS = {Variant.JK02_24S: 2, Variant.JK02_32S: 5}
MOSFET_PRESENCE_BIT = 0


def table_for(frame_type: FrameType, variant: Variant | None) -> Table:
    """Return the field table for a frame type and variant."""
    match frame_type:
        case FrameType.DEVICE_INFO:
            return DEVICE_INFO_TABLE
        case FrameType.LOGBOOK:
            return LOGBOOK_TABLE + LOGBOOK_ENTRY_TABLE
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
def _key_roles(frame_type: FrameType, variant: Variant | None) -> Mapping[str, Role]:
    """Flattened key -> role (ENTITY only where the variant exposes it)."""
    roles: dict[str, Role] = {}
    for spec in table_for(frame_type, variant):
        if offset_of(spec, variant) is None:
            continue
        if is_entity(spec, variant):
            role = Role.ENTITY
        else:  # an entity key on another variant is a detail here
            role = Role.DETAIL if spec.role is Role.ENTITY else spec.role
        keys = spec.keys(variant) if isinstance(spec, SeriesSpec) else (spec.key,)
        for key in keys:
            roles[key] = role
    return roles


def _split(
    decoded: Mapping[str, Value], frame_type: FrameType, variant: Variant | None
) -> tuple[dict[str, Value], dict[str, Value]]:
    roles = _key_roles(frame_type, variant)
    entities: dict[str, Value] = {}
    details: dict[str, Value] = {}
    for key, value in decoded.items():
        match roles[key]:
            case Role.ENTITY:
                entities[key] = value
            case Role.DETAIL:
                details[key] = value
            case Role.SECRET:
                pass
    return entities, details


def _check_envelope(data: bytes, frame_type: FrameType) -> None:
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


def _float(value: Value) -> float | None:
    return (
        float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else None
    )


def _int(value: Value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bool(value: Value) -> bool | None:
    return value if isinstance(value, bool) else None


def _str(value: Value) -> str | None:
    return value if isinstance(value, str) else None


# --- device info ---


def decode_device_info(data: bytes) -> DeviceInfo:
    """Decode a device-info frame; 32S-only fields are included for 32S devices."""
    _check_envelope(data, FrameType.DEVICE_INFO)
    common = decode_fields(DEVICE_INFO_TABLE, data, None)
    variant = variant_from_versions(
        str(common["model"]),
        str(common["software_version"]),
        str(common["manufacturing_date"]),
        str(common["serial_number"]),
    )
    decoded = decode_fields(DEVICE_INFO_TABLE, data, variant) if variant else common
    entities, details = _split(decoded, FrameType.DEVICE_INFO, variant)
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


def _present_cells(decoded: Mapping[str, Value], key: str, count: int) -> list[float]:
    return [
        _float(decoded.get(f"{key}_{index}")) or 0.0 for index in range(1, count + 1)
    ]


def _cell_statistics(voltages: list[float]) -> dict[str, Value]:
    present = [(index, volts) for index, volts in enumerate(voltages, 1) if volts > 0]
    if not present:
        return dict.fromkeys(
            (
                "min_cell_voltage",
                "max_cell_voltage",
                "min_voltage_cell",
                "max_voltage_cell",
                "average_cell_voltage",
                "delta_cell_voltage",
            )
        )
    minimum = min(present, key=lambda item: item[1])  # first match on ties
    maximum = max(present, key=lambda item: item[1])
    average = sum(volts for _, volts in present) / len(present)
    return {
        "min_cell_voltage": minimum[1],
        "max_cell_voltage": maximum[1],
        "min_voltage_cell": minimum[0],
        "max_voltage_cell": maximum[0],
        "average_cell_voltage": round(average, 4),
        "delta_cell_voltage": round(maximum[1] - minimum[1], 4),
    }


def _cell_values(
    decoded: Mapping[str, Value], entities: dict[str, Value], variant: Variant
) -> tuple[dict[str, Value], tuple[float, ...], tuple[float, ...], dict[int, float]]:
    """Turn raw table output into the entity view (cells present, derived keys)."""
    table = table_for(FrameType.CELL_INFO, variant)
    slots = next(
        s for s in table if isinstance(s, SeriesSpec) and s.key == "cell_voltage"
    )
    all_voltages = _present_cells(decoded, "cell_voltage", slots.count_for(variant))
    count = max((i for i, v in enumerate(all_voltages, 1) if v > 0), default=0)
    voltages = tuple(all_voltages[:count])
    resistances = tuple(_present_cells(decoded, "cell_resistance", count))
    values: dict[str, Value] = {
        key: value
        for key, value in entities.items()
        if not key.startswith(
            ("cell_voltage_", "cell_resistance_", "temperature_sensor_")
        )
    }
    for index in range(1, count + 1):
        values[f"cell_voltage_{index}"] = voltages[index - 1]
        values[f"cell_resistance_{index}"] = resistances[index - 1]
    values["cell_count"] = count
    values.update(_cell_statistics(list(voltages)))
    if variant is Variant.JK04:
        values["total_voltage"] = round(sum(voltages), 4)
    status = _str(values.get("balancer_status"))
    values["balancing"] = None if status is None else status != "off"

    temperatures: dict[int, float] = {}
    if variant is not Variant.JK04:
        mask = _int(decoded.get("temperature_presence_mask")) or 0
        for sensor in range(1, TEMPERATURE_SENSORS[variant] + 1):
            reading = _float(decoded.get(f"temperature_sensor_{sensor}"))
            if reading is not None and mask >> sensor & 1:
                temperatures[sensor] = reading
                values[f"temperature_sensor_{sensor}"] = reading
        if not mask >> MOSFET_PRESENCE_BIT & 1:
            values["mosfet_temperature"] = None
        voltage = _float(values.get("total_voltage"))
        current = _float(values.get("current"))
        power = (
            None if voltage is None or current is None else round(voltage * current, 3)
        )
        values["power"] = power
        values["charging_power"] = (
            None if power is None else (power if power > 0 else 0.0)
        )
        values["discharging_power"] = (
            None if power is None else (-power if power < 0 else 0.0)
        )
        values["errors"] = ", ".join(
            alarm.name for alarm in ALARMS.values() if values.get(alarm.key) is True
        )
        if variant is Variant.JK02_32S:
            countdown = _int(values.get("emergency_time_countdown"))
            values["emergency"] = None if countdown is None else countdown > 0
    return values, voltages, resistances, temperatures


def decode_cell_info(data: bytes, variant: Variant) -> CellInfo:
    """Decode a cell-info frame as ``variant`` (see ``check_cell_info`` first)."""
    _check_envelope(data, FrameType.CELL_INFO)
    decoded = decode_fields(table_for(FrameType.CELL_INFO, variant), data, variant)
    entities, details = _split(decoded, FrameType.CELL_INFO, variant)
    values, voltages, resistances, temperatures = _cell_values(
        decoded, entities, variant
    )
    alarms = frozenset(
        alarm.key for alarm in ALARMS.values() if values.get(alarm.key) is True
    )
    get = values.get
    return CellInfo(
        variant=variant,
        counter=data[5],
        cell_voltages=voltages,
        cell_resistances=resistances,
        temperatures=temperatures,
        alarms=alarms,
        total_voltage=_float(get("total_voltage")),
        current=_float(get("current")),
        power=_float(get("power")),
        state_of_charge=_int(get("state_of_charge")),
        capacity_remaining=_float(get("capacity_remaining")),
        full_charge_capacity=_float(get("full_charge_capacity")),
        state_of_health=_int(get("state_of_health")),
        charging_cycles=_int(get("charging_cycles")),
        total_charging_cycle_capacity=_float(get("total_charging_cycle_capacity")),
        average_cell_voltage=_float(get("average_cell_voltage")),
        delta_cell_voltage=_float(get("delta_cell_voltage")),
        min_cell_voltage=_float(get("min_cell_voltage")),
        max_cell_voltage=_float(get("max_cell_voltage")),
        min_voltage_cell=_int(get("min_voltage_cell")),
        max_voltage_cell=_int(get("max_voltage_cell")),
        balancing_current=_float(get("balancing_current")),
        balancer_status=_str(get("balancer_status")),
        mosfet_temperature=_float(get("mosfet_temperature")),
        heating_current=_float(get("heating_current")),
        emergency_time_countdown=_int(get("emergency_time_countdown")),
        total_runtime=_int(get("total_runtime")),
        detail_logs_count=_int(get("detail_logs_count")),
        charge_status=_str(get("charge_status")),
        charging=_bool(get("charging")),
        discharging=_bool(get("discharging")),
        balancing=_bool(get("balancing")),
        heating=_bool(get("heating")),
        emergency=_bool(get("emergency")),
        errors=_str(get("errors")),
        entries=values,
        details=details,
    )


# --- settings and logbook ---


def decode_settings(data: bytes, variant: Variant) -> Settings:
    """Decode a settings frame as ``variant``."""
    _check_envelope(data, FrameType.SETTINGS)
    decoded = decode_fields(table_for(FrameType.SETTINGS, variant), data, variant)
    entities, details = _split(decoded, FrameType.SETTINGS, variant)
    return Settings(variant=variant, counter=data[5], entries=entities, details=details)


def decode_logbook(data: bytes) -> Logbook:
    """Decode a logbook frame (up to 50 entries are carried per frame)."""
    _check_envelope(data, FrameType.LOGBOOK)
    decoded = decode_fields(table_for(FrameType.LOGBOOK, None), data, None)
    count = _int(decoded["entry_count"]) or 0
    entries: list[LogEntry] = []
    for index in range(1, min(count, MAX_ENTRIES) + 1):
        code = _int(decoded[f"entry_{index}_code"]) or 0
        entries.append(
            LogEntry(
                timestamp_s=_int(decoded[f"entry_{index}_timestamp"]) or 0,
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


# --- build (inverse) ---


def _allowed_derived(frame_type: FrameType, variant: Variant) -> frozenset[str]:
    if frame_type is not FrameType.CELL_INFO:
        return frozenset()
    return DERIVED_JK04_CELL_KEYS if variant is Variant.JK04 else DERIVED_CELL_KEYS


def _sync_presence_masks(
    buffer: bytearray, variant: Variant, values: Mapping[str, Value]
) -> None:
    """Keep the cell and temperature presence masks consistent with written values."""
    table = table_for(FrameType.CELL_INFO, variant)
    offsets = {spec.key: offset_of(spec, variant) for spec in table}
    if "cell_presence_mask" not in values and any(
        k.startswith("cell_voltage_") for k in values
    ):
        decoded = decode_fields(table, bytes(buffer), variant)
        slots = 24 if variant is not Variant.JK02_32S else 32
        mask = sum(
            1 << (index - 1)
            for index in range(1, slots + 1)
            if (_float(decoded.get(f"cell_voltage_{index}")) or 0) > 0
        )
        offset = offsets["cell_presence_mask"]
        if offset is not None:
            buffer[offset : offset + 4] = mask.to_bytes(4, "little")
    mask_offset = offsets.get("temperature_presence_mask")
    if (
        variant is Variant.JK04
        or mask_offset is None
        or "temperature_presence_mask" in values
    ):
        return
    mask = buffer[mask_offset]
    sensors = {"mosfet_temperature": MOSFET_PRESENCE_BIT} | {
        f"temperature_sensor_{n}": n for n in range(1, TEMPERATURE_SENSORS[variant] + 1)
    }
    for key, bit in sensors.items():
        if key in values:
            mask = mask | (1 << bit) if values[key] is not None else mask & ~(1 << bit)
    buffer[mask_offset] = mask


def build_frame(
    frame_type: FrameType,
    variant: Variant,
    values: Mapping[str, Value],
    *,
    template: bytes | None = None,
    counter: int = 0,
) -> bytes:
    """Encode ``values`` (decoded keys) into a 300-byte frame; the inverse of decoding.

    Starts from ``template`` (or zeros), writes every given key through the same
    table the decoder uses, keeps presence masks consistent and fixes the checksum.
    Derived keys (power, min/max cell, errors, …) are accepted and ignored.
    """
    if template is not None and len(template) != FRAME_LENGTH:
        raise InvalidValueError(
            "template must be 300 bytes", key="template", value=len(template)
        )
    buffer = bytearray(template) if template is not None else bytearray(FRAME_LENGTH)
    buffer[0:4] = RESPONSE_HEADER
    buffer[4] = frame_type
    buffer[5] = counter & 0xFF
    table_variant: Variant | None = variant
    table = table_for(frame_type, variant)
    written = encode_fields(table, buffer, table_variant, values)
    unknown = set(values) - written - _allowed_derived(frame_type, variant)
    if unknown:
        raise InvalidValueError(
            f"keys not carried by this frame: {', '.join(sorted(unknown))}",
            key=sorted(unknown)[0],
        )
    if frame_type is FrameType.CELL_INFO:
        _sync_presence_masks(buffer, variant, values)
    buffer[-1] = checksum(buffer[:-1])
    return bytes(buffer)
