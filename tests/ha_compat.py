"""The tests' one place for APIs that differ between supported Home Assistant releases."""

from __future__ import annotations

from homeassistant.helpers import device_registry as dr

from custom_components.jk_bms.compat import HA_2026_10

# Quality-scale rules that Home Assistant's own integrations use since 2026.10
# (2026.6's list has none of them; quality_scale.yaml covers the newest list).
QUALITY_RULES_SINCE_2026_10 = frozenset({"docs-conditions", "docs-triggers"})

# Since 2026.10 a logbook row of an event entity carries its event type (the
# frontend shows it translated next to the name); before, the state only.
LOGBOOK_ROWS_CARRY_THE_EVENT_TYPE = HA_2026_10


def quality_rules_newer_than_this_release() -> frozenset[str]:
    """Rules of the newest scale that the running release does not know yet."""
    return frozenset() if HA_2026_10 else QUALITY_RULES_SINCE_2026_10


def device_by_connection(
    registry: dr.DeviceRegistry, connection: tuple[str, str], entry_id: str
) -> dr.DeviceEntry | None:
    """The device with CONNECTION in ENTRY_ID.

    2026.10 added async_get_device_by_connection and made async_get_device raise
    in tests; 2026.6 has only async_get_device.
    """
    if hasattr(registry, "async_get_device_by_connection"):
        return registry.async_get_device_by_connection(connection, entry_id)  # type: ignore[no-any-return]
    return registry.async_get_device(connections={connection})
