"""The virtual BMS writes its logbook like a JK02_32S: trips, releases, app switching."""

from __future__ import annotations

from custom_components.jk_bms.protocol import (
    Command,
    FrameType,
    Variant,
    decode_cell_info,
    decode_frame,
    decode_logbook,
    encode_request,
    encode_write,
)
from virtual_bms.device import VirtualJkBms
from virtual_bms.logbook import VirtualLogbook
from virtual_bms.templates import LOGBOOK_JK02_32S

from .test_device import Peer


async def _connected(model: str = "JK-B2A8S20P") -> tuple[VirtualJkBms, Peer]:
    device = VirtualJkBms(model, stream_interval=None, at_junk_probability=0)
    peer = Peer()
    device.accept(peer, paired=False)
    device.set_notifications(True)
    return device, peer


async def _read_logbook(device: VirtualJkBms, peer: Peer):
    device.receive(encode_request(Command.LOGBOOK))
    await device.flush()
    frames = [
        item
        for item in peer.items
        if getattr(item, "frame_type", None) == FrameType.LOGBOOK
    ]
    return decode_frame(frames[-1], Variant.JK02_32S)


def test_seeded_with_the_captured_entries_that_fit_its_runtime() -> None:
    """The capture's boot and factory-preset entries; not the ones from its future."""
    assert [
        (e.timestamp_s, e.code) for e in decode_logbook(LOGBOOK_JK02_32S).entries
    ] == [
        (0, 0x01),
        (238, 0x44),
        (2514095, 0x1B),
        (2514136, 0x1C),
    ]
    assert VirtualLogbook(10_800).entries == [(0, 0x01), (238, 0x44)]


async def test_undervoltage_trip_and_release_are_written_with_the_runtime() -> None:
    device, peer = await _connected()
    for cell in device.battery.cells:
        cell.state_of_charge = 0.0
    device.battery.profile.custom = lambda _t: -40.0
    start = device.runtime_s
    await device.push_cell_info(advance_s=5)
    assert "alarm_cell_undervoltage" in device.alarms()
    trip = device.logbook.entries[-1]
    assert trip[1] == 0x1D  # cell undervoltage protection
    assert start <= trip[0] <= device.runtime_s

    logbook = await _read_logbook(device, peer)
    assert logbook.entry_count == 3
    assert logbook.entries[-1].event == "Cell undervoltage protection"
    cell_frames = [
        item
        for item in peer.items
        if getattr(item, "frame_type", None) == FrameType.CELL_INFO
    ]
    cell_info = decode_cell_info(cell_frames[-1].data, Variant.JK02_32S)
    assert cell_info.detail_logs_count == 3
    assert cell_info.total_runtime == device.runtime_s

    for cell in device.battery.cells:
        cell.state_of_charge = 0.5
    device.battery.profile.custom = lambda _t: 0.0
    await device.push_cell_info(advance_s=60)
    assert device.logbook.entries[-1][1] == 0x1E  # released


async def test_app_switching_is_written() -> None:
    device, _peer = await _connected()
    device.receive(encode_write("charging", False, Variant.JK02_32S))
    device.receive(encode_write("charging", False, Variant.JK02_32S))  # no change
    device.receive(encode_write("discharging", False, Variant.JK02_32S))
    device.receive(encode_write("discharging", True, Variant.JK02_32S))
    await device.flush()
    assert [code for _, code in device.logbook.entries[2:]] == [0x04, 0x06, 0x05]


async def test_frame_carries_the_newest_fifty_and_the_total_count() -> None:
    device, peer = await _connected()
    device.logbook.extend((1000 + i, 0x03 + i % 2) for i in range(60))
    logbook = await _read_logbook(device, peer)
    assert logbook.entry_count == 62
    assert len(logbook.entries) == 50
    assert logbook.entries[-1].timestamp_s == 1059
    assert logbook.entries[0].timestamp_s == 1010


async def test_cleared_logbook_and_unknown_codes() -> None:
    device, peer = await _connected()
    device.logbook.clear()
    device.logbook.record(0x4A, 12_000)
    logbook = await _read_logbook(device, peer)
    assert logbook.entry_count == 1
    assert logbook.entries[0].code == 0x4A


async def test_no_logbook_on_24s() -> None:
    device, peer = await _connected("JK-B2A24S20P")
    device.receive(encode_request(Command.LOGBOOK))
    await device.flush()
    assert not [
        item
        for item in peer.items
        if getattr(item, "frame_type", None) == FrameType.LOGBOOK
    ]
