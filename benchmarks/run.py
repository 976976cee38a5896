"""scripts/bench: run every measurement and write docs/performance.md.

    scripts/bench [--quick] [--window 45] [--pairs 3] [--runs 3]

Everything runs in this process (Home Assistant's test instance, the virtual
proxy and virtual BMS; the load runs in processes of their own); default sizes
take about 25 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import (
    bitflip_sweep,
    load,
    many_bms,
    memory,
    peer_decode,
    peer_ha,
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
  22.9 -> 2.5 s (first measured 2026-12-01 14:43; today's figures below: 4,720 ->
  200 rows, 22.5 -> 2.6 s).
* **Change filtering that pays** (issue 12): the coordinator's `always_update=False`
  and its data-equality check are removed. Measured with and without in the
  bench of 2026-12-01 14:43 (4 BMS; 90 s with, 45 s without): with them 59 ms
  loop CPU and 320 rows per BMS per hour, without them 39 ms and 200 rows (noise
  of one run each: a cell frame always differs, its counter, so the check never skipped
  a hand-on). The freshness rules are the one filter left; the two layer rows
  below show what the old per-entity filter and no filter cost.
* **Per frame only what needs every frame** (issue 14; `derived.sample`,
  `DataBuilder.add`). Profiled with `python -m benchmarks.profile_load`
  (cProfile over the loop while 4 BMS stream) and timed in place with thread-CPU
  wrappers around the frame path: per cell frame the coordinator spent 110 µs
  computing derived values, the SoC check and a new `JkBmsData` that the
  entities saw once per 5 s. Now a cell frame moves only the energy meters, the
  smoothed current and the SoC check's rest (50 µs in place); the derived values
  and the data are built at the hand-on, or at once when a watched value changes
  (full-charge edge, alarms, charge / discharge MOSFETs). The parser returns at
  once for a notification inside a frame in progress (21.4 -> 16.6 µs per frame).
  The full decode went on running per frame for the frame shield, which checked
  every field of every frame against the previous one.
* **Per frame only the sample** (issue 14; `protocol/sampling.py`,
  `FrameShield.check_sample`, `LinkCore.refresh`). Timed in place (thread-CPU
  wrappers, 4 BMS, 45 s): of ~280 µs per cell frame, the full decode took 90 µs,
  the shield 68 µs and the snapshot and meters 73 µs, for a frame shown once in
  ten. Now each frame is decoded only for a dozen values (the cells, V, I, the
  power field, SoC, full capacity, alarm word, MOSFETs: 8 µs against 32 µs for
  the whole frame, same run, out of place) and the shield runs its rules on
  those (8 µs against 28 µs); the whole frame is decoded and checked when it is
  shown (`check_sampled`, against the frame shown before). The bit-flip sweep
  (below) runs both gates: every harmful flip is still dropped, and no flipped
  V / I / P reaches an energy meter. Loop CPU per BMS per minute, one run each
  in the same harness: 41.7 -> 28.5 ms at 5 s (wrappers included), 36.3 ->
  20.2 ms at 30 s. Also found while measuring: a 45 s window that takes in a
  5-minute mark includes Home Assistant's statistics compile (recorder CPU 3 ->
  40 ms per BMS per minute in that window, for us and for the peer), and single
  runs of the peer's loop CPU ranged 51-62 ms today (16 ms in the previous
  bench): the tables below are medians of the rounds of this run.
* **BMS_BLE-HA side by side** (`benchmarks/peer_ha.py`): BMS_BLE-HA 2.15.0
  (patman15, `custom_components/bms_ble`) with the aiobmsble it pins (0.26.0),
  bench-only in `bench-extras`, set up through its own Bluetooth discovery flow
  in the same Home Assistant test instance against the same virtual JK02_32S
  BMS, in the same rounds as ours (issue 14's table as ratios below). It keeps
  the link and decodes every 30 s; it has no energy counters. The bench does not
  download it: without a checkout in `bench-extras` those rows are skipped.
"""


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _load_row(f: load.LoadFigures, what: str) -> list[str]:
    return [
        what,
        f"{f.cadence_s:g} s",
        f.layer.value if not f.peer else "its own (coordinator always_update=False)",
        str(f.entities_per_bms),
        f"{f.loop_ms_per_bms_minute:.0f}",
        f"{f.recorder_ms_per_bms_minute:.0f}",
        f"{f.state_writes / f.bms / (f.window_s / 60):.0f}",
        f"{f.rows_per_bms_hour:,.0f}",
        f"{f.attribute_rows_per_bms_hour:,.0f}",
        _f(f.live_median_age_s, 1),
        "-" if f.energy_error is None else f"{f.energy_error:+.2%}",
    ]


