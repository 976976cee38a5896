"""Config flow for JK BMS: discovered over Home Assistant Bluetooth, tested before saving."""

from __future__ import annotations

import logging
import math
from typing import Any, override

from bleak.backends.device import BLEDevice
from homeassistant.components import bluetooth
from homeassistant.components.bluetooth import (
    BluetoothServiceInfoBleak,
    async_discovered_service_info,
)
from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_ADDRESS
from homeassistant.core import callback
from homeassistant.helpers import selector

from .compat import probatio
from .const import (
    CONF_CONNECTION_MODE,
    CONF_LEAVE_SLOT_FREE,
    CONF_PAIR,
    CONF_POLL_INTERVAL,
    CONF_SOC_RESYNC_DAYS,
    CONF_UPDATE_INTERVAL,
    DEFAULT_CONNECTION_MODE,
    DEFAULT_LEAVE_SLOT_FREE,
    DEFAULT_PAIR,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_SOC_RESYNC_DAYS,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    JK_MANUFACTURER_IDS,
    MAX_POLL_INTERVAL,
    MAX_SOC_RESYNC_DAYS,
    MAX_UPDATE_INTERVAL,
    MIN_POLL_INTERVAL,
    MIN_SOC_RESYNC_DAYS,
    MIN_UPDATE_INTERVAL,
    ConnectionMode,
)
from .coordinator import JkBmsConfigEntry
from .protocol import DeviceInfo, NotJkBmsError, ProtocolError
from .protocol.session import JkBmsSession, LinkMode
from .scheduler import async_connection_turn

_LOGGER = logging.getLogger(__name__)

# How long the config flow waits for a free proxy slot before it reports failure.
PROBE_WAIT = 30.0  # s

PAIR_SCHEMA = probatio.Schema(
    {probatio.Optional(CONF_PAIR, default=DEFAULT_PAIR): selector.BooleanSelector()}
)


def _is_jk(info: BluetoothServiceInfoBleak) -> bool:
    return not JK_MANUFACTURER_IDS.isdisjoint(info.manufacturer_data)


class JkBmsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Handle a config flow for JK BMS."""

    VERSION = 1

    def __init__(self) -> None:
        """Initialize the flow."""
        self._discovery_info: BluetoothServiceInfoBleak | None = None
        self._discovered: dict[str, BluetoothServiceInfoBleak] = {}
        self._device_info: DeviceInfo | None = None
        self._variant: str = ""
        self._cells = 0
        self._pair = DEFAULT_PAIR

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: JkBmsConfigEntry) -> JkBmsOptionsFlow:
        """Return the options flow."""
        return JkBmsOptionsFlow()

    @override
    async def async_step_bluetooth(
        self, discovery_info: BluetoothServiceInfoBleak
    ) -> ConfigFlowResult:
        """Handle a BMS found by Bluetooth discovery."""
        await self.async_set_unique_id(discovery_info.address)
        self._abort_if_unique_id_configured()
        self._discovery_info = discovery_info
        self.context["title_placeholders"] = {"name": discovery_info.name}
        return await self.async_step_bluetooth_confirm()

    async def async_step_bluetooth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm a discovered BMS; connect and read it on submit."""
        assert self._discovery_info is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            self._pair = user_input.get(CONF_PAIR, DEFAULT_PAIR)
            if (error := await self._async_read_device(self._discovery_info)) is None:
                return await self.async_step_confirm()
            errors["base"] = error
        return self.async_show_form(
            step_id="bluetooth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                PAIR_SCHEMA, {CONF_PAIR: self._pair}
            ),
            description_placeholders={"name": self._discovery_info.name},
            errors=errors,
        )

    @override
    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick one of the discovered JK BMS that is not configured yet."""
        errors: dict[str, str] = {}
        if user_input is not None:
            address = user_input[CONF_ADDRESS]
            await self.async_set_unique_id(address, raise_on_progress=False)
            self._abort_if_unique_id_configured()
            self._discovery_info = self._discovered[address]
            self._pair = user_input.get(CONF_PAIR, DEFAULT_PAIR)
            if (error := await self._async_read_device(self._discovery_info)) is None:
                return await self.async_step_confirm()
            errors["base"] = error
        else:
            current = self._async_current_ids(include_ignore=False)
            self._discovered = {
                info.address: info
                for info in async_discovered_service_info(self.hass, connectable=True)
                if _is_jk(info) and info.address not in current
            }
            if not self._discovered:
                return self.async_abort(reason="no_devices_found")

        schema = probatio.Schema(
            {
                probatio.Required(CONF_ADDRESS): probatio.In(
                    {
                        address: f"{info.name} ({address})"
                        for address, info in self._discovered.items()
                    }
                ),
                probatio.Optional(
                    CONF_PAIR, default=DEFAULT_PAIR
                ): selector.BooleanSelector(),
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what was read from the BMS; create the entry on submit."""
        assert self._discovery_info is not None
        assert self._device_info is not None
        info = self._device_info
        title = info.device_name or self._discovery_info.name
        if user_input is not None:
            return self.async_create_entry(
                title=title,
                data={CONF_ADDRESS: self._discovery_info.address},
                options={CONF_PAIR: self._pair},
            )
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={
                "name": title,
                "model": info.model or "?",
                "hardware": info.hardware_version or "?",
                "firmware": info.software_version or "?",
                "variant": self._variant,
                "cells": str(self._cells),
            },
        )

    async def _async_read_device(self, info: BluetoothServiceInfoBleak) -> str | None:
        """Connect, read the device info, let go. Return an error key or None."""
        try:
            await self._async_connect_and_read(info)
        except NotJkBmsError:
            _LOGGER.debug("%s is not a JK BMS", info.address, exc_info=True)
            return "not_jk_bms"
        except ProtocolError:
            _LOGGER.debug("Cannot connect to %s", info.address, exc_info=True)
            return "cannot_connect"
        except Exception:
            _LOGGER.exception("Unexpected error reading %s", info.address)
            return "unknown"
        return None

    async def _async_connect_and_read(self, info: BluetoothServiceInfoBleak) -> None:
        """Probe the BMS through a short-lived session (in a proxy-slot turn)."""
        device: BLEDevice = (
            bluetooth.async_ble_device_from_address(self.hass, info.address, True)
            or info.device
        )
        session = JkBmsSession(
            lambda: device,
            mode=LinkMode.POLL,
            pair=self._pair,
            connection_turn=lambda: async_connection_turn(
                self.hass, info.address, {}, streaming=False, poll_interval=PROBE_WAIT
            ),
            name=info.address,
        )
        snapshot = await session.probe()
        self._device_info = snapshot.device_info
        self._variant = str(snapshot.variant)
        cell_info = snapshot.cell_info
        self._cells = len(cell_info.cell_voltages) if cell_info else 0


