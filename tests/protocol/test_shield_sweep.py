"""Every single-bit flip of the captured frames: 100 % of the harmful ones are dropped.

Up to four frames per variant and frame type, each of another device (``scripts/bench``
and ``python -m benchmarks.bitflip_sweep`` run every distinct frame). The shield
sees the stream a BMS gives: the device's real settings read twice, the real
frame, then the flipped one half a second later (``benchmarks/bitflip_sweep.py``
defines what is harmful).
"""

from __future__ import annotations

import sys

import pytest

from benchmarks.bitflip_sweep import HEADER, representatives, summary, sweep
from custom_components.jk_bms.protocol import FrameType, Variant


@pytest.mark.timeout(900)  # about 30 s of CPU: 86,000 flips through decoder and shield
def test_every_harmful_bit_flip_is_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    tallies, refused = sweep(representatives())
    with capsys.disabled():  # the figure the issue asks for, in the test log
        lines = [" | ".join(row) for row in [HEADER, *summary(tallies)]]
        sys.stdout.write("\n" + "\n".join(lines) + "\n")
    assert refused == []  # the real frames themselves pass
    assert set(tallies) == {
        (variant.value, frame.name.lower())
        for variant in Variant
        for frame in (FrameType.CELL_INFO, FrameType.SETTINGS, FrameType.DEVICE_INFO)
    }
    for key, tally in tallies.items():
        assert tally.harmful > 0, key
        assert tally.missed == [], key
        assert tally.energy_missed == [], key  # no flipped V / I reaches a meter
        assert tally.harmful_dropped == tally.harmful, key
        # Harmless flips (an unread byte, a millivolt, the frame counter) mostly
        # pass: the shield does not buy safety by dropping the stream.
        assert tally.harmless_pass_share > 0.9, key