def _median_figures(runs: list[load.LoadFigures]) -> load.LoadFigures:
    """Return the run with the median loop CPU (its other figures come with it)."""
    ordered = sorted(runs, key=lambda f: f.loop_ms_per_bms_minute)
    return ordered[(len(ordered) - 1) // 2]


def _median(values: list[float]) -> float:
    return statistics.median(values)


async def _load_section(
    args: argparse.Namespace, progress: Callable[[str], None]
) -> str:
    """Loop CPU, recorder and rows: this integration at 5 s and 30 s, the peer at 30 s."""
    peer_ready, peer_note = peer_ha.prepare()
    kinds = [("jk", 5.0), ("jk", 30.0)] + ([("peer", 30.0)] if peer_ready else [])
    runs: dict[tuple[str, float], list[load.LoadFigures]] = {k: [] for k in kinds}
    for pair in range(args.pairs):
        progress(f"loop CPU and rows, round {pair + 1}/{args.pairs}: baseline")
        base = await load.isolated("baseline", bms=args.bms, window_s=args.window)
        assert isinstance(base, float)
        for kind, cadence in kinds:
            progress(f"loop CPU and rows, round {pair + 1}: {kind} at {cadence:g} s")
            figures = await load.isolated(
                kind,
                bms=args.bms,
                window_s=args.window,
                cadence=cadence,
                baseline_s=base,
            )
            assert isinstance(figures, load.LoadFigures)
            runs[(kind, cadence)].append(figures)
    layers: list[load.LoadFigures] = []
    if args.layers:
        base = await load.isolated("baseline", bms=args.bms, window_s=args.window)
        assert isinstance(base, float)
        for layer in (load.Layer.ON_CHANGE, load.Layer.EVERY_TICK):
            progress(f"change-filter layer: {layer.name}")
            figures = await load.isolated(
                "jk", bms=args.bms, window_s=args.window, baseline_s=base, layer=layer
            )
            assert isinstance(figures, load.LoadFigures)
            layers.append(figures)
    medians = {k: _median_figures(v) for k, v in runs.items()}
    loop = {k: _median([f.loop_ms_per_bms_minute for f in v]) for k, v in runs.items()}
    header = [
        "who",
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
    ]
    rows = [
        _load_row(medians[k], "BMS_BLE-HA" if k[0] == "peer" else "jk_bms")
        for k in kinds
    ]
    rows += [_load_row(f, "jk_bms (1 run)") for f in layers]
    text = (
        "## Cost per BMS: event loop and recorder\n\n"
        f"{args.bms} streaming BMS (JK-B2A8S20P, 2 cell frames/s each, charging at "
        f"61 A), {args.window:g} s window after an 8 s settle, recorder on SQLite; "
        "every run in a fresh process of its own, "
        f"{args.pairs} rounds of (baseline, jk_bms 5 s, jk_bms 30 s"
        + (", BMS_BLE-HA" if peer_ready else "")
        + ") taken in turn; each row is the round with the median loop CPU. "
        "Event-loop CPU is the loop thread's CPU time (not wall time: the machine "
        "is shared) minus the same round's baseline run, where the same virtual BMS "
        "stream to a null central; the recorder thread is measured apart. Rows are "
        "new rows in `states` / `state_attributes`. *Live age*: current, power, "
        "voltage and SoC sampled every second, median of `now - last_reported`. "
        "*Energy*: the charged-energy meter against the virtual packs' truth over "
        "the window (every frame counts; the state follows within its deadband). "
        f"Peer: {peer_note}, set up through its own Bluetooth discovery flow "
        "against the same virtual JK02_32S BMS (its fixed 30 s update interval). "
        "The two layer rows (one run each) are the change filters that were "
        "replaced (issue 12).\n\n" + table(header, rows)
    )
    if not peer_ready:
        return text + f"\n\nBMS_BLE-HA not measured: {peer_note}."
    peer, ours5, ours30 = (
        medians[("peer", 30.0)],
        medians[("jk", 5.0)],
        medians[("jk", 30.0)],
    )

    def ratio(ours: float | None, theirs: float | None, digits: int = 2) -> str:
        if ours is None or theirs is None or theirs == 0:
            return "-"
        return f"{ours / theirs:.{digits}f}"

    def per(f: load.LoadFigures) -> list[float | None]:
        return [
            f.live_median_age_s,
            loop[("peer", 30.0)] if f is peer else loop[("jk", f.cadence_s)],
            f.recorder_ms_per_bms_minute,
            f.rows_per_bms_hour,
        ]

    measures = [
        "median age of the current state s",
        "event-loop CPU per minute over baseline ms",
        "recorder-thread CPU per minute ms",
        "`states` rows per hour",
    ]
    them = per(peer)
    rows = [
        [
            name,
            _f(a, 1),
            _f(t, 1),
            _f(b, 1),
            ratio(a, t),
            ratio(b, t),
        ]
        for name, a, t, b in zip(measures, per(ours5), them, per(ours30), strict=True)
    ]
    return (
        text
        + "\n\n### Issue 14's table, as ratios to BMS_BLE-HA (same rounds, medians)\n\n"
        + table(
            [
                "measure (per BMS)",
                "jk_bms at 5 s (default)",
                "BMS_BLE-HA (30 s)",
                "jk_bms set to 30 s",
                "jk_bms 5 s / BMS_BLE-HA",
                "jk_bms 30 s / BMS_BLE-HA",
            ],
            rows,
        )
    )


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

    sections.append(await _load_section(args, progress))

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
        "--window", type=float, default=45.0, help="CPU/recorder window s"
    )
    parser.add_argument(
        "--pairs", type=int, default=3, help="rounds of the CPU/recorder runs"
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
    args = parser.parse_args()
    if args.quick:
        args.window, args.runs, args.toggles = 10.0, 1, 3
        args.many_window, args.decode_seconds, args.bms = 35.0, 0.2, 2
        args.peer_rounds, args.pairs = 5, 1
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
