"""Every single-bit flip of every captured frame, through the decoder and the frame shield.

    scripts/run python -m benchmarks.bitflip_sweep

For each real cell-info, settings and device-info frame (tests/protocol/vectors,
every variant, duplicates removed) and each bit of bytes 0-298, the checksum is
fixed after the flip (what 1 garbled frame in 256 looks like). The shield sees
the stream a user's BMS gives: the device's real settings (read twice), the
real frame, then half a second later the flipped one. A flip is harmful when it
moves what an entity shows by more than: 20 mV on a cell, 1 % on the total
voltage, max(1 A, 5 %) on a current or power, 2 points of SoC / SoH, 2 % of a
capacity (of the pack's full capacity for remaining and
cumulative charge), 5 °C, 10 mΩ or 10 % on a wire resistance, a minute on a time counter,
or changes any setting, switch, flag, status, count or text. It must be
dropped (by the decoder or the shield); a harmless flip may pass.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from custom_components.jk_bms.protocol import (
    CellInfo,
    DeviceInfo,
    FrameType,
    ProtocolError,
    Settings,
    Variant,
    checksum,
    decode_cell_info,
    decode_cell_sample,
    decode_device_info,
    decode_settings,
)
from custom_components.jk_bms.protocol.fields import Value
from custom_components.jk_bms.protocol.shield import FrameShield

from .report import table

VECTORS = Path(__file__).resolve().parent.parent / "tests" / "protocol" / "vectors"
INTERVAL = 0.5  # s between two cell frames of a stream
FLIPPED_BYTES = range(299)  # byte 299 is the checksum, fixed after every flip

type Decoded = CellInfo | Settings | DeviceInfo


@dataclass(frozen=True, slots=True)
class Capture:
    """One captured frame with the same device's settings (for its limits)."""

    source: str
    variant: Variant
    frame_type: FrameType
    data: bytes
    settings: bytes | None


@dataclass
class Tally:
    """Counts for one frame type of one variant."""

    frames: int = 0
    flips: int = 0
    harmful: int = 0
    harmful_dropped: int = 0
    harmless: int = 0
    harmless_passed: int = 0
    missed: list[str] = field(default_factory=list)  # harmful, and shown
    energy_missed: list[str] = field(default_factory=list)  # V / I / P, and counted

    @property
    def harmless_pass_share(self) -> float:
        """Share of the harmless flips the shield lets through."""
        return self.harmless_passed / self.harmless if self.harmless else 1.0


def captures() -> list[Capture]:
    """Every distinct captured frame of a known variant, with its device's settings."""
    found: list[Capture] = []
    seen: set[tuple[Variant, bytes]] = set()
    for path in sorted(VECTORS.glob("*.json")):
        vectors = json.loads(path.read_text(encoding="utf-8")).get("vectors", [])
        settings: dict[tuple[str, str], bytes] = {}
        for vector in vectors:
            if vector["frame_type"] == FrameType.SETTINGS:
                settings.setdefault(
                    (vector["variant"], str(vector.get("device"))),
                    bytes.fromhex(vector["hex"]),
                )
        for index, vector in enumerate(vectors):
            name, kind = vector["variant"], vector["frame_type"]
            if name not in Variant.__members__ or kind not in (1, 2, 3):
                continue
            data = bytes.fromhex(vector["hex"])
            if len(data) != 300 or (Variant(name), data) in seen:
                continue
            seen.add((Variant(name), data))
            found.append(
                Capture(
                    f"{path.stem}[{index}]",
                    Variant(name),
                    FrameType(kind),
                    data,
                    settings.get((name, str(vector.get("device")))),
                )
            )
    return found


