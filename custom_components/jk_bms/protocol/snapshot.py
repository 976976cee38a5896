"""What a link session publishes: snapshots, link status, and the shield hook it calls.

The shield itself is ``shield.FrameShield`` (the default of every session).

Kept apart from session.py so that subscribers (and the shield) import data
types without the link machinery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from .enums import FrameType, Variant
from .errors import ProtocolError
from .fields import Value
from .models import CellInfo, CellSample, DeviceInfo, Logbook, Settings

type Frame = DeviceInfo | Settings | CellInfo | Logbook


class LinkMode(StrEnum):
    """How the session holds the link."""

    STREAM = "stream"
    """Stay connected; the BMS streams about two cell frames a second."""
    POLL = "poll"
    """Connect every poll interval, read, let go (frees the proxy slot and the BMS)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything known about the BMS after one accepted frame (never mutated)."""

    variant: Variant
    device_info: DeviceInfo
    settings: Settings | None
    cell_info: CellInfo | None
    logbook: Logbook | None
    frame_type: FrameType
    received_at: float


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The link as the owner sees it; published on change and after every poll."""

    connected: bool = False
    available: bool = False
    error: ProtocolError | None = None
    attempt: int = 0


type EarlierFrame = Callable[[], tuple[CellInfo, float] | None]  # decoded on demand


class FrameShield(Protocol):
    """Decides per decoded frame whether it can come from a real pack."""

    @property
    def drops(self) -> Mapping[str, int]:
        """Dropped frames per reason."""

    def check(self, frame: Frame, at: float) -> str | None:
        """Return None to accept ``frame``, or the reason to drop it."""

    def check_sample(self, sample: CellSample, at: float) -> str | None:
        """Return None to accept a streamed cell frame's sample, or the reason."""

    def check_sampled(
        self, cell: CellInfo, at: float, before: EarlierFrame | None = None
    ) -> str | None:
        """Return None to accept the whole frame of an accepted sample, or the reason.

        ``before``: the frame received before it, asked for when the check fails.
        """

    def observe(self, cell: CellInfo, at: float) -> None:
        """Show the full check a cell frame that is not shown (no drop counted)."""

    def expect_write(self, key: str, value: Value) -> None:
        """Let the read-back of a write change ``key`` to ``value`` at once."""

    @property
    def confirmed_settings(self) -> Settings | None:
        """The settings read twice alike (or confirmed by a write), else None."""

    @property
    def confirmed_device_info(self) -> DeviceInfo | None:
        """The device info read twice alike, else None."""
