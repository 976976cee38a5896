"""The virtual BMS's protocol behaviour, checked with the protocol layer's own parser."""

from __future__ import annotations

import pytest

from custom_components.jk_bms.protocol import (
    Ack,
    Command,
    FrameType,
    RawFrame,
    StreamParser,
    Variant,
    decode_frame,
    encode_request,
    encode_write,
)
from virtual_bms.dev_spec import parse_specs
from virtual_bms.device import ACK, AT_JUNK, VirtualJkBms
from virtual_bms.link import ConnectionRefusedByBmsError, RefusalReason


class Peer:
    def __init__(self) -> None:
        self.parser = StreamParser()
        self.sizes: list[int] = []
        self.raw: list[bytes] = []
        self.items: list[RawFrame | Ack] = []
        self.lost = 0

    def notification(self, data: bytes) -> None:
        self.sizes.append(len(data))
        self.raw.append(data)
        self.items.extend(self.parser.feed(data))

    def link_lost(self) -> None:
        self.lost += 1


async def _connected(
    model: str = "JK-B2A8S20P", **options
) -> tuple[VirtualJkBms, Peer]:
    device = VirtualJkBms(model, stream_interval=None, **options)
    peer = Peer()
    device.accept(peer, paired=False)
    device.set_notifications(True)
    return device, peer


async def test_chunking_like_the_real_module() -> None:
    device, peer = await _connected(at_junk_probability=0)
    device.receive(encode_request(Command.DEVICE_INFO))
    await device.flush()
    assert peer.sizes == [128, 22, 128, 22, 20]
    assert peer.raw[-1] == ACK


@pytest.mark.parametrize(
    ("layout", "sizes"), [((20,), [20] * 15), ((128, 128, 44), [128, 128, 44])]
)
async def test_configurable_chunk_layout(layout, sizes) -> None:
    device, peer = await _connected(chunk_layout=layout, at_junk_probability=0)
    device.receive(encode_request(Command.DEVICE_INFO))
    await device.flush()
    assert peer.sizes[:-1] == sizes


async def test_at_junk_after_acks() -> None:
    device, peer = await _connected(at_junk_probability=1.0)
    device.receive(encode_request(Command.DEVICE_INFO))
    await device.flush()
    assert peer.raw[-2:] == [ACK, AT_JUNK]
    assert peer.parser.stats.junk_bytes == 4


async def test_ack_after_every_command_and_exact_bytes_recorded() -> None:
    device, peer = await _connected()
    write = encode_write("cell_ovp", 3.6, Variant.JK02_32S)
    device.receive(write)
    device.receive(b"\x00garbage")
    await device.flush()
    assert device.received[0].data == write
    assert device.received[0].setting == ("cell_ovp", 3.6)
    assert device.received[1].frame is None
    assert len([i for i in peer.items if isinstance(i, Ack)]) == 1


async def test_settings_request_returns_written_value() -> None:
    device, peer = await _connected()
    device.receive(encode_write("balance_trigger_voltage", 0.02, Variant.JK02_32S))
    device.receive(encode_request(Command.SETTINGS))
    await device.flush()
    settings = decode_frame(peer.items[-2], Variant.JK02_32S)
    assert settings.values()["balance_trigger_voltage"] == pytest.approx(0.02)
    assert device.streaming


async def test_pb_repeats_device_info_after_settings() -> None:
    device, peer = await _connected("JK-PB2A16S20P")
    device.receive(encode_request(Command.SETTINGS))
    await device.flush()
    frames = [i for i in peer.items if isinstance(i, RawFrame)]
    assert [f.frame_type for f in frames] == [FrameType.SETTINGS, FrameType.DEVICE_INFO]
    assert frames[1].counter == 0xA5


async def test_one_central_at_a_time() -> None:
    device, _peer = await _connected()
    with pytest.raises(ConnectionRefusedByBmsError) as err:
        device.accept(Peer(), paired=False)
    assert err.value.reason is RefusalReason.BUSY


async def test_restart_action_drops_link_after_ack() -> None:
    device, peer = await _connected()
    device.receive(encode_request(Command.RESTART))
    await device.flush()
    assert isinstance(peer.items[-1], Ack)
    assert peer.lost == 1
    assert not device.connected


def test_dev_spec_default_and_list() -> None:
    (default,) = parse_specs(None)
    assert default.profile.key == "JK-B2A8S20P"
    specs = parse_specs("32s:JK-B2A8S20P:4:lfp:cycle,24s::16:lfp:discharge,04")
    assert [s.profile.variant for s in specs] == [
        Variant.JK02_32S,
        Variant.JK02_24S,
        Variant.JK04,
    ]
    assert specs[1].cells == 16
    with pytest.raises(ValueError):
        parse_specs("24s:JK-B2A8S20P")


def test_dev_spec_drift_starts_the_counter_off_the_truth() -> None:
    (spec,) = parse_specs("32s::4:lfp:idle:+30")
    assert spec.soc_drift == 30
    device = spec.build("C8:47:8C:D0:00:01", time_scale=1.0)
    truth = device.battery.true_state_of_charge * 100
    assert device.battery.state_of_charge == pytest.approx(truth + 30, abs=1)
    assert parse_specs("32s")[0].soc_drift == 0
    with pytest.raises(ValueError):
        parse_specs("32s::4:lfp:idle:+30:extra")
