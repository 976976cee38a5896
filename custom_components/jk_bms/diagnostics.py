"""Diagnostics for JK BMS: variant, firmware, link, last raw frames, settings.

The device-info frame carries the BLE PIN and the settings password in clear
text (protocol doc §8.5). They are never decoded into values, and in the raw
frame the secret fields, the serial number and the device name are blanked
before the hex leaves Home Assistant.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_ADDRESS
from homeassistant.core import HomeAssistant

from .coordinator import JkBmsConfigEntry, JkBmsCoordinator
from .protocol import (
    CellInfo,
    DeviceInfo,
    FrameType,
    ProtocolError,
    RawFrame,
    Settings,
    Variant,
    build_frame,
)

TO_REDACT = {
    CONF_ADDRESS,
    "address",
    "serial_number",
    "device_name",
    "name",
    "title",
    "pin",
    "passcode",
    "password",
    "settings_password",
    "user_data",
    "user_data_2",
}
# Blanked inside the raw device-info frame (text fields of the frame table).
_RAW_DEVICE_INFO_BLANKS = {
    "device_name": "",
    "pin": "",
    "serial_number": "",
    "passcode": "",
    "user_data": "",
    "settings_password": "",
    "user_data_2": "",
}


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in values.items()
    }


def _raw_hex(raw: RawFrame, variant: Variant | None) -> str:
    if raw.frame_type is not FrameType.DEVICE_INFO:
        return raw.data.hex(" ")
    try:
        blanked = build_frame(
            FrameType.DEVICE_INFO,
            variant or Variant.JK02_32S,
            _RAW_DEVICE_INFO_BLANKS,
            template=raw.data,
            counter=raw.counter,
        )
    except ProtocolError:  # pragma: no cover - the table always has these fields
        return REDACTED
    return blanked.hex(" ")


def _frames(coordinator: JkBmsCoordinator) -> dict[str, Any]:
    snapshot = coordinator.snapshot
    latest: dict[FrameType, DeviceInfo | Settings | CellInfo | None] = {
        FrameType.DEVICE_INFO: snapshot.device_info,
        FrameType.SETTINGS: snapshot.settings,
        FrameType.CELL_INFO: snapshot.cell_info,
    }
    decoded: dict[FrameType, dict[str, Any]] = {
        frame_type: frame.values()
        for frame_type, frame in latest.items()
        if frame is not None
    }
    if snapshot.logbook is not None:
        decoded[FrameType.LOGBOOK] = {
            "entries": [
                {"timestamp_s": e.timestamp_s, "code": e.code, "event": e.event}
                for e in snapshot.logbook.entries
            ]
        }
    return {
        frame_type.name.lower(): {
            "counter": raw.counter,
            "hex": _raw_hex(raw, snapshot.variant),
            "decoded": decoded.get(frame_type),
        }
        for frame_type, raw in sorted(coordinator.raw_frames.items())
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: JkBmsConfigEntry
) -> dict[str, Any]:
    """Return a redacted snapshot of one BMS, without talking to it."""
    coordinator = entry.runtime_data
    info = coordinator.device_info
    diagnostics: dict[str, Any] = {
        "entry": {
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        "variant": coordinator.variant,
        "model": info.model,
        "hardware_version": info.hardware_version,
        "firmware": info.software_version,
        "uses_factory_passwords": info.uses_factory_passwords,
        "link": coordinator.diagnostics(),
        "derived": _jsonable(dict(coordinator.data.derived)),
        "frames": _frames(coordinator),
    }
    return async_redact_data(diagnostics, TO_REDACT)
