"""How often the SoC cross-check is wrong, and what it catches: docs/soc-check.md.

    scripts/run python -m benchmarks.soc_accuracy [--quick]

No Home Assistant here: the virtual pack's frames go through the same decoder
and the same ``check_soc`` the coordinator calls (the end-to-end path through
Home Assistant is covered by tests/integration/test_soc_check.py).

1. Rests: every chemistry, true charge 2-98 %, counter drift -50..+50 points,
   three cell sets (imbalance), and the cells shifted -15 / 0 / +15 mV off the
   virtual curve (another maker, hysteresis, temperature: the integration's
   tables are published curves, the virtual pack has its own). Each case rests
   past the rest time; counted: doubts raised.
2. Soak: a simulated day per chemistry (charge to full, discharges, rests at the
   bottom, the top and in the middle, a 0.5 A standby drain while resting),
   frames every 30 pack seconds; without drift, and with the counter running
   away at 1, 2 and 5 points per hour: when the doubt first appears.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from custom_components.jk_bms.protocol import (
    CellInfo,
    FrameType,
    decode_cell_info,
    decode_settings,
)
from custom_components.jk_bms.soc_check import (
    DOUBT_MARGIN,
    REST_SECONDS,
    SocCheckState,
    check_soc,
)
from virtual_bms.chemistry import Chemistry
from virtual_bms.current_profile import CurrentProfile
from virtual_bms.device import VirtualJkBms

DOC = Path(__file__).parents[1] / "docs" / "soc-check.md"
MODEL = "JK-B2A8S20P"  # JK02_32S, 4 cells, 280 Ah
FRAME_S = 30.0
SHIFTS_MV = (-15, 0, 15)
SEEDS = (1, 2, 3)
DRIFTS = tuple(range(-50, 51, 5))
DRIFT_RATES = (1.0, 2.0, 5.0)
REGIONS = ((0, 20, "0-20 %"), (20, 80, "20-80 %"), (80, 101, "80-100 %"))


def _frames(bms: VirtualJkBms, shift_v: float = 0.0) -> tuple[CellInfo, object]:
    info = decode_cell_info(bms._frame(FrameType.CELL_INFO), bms.variant)  # noqa: SLF001
    settings = decode_settings(bms._frame(FrameType.SETTINGS), bms.variant)  # noqa: SLF001
    if shift_v:
        info = dataclasses.replace(
            info, cell_voltages=tuple(v + shift_v for v in info.cell_voltages)
        )
    return info, settings


def rested_doubt(
    chemistry: Chemistry, percent: int, drift: int, seed: int, shift_mv: int
) -> tuple[bool, int]:
    """Rest one pack past the rest time; return (doubt raised, counter error)."""
    bms = VirtualJkBms(
        MODEL,
        chemistry=chemistry,
        state_of_charge=percent / 100,
        soc_drift=drift,
        profile="idle",
        stream_interval=None,
        resolution_s=FRAME_S,
        seed=seed,
    )
    # An idle pack does not change while it rests: one frame, fed every 100 s.
    info, settings = _frames(bms, shift_mv / 1000)
    state = SocCheckState()
    verdict = None
    at = 0.0
    while at <= REST_SECONDS + 100:
        state, verdict = check_soc(state, info, settings, at)  # type: ignore[arg-type]
        at += 100.0
    assert verdict is not None
    error = bms.battery.state_of_charge - round(bms.battery.true_state_of_charge * 100)
    return bool(verdict.doubtful), error


def day_profile(time_s: float) -> float:
    """Return the requested current (A) over one simulated day, 280 Ah pack."""
    hour = (time_s / 3600) % 24
    schedule: tuple[tuple[float, float], ...] = (
        (2.0, -0.5),  # rest (standby drain) at 50 %
        (5.0, -35.0),  # discharge to about 13 %
        (7.0, -0.5),  # rest at the bottom
        (12.0, 61.0),  # charge until the BMS stops it (full)
        (14.0, -0.5),  # rest at the top
        (17.0, -40.0),  # discharge to about 57 %
        (19.5, -0.5),  # rest in the middle
        (22.0, -40.0),  # discharge to about 21 %
        (24.0, -0.5),  # rest
    )
    return next(current for until, current in schedule if hour < until)


def soak(chemistry: Chemistry, drift_per_hour: float, hours: float = 24.0) -> dict:
    """One simulated day; return doubts raised and the first doubt's time (h)."""
    bms = VirtualJkBms(
        MODEL,
        chemistry=chemistry,
        state_of_charge=0.5,
        soc_drift_per_hour=drift_per_hour,
        profile=CurrentProfile(custom=day_profile),
        stream_interval=None,
        resolution_s=5.0,
    )
    state = SocCheckState()
    raised = 0
    first: float | None = None
    was = False
    rested_checks = 0
    worst_error = 0
    _, settings = _frames(bms)  # the settings do not change during the day
    at = 0.0
    while at <= hours * 3600:
        info = decode_cell_info(bms._frame(FrameType.CELL_INFO), bms.variant)  # noqa: SLF001
        state, verdict = check_soc(state, info, settings, at)  # type: ignore[arg-type]
        if verdict.band is not None:
            rested_checks += 1
        error = bms.battery.state_of_charge - bms.battery.true_state_of_charge * 100
        worst_error = max(worst_error, round(abs(error)))
        doubt = bool(verdict.doubtful)
        if doubt and not was:
            raised += 1
            if first is None:
                first = at / 3600
        was = doubt
        bms.battery.advance(FRAME_S)
        at += FRAME_S
    return {
        "raised": raised,
        "first_h": first,
        "rested_frames": rested_checks,
        "worst_error": worst_error,
    }


