"""scripts/bench: run every measurement and write docs/performance.md.

    scripts/bench [--quick] [--window 90] [--runs 3]

Everything runs in this process (Home Assistant's test instance, the virtual
proxy and virtual BMS); default sizes keep it under 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

from . import (
    bitflip_sweep,
    load,
    many_bms,
    memory,
    peer_decode,
    protocol_decode,
    setup_time,
    write_latency,
)
from .report import machine, table, write

CHANGES = """## What the figures led to

* **Per-proxy connection scheduler** (`scheduler.py`, hooked into every connect of
  `coordinator.py`): 12 polling BMS on 3 slots, set up at once: out-of-slot
  attempts 18 -> 0, all 12 have data after 13.7 s -> 6.7 s (table below). Writing
  its test found a deadlock (a poll right after set-up queued for a slot it
  already held): fixed in the same hook.
* **StreamParser**: a cut-off frame or ack glued to the next one passed the 8-bit
  checksum 1 time in 256: a spliced bogus frame was emitted and the good one lost.
  Now a new header inside the window wins over the checksum. Parser fuzz, 100k
  mutated frames: 33 spliced frames emitted and 46 good frames lost -> 0 and 0
  (1M frames in the soak: 0 and 0).
* **Client**: waiters failed by a link drop were never retrieved ("Future
  exception was never retrieved" ERROR, 1-2 per 2-minute soak) -> 0.
* **Decode plans** (`protocol/plan.py`): cell-info decoding was the largest single
  cost in the loop (JK02_32S 175 µs/frame, 266 µs in the same run as the plan).
  Each table is now compiled once per variant into a few `struct` unpacks and one
  generated expression per field; details are a lazy view. JK02_32S full
  decode 266 -> 30 µs (same run, thread CPU time), within 2x of aiobmsble's
  JK decode on the same frames (table below).
* **Freshness rules instead of stacked change filters** (`freshness.py`, applied in
  `entity.py`): at each hand-on (the `update_interval` cadence) a state is written
  when it moved by more than its deadband (cells 3 mV, temperatures 0.5 °C, energy
  0.05 kWh, charge 1 Ah, time to empty/full 2 min) or changed at all and its
  maximum age (5-10 min) passed; current, power, voltage and SoC are written at
  every hand-on (unchanged: only `last_reported` moves, no row). One BMS at the
  default 5 s: `states` rows 4,800 -> 320 per hour, live values' median age
  22.9 -> 2.5 s (table below). The coordinator's `always_update=False` equality
  check saves nothing measurable here (a cell frame always differs: its counter);
  removing it belongs to the coordinator rewrite (issue 12). Per-frame work
  stays whole: the full decode is now 30 µs, 4 ms CPU per BMS per minute, so a
  split decode would not pay. Event-loop CPU at 5 s is still above the 30 ms
  target (59 ms, noisy: 2 shared cores); at 30 s it is 24 ms.
* Not measured: BMS_BLE-HA side by side (its 30 s figures are the issue's own,
  15 ms loop CPU per minute); running it needs its own Home Assistant test
  instance and aiobmsble pinned to its release, which did not fit this round.
"""


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


async def _measure(args: argparse.Namespace, workdir: Path) -> str:
    started = time.monotonic()
    sections: list[str] = []

    def progress(step: str) -> None:
        print(f"[bench {time.monotonic() - started:6.0f} s] {step}", flush=True)

    progress("decode throughput")
    rates, parser_mb = protocol_decode.measure(args.decode_seconds)
    sections.append(
        "## Frames decoded per second\n\n"
        "`benchmarks/protocol_decode.py`'s captured frames (tests/protocol/vectors), "
        "`decode_frame` in a loop, one core.\n\n"
        + table(
            ["variant", "frame", "captured frames", "decoded / s", "µs / frame"],
            [
                [
                    r.variant,
                    r.frame_type,
                    str(r.frames),
                    f"{r.per_second:,.0f}",
                    f"{1e6 / r.per_second:.0f}",
                ]
                for r in rates
            ],
        )
        + f"\n\nStream parser: **{parser_mb:.1f} MB/s** (128-byte notifications with acks "
        "and `AT\\r\\n`). A BMS sends about 2 cell frames (600 bytes) a second."
    )

    progress("cell-info decode against aiobmsble")
    peers, peer_note = peer_decode.measure(args.peer_rounds)
    sections.append(
        "## Cell-info decode against aiobmsble (same frames, same run)\n\n"
        "`benchmarks/peer_decode.py`: our `decode_cell_info` (checksum, every field, "
        "cells present, statistics, power, alarms, temperatures, the typed model) "
        "against aiobmsble's JK decoder (frame checks + `_async_update`'s decode; "
        "and with its derived values, `_add_missing_values`) on every captured "
        f"cell frame of the variant; {peer_note}, installed by the bench into a "
        "directory of its own (never a dependency of the integration). Thread CPU "
        f"time, both sides alternating, median of {args.peer_rounds} rounds. "
        "Target: ours ≤ 2 times aiobmsble's decode.\n\n"
        + (
            table(
                [
                    "variant",
                    "frames (cells)",
                    "ours µs / frame",
                    "aiobmsble µs / frame",
                    "ours / aiobmsble",
                    "aiobmsble + derived µs",
                    "ours / (aiobmsble + derived)",
                ],
                [
                    [
                        p.variant,
                        f"{p.frames} ({p.cells})",
                        f"{p.ours_us:.1f}",
                        f"{p.peer_us:.1f}",
                        f"**{p.ratio:.2f}**",
                        f"{p.peer_derived_us:.1f}",
                        f"{p.ratio_derived:.2f}",
                    ]
                    for p in peers
                ],
            )
            if peers
            else f"Skipped: {peer_note}."
        )
    )

    progress("bit-flip sweep through the frame shield")
    sections.append(bitflip_sweep.report())

    progress("set-up → every entity has a value")
    timings = await setup_time.measure(workdir, runs=args.runs)
    sections.append(
        "## Freshness at start: entry set-up → every entity has a value\n\n"
        "Virtual BMS with realistic link timing: 1.0 s proxy connection set-up, "
        "50 ms per command write through the proxy, a cell frame every 0.5 s, frames "
        "cut into MTU-sized notifications. Lower bound = connect + 0x97 + 0x96 + the "
        f"first cell frame. Median of {args.runs} fresh instances per model; enabled "
        "entities only.\n\n"
        + table(
            [
                "model",
                "variant",
                "entities",
                "first refresh s",
                "all valued s (median)",
                "worst s",
                "lower bound s",
                "over the bound s",
                "never valued (legitimately)",
            ],
            [
                [
                    t.model,
                    t.variant,
                    str(t.entities),
                    _f(t.first_refresh_s),
                    _f(t.all_valued_s),
                    _f(t.worst_s),
                    _f(t.lower_bound_s),
                    _f(t.all_valued_s - t.lower_bound_s),
                    ", ".join(n.split("_", 2)[-1] for n in t.never_valued) or "-",
                ]
                for t in timings
            ],
        )
    )

    progress("event-loop CPU and recorder rows (baseline)")
    base = await load.baseline(workdir, args.bms, args.window)
    runs: list[tuple[float, load.Layer, float]] = [
        (5.0, load.Layer.FRESHNESS, args.window),
        (30.0, load.Layer.FRESHNESS, args.window),
    ]
    if args.layers:
        runs += [
            (5.0, layer, args.layer_window)
            for layer in load.Layer
            if layer is not load.Layer.FRESHNESS
        ]
    figures = []
    for cadence, layer, window in runs:
        progress(f"event-loop CPU and recorder rows ({cadence:g} s, {layer.name})")
        used_base = base * window / args.window
        figures.append(
            await load.measure(workdir, args.bms, cadence, window, used_base, layer)
        )
    sections.append(
        "## Cost per BMS: event loop and recorder\n\n"
        f"{args.bms} streaming BMS (JK-B2A8S20P, 2 cell frames/s each, charging at "
        f"61 A), {args.window:g} s window ({args.layer_window:g} s for the layer "
        "comparison) after an 8 s settle, recorder on SQLite. Event-loop "
        "CPU is the loop thread's CPU time (not wall time: the machine is shared) "
        "minus a baseline run where the same virtual "
        f"BMS stream to a null central ({base:.3f} s in the window); the recorder "
        "thread is measured apart. Rows are new rows in `states` / `state_attributes`. "
        "*Live age*: current, power, voltage and SoC sampled every second, median "
        "of `now - last_reported`. *Energy*: the charged-energy meter against the "
        "virtual packs' truth over the window (every frame counts; the state "
        "follows within its deadband).\n\n"
        + table(
            [
                "state-write cadence",
                "change filtering",
                "entities / BMS",
                "event loop ms CPU / BMS / min",
                "recorder ms CPU / BMS / min",
                "state writes / BMS / min",
                "`states` rows / BMS / h",
                "`state_attributes` rows / BMS / h",
                "live median age s",
                "energy vs truth",
            ],
            [
                [
                    f"{f.cadence_s:g} s",
                    f.layer.value,
                    str(f.entities_per_bms),
                    f"{f.loop_ms_per_bms_minute:.0f}",
                    f"{f.recorder_ms_per_bms_minute:.0f}",
                    f"{f.state_writes / f.bms / (f.window_s / 60):.0f}",
                    f"{f.rows_per_bms_hour:,.0f}",
                    f"{f.attribute_rows_per_bms_hour:,.0f}",
                    _f(f.live_median_age_s, 1),
                    "-" if f.energy_error is None else f"{f.energy_error:+.2%}",
                ]
                for f in figures
            ],
        )
    )

    progress("write latency")
    latency = await write_latency.measure(workdir, toggles=args.toggles)
    sections.append(
        "## Write latency: switch toggled → confirmed state\n\n"
        f"Balancer switch, {latency.toggles} toggles on a streaming BMS; the service "
        "call returns once the BMS acknowledged and its settings frame (0x96) shows the "
        "new value; timed until the entity's state shows it. Every command write "
        "takes 50 ms through the virtual proxy, so write + read-back request = 0.10 s "
        "floor.\n\n"
        + table(
            ["median s", "p95 s", "best s", "worst s"],
            [
                [
                    _f(latency.median_s, 3),
                    _f(latency.p95_s, 3),
                    _f(latency.best_s, 3),
                    _f(latency.worst_s, 3),
                ]
            ],
        )
    )

    progress("memory with 1 and 16 BMS")
    mem = await memory.measure(workdir)
    sections.append(
        "## Memory of Home Assistant with 1 and 16 BMS\n\n"
        "RSS of the process (Home Assistant test instance with Bluetooth and the "
        "recorder) after a full collection, 15 s after each set-up; 16 BMS on a "
        "16-slot virtual proxy.\n\n"
        + table(
            [
                "no BMS MiB",
                "1 BMS MiB",
                "16 BMS MiB",
                "first BMS MiB",
                "each further BMS MiB",
            ],
            [
                [
                    f"{mem.baseline_mib:.1f}",
                    f"{mem.one_bms_mib:.1f}",
                    f"{mem.sixteen_bms_mib:.1f}",
                    f"{mem.one_bms_mib - mem.baseline_mib:.1f}",
                    f"{mem.per_additional_bms_mib:.2f}",
                ]
            ],
        )
    )

    rows = []
    for scheduler in (False, True):
        progress(f"12 BMS on 3 slots (scheduler {'on' if scheduler else 'off'})")
        m = await many_bms.run(workdir, scheduler=scheduler, window_s=args.many_window)
        rows.append(
            [
                "per-proxy scheduler" if scheduler else "without (everyone connects)",
                f"{m.loaded}/12",
                _f(m.all_fresh_after_s, 1),
                str(m.polls_ok),
                str(m.polls_failed),
                str(m.refused_connects),
                str(m.unavailable_events),
                _f(m.worst_staleness_s, 1),
                str(m.peak_slots_in_use),
                _f(m.longest_turn_wait_s, 1),
            ]
        )
    sections.append(
        "## Many BMS per proxy: 12 polling BMS, one proxy with 3 slots\n\n"
        f"Poll mode every {many_bms.POLL_INTERVAL_S} s, all 12 set up at once (a "
        "Home Assistant start), 1 s connection set-up, watched for "
        f"{args.many_window:g} s. *Out-of-slot* counts connection attempts refused for "
        "want of a slot (Home Assistant's `BleakOutOfConnectionSlotsError`); "
        "*staleness* is the longest time a BMS went without fresh data (a poll "
        "interval plus the connection itself is the best possible).\n\n"
        + table(
            [
                "run",
                "loaded",
                "all have data after s",
                "polls ok",
                "polls failed",
                "out-of-slot attempts",
                "sensors → unavailable",
                "worst staleness s",
                "peak slots in use",
                "longest wait for a turn s",
            ],
            rows,
        )
    )
    progress("done")
    return "\n\n".join(sections)


def main() -> None:
    """Run the bench and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument(
        "--window", type=float, default=90.0, help="CPU/recorder window s"
    )
    parser.add_argument(
        "--bms", type=int, default=4, help="BMS in the CPU/recorder runs"
    )
    parser.add_argument("--runs", type=int, default=3, help="set-up runs per model")
    parser.add_argument("--toggles", type=int, default=20)
    parser.add_argument("--many-window", type=float, default=75.0)
    parser.add_argument("--decode-seconds", type=float, default=1.0)
    parser.add_argument("--peer-rounds", type=int, default=15)
    parser.add_argument(
        "--no-layers",
        dest="layers",
        action="store_false",
        help="skip the change-filter layer comparison",
    )
    parser.add_argument("--layer-window", type=float, default=45.0)
    args = parser.parse_args()
    if args.quick:
        args.window, args.runs, args.toggles = 10.0, 1, 3
        args.many_window, args.decode_seconds, args.bms = 35.0, 0.2, 2
        args.peer_rounds, args.layer_window = 5, 10.0
    logging.basicConfig(level=logging.CRITICAL)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jk_bench_") as tmp:
        body = asyncio.run(_measure(args, Path(tmp)))
    elapsed = time.monotonic() - started
    header = (
        "# Performance\n\n"
        "Written by `scripts/bench` (and its Soak section by `scripts/soak`); every "
        "figure below comes from those runs. Home Assistant runs in-process (the "
        "pytest-homeassistant-custom-component test instance) with its real Bluetooth "
        "stack; only the radio is simulated (virtual ESPHome-style proxy, virtual JK "
        "BMS).\n\n"
        + machine()
        + f"\n* Bench wall time: {elapsed / 60:.1f} min"
        + (" (--quick: smoke sizes, not for comparison)" if args.quick else "")
    )
    write(header + "\n\n" + CHANGES + "\n" + body)
    print(f"wrote docs/performance.md in {elapsed / 60:.1f} min")


if __name__ == "__main__":
    main()
