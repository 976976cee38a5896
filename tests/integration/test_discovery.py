"""Bluetooth discovery: JK advertisements start our flow, look-alikes do not."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant

from custom_components.jk_bms.const import DOMAIN

from .adverts import JK_B2A8S20P, JK_BD4A8S4P, OTHER_FFE0_BMS, inject


def _jk_flows(hass: HomeAssistant) -> list[str]:
    return [
        flow["context"]["unique_id"]
        for flow in hass.config_entries.flow.async_progress()
        if flow["handler"] == DOMAIN
    ]


@pytest.mark.parametrize("advert", [JK_B2A8S20P, JK_BD4A8S4P], ids=["0x0B65", "0x4B4A"])
async def test_jk_advertisement_starts_discovery(hass: HomeAssistant, advert) -> None:
    """A real JK advertisement offers the BMS under Discovered."""
    inject(hass, advert)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _jk_flows(hass) == [advert.address]


async def test_ffe0_from_other_brand_is_ignored(hass: HomeAssistant) -> None:
    """FFE0 alone is not a JK BMS: other brands share the service."""
    inject(hass, OTHER_FFE0_BMS)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _jk_flows(hass) == []
