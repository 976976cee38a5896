r"""A million mutated frames through the stream parser and the decoders (no hypothesis).

Seeded random mutations of the real template frames (every variant), cut into
random notification sizes and interleaved with acks, ``AT\r\n`` and junk:
the parser must never raise, must only emit frames with a valid checksum and a
known type, must find the clean frame that follows every mutated one (resync),
and the decoders may only raise ``ProtocolError``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from custom_components.jk_bms.protocol import (
    COMMAND_HEADER,
    FRAME_LENGTH,
    RESPONSE_HEADER,
    Ack,
    FrameType,
    ProtocolError,
    RawFrame,
    StreamParser,
    Variant,
    checksum,
    decode_frame,
)
from virtual_bms.templates import (
    B2A8S20P_11_17,
    B2A16S_3_3_0,
    B2A24S20P_10_07,
    PB2A16S20P_15_41,
    FrameTemplates,
)

TEMPLATES: tuple[tuple[Variant, FrameTemplates], ...] = (
    (Variant.JK02_32S, B2A8S20P_11_17),
    (Variant.JK02_32S, PB2A16S20P_15_41),
    (Variant.JK02_24S, B2A24S20P_10_07),
    (Variant.JK04, B2A16S_3_3_0),
)
ACK = bytes.fromhex("aa5590ebc8010100000000000000000000000044")
JUNK_TOKENS = (b"AT\r\n", ACK, RESPONSE_HEADER, COMMAND_HEADER, b"\x00" * 7)

type Mutation = Callable[[random.Random, bytearray], bytearray]


def _fix(frame: bytearray) -> bytearray:
    frame[-1] = checksum(frame[:-1])
    return frame


def flip_bits(rng: random.Random, frame: bytearray) -> bytearray:
    """Flip 1-8 random bits anywhere (usually breaks the checksum)."""
    for _ in range(rng.randint(1, 8)):
        frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
    return frame


def scramble_payload(rng: random.Random, frame: bytearray) -> bytearray:
    """Random payload bytes with a *valid* checksum: garbage for the decoders."""
    for _ in range(rng.randint(1, 40)):
        frame[rng.randrange(6, FRAME_LENGTH - 1)] = rng.randrange(256)
    return _fix(frame)


def extreme_fields(rng: random.Random, frame: bytearray) -> bytearray:
    """Write runs of 0x00 / 0xFF / 0x7F / 0x80 (min/max/NaN-ish values), valid checksum."""
    start = rng.randrange(6, FRAME_LENGTH - 9)
    frame[start : start + 8] = bytes([rng.choice((0x00, 0xFF, 0x7F, 0x80))]) * 8
    return _fix(frame)


def wrong_type(rng: random.Random, frame: bytearray) -> bytearray:
    """Another frame type (known or not) with a valid checksum."""
    frame[4] = rng.choice((0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0xFF))
    return _fix(frame)


def truncate(rng: random.Random, frame: bytearray) -> bytearray:
    """Cut the frame off (link dropped mid-frame)."""
    return frame[: rng.randrange(1, FRAME_LENGTH)]


def extend(rng: random.Random, frame: bytearray) -> bytearray:
    """Trailing bytes glued to the frame (an ack, AT, junk)."""
    return frame + rng.choice(JUNK_TOKENS) + rng.randbytes(rng.randrange(0, 12))


def insert_header(rng: random.Random, frame: bytearray) -> bytearray:
    """Put a header inside the frame (a fresh frame starting before this one ended)."""
    at = rng.randrange(5, FRAME_LENGTH - 4)
    frame[at:at] = rng.choice((RESPONSE_HEADER, COMMAND_HEADER))
    return frame


def junk_only(rng: random.Random, _frame: bytearray) -> bytearray:
    """Random bytes instead of a frame."""
    return bytearray(rng.randbytes(rng.randrange(1, 400)))


MUTATIONS: tuple[Mutation, ...] = (
    flip_bits,
    scramble_payload,
    extreme_fields,
    wrong_type,
    truncate,
    extend,
    insert_header,
    junk_only,
)


@dataclass(slots=True)
class FuzzResult:
    """What went through and what came out."""

    mutated_frames: int = 0
    clean_frames: int = 0
    bytes_fed: int = 0
    frames_emitted: int = 0
    acks_emitted: int = 0
    decoded: int = 0
    decode_rejected: int = 0  # ProtocolError: the expected way to refuse garbage
    clean_missed: int = 0  # a clean frame after a mutation was not found
    invalid_emitted: int = 0  # a frame with a bad checksum or type got through
    # A frame spliced from a cut-off one and the next (checksum matched by chance).
    spliced_emitted: int = 0
    max_buffered: int = 0
    unexpected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    parser_stats: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """No crash, nothing invalid emitted, every clean frame found."""
        return (
            not self.unexpected and not self.invalid_emitted and not self.clean_missed
        )


def _chunks(rng: random.Random, data: bytes) -> list[bytes]:
    """Cut like BLE notifications: MTU-sized pieces, sometimes tiny ones."""
    size = rng.choice((20, 128, 150, 244))  # MTU 23 (JK04), 131, 247
    out = []
    position = 0
    while position < len(data):
        step = size if rng.random() > 0.05 else rng.randint(1, 30)
        out.append(data[position : position + step])
        position += step
    return out


def _check_frame(
    item: RawFrame,
    variant: Variant,
    result: FuzzResult,
    found: list[bytes],
    originals: frozenset[bytes],
) -> None:
    data = item.data
    if (
        len(data) != FRAME_LENGTH
        or checksum(data[:-1]) != data[-1]
        or data[:4] != RESPONSE_HEADER
        or data[4] not in {int(t) for t in FrameType}
    ):
        result.invalid_emitted += 1
    if data.find(RESPONSE_HEADER, 1) >= 0:
        result.spliced_emitted += 1
    found.append(data)
    if data in originals:
        return  # decoding the same real frame again proves nothing
    try:
        decode_frame(item, variant)
    except ProtocolError:
        result.decode_rejected += 1
    except Exception as err:  # noqa: BLE001 - the point: count what escapes
        result.unexpected[f"decode {type(err).__name__}: {err}"] += 1
    else:
        result.decoded += 1


def run(frames: int = 1_000_000, seed: int = 1) -> FuzzResult:
    """Feed ``frames`` mutated frames, each followed by a clean one, through one parser."""
    rng = random.Random(seed)
    result = FuzzResult()
    sources = [
        (variant, bytes(frame))
        for variant, templates in TEMPLATES
        for frame in (templates.device_info, templates.settings, templates.cell_info)
    ]
    originals = frozenset(frame for _, frame in sources)
    parser = StreamParser()
    started = time.perf_counter()
    for _ in range(frames):
        _variant, original = rng.choice(sources)
        mutated = rng.choice(MUTATIONS)(rng, bytearray(original))
        # A clean frame after every mutation: the parser must be back in sync.
        variant_clean, clean = rng.choice(sources)
        stream = bytes(mutated) + clean
        result.mutated_frames += 1
        result.clean_frames += 1
        result.bytes_fed += len(stream)
        found: list[bytes] = []
        for chunk in _chunks(rng, stream):
            try:
                items = parser.feed(chunk)
            except Exception as err:  # noqa: BLE001 - the point: count what escapes
                result.unexpected[f"feed {type(err).__name__}: {err}"] += 1
                parser.reset()
                continue
            for item in items:
                if isinstance(item, Ack):
                    result.acks_emitted += 1
                    continue
                result.frames_emitted += 1
                _check_frame(item, variant_clean, result, found, originals)
            result.max_buffered = max(result.max_buffered, parser.buffered)
        if clean not in found:
            result.clean_missed += 1
    result.seconds = time.perf_counter() - started
    result.parser_stats = parser.stats.as_dict()
    return result


def main() -> None:
    """Run the fuzz; ``--json PATH`` writes the result for the soak report."""
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--frames", type=int, default=1_000_000)
    arguments.add_argument("--seed", type=int, default=1)
    arguments.add_argument("--json", type=Path)
    options = arguments.parse_args()
    outcome = run(options.frames, options.seed)
    summary = asdict(outcome) | {"clean": outcome.clean}
    summary["unexpected"] = dict(outcome.unexpected)
    if options.json:
        options.json.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
