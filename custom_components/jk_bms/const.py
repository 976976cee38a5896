"""Constants for the JK BMS integration."""

from __future__ import annotations

import logging
from typing import Final

from .protocol.snapshot import LinkMode

DOMAIN: Final = "jk_bms"
MANUFACTURER: Final = "Jikong (JK BMS)"

# Home Assistant's coordinator logs each hand-over of data ("Manually updated …
# data") at debug, once per state cadence. Its own logger drops debug lines
# unless a `logger:` entry names it, so a debug log of the integration shows the
# link, not the cadence. A filter, not a level: otherwise it inherits the
# configured level (an explicit INFO would let info through where the user
# asked for warnings only).
UPDATES_LOGGER: Final = logging.getLogger(f"{__package__}.coordinator.updates")
UPDATES_LOGGER.addFilter(
    lambda record: (
        record.levelno > logging.DEBUG or UPDATES_LOGGER.level == logging.DEBUG
    )
)

# The advertised service; never enough alone (other BMS brands use it too), so
# discovery also requires one of JK's manufacturer ids (see manifest.json).
SERVICE_UUID: Final = "0000ffe0-0000-1000-8000-00805f9b34fb"
JK_MANUFACTURER_IDS: Final = frozenset({0x0B65, 0x4B4A})


# How the integration holds the Bluetooth link (the session's modes).
ConnectionMode = LinkMode


# Options (entry.options keys).
CONF_CONNECTION_MODE: Final = "connection_mode"
CONF_POLL_INTERVAL: Final = "poll_interval"
CONF_UPDATE_INTERVAL: Final = "update_interval"
CONF_PAIR: Final = "pair"
# A streaming BMS takes a proxy slot only while one more stays free (scheduler.py).
CONF_LEAVE_SLOT_FREE: Final = "leave_slot_free"
# Days without a full charge (SoC re-synchronisation) before a repair is raised.
CONF_SOC_RESYNC_DAYS: Final = "soc_resync_days"

DEFAULT_CONNECTION_MODE: Final = ConnectionMode.STREAM
DEFAULT_POLL_INTERVAL: Final = 60  # s
MIN_POLL_INTERVAL: Final = 10
MAX_POLL_INTERVAL: Final = 3600
DEFAULT_UPDATE_INTERVAL: Final = 5  # s between entity state writes
MIN_UPDATE_INTERVAL: Final = 1
MAX_UPDATE_INTERVAL: Final = 300
DEFAULT_PAIR: Final = False
DEFAULT_LEAVE_SLOT_FREE: Final = False
DEFAULT_SOC_RESYNC_DAYS: Final = 30
MIN_SOC_RESYNC_DAYS: Final = 1
MAX_SOC_RESYNC_DAYS: Final = 365

# Energy integration: a gap between two frames longer than this is not
# integrated (link drop); in poll mode the poll interval is added.
ENERGY_MAX_GAP: Final = 30.0  # s

# Time constant of the current smoothing used for time to empty / full.
CURRENT_EWMA_TAU: Final = 60.0  # s
# Below this |current| the battery counts as idle (no time to empty/full).
IDLE_CURRENT: Final = 0.1  # A
