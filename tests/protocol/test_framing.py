"""The stream parser turns real notification streams back into the captured frames."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import pytest

from custom_components.jk_bms.protocol import (
    FRAME_LENGTH,
    Ack,
    RawFrame,
    StreamParser,
    checksum,
)

from .vector_data import Vector, load, vectors_where

ACK = bytes.fromhex("aa5590ebc8010100000000000000000000000044")
AT = b"AT\r\n"
BTSNOOP = vectors_where()  # all; filtered below
FRAGMENTED = [v for v in BTSNOOP if "notification_fragments_hex" in v.raw]


def frames_of(results: list[RawFrame | Ack]) -> list[RawFrame]:
    return [item for item in results if isinstance(item, RawFrame)]


def feed_all(parser: StreamParser, chunks: list[bytes]) -> list[RawFrame | Ack]:
    results: list[RawFrame | Ack] = []
    for chunk in chunks:
        results.extend(parser.feed(chunk))
    return results


@pytest.mark.parametrize("vector", FRAGMENTED, ids=lambda v: v.id)
def test_btsnoop_fragments_reassemble_to_the_captured_frame(vector: Vector) -> None:
    parser = StreamParser()
    fragments = [bytes.fromhex(h) for h in vector.raw["notification_fragments_hex"]]
    frames = frames_of(feed_all(parser, fragments))
    assert vector.data in [frame.data for frame in frames]
    assert parser.stats.bad_checksum == 0
    assert parser.buffered < FRAME_LENGTH


def test_one_stream_of_every_capture_yields_every_frame_in_order() -> None:
    """All fragments of one capture back to back, as one connection would see them."""
    by_capture: dict[str, list[Vector]] = defaultdict(list)
    for vector in FRAGMENTED:
        by_capture[vector.raw["source"].split(" (")[0]].append(vector)
    for vectors in by_capture.values():
        parser = StreamParser()
        chunks = [
            bytes.fromhex(h)
            for v in vectors
            for h in v.raw["notification_fragments_hex"]
        ]
        frames = frames_of(feed_all(parser, chunks))
        got = [frame.data for frame in frames]
        # Neighbouring fragments overlap (a fragment can carry the next frame's head),
        # so every captured frame must appear, in capture order.
        positions = [got.index(v.data) for v in vectors]
        assert positions == sorted(positions)


def test_header_split_across_notifications_is_kept() -> None:
    frame = next(iter(FRAGMENTED)).data
    for split in (1, 2, 3, 4, 5, 150, 299):
        parser = StreamParser()
        results = feed_all(parser, [AT + frame[:split], frame[split:] + ACK + AT])
        assert [type(r) for r in results] == [RawFrame, Ack]
        assert results[0].data == frame  # type: ignore[union-attr]
        assert parser.stats.junk_bytes == 2 * len(AT)


def test_byte_by_byte_feeding() -> None:
    frame = next(iter(FRAGMENTED)).data
    parser = StreamParser()
    results = feed_all(parser, [bytes([b]) for b in frame + ACK])
    assert [type(r) for r in results] == [RawFrame, Ack]
    assert parser.buffered == 0


def test_truncated_frame_after_reconnect_resyncs_on_the_next_header() -> None:
    first, second = FRAGMENTED[0].data, FRAGMENTED[1].data
    parser = StreamParser()
    results = feed_all(parser, [first[:137], second[:200], second[200:]])
    assert [frame.data for frame in frames_of(results)] == [second]
    assert parser.stats.truncated == 1
    assert parser.stats.frames == 1


def test_bad_checksum_and_unknown_type_are_dropped_and_counted() -> None:
    good = FRAGMENTED[0].data
    corrupt = bytearray(good)
    corrupt[100] ^= 0xFF
    unknown = bytearray(good)
    unknown[4] = 0x07
    unknown[-1] = checksum(unknown[:-1])
    parser = StreamParser()
    results = feed_all(parser, [bytes(corrupt), bytes(unknown), good])
    assert [frame.data for frame in frames_of(results)] == [good]
    assert parser.stats.bad_checksum == 1
    assert parser.stats.unknown_type == 1


def test_frame_followed_by_ack_in_one_buffer_is_320_bytes() -> None:
    """The "320-byte frames" users report are a frame with the ack glued on."""
    frame = FRAGMENTED[0].data
    results = StreamParser().feed(frame + ACK)
    assert [type(r) for r in results] == [RawFrame, Ack]
    assert results[1].data == ACK  # type: ignore[union-attr]
    assert results[1].register == 0xC8  # type: ignore[union-attr]


def test_at_flood_keeps_the_buffer_bounded() -> None:
    parser = StreamParser()
    for _ in range(10_000):
        assert parser.feed(AT * 20) == []
    assert parser.buffered < 4
    assert parser.stats.junk_bytes == 10_000 * 80


def test_reset_forgets_a_partial_frame() -> None:
    frame = FRAGMENTED[0].data
    parser = StreamParser()
    parser.feed(frame[:200])
    parser.reset()
    assert parser.feed(frame[200:]) == []
    assert parser.buffered < 4  # at most a possible header prefix


# --- the app-connection transcripts (commands_and_acks.json) ---


def _junk(entry: dict[str, Any]) -> bytes:
    sample = bytes.fromhex(entry["sample_hex"])
    if len(sample) == entry["bytes"]:
        return sample  # given in full (e.g. remains of a truncated frame)
    # Only the start is given: the rest is the module's "AT\r\n" from that phase on.
    offset = AT.index(sample[:1])
    return (AT * (entry["bytes"] // 4 + 2))[offset : offset + entry["bytes"]]


def _capture_stream(capture: dict[str, Any]) -> tuple[list[bytes], list[object]]:
    """Rebuild a notification stream from a transcript: frames from the same capture."""
    path = capture["source"].split(":", 1)[1]
    pools: dict[int, itertools.cycle[bytes]] = {}
    for frame_type in (1, 2, 3):
        frames = [
            v.data
            for v in FRAGMENTED
            if v.raw["source"].split(":", 1)[1].startswith(path)
            and v.raw["frame_type"] == frame_type
        ]
        if frames:
            pools[frame_type] = itertools.cycle(frames)
    chunks: list[bytes] = []
    expected: list[object] = []
    for entry in capture["sequence"]:
        if entry["dir"] != "bms->host":
            continue
        match entry["kind"]:
            case "ack":
                chunks.append(bytes.fromhex(entry["hex"]))
                expected.append("ack")
            case "junk":
                chunks.append(_junk(entry))
            case "frames":
                for _ in range(min(entry["count"], 3)):
                    data = next(pools[entry["type"]])
                    chunks.extend((data[:128], data[128:150], data[150:]))  # 128+22+150
                    expected.append(entry["type"])
    return chunks, expected


CAPTURES = load("commands_and_acks.json")["captures"]


@pytest.mark.parametrize(
    "capture", CAPTURES, ids=[c["source"].rsplit("/", 1)[-1] for c in CAPTURES]
)
def test_app_connection_transcripts_parse(capture: dict[str, Any]) -> None:
    chunks, expected = _capture_stream(capture)
    parser = StreamParser()
    results = feed_all(parser, chunks)
    got = ["ack" if isinstance(r, Ack) else r.frame_type for r in results]
    assert got == expected
    assert parser.stats.bad_checksum == 0
    assert parser.stats.acks == expected.count("ack")
