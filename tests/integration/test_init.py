"""The integration loads in Home Assistant."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration

from custom_components.jk_bms.const import DOMAIN


async def test_manifest_loads(hass: HomeAssistant) -> None:
    """Home Assistant finds and accepts our manifest."""
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.name == "JK BMS"
    assert integration.config_flow is True
    assert integration.iot_class == "local_push"
    assert str(integration.version) == "0.1.0"
    assert "bluetooth_adapters" in integration.dependencies
