"""Command frames: the doc's worked examples byte for byte, validation, parse_command."""

from __future__ import annotations

import pytest

from custom_components.jk_bms.protocol import (
    REGISTERS,
    SELECT_OPTIONS,
    ChecksumError,
    Command,
    FrameType,
    InvalidValueError,
    ProtocolError,
    RawFrame,
    Variant,
    WriteKind,
    decode_frame,
    encode_action,
    encode_request,
    encode_write,
    parse_command,
    register_lookup,
    registers_for,
)
from custom_components.jk_bms.protocol.decoding import table_for
from custom_components.jk_bms.protocol.fields import table_keys

from .vector_data import all_vectors, load

S24, S32, J04 = Variant.JK02_24S, Variant.JK02_32S, Variant.JK04


def frame(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# §2 worked examples with zero filler: exact bytes.
EXACT = [
    (
        lambda: encode_request(Command.DEVICE_INFO),
        "AA 55 90 EB 97 00 00 00 00 00 00 00 00 00 00 00 00 00 00 11",
    ),
    (
        lambda: encode_request(Command.SETTINGS),
        "AA 55 90 EB 96 00 00 00 00 00 00 00 00 00 00 00 00 00 00 10",
    ),
    (
        lambda: encode_write("charging", True, S24),
        "AA 55 90 EB 1D 04 01 00 00 00 00 00 00 00 00 00 00 00 00 9C",
    ),
    (
        lambda: encode_write("charging", False, S32),
        "AA 55 90 EB 1D 04 00 00 00 00 00 00 00 00 00 00 00 00 00 9B",
    ),
    (
        lambda: encode_write("cell_ovp", 3.65, S24),
        "AA 55 90 EB 04 04 42 0E 00 00 00 00 00 00 00 00 00 00 00 D2",
    ),
    (
        lambda: encode_write("uart1_protocol", 1, S32),
        "AA 55 90 EB A5 02 01 00 00 00 00 00 00 00 00 00 00 00 00 22",
    ),
    (
        lambda: encode_write("uart1_protocol", "jk_bms_rs485_modbus_v1_0", S32),
        "AA 55 90 EB A5 02 01 00 00 00 00 00 00 00 00 00 00 00 00 22",
    ),
    (
        lambda: encode_write("power_off_voltage", 3.2, J04),
        "AA 55 90 EB 20 04 CD CC 4C 40 00 00 00 00 00 00 00 00 00 C3",
    ),
    (
        lambda: encode_write("balancer", True, J04),
        "AA 55 90 EB 6C 01 01 00 00 00 00 00 00 00 00 00 00 00 00 E8",
    ),
    (
        lambda: encode_write("cell_count", 16, J04),
        "AA 55 90 EB 1C 02 10 00 00 00 00 00 00 00 00 00 00 00 00 A8",
    ),
]


@pytest.mark.parametrize(
    ("encode", "expected"), EXACT, ids=[e[1][12:20] for e in EXACT]
)
def test_worked_examples_byte_for_byte(encode, expected: str) -> None:
    assert encode() == frame(expected)


# Captured from the app (random filler): header, register, length and value must match.
CAPTURED = [
    (
        lambda: encode_write("precharge_time", 4, S32),
        "AA 55 90 EB 25 04 04 00 00 00 36 D5 24 4A 68 8E AD 95 5F B7",
        10,
    ),
    (
        lambda: encode_write("smart_sleep_time", 23, S32),
        "AA 55 90 EB 39 01 17 BB 2E 15 63 0E 3C DC A4 3A 7A 06 20 D0",
        7,
    ),
]


@pytest.mark.parametrize(("encode", "captured", "meaningful"), CAPTURED)
def test_captured_app_writes_match_up_to_the_filler(
    encode, captured: str, meaningful: int
) -> None:
    ours = encode()
    assert ours[:meaningful] == frame(captured)[:meaningful]
    assert ours[meaningful:-1] == bytes(19 - meaningful)  # our filler is zeros
    assert parse_command(frame(captured)).value == parse_command(ours).value


SOURCE_FRAMES = [
    f for f in load("commands_and_acks.json")["source_test_frames"] if "hex" in f
]


@pytest.mark.parametrize(
    "entry", SOURCE_FRAMES, ids=[f.get("description", f["kind"]) for f in SOURCE_FRAMES]
)
def test_source_command_frames_parse(entry: dict) -> None:
    data = bytes.fromhex(entry["hex"])
    command = parse_command(data)
    assert command.data == data
    if "acknowledgement" in entry["kind"]:
        assert command.is_ack
    if "register" not in entry:
        assert command.length == len(command.value) <= 13
        return
    assert command.register == int(entry["register"], 16)
    assert command.length == entry["length"]
    if "value_le" in entry:
        assert command.value_uint == entry["value_le"]


# Constructed frames from ESPHome's builder (zero filler): our encoder must agree.
CONSTRUCTED = {
    "JK04 balance trigger 8 mV float32": lambda: encode_write(
        "balance_trigger_voltage", 0.008, J04
    ),
    "JK04 max balance current 4.5 A float32": lambda: encode_write(
        "max_balance_current", 4.5, J04
    ),
    "JK04 balancer off (len 1)": lambda: encode_write("balancer", False, J04),
    "setCellOVP3.65 (reg 0x04)": lambda: encode_write("cell_ovp", 3.65, S24),
    "setChargingOn (reg 0x1D)": lambda: encode_write("charging", True, S24),
    "setChargingOff (reg 0x1D)": lambda: encode_write("charging", False, S24),
    "getCellData": lambda: encode_request(Command.SETTINGS),
}


@pytest.mark.parametrize("description", CONSTRUCTED)
def test_constructed_source_frames_are_reproduced(description: str) -> None:
    entry = next(f for f in SOURCE_FRAMES if f.get("description") == description)
    assert CONSTRUCTED[description]() == bytes.fromhex(entry["hex"])


def test_captured_select_prefixes() -> None:
    prefixes = [
        f
        for f in load("commands_and_acks.json")["source_test_frames"]
        if "hex_prefix" in f
    ]
    keys = {
        0xA5: "uart1_protocol",
        0xA6: "can_protocol",
        0xB6: "uart3_protocol",
        0xAA: "dry1_trigger",
        0xAB: "dry2_trigger",
        0xA9: "lcd_buzzer_trigger",
    }
    for entry in prefixes:
        prefix = bytes.fromhex(entry["hex_prefix"])
        ours = encode_write(keys[prefix[4]], prefix[6], S32)
        assert ours.startswith(prefix)
    assert len(prefixes) == 16


def test_ack_parses_as_ack() -> None:
    ack = parse_command(
        frame("AA 55 90 EB C8 01 01 00 00 00 00 00 00 00 00 00 00 00 00 44")
    )
    assert ack.is_ack
    assert ack.value == b"\x01"


def test_parse_command_rejects_bad_checksum_and_shape() -> None:
    good = encode_request(Command.DEVICE_INFO)
    with pytest.raises(ChecksumError):
        parse_command(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(ProtocolError):
        parse_command(good[:19])
    with pytest.raises(ProtocolError):
        parse_command(b"\x55\xaa" + good[2:])


@pytest.mark.parametrize(
    ("key", "value", "variant"),
    [
        ("cell_ovp", 5.0, S32),  # above the 4.35 V hardware range
        ("cell_ovp", 0.5, S24),
        ("cell_ovp", float("nan"), S24),
        ("charge_utp", -60, S32),
        ("heating", True, S24),  # 32S-only switch
        ("cell_ovp", 3.6, J04),  # JK04 has no OVP register
        ("no_such_setting", 1, S32),
        ("uart1_protocol", "not_an_option", S32),
        ("uart1_protocol", 99, S32),
        ("charging", 2, S32),
        ("cell_count", 25, S24),  # 24 cells maximum on 24S
        ("cell_ovp", "3.6", S32),
    ],
)
def test_invalid_writes_are_refused_before_any_byte(
    key: str, value, variant: Variant
) -> None:
    with pytest.raises(InvalidValueError) as info:
        encode_write(key, value, variant)
    assert info.value.key == key


def test_invalid_value_error_carries_the_range() -> None:
    with pytest.raises(InvalidValueError) as info:
        encode_write("cell_ovp", 5.0, S32)
    assert (info.value.minimum, info.value.maximum, info.value.value) == (
        1.2,
        4.35,
        5.0,
    )


def test_negative_temperatures_are_twos_complement() -> None:
    """§8.1: -22.0 °C is written as 24 FF FF FF."""
    assert encode_write("charge_utp", -22.0, S32)[4:10] == frame("18 04 24 FF FF FF")


def test_every_register_reads_back_from_a_decoded_field() -> None:
    for variant in Variant:
        for key, spec in registers_for(variant).items():
            frame_type = spec.readback.frame_type
            if frame_type is FrameType.CELL_INFO:
                assert spec.readback.key == "emergency"  # derived from the countdown
                continue
            keys = table_keys(table_for(frame_type, variant), variant)
            assert spec.readback.key in keys, (variant, key)


def test_register_lookup_inverts_the_table() -> None:
    for variant in Variant:
        for key, spec in registers_for(variant).items():
            assert register_lookup(variant, spec.register).key == key
    with pytest.raises(InvalidValueError):
        register_lookup(S32, 0x97)


def test_time_calibration_and_balancer_share_0x6c_across_variants() -> None:
    assert register_lookup(J04, 0x6C).key == "balancer"
    assert encode_action(Command.TIME_CALIBRATION, S32, 186_592_319)[4:10] == frame(
        "6C 04 3F 2C 1F 0B"
    )


def test_calibration_actions_use_the_variants_register() -> None:
    assert encode_action(Command.VOLTAGE_CALIBRATION, S24, 53.57)[4:10] == frame(
        "21 04 42 D1 00 00"
    )
    assert encode_action(Command.VOLTAGE_CALIBRATION, S32, 15.0)[4:10] == frame(
        "64 04 98 3A 00 00"
    )
    assert encode_action(Command.CURRENT_CALIBRATION, S24, 0.1)[4:10] == frame(
        "24 04 64 00 00 00"
    )
    with pytest.raises(InvalidValueError):
        encode_action(Command.RESTART, S24)
    assert encode_action(Command.RESTART, S32)[4:6] == frame("66 00")


def test_selects_and_switches_are_described() -> None:
    specs = registers_for(S32)
    for key, options in SELECT_OPTIONS.items():
        assert specs[key].kind is WriteKind.SELECT
        assert specs[key].options == options
    assert specs["charging"].kind is WriteKind.SWITCH
    assert all(spec.minimum <= spec.maximum for spec in REGISTERS.values())


def test_every_captured_smart_sleep_voltage_can_be_written_back() -> None:
    """Real units report 0.6 V (sw 10.07, 11.17): the entity must be able to re-send it."""
    seen = set()
    for vector in all_vectors():
        if vector.frame_type is not FrameType.SETTINGS or vector.variant is None:
            continue
        settings = decode_frame(RawFrame.from_bytes(vector.data), vector.variant)
        value = settings.values().get("smart_sleep_voltage")
        if value is None:
            continue  # JK04 has no smart-sleep voltage
        seen.add(value)
        encode_write("smart_sleep_voltage", value, vector.variant)  # no raise
    assert 0.6 in seen
