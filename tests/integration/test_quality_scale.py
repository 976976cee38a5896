"""quality_scale.yaml: every rule of the scale, done or exempt with a reason."""

from __future__ import annotations

from pathlib import Path

import homeassistant.components
import yaml

from tests.ha_compat import quality_rules_newer_than_this_release

OURS = Path(__file__).parents[2] / "custom_components" / "jk_bms" / "quality_scale.yaml"


def _all_rules() -> set[str]:
    """The rule names used by Home Assistant's own integrations (bronze to platinum)."""
    rules: set[str] = set()
    for path in Path(homeassistant.components.__path__[0]).glob("*/quality_scale.yaml"):
        rules |= set(yaml.safe_load(path.read_text(encoding="utf-8"))["rules"])
    return rules


def test_every_rule_is_done_or_exempt_with_a_reason() -> None:
    """No rule missing, none unknown, none todo; an exemption says why."""
    rules = yaml.safe_load(OURS.read_text(encoding="utf-8"))["rules"]
    known = _all_rules()
    assert len(known) >= 50
    assert set(rules) - known == quality_rules_newer_than_this_release()
    assert known <= set(rules)
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in {"done", "exempt"}, name
        if status == "exempt":
            assert rule["comment"].strip(), name
