"""SoC from the cells, SoC doubtful and their repair, through Home Assistant and the virtual BMS.

Time is the pack's: every frame advances the virtual pack and the integration's
clock by the same pack seconds, so an hour of rest takes a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from unittest.mock import patch

import pytest
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from benchmarks.soc_accuracy import day_profile
from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.repairs import Issue, issue_id
from custom_components.jk_bms.soc_check import REST_SECONDS
from virtual_bms.current_profile import CurrentProfile, ProfileKind
from virtual_bms.device import VirtualJkBms

from .platform_helpers import entity_id, publish, setup_bms, static_bms

# Where the integration reads its monotonic clock (the frames' receive time).
CLOCK = "custom_components.jk_bms.protocol.link.time"
# Under the check's 120 s gap: consecutive frames keep the rest going.
FRAME_S = 110.0
USER_PIN = "8642"
USER_PASSWORD = "97531"  # noqa: S105 (a test value)


class PackClock:
    """The integration's monotonic clock, moved together with the virtual pack."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[PackClock]:
    pack_clock = PackClock()
    with patch(CLOCK, SimpleNamespace(monotonic=pack_clock.monotonic)):
        yield pack_clock


async def frames(
    hass: HomeAssistant, bms: VirtualJkBms, clock: PackClock, seconds: float
) -> None:
    """One frame every FRAME_S pack seconds for ``seconds``."""
    elapsed = 0.0
    while elapsed < seconds:
        clock.now += FRAME_S
        await publish(hass, bms, FRAME_S)
        elapsed += FRAME_S


def soc_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(
        DOMAIN, issue_id(Issue.SOC_DOUBTFUL, entry)
    )


async def drifted_pack(hass: HomeAssistant, virtual_bms, **options: object):
    """A still pack (it moves only with the frames), sensors and binary sensors."""
    bms = static_bms(
        virtual_bms,
        "JK-B2A8S20P",
        pin=USER_PIN,
        settings_password=USER_PASSWORD,
        profile="idle",
        resolution_s=2.0,
        **options,
    )
    entry = await setup_bms(hass, bms, [Platform.SENSOR, Platform.BINARY_SENSOR])
    address = bms.address
    ids = (
        entity_id(hass, Platform.SENSOR, address, "soc_from_the_cells"),
        entity_id(hass, Platform.BINARY_SENSOR, address, "soc_doubtful"),
    )
    return bms, entry, ids


async def test_drift_of_30_points_is_doubted_after_the_rest_and_cleared_by_a_full_charge(
    hass: HomeAssistant, virtual_bms, clock: PackClock
) -> None:
    """Cells at 15 %, counter at 45 %: after an hour at rest the doubt and the repair."""
    bms, entry, (cells_id, doubt_id) = await drifted_pack(
        hass, virtual_bms, state_of_charge=0.15, soc_drift=30
    )
    assert bms.battery.state_of_charge == 45
    await frames(hass, bms, clock, 10 * 60)
    settling = hass.states.get(cells_id)
    assert settling is not None
    assert settling.state == STATE_UNKNOWN
    assert settling.attributes["reason"] == "settling"
    assert settling.attributes["chemistry"] == "lifepo4"
    assert hass.states.get(doubt_id).state == STATE_UNKNOWN  # never judged yet
    assert soc_issue(hass, entry) is None

    await frames(hass, bms, clock, REST_SECONDS)
    rested = hass.states.get(cells_id)
    low, high = rested.attributes["band_low"], rested.attributes["band_high"]
    assert low <= 15 <= high < 45 - 10
    assert int(rested.state) == round((low + high) / 2)
    assert rested.attributes["reason"] is None
    doubt = hass.states.get(doubt_id)
    assert doubt.state == STATE_ON
    assert doubt.attributes["bms_soc"] == 45
    assert doubt.attributes["cells_high"] == high
    found = soc_issue(hass, entry)
    assert found is not None
    assert found.severity is ir.IssueSeverity.WARNING
    assert found.translation_key == "soc_doubtful"
    assert found.translation_placeholders == {
        "name": entry.title,
        "low": str(low),
        "high": str(high),
        "soc": "45",
        "chemistry": "LiFePO4",
        "soc_100_voltage": "3.520",
    }
    assert (found.learn_more_url or "").endswith("#why-can-the-soc-be-wrong")

    # Under load the cells say nothing, and the doubt stands.
    bms.battery.profile = CurrentProfile(ProfileKind.CHARGE)
    await frames(hass, bms, clock, 10 * 60)
    assert hass.states.get(cells_id).state == STATE_UNKNOWN
    assert hass.states.get(cells_id).attributes["reason"] == "not_at_rest"
    assert hass.states.get(doubt_id).state == STATE_ON
    assert soc_issue(hass, entry) is not None

    # Charge until a cell reaches the SOC-100 % voltage: the BMS re-synchronises.
    while bms.battery.last_full_charge_s is None:
        await frames(hass, bms, clock, 30 * 60)
    assert bms.battery.state_of_charge == 100
    assert hass.states.get(doubt_id).state == STATE_OFF
    assert soc_issue(hass, entry) is None


@pytest.mark.timeout(600)
async def test_no_drift_a_simulated_day_raises_no_doubt(
    hass: HomeAssistant, virtual_bms, clock: PackClock
) -> None:
    """24 pack hours: charge to full, discharges, rests at the bottom, top and middle."""
    bms, entry, (cells_id, doubt_id) = await drifted_pack(
        hass, virtual_bms, state_of_charge=0.5
    )
    bms.battery.profile = CurrentProfile(custom=day_profile)
    seen: list[str] = []
    rested: list[int] = []

    @callback
    def track(event: Event) -> None:
        new = event.data["new_state"]
        if new is None:
            return
        if event.data["entity_id"] == doubt_id:
            seen.append(new.state)
        elif event.data["entity_id"] == cells_id and new.state != STATE_UNKNOWN:
            rested.append(int(new.state))

    hass.bus.async_listen("state_changed", track)
    raised: list[str] = []
    for _ in range(24):
        await frames(hass, bms, clock, 3600)
        if soc_issue(hass, entry) is not None:
            raised.append(f"{bms.battery.time_s / 3600:.1f} h")

    assert STATE_ON not in seen
    assert seen[-1] == STATE_OFF  # it did judge, and found no reason to doubt
    assert raised == []
    # The cells spoke at the bottom, the top and in the middle of the day.
    assert min(rested) < 25
    assert max(rested) > 90
    assert any(40 < value < 75 for value in rested)
    assert hass.states.get(cells_id) is not None
