"""Config and options flow.

The happy paths run end to end through the virtual proxy and the virtual BMS
(Home Assistant's real Bluetooth stack in between); only failures the virtual
BMS cannot produce are mocked at the library boundary (``JkBmsSession.probe``).
"""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import AsyncMock, MagicMock, patch

import pytest
from homeassistant.config_entries import SOURCE_BLUETOOTH, SOURCE_USER
from homeassistant.const import CONF_ADDRESS
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.jk_bms.const import (
    CONF_CONNECTION_MODE,
    CONF_LEAVE_SLOT_FREE,
    CONF_PAIR,
    CONF_POLL_INTERVAL,
    CONF_SOC_RESYNC_DAYS,
    CONF_UPDATE_INTERVAL,
    DOMAIN,
)
from custom_components.jk_bms.protocol import (
    ConnectionFailedError,
    NotJkBmsError,
    ResponseTimeoutError,
)

from .adverts import JK_B2A8S20P, JK_BD4A8S4P, OTHER_FFE0_BMS, inject

SESSION = "custom_components.jk_bms.config_flow.JkBmsSession"


@pytest.fixture
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Do not set the entry up (the flow is under test, not the setup)."""
    with patch("custom_components.jk_bms.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
def mock_client() -> Iterator[MagicMock]:
    """A link session whose probe reports a JK_B2A8S20P 11.17 (8 cells)."""
    with patch(SESSION, autospec=True) as session_class:
        session = session_class.return_value
        session.probe.return_value = MagicMock(
            device_info=MagicMock(
                model="JK_B2A8S20P",
                hardware_version="11.XW",
                software_version="11.17",
                device_name="JK_B2A8S20P",
            ),
            variant="JK02_32S",
            cell_info=MagicMock(cell_voltages=(3.3,) * 8),
        )
        yield session


async def _discovered_flow(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_BLUETOOTH}, data=JK_B2A8S20P
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "bluetooth_confirm"
    assert result["description_placeholders"] == {"name": "JK_B2A8S20P"}
    return result["flow_id"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_bluetooth_confirm_shows_model_and_firmware(
    hass: HomeAssistant, mock_client: MagicMock
) -> None:
    """Discovery → confirm (connects) → model/firmware shown → entry."""
    flow_id = await _discovered_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PAIR: True})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {
        "name": "JK_B2A8S20P",
        "model": "JK_B2A8S20P",
        "hardware": "11.XW",
        "firmware": "11.17",
        "variant": "JK02_32S",
        "cells": "8",
    }
    mock_client.probe.assert_awaited_once()  # connect, read, let go

    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "JK_B2A8S20P"
    assert result["data"] == {CONF_ADDRESS: JK_B2A8S20P.address}
    assert result["options"] == {CONF_PAIR: True}
    assert result["result"].unique_id == JK_B2A8S20P.address


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ConnectionFailedError("no slot"), "cannot_connect"),
        (ResponseTimeoutError("silent"), "cannot_connect"),
        (NotJkBmsError("no FFE1"), "not_jk_bms"),
        (RuntimeError("boom"), "unknown"),
    ],
)
@pytest.mark.usefixtures("mock_setup_entry")
async def test_bluetooth_confirm_errors_recover(
    hass: HomeAssistant, mock_client: MagicMock, error: Exception, reason: str
) -> None:
    """A failed connection shows a translated error; the next try can succeed."""
    flow_id = await _discovered_flow(hass)
    mock_client.probe.side_effect = error
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "bluetooth_confirm"
    assert result["errors"] == {"base": reason}

    mock_client.probe.side_effect = None
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_bluetooth_already_configured(hass: HomeAssistant) -> None:
    """The same BMS cannot be added twice."""
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=JK_B2A8S20P.address,
        data={CONF_ADDRESS: JK_B2A8S20P.address},
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_BLUETOOTH}, data=JK_B2A8S20P
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_no_devices_found(hass: HomeAssistant) -> None:
    """Nothing JK in range (another brand on FFE0 does not count)."""
    inject(hass, OTHER_FFE0_BMS)
    await hass.async_block_till_done(wait_background_tasks=True)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_devices_found"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_lists_unconfigured_jk_and_recovers(
    hass: HomeAssistant, mock_client: MagicMock
) -> None:
    """Only JK BMS not configured yet are offered; errors keep the form."""
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=JK_BD4A8S4P.address,
        data={CONF_ADDRESS: JK_BD4A8S4P.address},
    ).add_to_hass(hass)
    for advert in (JK_B2A8S20P, JK_BD4A8S4P, OTHER_FFE0_BMS):
        inject(hass, advert)
    await hass.async_block_till_done(wait_background_tasks=True)

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    schema = result["data_schema"].schema
    choices = next(
        value.container for key, value in schema.items() if key == CONF_ADDRESS
    )
    assert choices == {JK_B2A8S20P.address: "JK_B2A8S20P (C8:47:80:0F:D5:C5)"}

    mock_client.probe.side_effect = ConnectionFailedError("out of range")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ADDRESS: JK_B2A8S20P.address}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    mock_client.probe.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ADDRESS: JK_B2A8S20P.address, CONF_PAIR: False}
    )
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == JK_B2A8S20P.address
    assert result["options"] == {CONF_PAIR: False}


async def test_options_flow(hass: HomeAssistant) -> None:
    """Connection mode, cadence, pairing and the free proxy slot are options."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=JK_B2A8S20P.address,
        data={CONF_ADDRESS: JK_B2A8S20P.address},
        options={CONF_PAIR: False},
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    user_input = {
        CONF_CONNECTION_MODE: "poll",
        CONF_POLL_INTERVAL: 30,
        CONF_UPDATE_INTERVAL: 1,
        CONF_PAIR: True,
        CONF_LEAVE_SLOT_FREE: True,
        CONF_SOC_RESYNC_DAYS: 45,
    }
    with patch("custom_components.jk_bms.async_setup_entry", return_value=True):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], user_input
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == user_input