def representatives(
    found: list[Capture] | None = None, per_kind: int = 4
) -> list[Capture]:
    """Up to ``per_kind`` frames per variant and frame type, each of another device.

    Devices are told apart by their settings frame; frames nearest the middle of
    the captures come first (so the odd units at either end are not all left out).
    """
    chosen: dict[tuple[Variant, FrameType], dict[bytes | None, Capture]] = {}
    for capture in found if found is not None else captures():
        devices = chosen.setdefault((capture.variant, capture.frame_type), {})
        devices.setdefault(capture.settings, capture)
    picked: list[Capture] = []
    for devices in chosen.values():
        frames = list(devices.values())
        middle = len(frames) // 2
        order = sorted(range(len(frames)), key=lambda index: abs(index - middle))
        picked.extend(frames[index] for index in order[:per_kind])
    return picked


def flips(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Every single-bit flip of ``data`` with its checksum fixed."""
    for offset in FLIPPED_BYTES:
        for bit in range(8):
            buffer = bytearray(data)
            buffer[offset] ^= 1 << bit
            buffer[-1] = checksum(bytes(buffer[:-1]))
            yield offset, bit, bytes(buffer)


def decoder(capture: Capture) -> Callable[[bytes], Decoded]:
    """Return the decoder the session uses for this frame type."""
    variant = capture.variant
    match capture.frame_type:
        case FrameType.CELL_INFO:
            return lambda data: decode_cell_info(data, variant)
        case FrameType.SETTINGS:
            return lambda data: decode_settings(data, variant)
        case _:
            return decode_device_info


def primed_shield(capture: Capture, real: Decoded) -> FrameShield | None:
    """Return a shield that has seen the real stream (None: it dropped the real frame)."""
    shield = FrameShield(capture.variant)
    if capture.settings is not None and capture.frame_type is not FrameType.SETTINGS:
        settings = decode_settings(capture.settings, capture.variant)
        shield.check(settings, -1.0)
        shield.check(settings, -0.5)
    for at in (0.0, INTERVAL):
        if gate(shield, capture, capture.data, real, at) != (True, True):
            return None
    return shield


def gate(
    shield: FrameShield, capture: Capture, data: bytes, frame: Decoded, at: float
) -> tuple[bool, bool]:
    """Run one frame through the session's gates: (counted, shown).

    A streamed cell frame's sample must pass before its V and I reach the
    energy meters (counted); the whole frame is checked when it is shown.
    Settings and device info are checked whole.
    """
    if not isinstance(frame, CellInfo):
        passed = shield.check(frame, at) is None
        return passed, passed
    sample = decode_cell_sample(data, capture.variant)
    if shield.check_sample(sample, at) is not None:
        return False, False
    return True, shield.check_sampled(frame, at) is None


# What an energy meter integrates: a flip here must not pass the sample gate.
ENERGY_KEYS = ("total_voltage ", "current ", "power ")


def sweep_one(capture: Capture, tally: Tally) -> bool:
    """Run every flip of one frame; False when the shield drops the real frame."""
    decode = decoder(capture)
    real = decode(capture.data)
    shield = primed_shield(capture, real)
    if shield is None:
        return False
    tally.frames += 1
    for offset, bit, data in flips(capture.data):
        tally.flips += 1
        try:
            flipped: Decoded | None = decode(data)
        except ProtocolError:
            flipped = None
        if flipped is None:
            counted = passed = False  # dropped by the decoder: count as caught
            found = ["undecodable"]
        else:
            counted, passed = gate(
                copy.copy(shield), capture, data, flipped, 2 * INTERVAL
            )
            found = harm(real, flipped)
        where = f"{capture.source} byte {offset} bit {bit}"
        if counted and any(f.startswith(ENERGY_KEYS) for f in found):
            tally.energy_missed.append(f"{where}: {found}")
        if found:
            tally.harmful += 1
            if passed:
                tally.missed.append(f"{where}: {found}")
            else:
                tally.harmful_dropped += 1
        else:
            tally.harmless += 1
            tally.harmless_passed += passed
    return True


def sweep(
    selected: list[Capture] | None = None,
) -> tuple[dict[tuple[str, str], Tally], list[str]]:
    """Count per (variant, frame type); also return the real frames the shield dropped."""
    tallies: dict[tuple[str, str], Tally] = {}
    refused: list[str] = []
    for capture in selected if selected is not None else captures():
        key = (capture.variant.value, capture.frame_type.name.lower())
        if not sweep_one(capture, tallies.setdefault(key, Tally())):
            refused.append(capture.source)
    return tallies, refused


# ------------------------------------------------------------------ harm


def harm(real: Decoded, flipped: Decoded) -> list[str]:
    """List what a user would be misled by (empty: harmless)."""
    if isinstance(real, CellInfo) and isinstance(flipped, CellInfo):
        return _cell_harm(real, flipped)
    if isinstance(real, DeviceInfo) and isinstance(flipped, DeviceInfo):
        return _device_harm(real, flipped)
    before, after = real.entries, flipped.entries
    return sorted(
        k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
    )


def _cell_harm(real: CellInfo, flipped: CellInfo) -> list[str]:
    before, after = real.entries, flipped.entries
    volts = real.total_voltage or 0.0
    full = real.full_charge_capacity or 0.0
    found = []
    for key in before.keys() | after.keys():
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        if not _number(was) or not _number(now):
            found.append(key)
            continue
        move = abs(float(now) - float(was))  # type: ignore[arg-type]
        if move > _threshold(key, float(was), volts, full):  # type: ignore[arg-type]
            found.append(f"{key} {was} -> {now}")
    for key in ("min_voltage_cell", "max_voltage_cell"):
        was, now = before.get(key), after.get(key)
        if was != now and isinstance(was, int) and isinstance(now, int):
            cells = real.cell_voltages
            if not 0 < now <= len(cells) or abs(cells[now - 1] - cells[was - 1]) > 0.02:
                found.append(f"{key} {was} -> {now}")
    return found


def _threshold(key: str, was: float, volts: float, full: float) -> float:
    if key.startswith("cell_voltage_") or key in _CELL_STATISTICS:
        return 0.020
    if key == "total_voltage":
        return max(0.01 * was, 0.01)
    if key.endswith("current"):
        return max(1.0, 0.05 * abs(was))
    if key.endswith("power"):
        return max(1.0 * volts, 0.05 * abs(was), 1.0)
    if key in ("state_of_charge", "state_of_health"):
        return 2
    if key in ("capacity_remaining", "total_charging_cycle_capacity"):
        return 0.02 * max(full, was)  # the pack's capacity is their scale
    if key == "full_charge_capacity":
        return max(0.02 * was, 0.002)
    if "temperature" in key:
        return 5.0
    if key.startswith("cell_resistance_"):
        return max(0.010, 0.10 * was)
    if key in ("total_runtime", "emergency_time_countdown"):
        return 60
    if key in ("min_voltage_cell", "max_voltage_cell"):
        return float("inf")  # judged by the cells they name (above)
    return 0  # counts, indices: any change


_CELL_STATISTICS = frozenset(
    {
        "average_cell_voltage",
        "delta_cell_voltage",
        "min_cell_voltage",
        "max_cell_voltage",
    }
)


def _device_harm(real: DeviceInfo, flipped: DeviceInfo) -> list[str]:
    found = [
        key
        for key in real.entries.keys() | flipped.entries.keys()
        if key != "uptime" and real.entries.get(key) != flipped.entries.get(key)
    ]
    found.extend(
        key
        for key in ("pin", "settings_password", "passcode", "variant", "power_on_count")
        if getattr(real, key) != getattr(flipped, key)
    )
    if not 0 <= flipped.uptime - real.uptime <= 60:
        found.append("uptime")
    return found


def _number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ------------------------------------------------------------------ report


def shield_cost(rounds: int = 20) -> tuple[float, float]:
    """µs CPU of the shield per streamed cell frame, and per frame shown (JK02_32S).

    Every frame: its sample is decoded and checked. At the hand-on (every ten
    frames at the 5 s default) the whole frame is decoded and checked.
    """
    frames = [c for c in captures() if c.frame_type is FrameType.CELL_INFO]
    frames = [c for c in frames if c.variant is Variant.JK02_32S]
    decoded = [decode_cell_info(c.data, c.variant) for c in frames]
    samples = [decode_cell_sample(c.data, c.variant) for c in frames]
    shield = FrameShield(Variant.JK02_32S)
    costs = []
    for check in (shield.check_sample, shield.check_sampled):
        started = time.process_time()  # CPU time: the machine may be shared
        count = 0
        for round_ in range(rounds):
            for index, frame in enumerate(
                samples if check == shield.check_sample else decoded
            ):
                # The same frame twice in a row: every rule runs and the frame passes.
                at = (round_ * len(frames) + index) * 2 * INTERVAL
                check(frame, at)  # type: ignore[arg-type]
                check(frame, at + INTERVAL)  # type: ignore[arg-type]
                count += 2
        costs.append((time.process_time() - started) / count * 1e6)
    return costs[0], costs[1]


def summary(tallies: Mapping[tuple[str, str], Tally]) -> list[list[str]]:
    """Table rows: variant, frame, frames, flips, harmful, dropped, harmless, passed."""
    return [
        [
            variant,
            frame,
            str(t.frames),
            f"{t.flips:,}",
            f"{t.harmful:,}",
            f"{t.harmful_dropped:,} ({t.harmful_dropped / max(t.harmful, 1):.1%})",
            f"{t.harmless:,}",
            f"{t.harmless_passed:,} ({t.harmless_pass_share:.1%})",
        ]
        for (variant, frame), t in sorted(tallies.items())
    ]


def report() -> str:
    """Return the scripts/bench section: every distinct captured frame, every bit."""
    tallies, refused = sweep(captures())
    harmful = sum(t.harmful for t in tallies.values())
    dropped = sum(t.harmful_dropped for t in tallies.values())
    energy = sum(len(t.energy_missed) for t in tallies.values())
    per_frame, per_shown = shield_cost()
    return (
        "## Frame shield: every single-bit flip of the captured frames\n\n"
        "`benchmarks/bitflip_sweep.py`: each distinct cell-info, settings and "
        "device-info frame of tests/protocol/vectors, every bit of bytes 0-298 "
        "flipped and the checksum fixed, decoded and checked by `FrameShield` "
        "after the device's real stream (settings read twice, the real frame), "
        "as the session does: a cell frame's sample (`check_sample`, before the "
        "energy meters) and, to be shown, the whole frame (`check_sampled`). "
        f"**{dropped:,} of {harmful:,} harmful flips dropped "
        f"({dropped / max(harmful, 1):.1%})**; harmful V / I / P flips counted "
        f"by an energy meter: {energy}; real frames dropped: {len(refused)}. "
        f"Shield cost (JK02_32S, on top of decoding): **{per_frame:.0f} µs CPU per "
        f"streamed cell frame**, {per_shown:.0f} µs per frame shown.\n\n"
        + table(HEADER, summary(tallies))
    )


HEADER = [
    "variant",
    "frame",
    "frames",
    "flips",
    "harmful",
    "harmful dropped",
    "harmless",
    "harmless passed",
]


def main() -> None:
    """Print the sweep's figures."""
    started = time.perf_counter()
    tallies, refused = sweep()
    for row in [HEADER, *summary(tallies)]:
        print(" | ".join(row))
    for tally in tallies.values():
        for line in tally.missed[:60]:
            print("MISSED", line)
    print("real frames dropped:", refused or "none")
    per_frame, per_shown = shield_cost()
    print(f"shield: {per_frame:.1f} µs per streamed frame, {per_shown:.1f} per shown")
    for tally in tallies.values():
        for line in tally.energy_missed[:60]:
            print("ENERGY MISSED", line)
    print(f"sweep took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
