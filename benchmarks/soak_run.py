"""scripts/soak: run the soak, print the summary, write the Soak section of the report."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

from .report import machine, table, write_soak
from .soak import ENERGY_TOLERANCE, Soak, SoakResult


def _verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def section(result: SoakResult, frames: int) -> str:
    """Return the Markdown Soak section."""
    fuzz = result.fuzz
    energy_rows = [
        [
            e["bms"],
            e["counter"],
            f"{e['integration_kwh']:.3f}",
            f"{e['truth_kwh']:.3f}",
            f"{e['error_percent']:.2f} %",
        ]
        for e in result.energy
    ]
    checks = [
        [
            "no unhandled exception (loop handler + ERROR logs)",
            _verdict(not result.unhandled),
            "; ".join(result.unhandled[:5]) or "none",
        ],
        [
            "every drop recovered (all links up at the end)",
            _verdict(result.all_links_up_at_end),
            f"{result.reconnects} reconnects; longest outage {result.longest_outage_s:.1f} s wall"
            + "".join(f"; not back: {u}" for u in result.unrecovered),
        ],
        [
            "energy counters never decrease",
            _verdict(result.counter_decreases == 0),
            f"{result.counter_decreases} decreases seen",
        ],
        [
            f"energy within {ENERGY_TOLERANCE * 100:.1f} % of the truth",
            _verdict(result.worst_energy_error <= ENERGY_TOLERANCE),
            f"worst {result.worst_energy_error * 100:.2f} %",
        ],
        [
            "memory flat (RSS growth after the first quarter ≤ 15 MiB)",
            _verdict(result.rss_growth_mib <= 15),
            f"{result.rss_growth_mib:+.1f} MiB; samples {result.rss_mib[0]:.0f}-{max(result.rss_mib):.0f} MiB"
            if result.rss_mib
            else "no samples",
        ],
        [
            f"{frames:,} mutated frames through the parser",
            _verdict(bool(fuzz.get("clean"))),
            f"{fuzz.get('frames_emitted', 0):,} frames emitted, "
            f"{fuzz.get('decoded', 0):,} garbage frames decoded, "
            f"{fuzz.get('decode_rejected', 0):,} rejected (ProtocolError), "
            f"{fuzz.get('clean_missed', 0)} good frames lost, "
            f"{fuzz.get('spliced_emitted', 0)} spliced, {fuzz.get('invalid_emitted', 0)} invalid, "
            f"{len(fuzz.get('unexpected', {}))} unexpected exceptions; "
            f"{fuzz.get('seconds', 0):.0f} s",
        ],
    ]
    return (
        "## Soak\n\n"
        f"`scripts/soak`: {result.simulated_hours:.0f} simulated hours in "
        f"{result.wall_s / 60:.1f} min (time scale {result.time_scale:.0f}x: the packs and "
        f"the coordinator's clock), {result.bms} streaming BMS (JK02_32S, JK02_24S, JK04) "
        "on one 4-slot virtual proxy, state writes every 5 s. Faults at random every "
        "0.5-2 s: link drops (half of them in the middle of a frame), corrupted frames, "
        "junk notifications, every free slot taken by others for 1-4 s, and one Home "
        "Assistant restart half-way (counters continue through RestoreSensor). The "
        "parser fuzz runs alongside in its own process.\n\n"
        + machine()
        + "\n\n"
        + table(
            ["faults", "count"],
            [
                ["link drops", str(result.drops)],
                ["… in the middle of a frame", str(result.drops_mid_frame)],
                ["corrupted frames", str(result.corrupted_frames)],
                ["junk notifications", str(result.junk_notifications)],
                ["slot exhaustions", str(result.slot_exhaustions)],
                ["Home Assistant restarts", str(result.restarts)],
            ],
        )
        + "\n\n"
        + table(["check", "result", "figures"], checks)
        + "\n\nEnergy counters against the virtual battery's truth, over the time the link "
        "was up (energy that flows while the link is down cannot be seen; JK04 frames "
        "carry no pack current, so JK04 has no energy counters):\n\n"
        + table(
            ["BMS", "counter", "integration kWh", "truth kWh", "error"], energy_rows
        )
        + f"\n\nVerdict: **{'clean' if result.clean else 'NOT clean'}**."
    )


def main() -> None:
    """Parse flags, run, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0, help="wall time")
    parser.add_argument("--days", type=float, default=1.0, help="simulated days")
    parser.add_argument("--frames", type=int, default=1_000_000, help="parser fuzz")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="jk_soak_") as tmp:
        soak = Soak(Path(tmp), args.minutes * 60, args.seed, args.days)
        result = asyncio.run(soak.run(args.frames))
    text = section(result, args.frames)
    print(text)
    if not args.no_report:
        write_soak(text)
    sys.exit(0 if result.clean else 1)


if __name__ == "__main__":
    main()
