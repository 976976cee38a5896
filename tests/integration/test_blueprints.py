"""The automation blueprints: valid for Home Assistant, and they fire with a virtual BMS."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.components.blueprint.importer import _get_github_import_url
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.jk_bms.const import CONF_UPDATE_INTERVAL, DOMAIN
from tests.ha_compat import device_by_connection
from virtual_bms.device import VirtualJkBms

from . import helpers

BLUEPRINTS = Path(__file__).parents[2] / "blueprints" / "automation" / "jk_bms"
NAMES = ["cell_voltage_difference_alert.yaml", "low_cell_headroom_alert.yaml"]
RAW_BASE = "https://raw.githubusercontent.com/jk-bms-ha/jk_bms/main/blueprints/automation/jk_bms/"


@pytest.fixture(autouse=True)
def auto_no_backoff(no_backoff: None) -> None:
    """No backoff sleeps between connection retries (conftest.py's ``no_backoff``)."""


@pytest.fixture
def blueprint_config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A config dir whose blueprints/automation/jk_bms holds our files."""
    target = tmp_path / "blueprints" / "automation" / "jk_bms"
    shutil.copytree(BLUEPRINTS, target)
    hass.config.config_dir = str(tmp_path)
    return target


@pytest.mark.parametrize("name", NAMES)
def test_blueprint_is_valid(name: str) -> None:
    """Home Assistant's blueprint schema accepts it; the import link points at itself."""
    data = load_yaml_dict(str(BLUEPRINTS / name))
    blueprint = models.Blueprint(
        data, expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA
    )
    metadata = blueprint.metadata
    assert metadata["domain"] == "automation"
    assert set(blueprint.inputs) == {"bms", "threshold", "duration", "notify_action"}
    assert blueprint.inputs["bms"]["selector"]["device"]["filter"] == [
        {"integration": DOMAIN}
    ]
    assert "action" in blueprint.inputs["notify_action"]["selector"]
    assert metadata["source_url"] == RAW_BASE + name
    # The importer takes a raw URL as it is (the my-link in the README uses it).
    assert _get_github_import_url(metadata["source_url"]) == metadata["source_url"]


def test_readme_links_both_blueprints() -> None:
    """The README's "import blueprint" links carry the encoded raw URLs."""
    from urllib.parse import quote

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for name in NAMES:
        link = (
            "https://my.home-assistant.io/redirect/blueprint_import/"
            f"?blueprint_url={quote(RAW_BASE + name, safe='')}"
        )
        assert link in readme, name


async def setup_bms(hass: HomeAssistant, virtual_bms) -> tuple[VirtualJkBms, str]:
    """Set up the default virtual BMS with all platforms; return it and its device id."""
    bms, entry, _ = await helpers.setup_bms(
        hass,
        virtual_bms,
        options={CONF_UPDATE_INTERVAL: 1},
        pin="8642",
        settings_password="97531",  # noqa: S106
    )
    device = device_by_connection(
        dr.async_get(hass), (dr.CONNECTION_BLUETOOTH, bms.address), entry.entry_id
    )
    assert device is not None
    return bms, device.id


async def setup_automation(
    hass: HomeAssistant, name: str, bms_device: str, **inputs: Any
) -> None:
    """One automation from the blueprint, notifying through the mocked test.notify."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "jk_alert",
                "alias": "JK alert",
                "use_blueprint": {
                    "path": f"jk_bms/{name}",
                    "input": {
                        "bms": bms_device,
                        "notify_action": [
                            {
                                "action": "test.notify",
                                "data": {
                                    "message": "{{ message }}",
                                    "sensor": "{{ sensor }}",
                                },
                            }
                        ],
                        **inputs,
                    },
                },
            }
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get("automation.jk_alert").state == STATE_ON


class Clock:
    """Home Assistant's timer clock, moved forward by the test (cumulative)."""

    def __init__(self) -> None:
        """Start now."""
        self.now = dt_util.utcnow()

    def restart(self) -> None:
        """Count from now again (timers armed from here on are due relative to now)."""
        self.now = dt_util.utcnow()

    async def advance(
        self, hass: HomeAssistant, bms: VirtualJkBms, seconds: float
    ) -> None:
        """Send a fresh cell frame (twice: a sudden move shows once a second frame
        confirms it), then let ``seconds`` pass."""
        await bms.push_cell_info()
        await bms.push_cell_info()
        await hass.async_block_till_done()
        self.now += timedelta(seconds=seconds)
        async_fire_time_changed(hass, self.now)
        await hass.async_block_till_done()


def entity_id(hass: HomeAssistant, bms: VirtualJkBms, key: str) -> str:
    """The sensor entity id of one key."""
    found = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{bms.address}_{key}"
    )
    assert found is not None
    return found


