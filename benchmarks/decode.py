"""Frames decoded per second per variant and frame type (protocol_decode's frames and timer)."""

from __future__ import annotations

from dataclasses import dataclass

from custom_components.jk_bms.protocol import (
    RawFrame,
    StreamParser,
    Variant,
    decode_frame,
)

from .protocol_decode import ACK, load_frames, rate


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
    # The same realistic notification stream as protocol_decode's parser figure.
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
