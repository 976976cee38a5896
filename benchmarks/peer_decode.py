"""Cell-info decode, side by side with aiobmsble's JK decoder, on the same real frames.

    scripts/run python -m benchmarks.peer_decode [--rounds 15]

aiobmsble is bench-only: it is installed (without its dependencies, which Home
Assistant's venv already has) into a directory of its own next to the venv and
put on ``sys.path`` here only; it is never a dependency of the integration. When
it cannot be installed (no package index), the comparison is skipped and says so.

Both sides do what they do with one cell frame, minus the radio:
* ours: ``decode_cell_info``: envelope and checksum, every field of the table
  (81-119 entity values + details), cells present, min/max/average/delta, power
  and its split, alarms, temperatures by presence mask, the typed model.
* aiobmsble: its notification handler's checks (frame type, 8-bit sum) and its
  ``_async_update`` decode (``_conv_data``, temperatures, problem code, cell
  voltages) for the newest firmware layout; and, apart, the same plus
  ``_add_missing_values`` (its derived values), as its ``async_update`` returns.
Timed with thread CPU time (the machine is shared), both sides alternating in
each round; the figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from custom_components.jk_bms.protocol import FrameType, Variant, decode_cell_info

from .protocol_decode import load_frames

AIOBMSBLE = "aiobmsble==0.31.0"  # newest at the time of writing; any 0.2x-0.3x works
EXTRAS = Path(sys.prefix).parent / "bench-extras"


@dataclass(frozen=True, slots=True)
class PeerDecode:
    """Decode cost of one variant's captured cell frames, ours against aiobmsble's."""

    variant: str
    frames: int
    cells: str  # range of cell counts in the frames
    ours_us: float  # per frame, median over rounds
    peer_us: float
    peer_derived_us: float

    @property
    def ratio(self) -> float:
        """Ours / aiobmsble's decode (the target is <= 2)."""
        return self.ours_us / self.peer_us

    @property
    def ratio_derived(self) -> float:
        """Ours / aiobmsble's decode + its derived values."""
        return self.ours_us / self.peer_derived_us


def _install() -> tuple[ModuleType | None, str]:
    """Import aiobmsble from the bench-only directory, installing it once."""
    target = EXTRAS / AIOBMSBLE.replace("==", "-")
    if not (target / "aiobmsble").is_dir():
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        result = subprocess.run(  # noqa: S603 (fixed arguments)
            [*command, "--target", str(target), AIOBMSBLE],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            return None, f"pip could not install {AIOBMSBLE}: {result.stderr[-300:]}"
    sys.path.insert(0, str(target))
    try:
        return importlib.import_module("aiobmsble.bms.jikong_bms"), AIOBMSBLE
    except ImportError as err:
        return None, f"{AIOBMSBLE} does not import: {err}"


def _peer_decoders(
    jikong: ModuleType, variant: Variant
) -> tuple[Callable[[bytes], Any], Callable[[bytes], Any]]:
    """Aiobmsble's per-frame work for ``variant`` (and with its derived values)."""
    bms: Any = jikong.BMS
    temp_sensor: Any = importlib.import_module("aiobmsble").TempSensor
    # JK02_24S: firmware < 11 (fields 32 bytes earlier); JK02_32S: the newest layout
    offset, firmware = (-32, 10) if variant is Variant.JK02_24S else (0, 15)
    # positions as _temp_pos gives them for that firmware (it needs an instance)
    generic, mosfet = temp_sensor.T.GENERIC, temp_sensor.T.MOSFET
    sensors = (
        [(0, 130, generic), (1, 132, generic), (2, 134, mosfet)]
        if firmware < 11
        else [
            (0, 144, mosfet),
            (1, 162, generic),
            (2, 164, generic),
            (3, 254, mosfet),
            (4, 256, generic),
            (5, 258, generic),
        ]
    )
    crc_sum = importlib.import_module("aiobmsble.basebms").crc_sum

    def decode(frame: bytes) -> dict[str, Any]:
        if frame[4] != 0x02 or crc_sum(frame[:-1]) != frame[-1]:
            raise ValueError("not a valid cell frame")
        data: dict[str, Any] = bms._conv_data(frame, offset, firmware)  # noqa: SLF001
        data["temp_values"] = bms._temp_sensors(  # noqa: SLF001
            frame, sensors, data.get("temp_sensors", 0)
        )
        code = data.get("problem_code", 0)
        data["problem_code"] = code >> 16 if offset else code & 0xFFFF
        data["cell_voltages"] = bms._cell_voltages(  # noqa: SLF001
            frame, cells=data.get("cell_count", 0), start=6, byteorder="little"
        )
        return data

    def decode_derived(frame: bytes) -> dict[str, Any]:
        data = decode(frame)
        bms._add_missing_values(data, frozenset())  # noqa: SLF001
        return data

    return decode, decode_derived


def _cpu_per_frame(
    decode: Callable[[bytes], object], frames: list[bytes], number: int
) -> float:
    """Thread CPU seconds per frame, decoding every frame ``number`` times."""

    def run() -> None:
        for frame in frames:
            decode(frame)

    timer = timeit.Timer(run, timer=time.thread_time)
    return timer.timeit(number) / number / len(frames)


def measure(rounds: int = 15) -> tuple[list[PeerDecode], str]:
    """Per JK02 variant: our decode against aiobmsble's on the same frames."""
    jikong, note = _install()
    if jikong is None:
        return [], note
    frames = load_frames()
    results: list[PeerDecode] = []
    for variant in (Variant.JK02_24S, Variant.JK02_32S):
        datas = frames.get((variant, FrameType.CELL_INFO), [])
        if not datas:
            continue
        peer, peer_derived = _peer_decoders(jikong, variant)

        def ours(data: bytes, variant: Variant = variant) -> object:
            return decode_cell_info(data, variant)

        sides: dict[str, Callable[[bytes], object]] = {
            "ours": ours,
            "peer": peer,
            "derived": peer_derived,
        }
        timings: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(rounds):
            for name, decode in sides.items():
                timings[name].append(_cpu_per_frame(decode, datas, 40))
        counts = [decode_cell_info(d, variant).cell_count for d in datas]
        results.append(
            PeerDecode(
                str(variant),
                len(datas),
                f"{min(counts)}-{max(counts)}",
                statistics.median(timings["ours"]) * 1e6,
                statistics.median(timings["peer"]) * 1e6,
                statistics.median(timings["derived"]) * 1e6,
            )
        )
    return results, note


def main() -> None:
    """Measure and print the figures."""
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--rounds", type=int, default=15)
    results, note = measure(arguments.parse_args().rounds)
    print(note)
    for r in results:
        print(
            f"{r.variant:<9} {r.frames:>3} frames ({r.cells} cells): ours "
            f"{r.ours_us:.1f} µs, aiobmsble {r.peer_us:.1f} µs "
            f"(+derived {r.peer_derived_us:.1f} µs): ratio {r.ratio:.2f} "
            f"({r.ratio_derived:.2f})"
        )


if __name__ == "__main__":
    main()
