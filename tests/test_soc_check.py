"""The SoC cross-check: OCV tables, chemistry from the BMS, rest, doubt and its end.

Frames come from the virtual BMS (its pack has its own voltage curves, different
from the integration's published tables, like a real pack).
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from benchmarks.soc_accuracy import soak
from custom_components.jk_bms.ocv import OCV_TABLES
from custom_components.jk_bms.protocol import (
    CellInfo,
    FrameType,
    Settings,
    Variant,
    decode_cell_info,
    decode_settings,
)
from custom_components.jk_bms.soc_check import (
    DOUBT_MARGIN,
    REST_SECONDS,
    CheckOff,
    Doubt,
    SocCheckState,
    SocVerdict,
    check_soc,
    derived_values,
    doubt_placeholders,
    judge,
    rest_current,
    tell_chemistry,
)
from custom_components.jk_bms.validation import Chemistry as SettingsChemistry
from virtual_bms.chemistry import Chemistry
from virtual_bms.device import VirtualJkBms

from .protocol.vector_data import all_vectors

CHEMISTRY_KEYS = {
    Chemistry.LFP: "lifepo4",
    Chemistry.LI_ION: "li_ion",
    Chemistry.LTO: "lto",
}


def make_bms(chemistry: Chemistry = Chemistry.LFP, **options: object) -> VirtualJkBms:
    return VirtualJkBms(
        "JK-B2A8S20P",
        chemistry=chemistry,
        profile="idle",
        stream_interval=None,
        resolution_s=5.0,
        **options,  # type: ignore[arg-type]
    )


def cell_info(bms: VirtualJkBms) -> CellInfo:
    return decode_cell_info(bms._frame(FrameType.CELL_INFO), bms.variant)


def settings(bms: VirtualJkBms) -> Settings:
    return decode_settings(bms._frame(FrameType.SETTINGS), bms.variant)


class Check:
    """Threads the check's state through frames, like derived.py does."""

    def __init__(self, max_gap: float = 120.0) -> None:
        self.state = SocCheckState()
        self.max_gap = max_gap

    def update(self, at: float, info: CellInfo, current: Settings | None) -> SocVerdict:
        self.state, verdict = check_soc(
            self.state, info, current, at, max_gap=self.max_gap
        )
        return verdict


def rest(check: Check, bms: VirtualJkBms, seconds: float, start: float = 0.0):
    """Feed one frame every 60 s of pack time for ``seconds``; return the last verdict."""
    verdict = None
    elapsed = 0.0
    while elapsed <= seconds:
        verdict = check.update(start + elapsed, cell_info(bms), settings(bms))
        bms.battery.advance(60.0)
        elapsed += 60.0
    assert verdict is not None
    return verdict


# --------------------------------------------------------------------- tables


def test_tables_cover_every_chemistry_the_settings_know() -> None:
    assert set(OCV_TABLES) == {str(c) for c in SettingsChemistry}


@pytest.mark.parametrize("key", sorted(OCV_TABLES))
def test_tables_rise_from_empty_to_full(key: str) -> None:
    points = OCV_TABLES[key].points
    assert points[0][1] == 0.0
    assert points[-1][1] == 100.0
    for (v1, s1), (v2, s2) in pairwise(points):
        assert v2 > v1
        assert s2 > s1


def test_full_charge_windows_do_not_overlap() -> None:
    windows = sorted(table.full_charge_window for table in OCV_TABLES.values())
    for (_, high), (low, _) in pairwise(windows):
        assert high < low


def test_lookup_interpolates_and_clamps() -> None:
    table = OCV_TABLES["lifepo4"]
    assert table.state_of_charge(1.0) == 0.0
    assert table.state_of_charge(4.0) == 100.0
    v, soc = table.points[5]
    assert table.state_of_charge(v) == pytest.approx(soc)
    # LiFePO4's plateau: 3.30 V is somewhere in the middle.
    assert 40 < table.state_of_charge(3.30) < 70


@pytest.mark.parametrize("chemistry", list(Chemistry))
def test_rested_band_contains_the_truth_everywhere(chemistry: Chemistry) -> None:
    """No false alarm on an honest counter: from 2 % to 100 %, every chemistry."""
    for percent in range(2, 101, 2):
        bms = make_bms(chemistry, state_of_charge=percent / 100)
        info = cell_info(bms)
        low, high = OCV_TABLES[CHEMISTRY_KEYS[chemistry]].band(
            min(info.cell_voltages), max(info.cell_voltages)
        )
        truth = bms.battery.true_state_of_charge * 100
        assert low - DOUBT_MARGIN < truth < high + DOUBT_MARGIN, (percent, low, high)


# ------------------------------------------------------------------ chemistry


@pytest.mark.parametrize("chemistry", list(Chemistry))
def test_chemistry_from_the_virtual_presets(chemistry: Chemistry) -> None:
    bms = make_bms(chemistry)
    info = cell_info(bms)
    assert tell_chemistry(settings(bms), info.details.get("battery_type")) == (
        CHEMISTRY_KEYS[chemistry],
        None,
    )


