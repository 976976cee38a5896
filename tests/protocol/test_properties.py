"""Property tests: hostile input never escapes as anything but ProtocolError."""

from __future__ import annotations

import contextlib
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.jk_bms.protocol import (
    COMMAND_LENGTH,
    FRAME_LENGTH,
    RESPONSE_HEADER,
    Ack,
    FrameType,
    ProtocolError,
    RawFrame,
    StreamParser,
    Variant,
    build_frame,
    checksum,
    decode_frame,
    encode_write,
    parse_command,
    registers_for,
    table_for,
)
from custom_components.jk_bms.protocol.fields import (
    F32,
    Choice,
    Flag,
    Number,
    Series,
    Text,
    _integer_limits,
    offset_of,
)
from custom_components.jk_bms.protocol.plan import decode_fields

from .vector_data import all_vectors

REAL_FRAMES = [v.data for v in all_vectors()]
PROPERTY_SETTINGS = settings(
    max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)


def assert_sound(results: list[RawFrame | Ack]) -> None:
    for item in results:
        if isinstance(item, RawFrame):
            assert len(item.data) == FRAME_LENGTH
            assert item.data.startswith(RESPONSE_HEADER)
            assert checksum(item.data[:-1]) == item.data[-1]
            assert item.frame_type in FrameType
        else:
            assert len(item.data) == COMMAND_LENGTH
            assert checksum(item.data[:-1]) == item.data[-1]


def decode_everything(frame: RawFrame) -> None:
    for variant in (*Variant, None):
        with contextlib.suppress(ProtocolError):
            decode_frame(frame, variant)


@PROPERTY_SETTINGS
@given(st.lists(st.binary(max_size=400), max_size=20))
def test_random_bytes_never_raise_or_yield_bad_frames(chunks: list[bytes]) -> None:
    parser = StreamParser()
    for chunk in chunks:
        results = parser.feed(chunk)
        assert_sound(results)
        assert parser.buffered < FRAME_LENGTH + 4


@st.composite
def mutated_stream(draw: st.DrawFn) -> list[bytes]:
    frames = draw(st.lists(st.sampled_from(REAL_FRAMES), min_size=1, max_size=4))
    stream = bytearray(b"".join(frames))
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(stream) - 1))
        match draw(st.sampled_from(["flip", "drop", "insert"])):
            case "flip":
                stream[position] ^= draw(st.integers(1, 255))
            case "drop":
                del stream[position : position + draw(st.integers(1, 200))]
            case "insert":
                stream[position:position] = draw(
                    st.sampled_from([b"AT\r\n", RESPONSE_HEADER, b"\x00" * 7])
                )
            case _:
                pass
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    bounds = [0, *cuts, len(stream)]
    return [bytes(stream[a:b]) for a, b in itertools.pairwise(bounds)]


@PROPERTY_SETTINGS
@given(mutated_stream())
def test_mutated_real_streams_only_yield_checksummed_frames(
    chunks: list[bytes],
) -> None:
    parser = StreamParser()
    for chunk in chunks:
        results = parser.feed(chunk)
        assert_sound(results)
        for item in results:
            if isinstance(item, RawFrame):
                decode_everything(item)


@PROPERTY_SETTINGS
@given(st.sampled_from(list(FrameType)), st.binary(min_size=294, max_size=294))
def test_any_checksummed_payload_decodes_or_raises_protocol_error(
    frame_type: FrameType, payload: bytes
) -> None:
    body = RESPONSE_HEADER + bytes((frame_type, 0)) + payload
    decode_everything(RawFrame.from_bytes(body + bytes((checksum(body),))))


# Whole-word views of bytes that single-bit rows (alarms) or build_frame's mask
# upkeep (cells, temperature sensors) also write: one or the other is drawn.
OVERLAPPING = {"alarm_bitmask", "cell_presence_mask", "temperature_presence_mask"}


@st.composite
def table_values(draw: st.DrawFn, frame_type: FrameType, variant: Variant) -> dict:
    """Values a decoder can produce: drawn as raw field contents, then scaled."""
    values: dict = {}
    for spec in table_for(frame_type, variant):
        if (
            offset_of(spec, variant) is None
            or spec.key in OVERLAPPING
            or draw(st.booleans())
        ):
            continue
        match spec:
            case Series():
                low, high = (0, 5000) if spec.fmt is F32 else _integer_limits(spec.fmt)
                for key in spec.keys(variant):
                    values[key] = (
                        draw(st.integers(low, high)) / spec.divisor
                        if spec.divisor != 1
                        else draw(st.integers(low, high))
                    )
            case Number(fmt=fmt) if fmt is F32:
                values[spec.key] = float(
                    f"{draw(st.floats(-1000, 1000, width=32)):.6g}"
                )
            case Number():
                low, high = _integer_limits(spec.fmt)
                raw = draw(st.integers(low, high))
                values[spec.key] = raw if spec.divisor == 1 else raw / spec.divisor
            case Flag():
                values[spec.key] = draw(st.booleans())
            case Choice():
                values[spec.key] = draw(
                    st.sampled_from(spec.options[: 2 if spec.bit is not None else None])
                )
            case Text():
                values[spec.key] = draw(
                    st.text("ABCXYZ0123456789-_. ", max_size=spec.length)
                )
    return values


@PROPERTY_SETTINGS
@given(st.data())
def test_build_then_decode_round_trip(data: st.DataObject) -> None:
    frame_type = data.draw(st.sampled_from([FrameType.SETTINGS, FrameType.CELL_INFO]))
    variant = data.draw(st.sampled_from(list(Variant)))
    values = data.draw(table_values(frame_type, variant))
    table = table_for(frame_type, variant)
    decoded = decode_fields(table, build_frame(frame_type, variant, values), variant)
    for key, value in values.items():
        if key.startswith("temperature_sensor") or key == "mosfet_temperature":
            assert decoded[key] == value or value == -200.0
        else:
            assert decoded[key] == value, key


@PROPERTY_SETTINGS
@given(st.data())
def test_every_valid_write_parses_back(data: st.DataObject) -> None:
    variant = data.draw(st.sampled_from(list(Variant)))
    spec = data.draw(st.sampled_from(list(registers_for(variant).values())))
    if spec.options:
        value: float | str = data.draw(st.sampled_from(spec.options))
    else:
        steps = round((spec.maximum - spec.minimum) / spec.step)
        value = round(spec.minimum + data.draw(st.integers(0, steps)) * spec.step, 6)
    command = parse_command(encode_write(spec.key, value, variant))
    assert command.register == spec.register
    assert command.length == spec.length
    if spec.encoding == "float32":
        assert abs(command.value_float - float(value)) < 1e-6 * max(
            1.0, abs(float(value))
        )
    elif spec.options:
        assert spec.options[command.value_uint] == value
    else:
        raw = command.value_int if spec.encoding == "int" else command.value_uint
        assert raw == round(float(value) * spec.factor)
