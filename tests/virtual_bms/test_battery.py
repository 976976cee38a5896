"""The simulated pack on its own: physics, protections acting on settings, energy truth."""

from __future__ import annotations

import pytest

from virtual_bms.battery import Battery
from virtual_bms.chemistry import CHEMISTRIES, Chemistry
from virtual_bms.current_profile import CurrentProfile, ProfileKind

APP_GUIDE = {
    "cell_ovp": 3.55,
    "cell_ovpr": 3.50,
    "soc_100_voltage": 3.52,
    "cell_uvp": 2.60,
}


def test_app_guide_pack_charges_at_61_a_and_13_7_v() -> None:
    battery = Battery(
        settings=dict(APP_GUIDE), profile=CurrentProfile(ProfileKind.CHARGE)
    )
    battery.advance(1)
    assert battery.current_a == pytest.approx(61.0)
    assert battery.total_voltage == pytest.approx(13.70, abs=0.05)
    assert (
        max(battery.cell_voltages) - min(battery.cell_voltages) < 0.02
    )  # small imbalance


@pytest.mark.parametrize("chemistry", list(Chemistry))
def test_ocv_curves_rise_with_charge(chemistry: Chemistry) -> None:
    model = CHEMISTRIES[chemistry]
    voltages = [model.open_circuit_voltage(soc / 20) for soc in range(21)]
    assert voltages == sorted(voltages)
    assert model.cell_uvp < model.open_circuit_voltage(0.5) < model.cell_ovp


def test_ovp_opens_charge_mosfet_and_raises_alarm() -> None:
    battery = Battery(
        settings=dict(APP_GUIDE),
        state_of_charge=0.98,
        profile=CurrentProfile(ProfileKind.CHARGE),
    )
    battery.advance(3600)
    assert "alarm_cell_overvoltage" in battery.alarms or battery.current_a == 0
    assert max(battery.cell_voltages) < 3.55 + 0.01


def test_lower_ovp_trips_earlier() -> None:
    """A new OVP setting changes when the protection trips."""
    times = {}
    for ovp in (3.55, 3.45):
        battery = Battery(
            settings=dict(APP_GUIDE, cell_ovp=ovp),
            state_of_charge=0.9,
            profile=CurrentProfile(ProfileKind.CHARGE),
        )
        while "alarm_cell_overvoltage" not in battery.alarms:
            battery.advance(10)
        times[ovp] = battery.time_s
    assert times[3.45] < times[3.55]


def test_uvp_opens_discharge_mosfet() -> None:
    battery = Battery(
        settings=dict(APP_GUIDE, cell_uvpr=2.65),
        state_of_charge=0.02,
        profile=CurrentProfile(ProfileKind.DISCHARGE),
    )
    battery.advance(3600)
    assert "alarm_cell_undervoltage" in battery.alarms
    assert not battery.discharge_mosfet_on
    assert battery.current_a == 0


def test_charge_switch_off_stops_charging() -> None:
    settings: dict = dict(APP_GUIDE, charging=False)
    battery = Battery(settings=settings, profile=CurrentProfile(ProfileKind.CHARGE))
    battery.advance(60)
    assert battery.current_a == 0
    assert battery.truth.energy_in_wh == 0
    settings["charging"] = True
    battery.advance(60)
    assert battery.current_a > 0


def test_soc_resynchronises_at_soc_100_voltage() -> None:
    battery = Battery(
        settings=dict(APP_GUIDE),
        state_of_charge=0.9,
        profile=CurrentProfile(ProfileKind.CHARGE),
    )
    battery.bms_remaining_ah = 100.0  # the coulomb counter drifted far off
    while battery.last_full_charge_s is None:
        battery.advance(10)
    assert battery.state_of_charge == 100


def test_drift_knob_runs_the_counter_away_until_a_full_charge() -> None:
    battery = Battery(
        settings=dict(APP_GUIDE),
        state_of_charge=0.5,
        profile=CurrentProfile(ProfileKind.IDLE),
    )
    battery.drift_counter(30)
    assert battery.state_of_charge == 80
    assert battery.true_state_of_charge == pytest.approx(0.5, abs=0.01)
    battery.drift_counter(50)
    assert battery.state_of_charge == 100  # clamped, as the BMS does
    battery.drift_counter(-100)
    battery.soc_drift_per_hour = 2.0
    battery.advance(3 * 3600)
    assert battery.state_of_charge == 6  # 3 h at 2 points/h, no current at all
    battery.profile = CurrentProfile(ProfileKind.CHARGE)
    while battery.last_full_charge_s is None:
        battery.advance(60)
    assert battery.state_of_charge == 100


def test_cycle_profile_charges_then_discharges() -> None:
    battery = Battery(settings=dict(APP_GUIDE), state_of_charge=0.95)
    battery.advance(1)
    assert battery.current_a > 0
    battery.advance(4 * 3600)
    assert battery.current_a < 0
    assert battery.truth.energy_out_wh > 0


def test_energy_truth_is_v_times_i_integrated() -> None:
    battery = Battery(
        settings=dict(APP_GUIDE), profile=CurrentProfile(ProfileKind.CHARGE)
    )
    battery.advance(3600)
    assert battery.truth.charge_in_ah == pytest.approx(61.0)
    assert battery.truth.energy_in_wh == pytest.approx(61.0 * 13.7, rel=0.02)


def test_balancer_moves_charge_from_high_to_low() -> None:
    battery = Battery(
        settings=dict(
            APP_GUIDE,
            balancer=True,
            balance_trigger_voltage=0.005,
            max_balance_current=2.0,
        ),
        profile=CurrentProfile(ProfileKind.IDLE),
    )
    battery.cells[0].state_of_charge = 0.999  # far above the others
    battery.advance(1)
    assert battery.balancing
    before = battery.cells[0].state_of_charge
    battery.advance(600)
    assert battery.cells[0].state_of_charge < before


def test_charge_over_temperature() -> None:
    battery = Battery(
        settings=dict(APP_GUIDE, charge_otp=50.0, charge_otpr=45.0),
        profile=CurrentProfile(ProfileKind.CHARGE),
    )
    battery.ambient_c = 60.0
    battery.advance(3600)
    assert "alarm_charge_overtemperature" in battery.alarms
    assert battery.current_a == 0


def test_time_scale_accelerates() -> None:
    battery = Battery(settings=dict(APP_GUIDE), time_scale=60.0)
    battery.step(1.0)
    assert battery.time_s == pytest.approx(60.0)
