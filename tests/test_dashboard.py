"""dashboards/jk_bms.yaml: built-in cards only, and every entity exists for the dev BMS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
import yaml
from homeassistant.const import CONF_ADDRESS, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.jk_bms.const import DOMAIN

DASHBOARD = Path(__file__).parents[1] / "dashboards" / "jk_bms.yaml"

# Card types that ship with Home Assistant's frontend (no HACS cards needed).
BUILT_IN_CARDS = frozenset(
    {
        "alarm-panel", "area", "button", "calendar", "conditional", "energy-distribution",
        "entities", "entity", "entity-filter", "gauge", "glance", "grid", "heading",
        "history-graph", "horizontal-stack", "humidifier", "iframe", "light", "logbook",
        "map", "markdown", "media-control", "picture", "picture-elements",
        "picture-entity", "picture-glance", "plant-status", "sensor", "statistic",
        "statistics-graph", "thermostat", "tile", "todo-list", "vertical-stack",
        "weather-forecast",
    }
)  # fmt: skip


def load() -> dict[str, Any]:
    """The dashboard as Home Assistant's YAML loader would read it (plain YAML)."""
    data = yaml.safe_load(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def cards(node: Any) -> Iterator[dict[str, Any]]:
    """Every card, nested ones included."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("cards", "card"):
                for card in value if isinstance(value, list) else [value]:
                    yield card
                    yield from cards(card)
            elif key in ("views", "sections"):
                for item in value:
                    yield from cards(item)


def entity_ids(node: Any) -> set[str]:
    """Every entity id the dashboard refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "entity" and isinstance(value, str):
                found.add(value)
            else:
                found |= entity_ids(value)
    elif isinstance(node, list):
        for item in node:
            found |= entity_ids(item) if not isinstance(item, str) else {item}
    return found


def test_dashboard_uses_built_in_cards_only() -> None:
    """No custom: cards; every card type is one the frontend ships."""
    data = load()
    assert data["views"], "at least one view"
    types = {card["type"] for card in cards(data)}
    assert types
    assert types <= BUILT_IN_CARDS, types - BUILT_IN_CARDS


def test_dashboard_covers_the_battery() -> None:
    """SoC, power, cells with min/max/delta, temperatures, balancer, switches."""
    ids = entity_ids(load())
    prefix = "jk_b2a8s20p"
    for key in (
        "state_of_charge", "power", "min_cell_voltage", "max_cell_voltage",
        "delta_cell_voltage", "mosfet_temperature", "temperature_sensor_1",
        "balancing_current", "lowest_cell_headroom", "last_full_charge",
    ):  # fmt: skip
        assert f"sensor.{prefix}_{key}" in ids, key
    assert {f"sensor.{prefix}_cell_voltage_{n}" for n in range(1, 5)} <= ids
    # "Can I trust the SoC?": the cells' own verdict beside the counter.
    assert f"sensor.{prefix}_soc_from_the_cells" in ids
    assert f"binary_sensor.{prefix}_soc_doubtful" in ids
    assert {
        f"switch.{prefix}_{key}" for key in ("charging", "discharging", "balancer")
    } <= ids


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """No backoff sleeps between connection retries."""
    with patch("bleak_retry_connector.calculate_backoff_time", return_value=0):
        yield


@pytest.mark.usefixtures("enable_custom_integrations", "enable_bluetooth", "no_backoff")
async def test_every_entity_exists_for_the_dev_bms(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Set up scripts/develop's default BMS: each dashboard entity exists, enabled, with a value."""
    bms = virtual_bms(
        stream_interval=0.01
    )  # JK-B2A8S20P, 4 cells, as in scripts/develop
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=bms.local_name,
        unique_id=bms.address,
        data={CONF_ADDRESS: bms.address},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    registry = er.async_get(hass)
    ours = {
        e.entity_id: e
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
    }
    for entity_id in sorted(entity_ids(load())):
        assert entity_id in ours, f"{entity_id} is not created for the dev BMS"
        assert ours[entity_id].disabled_by is None, (
            f"{entity_id} is disabled by default"
        )
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.state != STATE_UNAVAILABLE, entity_id
        if not entity_id.endswith(
            (
                "time_to_empty",
                "time_to_full",
                "last_full_charge",
                # Unknown until the pack has rested an hour (soc_check.py).
                "soc_from_the_cells",
                "soc_doubtful",
                # Unknown until the BMS logs something new (event.py).
                "bms_event",
            )
        ):
            assert state.state != STATE_UNKNOWN, entity_id
    bms.faults.stop_streaming = True
    await bms.flush()
    assert await hass.config_entries.async_unload(entry.entry_id)
