"""Home Assistant in this process, with Bluetooth, the virtual proxy and virtual BMS.

The same pieces the integration tests use (pytest-homeassistant-custom-component's
test instance, its Bluetooth adapter mocks, the virtual proxy), started without
pytest so the benchmarks can time them. Everything between the integration and
the virtual BMS is Home Assistant's real code; only the radio is simulated.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, Mock, patch

from bleak_retry_connector import bleak_manager
from homeassistant import loader
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_ADDRESS
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import recorder as recorder_helper
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.jk_bms.const import CONF_UPDATE_INTERVAL, DOMAIN
from virtual_bms.device import VirtualJkBms
from virtual_bms.proxy import VirtualBleakBackend, VirtualProxy

# Realistic link timing (protocol doc §3): an ESPHome proxy needs about a second
# to connect and resolve services; the BMS streams a cell frame every 0.5 s.
CONNECT_DELAY_S = 1.0
FRAME_INTERVAL_S = 0.5
# A GATT write through an ESPHome proxy reaches the BMS tens of ms later.
WRITE_DELAY_S = 0.05
UNKNOWN_STATES = frozenset({"unknown", "unavailable"})


@contextmanager
def _bluetooth_mocks() -> Iterator[None]:
    """Mock the adapters like the test harness does: no BlueZ, no D-Bus, one fake hci0."""
    from habluetooth import (  # noqa: PLC0415 - bleak must not load before the mocks
        manager as bluetooth_manager,
    )
    from habluetooth import (  # noqa: PLC0415
        scanner as bluetooth_scanner,
    )

    bleak_manager.get_global_bluez_manager_with_timeout._has_dbus_socket = False  # type: ignore[attr-defined]  # noqa: SLF001
    bluetooth_scanner.OriginalBleakScanner.stop = AsyncMock()  # type: ignore[attr-defined]
    mgmt = Mock()
    mgmt.setup = AsyncMock(return_value=None)
    adapter = {
        "address": "00:00:00:00:00:01",
        "hw_version": "usb:v1D6Bp0246d053F",
        "passive_scan": False,
        "sw_version": "homeassistant",
        "manufacturer": "ACME",
        "product": "Bluetooth Adapter 5.0",
        "product_id": "aa01",
        "vendor_id": "cc01",
    }
    with ExitStack() as stack:
        for patcher in (
            patch(
                "habluetooth.channels.bluez.MGMTBluetoothCtl.setup",
                AsyncMock(side_effect=OSError),
            ),
            patch("habluetooth.util.recover_adapter"),
            patch("bluetooth_auto_recovery.recover_adapter"),
            patch("bluetooth_adapters.systems.platform.system", return_value="Linux"),
            patch("bluetooth_adapters.systems.linux.LinuxAdapters.refresh"),
            patch(
                "bluetooth_adapters.systems.linux.LinuxAdapters.adapters",
                {"hci0": adapter},
            ),
            patch.object(bluetooth_scanner.OriginalBleakScanner, "start"),  # type: ignore[attr-defined]
            patch.object(bluetooth_scanner, "HaScanner"),
            patch.object(bluetooth_manager, "MGMTBluetoothCtl", return_value=mgmt),
            # bluetooth → usb → websocket_api → http: no real server.
            patch("homeassistant.components.http.HomeAssistantHTTP.async_bind"),
            patch("homeassistant.components.http.HomeAssistantHTTP.start"),
        ):
            stack.enter_context(patcher)
        yield


@contextmanager
def _write_delay(delay: float) -> Iterator[None]:
    """Delay every GATT write (command) by ``delay`` s, like the proxy hop does."""
    if delay <= 0:
        yield
        return
    original = VirtualBleakBackend.write_gatt_char

    async def delayed(
        self: VirtualBleakBackend, characteristic: Any, data: Any, response: bool
    ) -> None:
        await asyncio.sleep(delay)
        await original(self, characteristic, data, response)

    with patch.object(VirtualBleakBackend, "write_gatt_char", delayed):
        yield


@dataclass(slots=True)
class Instance:
    """A running Home Assistant with one virtual proxy."""

    hass: HomeAssistant
    proxy: VirtualProxy
    config_dir: Path

    def add_bms(
        self, index: int, model: str = "JK-B2A8S20P", **options: Any
    ) -> VirtualJkBms:
        """Put a streaming virtual BMS in range of the proxy (it advertises)."""
        options.setdefault("stream_interval", FRAME_INTERVAL_S)
        options.setdefault("seed", index)
        bms = VirtualJkBms(
            model,
            address=f"C8:47:8C:00:{index // 256:02X}:{index % 256:02X}",
            **options,
        )
        self.proxy.add(bms)
        return bms

    def add_entry(self, bms: VirtualJkBms, **options: Any) -> ConfigEntry:
        """Add (not set up) the config entry of ``bms``."""
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=bms.local_name,
            unique_id=bms.address,
            data={CONF_ADDRESS: bms.address},
            options=options,
        )
        entry.add_to_hass(self.hass)
        config_entry: ConfigEntry = entry
        return config_entry

    async def setup_entries(self, entries: list[ConfigEntry]) -> None:
        """Set up ``entries`` (loading the integration sets up all of them at once)."""
        for entry in entries:
            if entry.state is ConfigEntryState.NOT_LOADED:
                await self.hass.config_entries.async_setup(entry.entry_id)
        await self.hass.async_block_till_done()

    def entity_ids(self, entry: ConfigEntry) -> list[str]:
        """Return the enabled entities of ``entry``."""
        registry = er.async_get(self.hass)
        return [
            e.entity_id
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
            if not e.disabled
        ]

    def valued(self, entity_ids: list[str]) -> set[str]:
        """Return the entities of ``entity_ids`` whose state is a value."""
        states = self.hass.states
        return {
            entity_id
            for entity_id in entity_ids
            if (state := states.get(entity_id)) is not None
            and state.state not in UNKNOWN_STATES
        }


@asynccontextmanager
async def home_assistant(
    config_dir: Path,
    *,
    recorder_db: Path | None = None,
    slots: int = 3,
    connect_delay: float = CONNECT_DELAY_S,
    write_delay: float = WRITE_DELAY_S,
) -> AsyncIterator[Instance]:
    """Start Home Assistant (+ recorder on a temp SQLite file) and a virtual proxy."""
    config_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before start
    with _bluetooth_mocks(), _write_delay(write_delay):
        async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
            # Let the loader find custom_components/jk_bms (the test instance hides it).
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            if recorder_db is not None:
                recorder_helper.async_initialize_recorder(hass)  # bootstrap does this
                assert await async_setup_component(
                    hass,
                    "recorder",
                    {"recorder": {"db_url": f"sqlite:///{recorder_db}"}},
                )
            bluetooth = MockConfigEntry(
                domain="bluetooth", unique_id="00:00:00:00:00:01"
            )
            bluetooth.add_to_hass(hass)
            assert await hass.config_entries.async_setup(bluetooth.entry_id)
            await hass.async_block_till_done()
            proxy = VirtualProxy(hass, slots=slots, connect_delay=connect_delay)
            proxy.async_start()
            instance = Instance(hass, proxy, config_dir)
            try:
                yield instance
            finally:
                for entry in hass.config_entries.async_entries(DOMAIN):
                    await hass.config_entries.async_unload(entry.entry_id)
                for device in list(proxy.devices.values()):
                    if isinstance(device, VirtualJkBms):
                        device.power_off()
                proxy.async_stop()
                await hass.config_entries.async_unload(bluetooth.entry_id)
                await hass.async_block_till_done()
                # Stops the recorder thread and undoes global registrations (usb).
                await hass.async_stop(force=True)


async def wait_for(condition: Any, timeout: float, poll: float = 0.02) -> float | None:  # noqa: ASYNC109
    """Poll ``condition()`` until true; seconds it took, or None after ``timeout``."""
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < timeout:
        if condition():
            return elapsed
        await asyncio.sleep(poll)
    return None


def rss_mib() -> float:
    """Resident set size of this process now (after a full collection), MiB."""
    gc.collect()
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def thread_cpu_seconds(name_prefix: str) -> float:
    """CPU seconds (user + system) of this process's threads named ``name_prefix``*."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            comm = (task / "comm").read_text(encoding="ascii").strip()
            if not comm.startswith(name_prefix):
                continue
            fields = (
                (task / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
            )
        except OSError:
            continue  # the thread ended meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def default_options(cadence: float) -> dict[str, Any]:
    """Entry options for streaming at ``cadence`` s between state writes."""
    return {CONF_UPDATE_INTERVAL: cadence}
