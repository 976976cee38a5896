"""Memory of Home Assistant (this process's RSS) with 1 and with 16 streaming BMS.

One process: Home Assistant with Bluetooth and the recorder, then one BMS set
up, then fifteen more (a 16-slot virtual proxy: slots are not the subject).
RSS is read after a full garbage collection and a minute-long-ish settle.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from .harness import default_options, home_assistant, rss_mib

SETTLE_S = 15.0


@dataclass(frozen=True, slots=True)
class MemoryFigures:
    """RSS in MiB."""

    baseline_mib: float  # Home Assistant + Bluetooth + recorder, no BMS
    one_bms_mib: float
    sixteen_bms_mib: float

    @property
    def per_additional_bms_mib(self) -> float:
        """Growth per BMS from 1 to 16."""
        return (self.sixteen_bms_mib - self.one_bms_mib) / 15


async def measure(workdir: Path, settle_s: float = SETTLE_S) -> MemoryFigures:
    """Measure RSS at 0, 1 and 16 BMS."""
    async with home_assistant(
        workdir / "memory", recorder_db=workdir / "memory.db", slots=16
    ) as instance:
        await asyncio.sleep(2)
        baseline = rss_mib()
        devices = [instance.add_bms(i + 1) for i in range(16)]
        entries = [instance.add_entry(devices[0], **default_options(5))]
        await instance.setup_entries(entries)
        await asyncio.sleep(settle_s)
        one = rss_mib()
        entries += [
            instance.add_entry(bms, **default_options(5)) for bms in devices[1:]
        ]
        await instance.setup_entries(entries)
        await asyncio.sleep(settle_s)
        sixteen = rss_mib()
    return MemoryFigures(baseline, one, sixteen)
