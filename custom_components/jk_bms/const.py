"""Constants for the JK BMS integration."""

from typing import Final

DOMAIN: Final = "jk_bms"
MANUFACTURER: Final = "Jikong (JK BMS)"

# The advertised service; never enough alone (other BMS brands use it too), so
# discovery also requires one of JK's manufacturer ids (see manifest.json).
SERVICE_UUID: Final = "0000ffe0-0000-1000-8000-00805f9b34fb"
JK_MANUFACTURER_IDS: Final = frozenset({0x0B65, 0x4B4A})