@pytest.mark.usefixtures("blueprint_config_dir")
async def test_cell_voltage_difference_alert_fires(
    hass: HomeAssistant, virtual_bms
) -> None:
    """One cell drifts low: after the duration above the threshold, one notification."""
    calls: list[ServiceCall] = async_mock_service(hass, "test", "notify")
    clock = Clock()
    bms, device_id = await setup_bms(hass, virtual_bms)
    delta = entity_id(hass, bms, "delta_cell_voltage")
    assert hass.states.get(delta).attributes["unit_of_measurement"] == "mV"
    assert float(hass.states.get(delta).state) < 50

    await setup_automation(
        hass,
        NAMES[0],
        device_id,
        threshold=100,
        duration={"minutes": 2},
    )
    await clock.advance(hass, bms, 61)
    assert calls == []

    # A weak cell: its voltage sags far below the others.
    bms.battery.cells[2].state_of_charge = 0.03
    clock.restart()
    await clock.advance(hass, bms, 2)
    assert float(hass.states.get(delta).state) > 100
    assert calls == []  # not yet for two minutes

    await clock.advance(hass, bms, 60)
    assert calls == []
    await clock.advance(hass, bms, 61)
    assert len(calls) == 1
    message = calls[0].data["message"]
    assert calls[0].data["sensor"] == delta
    assert message.startswith(f"{bms.local_name}: the cell voltage difference is ")
    assert "(alert above 100 mV)" in message

    # Still above the threshold: no repeat while the condition holds.
    await clock.advance(hass, bms, 100)
    assert len(calls) == 1


@pytest.mark.usefixtures("blueprint_config_dir")
async def test_low_cell_headroom_alert_fires(hass: HomeAssistant, virtual_bms) -> None:
    """The pack runs low: the weakest cell nears UVP; the SoC is in the message."""
    calls: list[ServiceCall] = async_mock_service(hass, "test", "notify")
    clock = Clock()
    bms, device_id = await setup_bms(hass, virtual_bms)
    headroom = entity_id(hass, bms, "lowest_cell_headroom")
    assert float(hass.states.get(headroom).state) > 0.6

    await setup_automation(hass, NAMES[1], device_id, threshold=0.45)
    await clock.advance(hass, bms, 61)
    assert calls == []

    for cell in bms.battery.cells:
        cell.state_of_charge = 0.02
    clock.restart()
    await clock.advance(hass, bms, 2)
    assert float(hass.states.get(headroom).state) < 0.45
    assert calls == []  # the default duration is one minute

    await clock.advance(hass, bms, 61)
    assert len(calls) == 1
    message = calls[0].data["message"]
    soc = hass.states.get(entity_id(hass, bms, "state_of_charge")).state
    assert message.startswith(f"{bms.local_name}: the weakest cell is only ")
    assert "(alert below 0.45 V)" in message
    assert f"state of charge shows {soc} %" in message


@pytest.mark.usefixtures("blueprint_config_dir")
async def test_blueprints_find_german_entity_ids(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Set up in German, the entity ids are German; the blueprint still finds them."""
    hass.config.language = "de"
    calls: list[ServiceCall] = async_mock_service(hass, "test", "notify")
    clock = Clock()
    bms, device_id = await setup_bms(hass, virtual_bms)
    headroom = entity_id(hass, bms, "lowest_cell_headroom")
    assert headroom.endswith("_reserve_schwachste_zelle")

    await setup_automation(
        hass, NAMES[1], device_id, threshold=0.45, duration={"seconds": 30}
    )
    for cell in bms.battery.cells:
        cell.state_of_charge = 0.02
    await clock.advance(hass, bms, 2)
    await clock.advance(hass, bms, 31)
    assert len(calls) == 1
    assert calls[0].data["sensor"] == headroom


def test_blueprint_yaml_is_plain() -> None:
    """Apart from !input the files are plain YAML (readable by any tool)."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!input", lambda loader, node: loader.construct_scalar(node))
    for name in NAMES:
        data = yaml.load((BLUEPRINTS / name).read_text(), Loader=Loader)  # noqa: S506
        assert data["blueprint"]["name"].startswith("JK BMS \N{EN DASH} ")