def _real_settings() -> list[Settings]:
    return [
        decode_settings(vector.data, vector.variant)
        for vector in all_vectors()
        if vector.frame_type is FrameType.SETTINGS
        and vector.variant in (Variant.JK02_24S, Variant.JK02_32S)
    ]


def test_chemistry_from_real_settings() -> None:
    """Captured packs: OVP 3.55-3.65 V → LiFePO4, 4.1-4.2 V → Li-ion; SOC-100 % 0 = not carried."""
    told = {}
    for real in _real_settings():
        chemistry, off = tell_chemistry(real)
        told[real["cell_ovp"], real.get("soc_100_voltage")] = chemistry or off
    assert told[3.65, 3.45] == "lifepo4"
    assert told[3.55, 0.0] == "lifepo4"
    assert told[4.2, 4.18] == "li_ion"
    assert told[4.1, 0.0] == "li_ion"
    assert set(told.values()) <= {"lifepo4", "li_ion"}


def test_chemistry_not_told_says_why() -> None:
    bms = make_bms()
    assert tell_chemistry(None) == (None, CheckOff.NO_SETTINGS)
    bms.settings.update(cell_ovp=3.0, soc_100_voltage=0.0)
    assert tell_chemistry(settings(bms)) == (None, CheckOff.CHEMISTRY_UNKNOWN)
    bms.settings.update(cell_ovp=4.2, soc_100_voltage=3.45)
    assert tell_chemistry(settings(bms)) == (None, CheckOff.CHEMISTRY_CONTRADICTION)
    bms.settings.update(cell_ovp=3.65, soc_100_voltage=3.45)
    # The battery-type byte names another chemistry: the BMS contradicts itself.
    assert tell_chemistry(settings(bms), "li_ion") == (
        None,
        CheckOff.CHEMISTRY_CONTRADICTION,
    )
    # Zero ("lfp") is also what firmware without the byte sends: it confirms nothing.
    bms.settings.update(cell_ovp=4.2, soc_100_voltage=4.15)
    assert tell_chemistry(settings(bms), "lfp") == ("li_ion", None)


# ----------------------------------------------------------------------- rest


def test_rest_current_scales_with_the_pack() -> None:
    bms = make_bms(capacity_ah=280.0)
    assert rest_current(cell_info(bms), settings(bms)) == pytest.approx(1.4)
    small = make_bms(capacity_ah=10.0)
    assert rest_current(cell_info(small), settings(small)) == pytest.approx(0.1)


def test_under_load_nothing_is_claimed() -> None:
    bms = make_bms(state_of_charge=0.9, soc_drift=-40)
    bms.battery.profile.kind = bms.battery.profile.kind.DISCHARGE
    check = Check()
    verdict = rest(check, bms, 2 * REST_SECONDS)
    assert bms.battery.current_a < 0
    assert verdict.reason is CheckOff.NOT_AT_REST
    assert verdict.band is None
    assert verdict.cells_soc is None
    assert verdict.doubtful is None  # never had a rest to go on


def test_band_only_after_the_rest_time() -> None:
    bms = make_bms(state_of_charge=0.5)
    check = Check()
    settling = rest(check, bms, REST_SECONDS - 120)
    assert settling.reason is CheckOff.SETTLING
    assert settling.resting_for == pytest.approx(REST_SECONDS - 120)
    assert settling.cells_soc is None
    rested = rest(check, bms, 180, start=REST_SECONDS - 60)
    assert rested.reason is None
    assert rested.band is not None
    low, high = rested.band
    assert low < 50 < high
    assert rested.cells_soc == round((low + high) / 2)
    assert rested.doubtful is False
    assert rested.chemistry == "lifepo4"


def test_a_gap_without_frames_restarts_the_rest() -> None:
    bms = make_bms(state_of_charge=0.5)
    check = Check(max_gap=120)
    rest(check, bms, REST_SECONDS - 600)
    after_gap = check.update(REST_SECONDS + 600, cell_info(bms), settings(bms))
    assert after_gap.reason is CheckOff.SETTLING
    assert after_gap.resting_for == 0


# ---------------------------------------------------------------------- doubt


