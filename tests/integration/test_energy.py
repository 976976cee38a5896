"""Energy counters: exact integration, gap guard, restore, and HA's energy validation."""

from __future__ import annotations

import pytest

from custom_components.jk_bms.coordinator import EnergyMeter


def test_trapezoid_charge_and_discharge() -> None:
    """Constant power integrates to P x t on the right side."""
    meter = EnergyMeter(max_gap=30)
    for second in range(3601):
        meter.add(float(second), 1000.0)
    assert meter.charged_kwh == pytest.approx(1.0)
    assert meter.discharged_kwh == 0
    for second in range(3601, 3601 + 1800):
        meter.add(float(second), -2000.0)
    # The interval across the reversal (+1000 W → -2000 W) crosses zero after 1/3 s.
    assert meter.charged_kwh == pytest.approx((3_600_000 + 1000 / 3 / 2) / 3.6e6)
    assert meter.discharged_kwh == pytest.approx(
        (1799 * 2000 + 2000 * 2 / 3 / 2) / 3.6e6
    )


def test_sign_change_is_split_at_the_zero_crossing() -> None:
    """+3 kW → -1 kW over 4 s: the line crosses zero after 3 s."""
    meter = EnergyMeter(max_gap=30)
    meter.add(0.0, 3000.0)
    meter.add(4.0, -1000.0)
    assert meter.charged_kwh == pytest.approx(3000 * 3 / 2 / 3.6e6)
    assert meter.discharged_kwh == pytest.approx(1000 * 1 / 2 / 3.6e6)


def test_gap_guard_and_break_chain() -> None:
    """A gap longer than max_gap (link down) and a broken chain add nothing."""
    meter = EnergyMeter(max_gap=30)
    meter.add(0.0, 1000.0)
    meter.add(100.0, 1000.0)  # 100 s gap: skipped
    assert meter.charged_kwh == 0
    meter.break_chain()
    meter.add(101.0, 1000.0)
    assert meter.charged_kwh == 0
    meter.add(102.0, 1000.0)
    assert meter.charged_kwh == pytest.approx(1000 / 3.6e6)
    meter.add(102.0, 1000.0)  # same timestamp: nothing
    assert meter.charged_kwh == pytest.approx(1000 / 3.6e6)
