"""The frame shield: no garbled frame reaches a state, an energy meter or a write.

The frame checksum is an 8-bit sum, so about 1 in 256 garbled frames passes it.
``FrameShield.check(frame, at)`` runs for every decoded frame before it is
published: ``None`` accepts it, a string is the drop reason (counted in
``drops``). It uses what the frame itself repeats (total voltage vs the cells,
power vs V x I, SoC vs capacity, the BMS's own cell statistics, balancer status
vs current), the limits the BMS's settings give (current, capacity, cell count,
OVP), and how far a value can move since the last accepted frame. A move beyond
that is not trusted until the next frame shows it too; a setting or device-info
value that changed without a write is not trusted until read twice. Limits and
tolerances are data: ``tables/frame_limits.py``. One job per module:
``cell_frame_rules.py`` (one cell frame on its own), ``frame_steps.py`` (between
two frames), ``setting_frame_rules.py`` (settings and device info); this module
keeps the state (what was accepted, candidates, announced writes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import copy

from .cell_frame_rules import cell_info_reason, cell_sample_reason, current_limit
from .enums import FrameType, Variant
from .fields import Value
from .frame_steps import cell_step_reason, sample_step_reason
from .models import CellInfo, CellSample, DeviceInfo, Logbook, Settings
from .setting_frame_rules import (
    RULE_BROKEN,
    changed_keys,
    device_changes,
    device_info_reason,
    settings_reason,
)
from .setting_rules import holds
from .snapshot import EarlierFrame
from .tables import frame_limits as limits
from .tables.registers import REGISTERS

__all__ = ["FrameShield", "current_limit"]

type Frame = DeviceInfo | Settings | CellInfo | Logbook
type StepReason[T] = Callable[[T, T, float], str | None]


class _Anchor[T]:
    """The last accepted frame of one kind, and a move waiting to be confirmed.

    A move beyond the step rules is dropped until the next frame shows it too
    (a corrupted frame is a one-off), or until a long run of frames all show
    moves (the BMS's own behaviour, e.g. a time-scaled pack): then the newest
    becomes the reference.
    """

    __slots__ = ("_accepted", "_candidate", "_step_drops")

    def __init__(self) -> None:
        self._accepted: tuple[T, float] | None = None
        self._candidate: tuple[T, float] | None = None
        self._step_drops = 0  # in a row, since the last accepted frame

    def judge(
        self,
        frame: T,
        at: float,
        step_reason: StepReason[T],
    ) -> str | None:
        """Accept ``frame`` (None) or return the step rule it breaks."""
        if self._accepted is None:
            self._take(frame, at)
            return None
        previous, since = self._accepted
        reason = step_reason(previous, frame, at - since)
        if reason is None:
            self._take(frame, at)
            return None
        candidate = self._candidate
        self._step_drops += 1
        if (
            candidate is not None
            and step_reason(candidate[0], frame, at - candidate[1]) is None
        ) or self._step_drops >= limits.STEP_DROPS_TO_REANCHOR:
            self._take(frame, at)  # the move is real: shown twice, or a long run
            return None
        self._candidate = (frame, at)
        return reason

    def _take(self, frame: T, at: float) -> None:
        self._accepted, self._candidate, self._step_drops = (frame, at), None, 0


class FrameShield:
    """Per-BMS frame gate: one per link, remembers what it accepted."""

    def __init__(self, variant: Variant) -> None:
        """Start with nothing accepted (the first frames only meet static rules)."""
        self.variant = variant
        self._drops: dict[str, int] = {}
        self._cells: _Anchor[CellInfo] = _Anchor()  # whole frames, as shown
        self._samples: _Anchor[CellSample] = _Anchor()  # every streamed frame
        self._settings: Settings | None = None
        self._settings_candidate: Settings | None = None
        self._settings_confirmed = False
        self._device: tuple[DeviceInfo, float] | None = None
        self._device_candidate: DeviceInfo | None = None
        self._device_confirmed = False
        self._expected: dict[str, Value] = {}

    def __copy__(self) -> FrameShield:
        """Return a shield that goes on from this one's state without sharing it."""
        other = object.__new__(FrameShield)
        state = dict(self.__dict__)
        state["_cells"], state["_samples"] = copy(self._cells), copy(self._samples)
        other.__dict__.update(state)
        return other

    # ------------------------------------------------------------ public

    @property
    def drops(self) -> Mapping[str, int]:
        """Dropped frames per reason."""
        return self._drops

    @property
    def confirmed_settings(self) -> Settings | None:
        """The settings read twice identically, or confirmed by a write's read-back."""
        return self._settings if self._settings_confirmed else None

    @property
    def confirmed_device_info(self) -> DeviceInfo | None:
        """The device info read twice identically (its 32S settings included)."""
        return self._device[0] if self._device and self._device_confirmed else None

    @property
    def current_limit(self) -> float:
        """Largest current (A) a real frame can show, from the accepted settings."""
        return current_limit(self._settings)

    def expect_write(self, key: str, value: Value) -> None:
        """Announce a write: its read-back may change ``key`` to ``value`` at once."""
        self._expected[key] = value

    def check(self, frame: Frame, at: float) -> str | None:
        """Accept (None) or drop (the reason) one decoded frame received at ``at`` (s)."""
        match frame:
            case CellInfo():
                reason = self._check_cell_info(frame, at)
            case Settings():
                reason = self._check_settings(frame)
            case DeviceInfo():
                reason = self._check_device_info(frame, at)
            case _:
                reason = None
        return self._counted(reason)

    # --------------------------------------------------------- cell info

    def check_sample(self, sample: CellSample, at: float) -> str | None:
        """Accept (None) or drop (the reason) the sampled values of a cell frame.

        Every streamed cell frame passes here before its V and I reach an energy
        meter; the whole frame meets ``check`` when it is shown (at the hand-on).
        """
        reason = cell_sample_reason(sample, self._settings) or self._samples.judge(
            sample,
            at,
            lambda old, new, dt: sample_step_reason(old, new, dt, self.current_limit),
        )
        return self._counted(reason)

    def check_sampled(
        self, cell: CellInfo, at: float, before: EarlierFrame | None = None
    ) -> str | None:
        """``check`` for the whole frame of a sample ``check_sample`` accepted.

        The step rules on the sampled values (cells, current, SoC) ran frame by
        frame already; the rest meet theirs against the last frame shown. When
        that fails, the frame received ``before`` it (decoded only then) meets
        the check first, uncounted: a real move in a value that is not sampled
        shows in two frames in a row, as the step rules want.
        """
        saved = copy(self._cells)
        reason = self._check_cell_info(cell, at, sampled=True)
        if reason is not None and before is not None and (earlier := before()):
            self._cells = saved
            self._check_cell_info(*earlier, sampled=True)
            reason = self._check_cell_info(cell, at, sampled=True)
        return self._counted(reason)

    def observe(self, cell: CellInfo, at: float) -> None:
        """Let the whole of a cell frame that is not shown meet ``check_sampled``.

        No drop is counted. The first frame of a jump (its sample dropped): the
        jump's other values moved in it too, so the frame shown next is judged
        against it as the per-frame rules would.
        """
        self._check_cell_info(cell, at, sampled=True)

    def _counted(self, reason: str | None) -> str | None:
        if reason is not None:
            self._drops[reason] = self._drops.get(reason, 0) + 1
        return reason

    def _check_cell_info(
        self, cell: CellInfo, at: float, *, sampled: bool = False
    ) -> str | None:
        reason = cell_info_reason(cell, self._settings)
        if reason is not None:
            return reason
        written = self._written_cells(cell)
        limit = self.current_limit
        reason = self._cells.judge(
            cell,
            at,
            lambda old, new, dt: cell_step_reason(
                old, new, dt, limit, free=written, sampled=sampled
            ),
        )
        if reason is None:
            for key in written & self._expected.keys():
                del self._expected[key]
        return reason

    def _written_cells(self, cell: CellInfo) -> frozenset[str]:
        """Keys a write's read-back may move at once (emergency and its countdown)."""
        free: set[str] = set()
        for key, target in self._expected.items():
            spec = REGISTERS.get(key)
            if (
                spec is not None
                and spec.readback.frame_type is FrameType.CELL_INFO
                and target is not None
                and key in cell.entries
                and holds(spec, cell.entries[key], target)
            ):
                free |= limits.WRITTEN_TOGETHER.get(key, {key})
        return frozenset(free)

    # ---------------------------------------------------------- settings

    def _check_settings(self, settings: Settings) -> str | None:
        reason = settings_reason(settings)
        candidate = self._settings_candidate
        repeated = candidate is not None and not changed_keys(
            candidate.entries, settings.entries
        )
        if reason == RULE_BROKEN and not repeated:
            # A flip does not repeat itself; a BMS holding an odd pair does
            # (a preset that leaves RCV above the new OVP): read twice, shown.
            self._settings_candidate = settings
            return reason
        if reason is not None and reason != RULE_BROKEN:
            return reason
        accepted = self._settings
        if accepted is None:
            self._settings, self._settings_confirmed = settings, False
            return None
        changed = changed_keys(accepted.entries, settings.entries)
        if not changed:
            self._settings, self._settings_confirmed = settings, True
            self._settings_candidate = None
            return None
        if self._written(changed, settings.entries):
            self._settings, self._settings_confirmed = settings, True
            self._settings_candidate = None
            return None
        candidate = self._settings_candidate
        if candidate is not None and not changed_keys(
            candidate.entries, settings.entries
        ):
            self._settings, self._settings_confirmed = settings, True
            self._settings_candidate = None
            return None
        self._settings_candidate = settings
        return "settings_changed_unconfirmed"

    def _written(self, changed: set[str], values: Mapping[str, Value]) -> bool:
        """Tell whether every change is an announced write, now read back."""
        if not changed or not changed <= self._expected.keys():
            return False
        for key in changed:
            spec = REGISTERS.get(key)
            target = self._expected[key]
            if (
                spec is None
                or target is None
                or not holds(spec, values.get(key), target)
            ):
                return False
        for key in changed:
            del self._expected[key]
        return True

    # ------------------------------------------------------- device info

    def _check_device_info(self, info: DeviceInfo, at: float) -> str | None:
        reason = device_info_reason(info, self.variant)
        if reason is not None:
            return reason
        if self._device is None:
            self._device, self._device_confirmed = (info, at), False
            return None
        previous, since = self._device
        changed = device_changes(previous, info, at - since)
        if not changed or self._written(changed, info.entries):
            self._device, self._device_confirmed = (info, at), True
            self._device_candidate = None
            return None
        candidate = self._device_candidate
        if candidate is not None and not device_changes(candidate, info, None):
            self._device, self._device_confirmed = (info, at), True
            self._device_candidate = None
            return None
        self._device_candidate = info
        return "device_info_changed_unconfirmed"
