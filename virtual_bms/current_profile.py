"""What the outside world asks of the pack: charger and load current over time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class ProfileKind(StrEnum):
    """Built-in current profiles."""

    CHARGE = "charge"
    DISCHARGE = "discharge"
    IDLE = "idle"
    CYCLE = "cycle"  # charge until the BMS stops charging, then discharge, repeat


@dataclass(slots=True)
class CurrentProfile:
    """Requested pack current (A, > 0 = charging, the JK sign convention).

    The BMS decides whether the current can flow (MOSFETs, protections); the
    profile only says what the charger or the load would push or draw.
    """

    kind: ProfileKind = ProfileKind.CYCLE
    charge_current: float = 61.0
    discharge_current: float = 40.0
    # CYCLE: back to charging when the true state of charge falls below this.
    recharge_below_soc: float = 0.15
    # Optional override: ``custom(time_s) -> requested current``.
    custom: Callable[[float], float] | None = None
    # CYCLE phase; flipped by the battery when a phase ends.
    charging_phase: bool = True

    def requested_current(self, time_s: float) -> float:
        """Return the current the charger/load asks for at simulation time ``time_s``."""
        if self.custom is not None:
            return self.custom(time_s)
        match self.kind:
            case ProfileKind.CHARGE:
                return self.charge_current
            case ProfileKind.DISCHARGE:
                return -self.discharge_current
            case ProfileKind.IDLE:
                return 0.0
            case ProfileKind.CYCLE:
                return (
                    self.charge_current
                    if self.charging_phase
                    else -self.discharge_current
                )

    def update_cycle_phase(
        self, *, true_soc: float, charge_blocked: bool, discharge_blocked: bool
    ) -> None:
        """Move a CYCLE profile to the next phase when the current one is over."""
        if self.kind is not ProfileKind.CYCLE or self.custom is not None:
            return
        if self.charging_phase and (charge_blocked or true_soc >= 0.999):
            self.charging_phase = False
        elif not self.charging_phase and (
            discharge_blocked or true_soc <= self.recharge_below_soc
        ):
            self.charging_phase = True