def _region(percent: int) -> str:
    return next(name for low, high, name in REGIONS if low <= percent < high)


def run_rests(chemistries: Iterable[Chemistry], percents: Iterable[int]) -> dict:
    """Every rest case; counts per chemistry, counter error (5-point steps) and region."""
    cases: Counter[tuple[str, int, str]] = Counter()
    doubts: Counter[tuple[str, int, str]] = Counter()
    for chemistry in chemistries:
        for percent in percents:
            for drift in DRIFTS:
                for seed in SEEDS:
                    for shift in SHIFTS_MV:
                        doubt, error = rested_doubt(
                            chemistry, percent, drift, seed, shift
                        )
                        # The counter clamps at 0 and 100 %: what counts is how
                        # far off it really is, not how far the knob pushed.
                        bucket = 5 * round(error / 5)
                        key = (chemistry.value, bucket, _region(percent))
                        cases[key] += 1
                        doubts[key] += doubt
    return {"cases": cases, "doubts": doubts}


def _rate(doubts: int, cases: int) -> str:
    return f"{100 * doubts / cases:.0f} % ({doubts}/{cases})" if cases else "—"


def _summary(
    cases: Counter[tuple[str, int, str]],
    doubts: Counter[tuple[str, int, str]],
    soaks: dict[tuple[str, float], dict],
) -> list[str]:
    def total(pick: Callable[[tuple[str, int, str]], bool]) -> tuple[int, int]:
        keys = [key for key in cases if pick(key)]
        return sum(doubts[key] for key in keys), sum(cases[key] for key in keys)

    honest = total(lambda key: abs(key[1]) <= 5)
    ends = total(lambda key: abs(key[1]) >= 25 and key[2] != "20-80 %")
    middle = total(lambda key: abs(key[1]) >= 25 and key[2] == "20-80 %")
    quiet = [result for (_, rate), result in soaks.items() if rate == 0]
    return [
        f"* False alarms, counter within 5 points of the truth: {_rate(*honest)} of the rests;",
        f"  a simulated day without drift: {sum(r['raised'] for r in quiet)} doubts in "
        f"{len(quiet)} days ({sum(r['rested_frames'] for r in quiet)} rested frames).",
        f"* Counter 25 points or more off: detected in {_rate(*ends)} of the rests below 20 % "
        f"or above 80 %, {_rate(*middle)} in the middle (LiFePO4's plateau is the gap).",
        "* Detection comes one rest time (1 h) after the pack starts resting, never under load.",
    ]


def report(rests: dict, soaks: dict[tuple[str, float], dict]) -> str:
    """Markdown: false alarms, detection per drift and region, the soak."""
    cases, doubts = rests["cases"], rests["doubts"]
    chemistries = sorted({key[0] for key in cases})
    lines = [
        "# SoC cross-check: false alarms and detection",
        "",
        "Generated by `scripts/run python -m benchmarks.soc_accuracy` (see its docstring).",
        f"Rest time {REST_SECONDS / 3600:g} h, doubt when the counter is more than "
        f"{DOUBT_MARGIN:g} points outside the cells' band.",
        "",
        "## In short",
        "",
        *_summary(cases, doubts, soaks),
        "",
        "## Rests: how often the doubt is raised",
        "",
        "Every case: a virtual pack at a true charge of 2-98 %, its counter drifted",
        "-50..+50 points (clamped at 0 and 100 % like the BMS's), three cell sets,",
        "cells shifted -15 / 0 / +15 mV off the virtual curve. Rows: how far the",
        "counter really is off (counter - truth, 5-point steps; + = it says more",
        "than there is, the dangerous way). Row 0 is the false-alarm rate.",
        "",
    ]
    for chemistry in chemistries:
        lines += [
            f"### {chemistry}",
            "",
            "| counter error (points) | "
            + " | ".join(name for *_, name in REGIONS)
            + " |",
            "|---|" + "---|" * len(REGIONS),
        ]
        for drift in sorted({key[1] for key in cases}):
            cells = [
                _rate(doubts[chemistry, drift, name], cases[chemistry, drift, name])
                for *_, name in REGIONS
            ]
            lines.append(f"| {drift} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## Soak: one simulated day per chemistry",
        "",
        "Charge to full, discharges, rests at the bottom, the top and in the middle",
        "(0.5 A standby drain), frames every 30 pack seconds, start at 50 %.",
        "",
        "| chemistry | counter drift | doubts raised | first doubt after | rested frames | largest counter error |",
        "|---|---|---|---|---|---|",
    ]
    for (chemistry, rate), result in soaks.items():
        first = "—" if result["first_h"] is None else f"{result['first_h']:.1f} h"
        lines.append(
            f"| {chemistry} | {rate:g} points/h | {result['raised']} | {first} | "
            f"{result['rested_frames']} | {result['worst_error']} points |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run everything and write the report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a coarse grid")
    args = parser.parse_args(argv)
    percents = range(5, 100, 15) if args.quick else range(2, 99, 4)
    chemistries = list(Chemistry)
    rests = run_rests(chemistries, percents)
    soaks: dict[tuple[str, float], dict] = {}
    run: Callable[[Chemistry, float], dict] = soak
    for chemistry in chemistries:
        for rate in (0.0, *DRIFT_RATES):
            soaks[chemistry.value, rate] = run(chemistry, rate)
    text = report(rests, soaks)
    DOC.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
