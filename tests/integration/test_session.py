"""The link session's own API, driven through Home Assistant's Bluetooth stack and the virtual BMS.

What other parts build on: one immutable snapshot per accepted frame, the shield
hook (every decoded frame, drops counted per reason), the logbook riding the
connection a poll opens anyway, typed errors, and the slot turn held while
connected.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import FrozenInstanceError

import pytest
from bleak.backends.device import BLEDevice
from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant

from custom_components.jk_bms.protocol import (
    CellInfo,
    CellSample,
    FrameType,
    NotConnectedError,
    Variant,
)
from custom_components.jk_bms.protocol.session import (
    JkBmsSession,
    LinkMode,
    LinkStatus,
    Snapshot,
)
from custom_components.jk_bms.protocol.snapshot import Frame
from virtual_bms.device import VirtualJkBms


class DropEveryOtherCellFrame:
    """A shield that refuses every second streamed cell frame (and says why)."""

    def __init__(self, variant: Variant) -> None:
        self.variant = variant
        self.seen: list[tuple[type, float]] = []
        self.drops: dict[str, int] = {}

    def check(self, frame: Frame, at: float) -> str | None:
        self.seen.append((type(frame), at))
        return None

    def check_sample(self, sample: CellSample, at: float) -> str | None:
        self.seen.append((type(sample), at))
        if sum(kind is CellSample for kind, _ in self.seen) % 2 == 0:
            self.drops["every_other"] = self.drops.get("every_other", 0) + 1
            return "every_other"
        return None

    def check_sampled(
        self, cell: CellInfo, at: float, before: object = None
    ) -> str | None:
        self.seen.append((type(cell), at))
        return None

    def observe(self, cell: CellInfo, at: float) -> None:
        self.seen.append((type(cell), at))


def _session(hass: HomeAssistant, bms: VirtualJkBms, **kwargs: object) -> JkBmsSession:
    def device() -> BLEDevice | None:
        return bluetooth.async_ble_device_from_address(
            hass, bms.address, connectable=True
        )

    return JkBmsSession(device, name=bms.address, **kwargs)  # type: ignore[arg-type]


async def test_one_immutable_snapshot_per_accepted_frame(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The shield sees every decoded frame; only accepted ones become snapshots."""
    bms: VirtualJkBms = virtual_bms(stream_interval=0.01)
    shields: list[DropEveryOtherCellFrame] = []

    def shield(variant: Variant) -> DropEveryOtherCellFrame:
        shields.append(DropEveryOtherCellFrame(variant))
        return shields[-1]

    session = _session(hass, bms, shield_factory=shield)
    snapshots: list[Snapshot] = []
    session.subscribe(snapshots.append)
    first = await session.start()
    # The handshake: device info, settings, first cell frame, each a snapshot.
    assert [s.frame_type for s in snapshots[:3]] == [
        FrameType.DEVICE_INFO,
        FrameType.SETTINGS,
        FrameType.CELL_INFO,
    ]
    assert first is snapshots[2]
    assert first.variant is bms.variant
    bms.faults.stop_streaming = True
    await bms.flush()
    samples: list[tuple[CellSample, float]] = []
    session.subscribe_samples(lambda sample, at: samples.append((sample, at)))
    published, drops = len(snapshots), shields[0].drops.get("every_other", 0)
    for _ in range(4):
        await bms.push_cell_info(advance_s=1)
    await bms.flush()
    # Four frames sampled, every other one dropped by the shield; none shown yet.
    assert len(samples) == 2
    assert shields[0].drops["every_other"] == drops + 2
    assert len(snapshots) == published
    # Shown: the newest accepted frame, decoded in full, once.
    shown = session.refresh()
    assert shown is snapshots[-1]
    assert len(snapshots) == published + 1
    assert shown.cell_info is not None
    assert shown.cell_info.current == samples[-1][0].current
    assert shown.received_at == samples[-1][1]
    assert session.refresh() is shown
    diagnostics = session.diagnostics()
    assert diagnostics["drops"] == shields[0].drops
    assert diagnostics["link"]["implausible_frames"] == drops + 2
    # Snapshots never change after publication; the next one is a new object.
    assert len({id(s) for s in snapshots}) == len(snapshots)
    with pytest.raises(FrozenInstanceError):
        first.cell_info = None  # type: ignore[misc]
    times = [at for kind, at in shields[0].seen if kind is CellSample]
    assert times == sorted(times)
    await session.stop()


async def test_logbook_rides_the_next_poll(hass: HomeAssistant, virtual_bms) -> None:
    """Poll mode between polls: the logbook is read inside the next poll's connection."""
    bms: VirtualJkBms = virtual_bms(stream_interval=0.01)
    statuses: list[LinkStatus] = []
    session = _session(hass, bms, mode=LinkMode.POLL, poll_interval=0.05)
    session.subscribe_link(statuses.append)
    await session.start()
    assert not bms.connected
    connections = bms.connections
    logbook = await asyncio.wait_for(session.request_logbook(), 10)
    assert [e.event for e in logbook.entries][:2] == ["Boot", "Factory setting LFP"]
    assert bms.connections == connections + 1  # the poll's connection, no other
    assert len(bms.commands(0xA1)) == 1
    assert session.snapshot is not None
    assert session.snapshot.logbook == logbook
    await session.stop()
    assert not bms.connected
    assert any(s.available and s.error is None for s in statuses)


async def test_turn_held_while_connected(hass: HomeAssistant, virtual_bms) -> None:
    """The slot turn is entered before connecting and left when the link is down."""
    bms: VirtualJkBms = virtual_bms(stream_interval=0.01)
    held: list[str] = []

    @asynccontextmanager
    async def turn() -> AsyncIterator[None]:
        held.append("in")
        try:
            yield
        finally:
            held.append("out")

    session = _session(hass, bms, connection_turn=turn)
    await session.start()
    assert held == ["in"]  # still connected: still held
    await session.stop()
    assert held == ["in", "out"]


async def test_typed_errors(hass: HomeAssistant, virtual_bms) -> None:
    """Not connected, and no variant that fits: typed, and nothing left held."""
    bms: VirtualJkBms = virtual_bms()
    session = _session(hass, bms)
    with pytest.raises(NotConnectedError):
        await session.request_settings()
    with pytest.raises(NotConnectedError):
        async with session.hold_link():
            pytest.fail("held without a link")

    assert not bms.connected


def test_published_types_are_frozen() -> None:
    """Subscribers may keep what they get."""
    status = LinkStatus(connected=True, available=True)
    with pytest.raises(FrozenInstanceError):
        status.connected = False  # type: ignore[misc]
