"""The one place that knows which Home Assistant release runs this integration.

Supported: Home Assistant 2026.6.0 and newer (hacs.json, manifest, README).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from homeassistant.components import bluetooth
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import service
from homeassistant.helpers.event import async_track_time_interval

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
    """Call ADVERT_CALLBACK with the newest advert of ADDRESS, then with new ones.

    Cancel with the result. Since 2026.10 Bluetooth has a callback for every
    advert, unchanged ones too, which starts without the newest one heard before
    (a BMS connected at once is silent: its RSSI would stay unknown). Before,
    Bluetooth passes on changed adverts only (starting with the newest one);
    async_deliver_next_advert asks for the next one, changed or not.
    """
    if HA_2026_10:
        if newest := bluetooth.async_last_service_info(hass, address, True):
            advert_callback(newest)
        return bluetooth.async_register_advertisement_callback(
            hass, advert_callback, address
        )
    return _ChangedAdverts(hass, address, advert_callback).cancel  # pragma: no cover


@callback
def async_deliver_next_advert(hass: HomeAssistant, address: str) -> None:
    """Pass the next advert of ADDRESS to its callback even if it did not change.

    For a BMS whose link is down and whose reconnect waits: a JK BMS sends the
    same advert every time, so the one saying "back on the air" would not count
    as new before 2026.10 (from 2026.10 every advert arrives anyway).
    """
    if (watch := _watches.get(address)) is not None:  # pragma: no cover (< 2026.10)
        watch.deliver_next()


# How often Bluetooth's newest advert is looked at while waiting for the next
# one before 2026.10 (it records every advert but reports changed ones only).
UNCHANGED_ADVERT_CHECK = timedelta(seconds=1)

# Before 2026.10: the advert watch of each address.
_watches: dict[str, _ChangedAdverts] = {}


class _ChangedAdverts:  # pragma: no cover (Home Assistant < 2026.10)
    """Changed adverts as they come; unchanged ones when asked (deliver_next)."""

    def __init__(
        self,
        hass: HomeAssistant,
        address: str,
        advert_callback: Callable[[bluetooth.BluetoothServiceInfoBleak], None],
    ) -> None:
        """Start with the newest advert (async_register_callback passes it on)."""
        self._hass = hass
        self._address = address
        self._callback = advert_callback
        self._heard = 0.0  # when the newest advert passed on was received
        self._passing_on = False
        self._check: Callable[[], None] | None = None
        _watches[address] = self
        self._unsubscribe = bluetooth.async_register_callback(
            hass,
            self._changed,
            bluetooth.BluetoothCallbackMatcher(address=address),
            bluetooth.BluetoothScanningMode.PASSIVE,
        )

    @callback
    def _changed(
        self, info: bluetooth.BluetoothServiceInfoBleak, _change: object
    ) -> None:
        self._pass_on(info)

    def _pass_on(self, info: bluetooth.BluetoothServiceInfoBleak) -> None:
        self._stop_checking()
        self._heard = info.time
        self._passing_on = True  # what the callback asks for now is answered
        try:
            self._callback(info)
        finally:
            self._passing_on = False

    @callback
    def deliver_next(self) -> None:
        """Look for an advert newer than the last one passed on, until one comes."""
        if not self._passing_on and self._check is None:
            self._check = async_track_time_interval(
                self._hass,
                self._look,
                UNCHANGED_ADVERT_CHECK,
                name=f"jk_bms next advert of {self._address}",
            )

    @callback
    def _look(self, _now: object) -> None:
        info = bluetooth.async_last_service_info(self._hass, self._address, True)
        if info is not None and info.time > self._heard:
            self._pass_on(info)

    def _stop_checking(self) -> None:
        if self._check is not None:
            self._check()
            self._check = None

    @callback
    def cancel(self) -> None:
        """Stop passing adverts on."""
        self._stop_checking()
        self._unsubscribe()
        if _watches.get(self._address) is self:
            del _watches[self._address]


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
    "async_deliver_next_advert",
    "async_get_config_entry_for_device",
    "async_register_advertisement_callback",
    "probatio",
]