def test_drifted_counter_is_doubted_until_a_full_charge() -> None:
    """The classic: cells nearly empty (15 %), counter 30 points higher."""
    bms = make_bms(state_of_charge=0.15, soc_drift=30)
    check = Check()
    verdict = rest(check, bms, REST_SECONDS + 60)
    assert verdict.doubtful is True
    assert verdict.doubt is not None
    assert verdict.doubt.bms_soc == 45
    assert verdict.doubt.band_high < 45 - DOUBT_MARGIN
    assert verdict.doubt.band_low <= 15 <= verdict.doubt.band_high
    derived = derived_values(verdict)
    assert derived["soc_doubtful"] is True
    assert derived["soc_doubt_bms"] == 45
    assert derived["soc_from_the_cells"] == verdict.cells_soc
    assert derived["soc_check_chemistry"] == "lifepo4"
    assert derived["soc_check_reason"] is None
    assert doubt_placeholders(derived, settings(bms)) == {
        "low": str(verdict.doubt.band_low),
        "high": str(verdict.doubt.band_high),
        "soc": "45",
        "chemistry": "LiFePO4",
        "soc_100_voltage": "3.520",
    }

    # Under load the doubt stands, and the sensor says nothing.
    bms.battery.profile.kind = bms.battery.profile.kind.CHARGE
    loaded = rest(check, bms, 600, start=2 * REST_SECONDS)
    assert loaded.reason is CheckOff.NOT_AT_REST
    assert loaded.doubtful is True
    assert derived_values(loaded)["soc_check_reason"] == "not_at_rest"
    assert derived_values(loaded)["soc_from_the_cells"] is None

    # Charged until a cell reaches the SOC-100 % voltage: the BMS re-synchronised.
    for cell in bms.battery.cells:
        cell.state_of_charge = 0.9995
    full = check.update(3 * REST_SECONDS, cell_info(bms), settings(bms))
    assert max(cell_info(bms).cell_voltages) >= bms.settings["soc_100_voltage"]
    assert full.doubtful is False
    assert full.doubt is None
    assert doubt_placeholders(derived_values(full), settings(bms)) is None


def test_doubt_clears_when_the_two_agree_again() -> None:
    bms = make_bms(state_of_charge=0.08, soc_drift=-2)
    check = Check()
    # Counter at 6 %, cells at 8 %: no doubt.
    assert rest(check, bms, REST_SECONDS + 60).doubtful is False
    bms.battery.drift_counter(40)
    assert rest(check, bms, 120, start=REST_SECONDS + 120).doubtful is True
    bms.battery.drift_counter(-40)
    agreed = rest(check, bms, 120, start=REST_SECONDS + 360)
    assert agreed.doubtful is False


def test_between_the_margins_a_doubt_stays() -> None:
    raised = judge(None, (10, 20), 40)
    assert raised == Doubt(band_low=10, band_high=20, bms_soc=40)
    # 7 points out: not enough to raise, too many to clear.
    assert judge(raised, (10, 20), 27) == Doubt(band_low=10, band_high=20, bms_soc=27)
    assert judge(None, (10, 20), 27) is None
    assert judge(raised, (10, 20), 24) is None


def test_off_when_the_chemistry_cannot_be_told() -> None:
    bms = make_bms(state_of_charge=0.1, soc_drift=40, settings={"cell_ovp": 3.0})
    bms.settings["soc_100_voltage"] = 3.0
    verdict = rest(Check(), bms, REST_SECONDS + 60)
    assert verdict.reason is CheckOff.CHEMISTRY_UNKNOWN
    assert verdict.doubtful is None
    assert verdict.chemistry is None


def test_an_open_sense_wire_claims_nothing() -> None:
    bms = make_bms(state_of_charge=0.1, soc_drift=40)
    bms.battery.cells[0].state_of_charge = -10  # reads far below every table
    check = Check()
    info = cell_info(bms)
    broken = CellInfo(
        **{
            field: getattr(info, field)
            for field in CellInfo.__dataclass_fields__
            if field != "cell_voltages"
        },
        cell_voltages=(0.0, *info.cell_voltages[1:]),
    )
    verdict = check.update(0.0, broken, settings(bms))
    assert verdict.reason is CheckOff.CELL_READING_MISSING


def test_jk04_frames_carry_no_current() -> None:
    bms = VirtualJkBms("JK-B2A16S", profile="idle", stream_interval=None)
    info = decode_cell_info(bms._frame(FrameType.CELL_INFO), Variant.JK04)
    lfp = make_bms()
    verdict = Check().update(0.0, info, settings(lfp))
    assert verdict.reason is CheckOff.NO_CURRENT


# ------------------------------------------------------------ a simulated day


@pytest.mark.parametrize("chemistry", list(Chemistry))
def test_a_day_without_drift_raises_no_doubt(chemistry: Chemistry) -> None:
    """Charge, discharges, rests at the bottom, the top and the middle: never a doubt."""
    result = soak(chemistry, drift_per_hour=0.0)
    assert result["rested_frames"] > 500  # it did look, at every rest
    assert result["raised"] == 0


def test_a_runaway_counter_is_caught_at_the_first_rest_after_it() -> None:
    """5 points/h: after the 5 h discharge the counter is 30 points high; 1 h rest."""
    result = soak(Chemistry.LFP, drift_per_hour=5.0, hours=8.0)
    assert result["raised"] == 1
    assert result["first_h"] == pytest.approx(5.0 + REST_SECONDS / 3600, abs=0.05)
