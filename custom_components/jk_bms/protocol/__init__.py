"""JK BMS Bluetooth LE protocol (JK02_24S, JK02_32S, JK04): no Home Assistant imports.

See README.md in this directory for an overview and the command-line decoder.
"""

from __future__ import annotations

from .building import build_frame
from .commands import (
    ACTIONS,
    Command,
    CommandFrame,
    build_command,
    encode_action,
    encode_request,
    encode_write,
    parse_command,
    register_lookup,
    registers_for,
)
from .decoding import (
    decode_cell_info,
    decode_device_info,
    decode_frame,
    decode_logbook,
    decode_settings,
    table_for,
)
from .enums import FrameType, Variant
from .errors import (
    ChecksumError,
    ConnectionFailedError,
    ImplausibleFrameError,
    InvalidValueError,
    LinkError,
    MissingCharacteristicError,
    NoFreeSlotError,
    NotConnectedError,
    NotJkBmsError,
    PairingRequiredError,
    ProtocolError,
    ResponseTimeoutError,
    SettingsUnconfirmedError,
    UnknownFrameError,
    UnsupportedVariantError,
    VariantMismatchError,
    WriteNotConfirmedError,
)
from .fields import Value
from .framing import (
    COMMAND_HEADER,
    COMMAND_LENGTH,
    FRAME_LENGTH,
    RESPONSE_HEADER,
    Ack,
    ParserStats,
    RawFrame,
    StreamParser,
    checksum,
)
from .models import (
    CellInfo,
    CellSample,
    Decoded,
    DeviceInfo,
    LiveValues,
    Logbook,
    LogEntry,
    Settings,
)
from .register_spec import (
    Encoding,
    Readback,
    RegisterSpec,
    Rule,
    VariantOverride,
    WriteKind,
)
from .sampling import decode_cell_sample
from .setting_rules import RuleViolationError
from .shield import FrameShield
from .tables.alarms import ALARM_BY_KEY, ALARMS, Alarm
from .tables.options import OPTION_LABELS, SELECT_OPTIONS
from .tables.registers import REGISTERS
from .variant import check_cell_info, detect_variant, guess_variant

__all__ = [
    "ACTIONS",
    "ALARMS",
    "ALARM_BY_KEY",
    "COMMAND_HEADER",
    "COMMAND_LENGTH",
    "FRAME_LENGTH",
    "OPTION_LABELS",
    "REGISTERS",
    "RESPONSE_HEADER",
    "SELECT_OPTIONS",
    "Ack",
    "Alarm",
    "CellInfo",
    "CellSample",
    "ChecksumError",
    "Command",
    "CommandFrame",
    "ConnectionFailedError",
    "Decoded",
    "DeviceInfo",
    "Encoding",
    "FrameShield",
    "FrameType",
    "ImplausibleFrameError",
    "InvalidValueError",
    "LinkError",
    "LiveValues",
    "LogEntry",
    "Logbook",
    "MissingCharacteristicError",
    "NoFreeSlotError",
    "NotConnectedError",
    "NotJkBmsError",
    "PairingRequiredError",
    "ParserStats",
    "ProtocolError",
    "RawFrame",
    "Readback",
    "RegisterSpec",
    "ResponseTimeoutError",
    "Rule",
    "RuleViolationError",
    "Settings",
    "SettingsUnconfirmedError",
    "StreamParser",
    "UnknownFrameError",
    "UnsupportedVariantError",
    "Value",
    "Variant",
    "VariantMismatchError",
    "VariantOverride",
    "WriteKind",
    "WriteNotConfirmedError",
    "build_command",
    "build_frame",
    "check_cell_info",
    "checksum",
    "decode_cell_info",
    "decode_cell_sample",
    "decode_device_info",
    "decode_frame",
    "decode_logbook",
    "decode_settings",
    "detect_variant",
    "encode_action",
    "encode_request",
    "encode_write",
    "guess_variant",
    "parse_command",
    "register_lookup",
    "registers_for",
    "table_for",
]
