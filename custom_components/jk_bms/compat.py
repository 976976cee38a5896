"""The one place that knows which Home Assistant release runs this integration.

Supported: Home Assistant 2026.6.0 and newer (hacs.json, manifest, README).
"""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.components import bluetooth
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import HomeAssistant, callback

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


__all__ = [
    "BinarySensorDeviceClass",
    "async_register_advertisement_callback",
    "probatio",
]
