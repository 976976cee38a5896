"""What HACS and hassfest check before a user can install us."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.util.yaml import load_yaml_dict

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "jk_bms"
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
}


def test_manifest_keys_are_in_hassfest_order() -> None:
    """Hassfest wants domain, name, then the rest alphabetically."""
    keys = list(json.loads((INTEGRATION / "manifest.json").read_text()))
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_never_matches_ffe0_alone() -> None:
    """Every Bluetooth matcher pairs FFE0 with a JK manufacturer id."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    matchers = manifest["bluetooth"]
    assert {m["manufacturer_id"] for m in matchers} == {0x0B65, 0x4B4A}
    assert all(m["service_uuid"].startswith("0000ffe0-") for m in matchers)
    assert all(m["connectable"] for m in matchers)


def test_hacs_json_has_only_keys_hacs_accepts() -> None:
    """HACS rejects unknown keys; the minimum is the release the oldest suite tests."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert set(hacs) <= HACS_KEYS
    assert hacs["name"] == "JK BMS"
    oldest = (ROOT / "requirements_test_oldest.txt").read_text()
    # 0.13.340 pins Home Assistant 2026.6.4, the newest patch of the minimum 2026.6
    assert "pytest-homeassistant-custom-component==0.13.340" in oldest
    assert hacs["homeassistant"] == "2026.6.0"


def test_brand_icon_is_a_square_png() -> None:
    """HA 2026.3+ shows custom integrations' local brand icon."""
    data = (INTEGRATION / "brand" / "icon.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == height == 256


def test_blueprints_install_from_the_oldest_supported_release() -> None:
    """Each blueprint asks for hacs.json's minimum release, and this one may import it."""
    minimum = json.loads((ROOT / "hacs.json").read_text())["homeassistant"]
    paths = sorted((ROOT / "blueprints" / "automation" / "jk_bms").glob("*.yaml"))
    assert len(paths) == 3
    for path in paths:
        blueprint = models.Blueprint(
            load_yaml_dict(str(path)),
            expected_domain="automation",
            schema=AUTOMATION_BLUEPRINT_SCHEMA,
        )
        assert blueprint.metadata["homeassistant"]["min_version"] == minimum, path.name
        # What the import dialog reports; None: the blueprint can be imported here.
        assert blueprint.validate() is None, path.name
