"""The virtual BMS behind the virtual proxy, seen from Home Assistant's real Bluetooth stack.

Every test connects the way the integration does: ``async_ble_device_from_address``
→ ``bleak_retry_connector.establish_connection`` with
``BleakClientWithServiceCache`` (looked up at call time) → Home Assistant's
``HaBleakClientWrapper`` → the proxy's connector → the virtual BMS.
"""

from __future__ import annotations

import asyncio

import bleak_retry_connector
import pytest
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError
from habluetooth import HaBleakClientWrapper, get_manager
from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant

from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.protocol import (
    Ack,
    CellInfo,
    Command,
    DeviceInfo,
    FrameType,
    RawFrame,
    Settings,
    StreamParser,
    Variant,
    decode_frame,
    encode_request,
    encode_write,
)
from virtual_bms.device import VirtualJkBms
from virtual_bms.gatt import CHAR_FFE1, ModuleLayout
from virtual_bms.proxy import VirtualProxy

MODELS = [
    ("JK-B2A8S20P", Variant.JK02_32S),
    ("JK-B2A24S20P", Variant.JK02_24S),
    ("JK-B2A16S", Variant.JK04),
    ("JK-PB2A16S20P", Variant.JK02_32S),
]


class Central:
    """A minimal BLE central on top of Home Assistant's stack, like the integration's client."""

    def __init__(self, hass: HomeAssistant, device: VirtualJkBms) -> None:
        self.hass = hass
        self.device = device
        self.parser = StreamParser()
        self.items: list[RawFrame | Ack] = []
        self.disconnects = 0
        self.client: bleak_retry_connector.BleakClientWithServiceCache | None = None

    async def connect(self, *, pair: bool = False, subscribe: bool = True) -> None:
        ble_device = bluetooth.async_ble_device_from_address(
            self.hass, self.device.address, connectable=True
        )
        assert ble_device is not None
        self.client = await bleak_retry_connector.establish_connection(
            bleak_retry_connector.BleakClientWithServiceCache,
            ble_device,
            self.device.local_name,
            disconnected_callback=self._on_disconnect,
            pair=pair,
        )
        if subscribe:
            await self.client.start_notify(self.notify_char, self._on_notify)

    def _on_disconnect(self, _client: object) -> None:
        self.disconnects += 1
        self.parser.reset()

    def _on_notify(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self.items.extend(self.parser.feed(bytes(data)))

    def _ffe1(self, prop: str) -> BleakGATTCharacteristic:
        assert self.client is not None
        return next(
            c
            for c in self.client.services.characteristics.values()
            if c.uuid == CHAR_FFE1 and prop in c.properties
        )

    @property
    def notify_char(self) -> BleakGATTCharacteristic:
        return self._ffe1("notify")

    @property
    def write_char(self) -> BleakGATTCharacteristic:
        return self._ffe1("write-without-response")

    async def send(self, command: bytes) -> None:
        assert self.client is not None
        await self.client.write_gatt_char(self.write_char, command, response=False)
        await self.device.flush()

    def frames(self, frame_type: FrameType | None = None) -> list[RawFrame]:
        return [
            i
            for i in self.items
            if isinstance(i, RawFrame)
            and (frame_type is None or i.frame_type is frame_type)
        ]

    def acks(self) -> list[Ack]:
        return [i for i in self.items if isinstance(i, Ack)]

    async def handshake(self) -> None:
        await self.send(encode_request(Command.DEVICE_INFO))
        await self.send(encode_request(Command.SETTINGS))

    def last_cell_info(self, variant: Variant) -> CellInfo:
        decoded = decode_frame(self.frames(FrameType.CELL_INFO)[-1], variant)
        assert isinstance(decoded, CellInfo)
        return decoded

    def last_settings(self, variant: Variant) -> Settings:
        decoded = decode_frame(self.frames(FrameType.SETTINGS)[-1], variant)
        assert isinstance(decoded, Settings)
        return decoded

    async def disconnect(self) -> None:
        if self.client is not None:
            await self.client.disconnect()


def _free_slots(proxy: VirtualProxy) -> int:
    allocations = get_manager().async_current_allocations(proxy.source)
    assert allocations
    return allocations[0].free


async def test_advert_through_proxy_starts_discovery(
    hass: HomeAssistant, virtual_bms
) -> None:
    """A virtual BMS behind the proxy shows up under Discovered (a jk_bms flow)."""
    bms = virtual_bms()
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = [
        f["context"]["unique_id"]
        for f in hass.config_entries.flow.async_progress()
        if f["handler"] == DOMAIN
    ]
    assert flows == [bms.address]


async def test_ble_device_resolves_via_proxy(
    hass: HomeAssistant, virtual_proxy: VirtualProxy, virtual_bms
) -> None:
    """Home Assistant knows the BMS as a connectable device reached through the proxy."""
    bms = virtual_bms()
    assert bluetooth.async_ble_device_from_address(hass, bms.address, connectable=True)
    info = bluetooth.async_last_service_info(hass, bms.address, connectable=True)
    assert info is not None
    assert info.source == virtual_proxy.source
    assert info.name == "JK_B2A8S20P"
    assert info.manufacturer_data == {0x0B65: bytes.fromhex("88a0c8478c000001")}


@pytest.mark.parametrize(("model", "variant"), MODELS, ids=[m for m, _ in MODELS])
async def test_handshake_and_stream_per_variant(
    hass: HomeAssistant, virtual_bms, model: str, variant: Variant
) -> None:
    """0x97 → device info + ack, 0x96 → settings + ack, then cell frames; all decode."""
    bms = virtual_bms(model)
    central = Central(hass, bms)
    await central.connect()
    assert isinstance(central.client, HaBleakClientWrapper)
    await central.handshake()
    await bms.push_cell_info(advance_s=1.0)
    await bms.push_cell_info(advance_s=1.0)

    info = decode_frame(central.frames(FrameType.DEVICE_INFO)[0], None)
    assert isinstance(info, DeviceInfo)
    assert info.uses_factory_passwords
    assert len(central.acks()) == 2
    assert len(central.frames(FrameType.CELL_INFO)) == 2
    cells = central.last_cell_info(variant)
    assert len(cells.cell_voltages) == len(bms.battery.cells)
    assert cells.cell_voltages[0] == pytest.approx(
        bms.battery.cell_voltages[0], abs=0.001
    )
    assert central.parser.stats.bad_checksum == 0
    await central.disconnect()


async def test_default_bms_is_the_app_guide_pack(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The default: B2A8S20P, 4S LiFePO4 280 Ah, charging at about 61 A and 13.7 V."""
    bms = virtual_bms()
    central = Central(hass, bms)
    await central.connect()
    await central.handshake()
    await bms.push_cell_info(advance_s=0.5)
    cells = central.last_cell_info(Variant.JK02_32S)
    assert cells.current == pytest.approx(61.0)
    assert cells.total_voltage == pytest.approx(13.70, abs=0.05)
    assert cells.full_charge_capacity == pytest.approx(280.0)
    settings = central.last_settings(Variant.JK02_32S)
    assert settings["cell_ovp"] == pytest.approx(3.55)
    assert settings["soc_100_voltage"] == pytest.approx(3.52)
    assert settings["max_charge_current"] == pytest.approx(200.0)
    assert settings["cell_count"] == 4
    await central.disconnect()


async def test_live_stream_every_interval(hass: HomeAssistant, virtual_bms) -> None:
    """After 0x96 cell frames keep coming on the BMS's own timer."""
    bms = virtual_bms(stream_interval=0.01)
    central = Central(hass, bms)
    await central.connect()
    await central.handshake()
    await asyncio.sleep(0.1)
    assert len(central.frames(FrameType.CELL_INFO)) >= 3
    await central.disconnect()


async def test_nothing_before_notifications(hass: HomeAssistant, virtual_bms) -> None:
    """Commands written before subscribing get no answer (but the BMS saw them)."""
    bms = virtual_bms()
    central = Central(hass, bms)
    await central.connect(subscribe=False)
    await central.send(encode_request(Command.DEVICE_INFO))
    assert central.items == []
    assert bms.received[0].data == encode_request(Command.DEVICE_INFO)
    await central.client.start_notify(central.notify_char, central._on_notify)
    await central.send(encode_request(Command.DEVICE_INFO))
    assert len(central.frames(FrameType.DEVICE_INFO)) == 1
    await central.disconnect()


@pytest.mark.parametrize("layout", [ModuleLayout.OLD, ModuleLayout.NEW])
async def test_both_module_layouts(hass: HomeAssistant, virtual_bms, layout) -> None:
    """Old module: one FFE1; new module: write on handle 0x03, notify on 0x05."""
    bms = virtual_bms(module_layout=layout)
    central = Central(hass, bms)
    await central.connect()
    ffe1 = [
        c
        for c in central.client.services.characteristics.values()
        if c.uuid == CHAR_FFE1
    ]
    assert len(ffe1) == (1 if layout is ModuleLayout.OLD else 2)
    if layout is ModuleLayout.NEW:
        assert (central.write_char.handle, central.notify_char.handle) == (0x03, 0x05)
        with pytest.raises(BleakError, match="Multiple Characteristics"):
            await central.client.start_notify(CHAR_FFE1, central._on_notify)
    await central.handshake()
    assert len(central.frames()) == 2
    await central.disconnect()


async def test_write_changes_the_pack(hass: HomeAssistant, virtual_bms) -> None:
    """Charge switch off: the MOSFET opens, current stops, energy in stops growing."""
    bms = virtual_bms(profile="charge")
    central = Central(hass, bms)
    await central.connect()
    await central.handshake()
    await central.send(encode_write("charging", False, Variant.JK02_32S))
    assert bms.received[-1].setting == ("charging", False)
    await central.send(encode_request(Command.SETTINGS))
    assert central.last_settings(Variant.JK02_32S)["charging"] is False
    await bms.push_cell_info(advance_s=5)
    energy_in = bms.battery.truth.energy_in_wh
    await bms.push_cell_info(advance_s=60)
    cells = central.last_cell_info(Variant.JK02_32S)
    assert cells.current == 0
    assert cells.values()["charging"] is False
    assert bms.battery.truth.energy_in_wh == energy_in
    await central.disconnect()


async def test_ovp_write_trips_protection(hass: HomeAssistant, virtual_bms) -> None:
    """A cell OVP below the cells' voltage trips: charging stops and the alarm shows."""
    bms = virtual_bms(profile="charge")
    central = Central(hass, bms)
    await central.connect()
    await central.handshake()
    await central.send(encode_write("cell_ovp", 3.40, Variant.JK02_32S))
    await bms.push_cell_info(advance_s=1)
    cells = central.last_cell_info(Variant.JK02_32S)
    assert "alarm_cell_overvoltage" in cells.alarms
    assert cells.values()["charging"] is False
    assert cells.current == 0
    await central.disconnect()


async def test_drop_link_is_a_disconnect(
    hass: HomeAssistant, virtual_proxy: VirtualProxy, virtual_bms
) -> None:
    """A dropped link fires the disconnected callback and frees the proxy slot."""
    bms = virtual_bms()
    central = Central(hass, bms)
    await central.connect()
    assert _free_slots(virtual_proxy) == virtual_proxy.slots - 1
    bms.drop_link()
    await hass.async_block_till_done()
    assert central.disconnects == 1
    assert not central.client.is_connected
    assert _free_slots(virtual_proxy) == virtual_proxy.slots


async def test_drop_mid_frame(hass: HomeAssistant, virtual_bms) -> None:
    """The link drops half-way through a frame: no frame, a disconnect, and a clean reconnect."""
    bms = virtual_bms()
    central = Central(hass, bms)
    await central.connect()
    await central.handshake()
    bms.drop_link(after_bytes=150)
    await bms.push_cell_info()
    assert central.disconnects == 1
    assert central.frames(FrameType.CELL_INFO) == []
    await central.connect()
    await central.handshake()
    await bms.push_cell_info()
    assert len(central.frames(FrameType.CELL_INFO)) == 1
    await central.disconnect()


async def test_corrupted_frame_is_rejected(hass: HomeAssistant, virtual_bms) -> None:
    """A corrupted frame fails its checksum: counted, never delivered; the next one is fine."""
    bms = virtual_bms()
    central = Central(hass, bms)
    await central.connect()
    await central.handshake()
    bms.faults.corrupt_next_frames = 1
    await bms.push_cell_info()
    assert central.frames(FrameType.CELL_INFO) == []
    assert central.parser.stats.bad_checksum == 1
    await bms.push_cell_info()
    assert len(central.frames(FrameType.CELL_INFO)) == 1
    await central.disconnect()


async def test_skipped_and_delayed_acks(hass: HomeAssistant, virtual_bms) -> None:
    """A skipped ack never comes; a delayed ack comes late."""
    bms = virtual_bms()
    central = Central(hass, bms)
    await central.connect()
    bms.faults.skip_next_acks = 1
    await central.send(encode_request(Command.DEVICE_INFO))
    assert len(central.frames(FrameType.DEVICE_INFO)) == 1
    assert central.acks() == []
    bms.faults.ack_delay_s = 0.05
    await central.send(encode_request(Command.DEVICE_INFO))
    assert central.acks() == []
    await asyncio.sleep(0.1)
    await bms.flush()
    assert len(central.acks()) == 1
    await central.disconnect()


async def test_stop_streaming(hass: HomeAssistant, virtual_bms) -> None:
    """Streaming stops while the link stays up."""
    bms = virtual_bms(stream_interval=0.01)
    central = Central(hass, bms)
    await central.connect()
    await central.handshake()
    await asyncio.sleep(0.05)
    bms.faults.stop_streaming = True
    await asyncio.sleep(0.02)
    count = len(central.frames(FrameType.CELL_INFO))
    await asyncio.sleep(0.1)
    assert count > 0
    assert len(central.frames(FrameType.CELL_INFO)) == count
    assert central.client.is_connected
    await central.disconnect()


async def test_refused_connection(
    hass: HomeAssistant, virtual_proxy: VirtualProxy, virtual_bms, no_backoff
) -> None:
    """A BMS that ignores connection requests: retried, then a connection error."""
    bms = virtual_bms()
    bms.faults.refuse_connections = True
    with pytest.raises(bleak_retry_connector.BleakNotFoundError):
        await Central(hass, bms).connect()
    assert (
        virtual_proxy.connect_attempts[bms.address]
        == bleak_retry_connector.MAX_CONNECT_ATTEMPTS
    )
    assert _free_slots(virtual_proxy) == virtual_proxy.slots


async def test_other_central_holds_the_link(
    hass: HomeAssistant, virtual_bms, no_backoff
) -> None:
    """The JK app is connected: Home Assistant cannot get a link."""
    bms = virtual_bms()
    bms.faults.other_central_connected = True
    with pytest.raises(BleakError):
        await Central(hass, bms).connect()


async def test_no_free_slot(
    hass: HomeAssistant, virtual_proxy: VirtualProxy, virtual_bms, no_backoff
) -> None:
    """All proxy slots busy → BleakOutOfConnectionSlotsError; a disconnect frees one."""
    virtual_proxy.slots = 1
    first, second = virtual_bms(), virtual_bms()
    central = Central(hass, first)
    await central.connect()
    assert _free_slots(virtual_proxy) == 0
    with pytest.raises(bleak_retry_connector.BleakOutOfConnectionSlotsError):
        await Central(hass, second).connect()
    await central.disconnect()
    assert _free_slots(virtual_proxy) == 1
    other = Central(hass, second)
    await other.connect()
    await other.disconnect()


async def test_pairing_required(hass: HomeAssistant, virtual_bms, no_backoff) -> None:
    """19.3x firmware: no link without pairing; pair=True works."""
    bms = virtual_bms()
    bms.faults.require_pairing = True
    with pytest.raises(BleakError, match="pairing"):
        await Central(hass, bms).connect()
    central = Central(hass, bms)
    await central.connect(pair=True)
    await central.handshake()
    assert len(central.frames()) == 2
    await central.disconnect()


async def test_factory_passwords_visible(hass: HomeAssistant, virtual_bms) -> None:
    """Factory PIN/password are in the device-info frame until changed."""
    changed = virtual_bms(pin="9876", settings_password="654321")  # noqa: S106 - a test PIN
    central = Central(hass, changed)
    await central.connect()
    await central.send(encode_request(Command.DEVICE_INFO))
    info = decode_frame(central.frames(FrameType.DEVICE_INFO)[0], None)
    assert isinstance(info, DeviceInfo)
    assert not info.uses_factory_passwords
    await central.disconnect()


async def test_energy_truth_matches_stream(hass: HomeAssistant, virtual_bms) -> None:
    """Integrating the streamed V * I over time reproduces the pack's true energy."""
    bms = virtual_bms()
    central = Central(hass, bms)
    await central.connect()
    await central.handshake()
    await bms.push_cell_info(advance_s=0)
    integrated_wh = 0.0
    for _ in range(120):
        await bms.push_cell_info(advance_s=30)
        cells = central.last_cell_info(Variant.JK02_32S)
        integrated_wh += cells.total_voltage * cells.current * 30 / 3600
    assert bms.battery.truth.energy_in_wh > 800  # an hour at ~61 A * 13.7 V
    assert integrated_wh == pytest.approx(bms.battery.truth.energy_in_wh, rel=0.01)
    await central.disconnect()
