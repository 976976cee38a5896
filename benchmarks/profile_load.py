"""Profile the event loop while BMS stream into Home Assistant (cProfile, loop thread).

    python -m benchmarks.profile_load [--bms 4] [--cadence 5] [--window 60] [--top 40]

The same set-up as load.py's measurement: streaming virtual BMS, the recorder
on SQLite, the default options at the given cadence; only the loop thread is
profiled (the recorder thread is not).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import tempfile
from pathlib import Path

from .harness import default_options, home_assistant
from .load import SETTLE_S


async def _profile(args: argparse.Namespace, workdir: Path) -> pstats.Stats:
    async with home_assistant(
        workdir / "profile", recorder_db=workdir / "profile.db", slots=max(3, args.bms)
    ) as instance:
        devices = [instance.add_bms(index + 1) for index in range(args.bms)]
        entries = [
            instance.add_entry(bms, **default_options(args.cadence)) for bms in devices
        ]
        await instance.setup_entries(entries)
        await asyncio.sleep(SETTLE_S)
        profiler = cProfile.Profile()
        profiler.enable()
        await asyncio.sleep(args.window)
        profiler.disable()
    return pstats.Stats(profiler)


def main() -> None:
    """Profile and print the heaviest functions."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bms", type=int, default=4)
    parser.add_argument("--cadence", type=float, default=5.0)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--dump", type=Path, help="write the raw stats here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="jk_profile_") as tmp:
        stats = asyncio.run(_profile(args, Path(tmp)))
    if args.dump:
        stats.dump_stats(args.dump)
    stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