class JkBmsOptionsFlow(OptionsFlowWithReload):
    """Connection mode, state cadence and pairing; the entry reloads on save."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Manage the options (a NaN or infinite number is refused, not stored)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = {
                key: "not_a_number"
                for key, value in user_input.items()
                if isinstance(value, float) and not math.isfinite(value)
            }
            if not errors:
                return self.async_create_entry(data=user_input)
        schema = probatio.Schema(
            {
                probatio.Required(
                    CONF_CONNECTION_MODE, default=DEFAULT_CONNECTION_MODE
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[mode.value for mode in ConnectionMode],
                        translation_key=CONF_CONNECTION_MODE,
                        mode=selector.SelectSelectorMode.LIST,
                    )
                ),
                probatio.Required(
                    CONF_POLL_INTERVAL, default=DEFAULT_POLL_INTERVAL
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=MIN_POLL_INTERVAL,
                        max=MAX_POLL_INTERVAL,
                        step=1,
                        unit_of_measurement="s",
                        mode=selector.NumberSelectorMode.BOX,
                    )
                ),
                probatio.Required(
                    CONF_UPDATE_INTERVAL, default=DEFAULT_UPDATE_INTERVAL
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=MIN_UPDATE_INTERVAL,
                        max=MAX_UPDATE_INTERVAL,
                        step=1,
                        unit_of_measurement="s",
                        mode=selector.NumberSelectorMode.BOX,
                    )
                ),
                probatio.Required(
                    CONF_PAIR, default=DEFAULT_PAIR
                ): selector.BooleanSelector(),
                probatio.Required(
                    CONF_LEAVE_SLOT_FREE, default=DEFAULT_LEAVE_SLOT_FREE
                ): selector.BooleanSelector(),
                probatio.Required(
                    CONF_SOC_RESYNC_DAYS, default=DEFAULT_SOC_RESYNC_DAYS
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=MIN_SOC_RESYNC_DAYS,
                        max=MAX_SOC_RESYNC_DAYS,
                        step=1,
                        unit_of_measurement="d",
                        mode=selector.NumberSelectorMode.BOX,
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, self.config_entry.options
            ),
            errors=errors,
        )
