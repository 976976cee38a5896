"""Decode throughput of the protocol layer (not a test; run it to compare changes).

    scripts/run python benchmarks/protocol_decode.py [--seconds 1.0]

Prints frames decoded per second per variant and frame type (real captured
frames from tests/protocol/vectors) and the stream parser's throughput in MB/s
on a realistic notification stream (128/22-byte fragments, acks, AT junk).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a script from anywhere

from custom_components.jk_bms.protocol import (  # noqa: E402
    FrameType,
    RawFrame,
    StreamParser,
    Variant,
    decode_frame,
)

VECTORS = REPO_ROOT / "tests" / "protocol" / "vectors"
ACK = bytes.fromhex("aa5590ebc8010100000000000000000000000044")


def load_frames() -> dict[tuple[Variant, FrameType], list[bytes]]:
    """Group the captured frames by variant and frame type."""
    frames: dict[tuple[Variant, FrameType], list[bytes]] = {}
    for path in sorted(VECTORS.glob("*.json")):
        for vector in json.loads(path.read_text(encoding="utf-8")).get("vectors", []):
            if vector["variant"] in Variant.__members__:
                key = (Variant(vector["variant"]), FrameType(vector["frame_type"]))
                frames.setdefault(key, []).append(bytes.fromhex(vector["hex"]))
    return frames


def rate(action: Callable[[], int], seconds: float) -> float:
    """Run ``action`` (returns units done) repeatedly for ``seconds``; units per second."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += action()
    return done / elapsed


@dataclass(frozen=True, slots=True)
class DecodeRate:
    """Throughput of one (variant, frame type) over the captured frames."""

    variant: str
    frame_type: str
    frames: int  # distinct captured frames measured
    per_second: float


def measure(seconds: float = 1.0) -> tuple[list[DecodeRate], float]:
    """Decode rates per variant and frame type, and the stream parser's MB/s."""
    frames = load_frames()
    rates: list[DecodeRate] = []
    for (variant, frame_type), datas in sorted(frames.items()):
        raws = [RawFrame.from_bytes(data) for data in datas]

        def decode_all(raws: list[RawFrame] = raws, variant: Variant = variant) -> int:
            for raw in raws:
                decode_frame(raw, variant)
            return len(raws)

        rates.append(
            DecodeRate(
                str(variant),
                frame_type.name.lower(),
                len(raws),
                rate(decode_all, seconds),
            )
        )
    # A realistic notification stream: 128/22-byte fragments, acks and AT junk.
    stream = b"".join(
        data[:128] + data[128:150] + data[150:] + ACK + b"AT\r\n"
        for datas in frames.values()
        for data in datas
    )
    chunks = [stream[i : i + 128] for i in range(0, len(stream), 128)]

    def parse_all() -> int:
        parser = StreamParser()
        for chunk in chunks:
            parser.feed(chunk)
        return len(stream)

    return rates, rate(parse_all, seconds) / 1e6


def main() -> None:
    """Measure and print the figures."""
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument(
        "--seconds", type=float, default=1.0, help="time per measurement"
    )
    rates, megabytes = measure(arguments.parse_args().seconds)
    print(f"{'variant':<10} {'frame type':<12} {'frames/s':>12}")
    for entry in rates:
        print(f"{entry.variant:<10} {entry.frame_type:<12} {entry.per_second:>12,.0f}")
    print(f"stream parser: {megabytes:.1f} MB/s (128-byte notifications)")


if __name__ == "__main__":
    main()
