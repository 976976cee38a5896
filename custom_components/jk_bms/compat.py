"""The one place that knows which Home Assistant release runs this integration.

Supported: Home Assistant 2026.6.0 and newer (hacs.json, manifest, README).
"""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.components import bluetooth
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import service

from .const import DOMAIN

# Home Assistant validates flow and action schemas with probatio since 2026.10
# (voluptuous-compatible API) and with voluptuous before; a schema must come from
# the library Home Assistant catches errors of. Both names offer Schema,
# Required, Optional, In, Coerce, All, Range. (2026.9 already ships probatio but
# does not use it for flows, so the version decides, not what is importable.)
#
# BinarySensorDeviceClass lives in binary_sensor.const since 2026.10 (the package
# no longer re-exports it explicitly); 2026.6 has no such module.
HA_2026_10 = (MAJOR_VERSION, MINOR_VERSION) >= (2026, 10)

if HA_2026_10:
    import probatio
    from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
else:  # pragma: no cover (each test run covers one branch)
    import voluptuous as probatio  # type: ignore[no-redef]
    from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined]
        BinarySensorDeviceClass,
    )


def async_register_advertisement_callback(
    hass: HomeAssistant,
    advert_callback: Callable[[bluetooth.BluetoothServiceInfoBleak], None],
    address: str,
) -> Callable[[], None]:
    """Call ADVERT_CALLBACK with the adverts of ADDRESS; cancel with the result.

    Since 2026.10 Bluetooth offers this for every advert, unchanged ones too.
    Before, the address matcher of async_register_callback is the closest: it
    skips adverts whose data did not change, so RSSI and "back on the air" are
    noticed at the next changed advert.
    """
    if HA_2026_10:
        return bluetooth.async_register_advertisement_callback(
            hass, advert_callback, address
        )

    @callback
    def _changed(  # pragma: no cover (Home Assistant < 2026.10)
        info: bluetooth.BluetoothServiceInfoBleak, _change: bluetooth.BluetoothChange
    ) -> None:
        advert_callback(info)

    return bluetooth.async_register_callback(  # pragma: no cover
        hass,
        _changed,
        bluetooth.BluetoothCallbackMatcher(address=address),
        bluetooth.BluetoothScanningMode.PASSIVE,
    )


@callback
def async_get_config_entry_for_device(
    hass: HomeAssistant, device_id: str
) -> ConfigEntry:
    """Return the loaded JK BMS config entry owning DEVICE_ID (an action's target).

    Raises a translated ServiceValidationError if the device is unknown, is not a
    JK BMS, or its entry is not loaded.
    """
    if HA_2026_10:
        return service.async_get_device_and_config_entry(hass, DOMAIN, device_id)[1]
    return _config_entry_for_device_before_2026_10(hass, device_id)  # pragma: no cover


def _config_entry_for_device_before_2026_10(  # pragma: no cover (< 2026.10)
    hass: HomeAssistant, device_id: str
) -> ConfigEntry:
    """Do the same checks with the device registry and the config entries.

    Before 2026.10 a device lists the ids of every entry it belongs to
    (config_entries; 2026.10 deprecates it for one config_entry_id), and Home
    Assistant has no messages for an unknown or foreign device yet, so these are
    the integration's.
    """
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="service_device_not_found",
            translation_placeholders={"device_id": device_id},
        )
    owners = (
        hass.config_entries.async_get_entry(entry_id)
        for entry_id in device.config_entries
    )
    entry = next((e for e in owners if e is not None and e.domain == DOMAIN), None)
    if entry is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="service_device_wrong_domain",
            translation_placeholders={
                "device_name": device.name_by_user or device.name or device_id
            },
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="service_config_entry_not_loaded",
            translation_placeholders={"entry_title": entry.title},
        )
    return entry


__all__ = [
    "BinarySensorDeviceClass",
    "async_get_config_entry_for_device",
    "async_register_advertisement_callback",
    "probatio",
]
