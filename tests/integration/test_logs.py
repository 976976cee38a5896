"""What a user reads in the log: each change of the link once, at info; no line per cadence."""

from __future__ import annotations

import logging
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant

from custom_components.jk_bms.const import (
    CONF_CONNECTION_MODE,
    CONF_POLL_INTERVAL,
    CONF_UPDATE_INTERVAL,
    UPDATES_LOGGER,
)

from .helpers import add_entry, fire, setup_bms

INTEGRATION = "custom_components.jk_bms"


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    """The integration's log records that contain ``text``."""
    return [
        record
        for record in caplog.records
        if record.name.startswith(INTEGRATION) and text in record.getMessage()
    ]


@pytest.mark.usefixtures("no_backoff")
async def test_stream_link_changes_logged_once_each(
    hass: HomeAssistant, virtual_bms, caplog: pytest.LogCaptureFixture
) -> None:
    """Connect, loss, a storm of failed reconnects, return, unload: one info line each.

    Debug logging is on for the integration (as the README tells users to do), and
    still nothing is logged per state write.
    """
    caplog.set_level(logging.DEBUG, logger=INTEGRATION)
    bms, entry, coordinator = await setup_bms(
        hass, virtual_bms, options={CONF_UPDATE_INTERVAL: 1}
    )
    name = f"{entry.title} ({bms.address})"
    connected = lines(caplog, "connected (stream)")
    assert [(r.levelno, r.getMessage()) for r in connected] == [
        (logging.INFO, f"{name} connected (stream)")
    ]

    caplog.clear()
    for _ in range(10):  # ten state cadences, a frame in each
        await bms.push_cell_info(advance_s=1)
        fire(hass, 2)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.data.cell_info is not None
    assert not [r for r in caplog.records if r.name.startswith(INTEGRATION)]

    bms.faults.refuse_connections = True
    bms.drop_link()
    await hass.async_block_till_done(wait_background_tasks=True)
    for _ in range(4):  # reconnects after 2, 4, 8, 16 s: all refused
        fire(hass, 20)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.session.status.attempt >= 3
    bms.faults.refuse_connections = False
    bms.faults.stop_streaming = False
    fire(hass, 60)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.link_connected

    infos = [r for r in lines(caplog, name) if r.levelno >= logging.INFO]
    assert [(r.levelno, r.getMessage()) for r in infos] == [
        (logging.INFO, f"{name} is unavailable: link lost"),
        (logging.INFO, f"{name} is back online"),
    ]

    caplog.clear()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert [r.getMessage() for r in lines(caplog, name)] == [
        f"{name} disconnected (unloaded)"
    ]


async def test_poll_link_changes_logged_once_each(
    hass: HomeAssistant, virtual_bms, caplog: pytest.LogCaptureFixture
) -> None:
    """Poll mode: failed polls are one error line, the first good poll one info line."""
    caplog.set_level(logging.DEBUG, logger=INTEGRATION)
    bms = virtual_bms(stream_interval=0.01)
    entry = add_entry(
        hass, bms, **{CONF_CONNECTION_MODE: "poll", CONF_POLL_INTERVAL: 30}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    name = f"{entry.title} ({bms.address})"
    assert [r.getMessage() for r in lines(caplog, name)] == [f"{name} connected (poll)"]

    caplog.clear()
    fire(hass, 31)  # a good poll: nothing to tell
    await hass.async_block_till_done(wait_background_tasks=True)
    bms.faults.other_central_connected = True  # the JK app holds the BMS
    with patch("bleak_retry_connector.calculate_backoff_time", return_value=0):
        for seconds in (62, 93, 124):  # three failed polls
            fire(hass, seconds)
            await hass.async_block_till_done(wait_background_tasks=True)
    bms.faults.other_central_connected = False
    for seconds in (155, 186):  # two good polls
        fire(hass, seconds)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.runtime_data.link_connected

    told = [r for r in lines(caplog, name) if r.levelno >= logging.INFO]
    assert [r.levelno for r in told] == [logging.ERROR, logging.INFO]
    assert told[0].getMessage().startswith(f"Error requesting {name} data")
    assert told[1].getMessage() == f"{name} is back online"
    assert not lines(caplog, "Manually updated")
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_the_updates_logger_follows_the_configured_level() -> None:
    """Quieting the integration to warnings quiets HA's coordinator lines too."""
    package = logging.getLogger("custom_components.jk_bms")
    before = package.level
    try:
        package.setLevel(logging.WARNING)
        assert not UPDATES_LOGGER.isEnabledFor(logging.INFO)
        package.setLevel(logging.DEBUG)
        assert UPDATES_LOGGER.isEnabledFor(logging.INFO)
        record = UPDATES_LOGGER.makeRecord(
            UPDATES_LOGGER.name,
            logging.DEBUG,
            __file__,
            0,
            "Manually updated",
            (),
            None,
        )
        assert not UPDATES_LOGGER.filter(record)  # the per-cadence line stays out
        UPDATES_LOGGER.setLevel(logging.DEBUG)  # a `logger:` entry naming it
        assert UPDATES_LOGGER.filter(record)
    finally:
        package.setLevel(before)
        UPDATES_LOGGER.setLevel(logging.NOTSET)
