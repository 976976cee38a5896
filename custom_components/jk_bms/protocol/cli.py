"""Command-line decoder: ``python -m custom_components.jk_bms.protocol decode HEX…``.

The same as ``jkbms-decode`` / ``python -m jkbms_ble`` of the jkbms-ble library.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from .decoding import decode_frame
from .enums import FrameType, Variant
from .errors import ProtocolError
from .framing import Ack, RawFrame, StreamParser
from .models import DeviceInfo, Logbook
from .variant import guess_variant

# "python -m custom_components.jk_bms.protocol" in the integration, "python -m
# jkbms_ble" in the library built from the same files (library/pyproject.toml).
PROG = f"python -m {__package__}"
_SEPARATORS = re.compile(r"[\s:,_-]|0x", re.IGNORECASE)


def parse_hex(text: str) -> bytes:
    """Turn ``"55 AA:eb90…"`` into bytes (spaces, colons, commas, 0x prefixes allowed)."""
    cleaned = _SEPARATORS.sub("", text)
    try:
        return bytes.fromhex(cleaned)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not hexadecimal: {text[:40]!r}") from error


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (also used for the usage text in the README)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Decode JK BMS Bluetooth LE frames to JSON."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    decode = commands.add_parser(
        "decode",
        help="decode notification payloads (several HEX = one notification stream)",
        description=(
            "Decode notification payloads given as hex (spaces/colons allowed). "
            "Several HEX arguments form one notification stream, in order. The variant "
            "comes from --variant, else from a device-info frame in the stream, else "
            "from each frame's shape."
        ),
    )
    decode.add_argument(
        "--variant",
        choices=[v.value for v in Variant],
        help="protocol variant to decode with",
    )
    decode.add_argument("hex", nargs="+", type=parse_hex, metavar="HEX")
    return parser


def _frame_json(
    frame: RawFrame, variant: Variant | None, source: str
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "type": FrameType(frame.frame_type).name.lower(),
        "counter": frame.counter,
        "variant": variant.value if variant else None,
        "variant_source": source,
    }
    try:
        decoded = decode_frame(frame, variant)
    except ProtocolError as error:
        result["error"] = str(error)
        return result
    if isinstance(decoded, Logbook):
        result["entry_count"] = decoded.entry_count
        result["entries"] = [
            {"timestamp_s": e.timestamp_s, "code": e.code, "event": e.event}
            for e in decoded.entries
        ]
        return result
    if isinstance(decoded, DeviceInfo):
        result["variant"] = decoded.variant.value if decoded.variant else None
        result["variant_source"] = "software_version"
        result["uses_factory_passwords"] = decoded.uses_factory_passwords
    result["values"] = decoded.values()
    result["details"] = dict(decoded.details)
    return result


def decode_stream(chunks: Sequence[bytes], variant: Variant | None) -> dict[str, Any]:
    """Decode one notification stream; return a JSON-ready report."""
    parser = StreamParser()
    items: list[RawFrame | Ack] = []
    for chunk in chunks:
        items.extend(parser.feed(chunk))
    stream_variant = variant
    source = "given"
    if stream_variant is None:
        for item in items:
            if isinstance(item, RawFrame) and item.frame_type is FrameType.DEVICE_INFO:
                info = decode_frame(item, None)
                if isinstance(info, DeviceInfo) and info.variant is not None:
                    stream_variant, source = info.variant, "device_info"
                    break
    frames: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Ack):
            frames.append(
                {"type": "ack", "register": item.register, "hex": item.data.hex()}
            )
            continue
        if stream_variant is None:
            frames.append(_frame_json(item, guess_variant(item.data), "frame_shape"))
        else:
            frames.append(_frame_json(item, stream_variant, source))
    return {
        "frames": frames,
        "stats": parser.stats.as_dict(),
        "buffered": parser.buffered,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (1 when no frame was found)."""
    arguments = build_parser().parse_args(argv)
    variant = Variant(arguments.variant) if arguments.variant else None
    report = decode_stream(arguments.hex, variant)
    json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0 if report["frames"] else 1
