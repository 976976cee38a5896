"""The blueprints find their sensors whatever language Home Assistant was set up in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from homeassistant.util import slugify

ROOT = Path(__file__).parents[2]
BLUEPRINTS = ROOT / "blueprints" / "automation" / "jk_bms"
TRANSLATIONS = ROOT / "custom_components" / "jk_bms" / "translations"
# Blueprint file -> its pattern variables and the sensor each one looks for.
PATTERNS = {
    "cell_voltage_difference_alert.yaml": {"sensor_pattern": "delta_cell_voltage"},
    "low_cell_headroom_alert.yaml": {
        "sensor_pattern": "lowest_cell_headroom",
        "soc_pattern": "state_of_charge",
    },
}


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!input", lambda loader, node: loader.construct_scalar(node))


@pytest.mark.parametrize(
    "language", sorted(p.stem for p in TRANSLATIONS.glob("*.json"))
)
@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_patterns_match_every_shipped_language(name: str, language: str) -> None:
    """The entity id made from the name in LANGUAGE (HA's slug) matches the pattern."""
    data = yaml.load((BLUEPRINTS / name).read_text(), Loader=_Loader)  # noqa: S506
    sensors = json.loads((TRANSLATIONS / f"{language}.json").read_text())["entity"][
        "sensor"
    ]
    for variable, key in PATTERNS[name].items():
        pattern = re.compile(data["trigger_variables"][variable])
        entity_id = f"sensor.jk_b2a8s20p_{slugify(sensors[key]['name'])}"
        assert pattern.search(entity_id), (language, entity_id)
        assert pattern.search(entity_id + "_2"), (language, entity_id)
