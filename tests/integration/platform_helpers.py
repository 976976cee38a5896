"""Platform tests: one virtual BMS, one platform loaded, repeatable values (helpers.py sets up)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from unittest.mock import PropertyMock, patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.jk_bms.const import CONF_UPDATE_INTERVAL, DOMAIN
from virtual_bms.device import VirtualJkBms

from .helpers import add_entry, coordinator_of, start

__all__ = ["coordinator_of"]

# The three protocol variants, plus a JK-PB (firmware 15: charge state, dry contacts).
SNAPSHOT_MODELS = ["JK-B2A8S20P", "JK-B2A24S20P", "JK-B2A16S", "JK-PB2A16S20P"]
MODEL_IDS = ["JK02_32S", "JK02_24S", "JK04", "JK02_32S_PB"]

FIXED_NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@contextmanager
def all_entities_enabled() -> Iterator[None]:
    """Create every entity enabled, including those disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@contextmanager
def repeatable_coordinator() -> Iterator[None]:
    """Stop the coordinator's clocks, so derived values repeat between runs.

    No energy is integrated between frames, the smoothed current is the first
    one, and a full charge happens at ``FIXED_NOW``.
    """
    with ExitStack() as stack:
        stack.enter_context(
            patch(
                "custom_components.jk_bms.protocol.link.time",
                SimpleNamespace(monotonic=lambda: 1000.0),
            )
        )
        stack.enter_context(
            patch(
                "custom_components.jk_bms.coordinator.dt_util",
                SimpleNamespace(utcnow=lambda: FIXED_NOW),
            )
        )
        yield


def static_bms(factory: Any, model: str, **options: Any) -> VirtualJkBms:
    """A virtual BMS whose pack only moves when the test advances it.

    It streams (the handshake needs a cell frame), but ``time_scale=0`` keeps the
    pack still between frames; one second is simulated first so current flows.
    """
    options.setdefault("stream_interval", 0.05)
    bms: VirtualJkBms = factory(model, time_scale=0, **options)
    bms.battery.advance(1.0)
    return bms


async def setup_bms(
    hass: HomeAssistant,
    bms: VirtualJkBms,
    platform: Platform | list[Platform],
    **options: Any,
) -> MockConfigEntry:
    """Set up ``bms`` with only ``platform`` (or these platforms) loaded.

    States are written at most once a second (``update_interval`` 1 unless given).
    """
    entry = add_entry(hass, bms, **{CONF_UPDATE_INTERVAL: 1, **options})
    platforms = platform if isinstance(platform, list) else [platform]
    assert await start(hass, entry, platforms=platforms)
    return entry


async def publish(
    hass: HomeAssistant, bms: VirtualJkBms, advance_s: float | None
) -> None:
    """Simulate ``advance_s`` of pack time, send a frame, let the states be written.

    The frame goes out twice, as a stream repeats a still pack: the frame shield
    trusts a sudden move (a cell driven over OVP) once a second frame shows it.
    """
    await bms.push_cell_info(advance_s=advance_s)
    await bms.push_cell_info(advance_s=0)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=5))
    await hass.async_block_till_done()


def entity_id(hass: HomeAssistant, platform: Platform, address: str, key: str) -> str:
    """Entity id of the entity with unique id ``<address>_<key>``."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{address}_{key}")
    assert found is not None, f"no {platform} entity for {key}"
    return found
