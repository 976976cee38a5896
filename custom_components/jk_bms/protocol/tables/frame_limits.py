"""What a real pack can report, and how far a value can move between two frames.

Data for ``protocol/shield.py``. Every tolerance below was measured on the real
captured frames (tests/protocol/vectors, about 25 devices) and then set with a
margin; each sits under the smallest single-bit flip that would mislead a user
(see tests/protocol/test_shield_sweep.py for the sweep that checks it).

Measured spread on the captures, the reason for each tolerance:
* total voltage vs the cells' sum: at most 0.08 % (19 mV on 25 V).
* power field (unsigned W) vs |V x I|: at most 0.37 A x V apart at low current
  (the power is sampled a moment apart from the current: 0.729 A vs -0.366 A in
  consecutive JK02_32S frames), at most 1.6 % at 10 A and above.
* SoC vs 100 x remaining / full: at most 0.9 points (the BMS truncates); one
  24S unit reports SoC 0 with 89 % remaining, so SoC 0 is not cross-checked.
* reported average cell voltage vs the cells: at most 3.3 mV (sampled apart).
* balancer status vs balancing current: "off" carries at most 0.27 A, charging
  a positive and discharging a negative current.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

# Volts for one present cell, any chemistry (LTO ~1.5 V … NMC up to ~4.3 V). An
# open sense wire reads exactly 0 V: that frame carries the alarm the user must see.
CELL_VOLTAGE_RANGE: Final = (0.5, 5.0)
# A cell above its own over-voltage protection by more than this is not real.
ABOVE_CELL_OVP: Final = 0.5  # V
# °C for a present sensor (the NTCs JK ships read -40 … 120 °C).
TEMPERATURE_RANGE: Final = (-45.0, 125.0)
TOTAL_VOLTAGE_TOLERANCE: Final = (0.005, 0.008)  # V + share of the cells' sum
# 2 %: above the 1.6 % measured, below what lets a 1.024 A flip (bit 10 of the
# mA current) pass at 15-20 A, where it is more than 5 % of the current.
POWER_TOLERANCE: Final = (0.5, 0.02)  # A (times V) + share of the larger power
SOC_TOLERANCE: Final = 1.5  # points
AVERAGE_CELL_TOLERANCE: Final = 0.008  # V
# The cell the BMS names as highest (lowest) is at most this far from the highest
# (lowest) cell in the frame.
EXTREME_CELL_TOLERANCE: Final = 0.03  # V
BALANCER_OFF_CURRENT: Final = 0.3  # A
# Currents may exceed the configured limits for the protection's delay; twice
# the limit plus this is beyond any real pack's measurement.
CURRENT_LIMIT_FACTOR: Final = 2.0
CURRENT_LIMIT_MARGIN: Final = 20.0  # A
# Without a settings frame: the largest JK model's rating (1000 A B2A25SRP).
DEFAULT_CURRENT_LIMIT: Final = 1000.0  # A
# The learned full capacity may exceed the configured one, never by this factor.
FULL_CAPACITY_FACTOR: Final = 2.0
REMAINING_ABOVE_FULL: Final = (0.01, 0.02)  # Ah + share of full capacity


@dataclass(frozen=True, slots=True)
class Step:
    """How far a value may move from the last accepted frame in ``dt`` seconds.

    ``|change| <= absolute + per_second * dt + relative * |previous|``; with
    ``rising`` the value may only grow (a counter), by at most that much. A
    larger move is not trusted until the next frame confirms it.
    ``charge`` scales ``per_second`` by the current that can have flowed (see
    ``FLOW_FACTOR``), for capacities.
    """

    absolute: float = 0.0
    per_second: float = 0.0
    relative: float = 0.0
    rising: bool = False
    falling: bool = False
    charge: bool = False


CONFIRM = Step()  # any change needs a second frame
CELL_STEP: Final = Step(0.015, 0.005)  # V beyond the common move of all cells
CELL_COMMON_STEP: Final = Step(0.25, 0.2)  # V, all cells together (a load step)

# Key (or prefix ending in "_") -> step rule. Keys not listed move freely
# (current and power: a load step is instant; values derived from the cells).
STEPS: Mapping[str, Step] = {
    "cell_resistance_": Step(0.003, relative=0.05),
    "temperature_sensor_": Step(2.0, 0.5),
    "mosfet_temperature": Step(2.0, 0.5),
    "state_of_charge": Step(1.0),
    "state_of_health": CONFIRM,
    "capacity_remaining": Step(0.002, 1 / 3600, charge=True),
    "full_charge_capacity": Step(0.0, relative=0.005),
    "total_charging_cycle_capacity": Step(0.002, 1 / 3600, rising=True, charge=True),
    "charging_cycles": CONFIRM,
    "detail_logs_count": CONFIRM,
    "cell_count": CONFIRM,
    "total_runtime": Step(5.0, 1.1, rising=True),
    "emergency_time_countdown": Step(5.0, 1.1, falling=True),
    "balancing_current": Step(0.6),
    "heating_current": Step(0.6),
}
# Charge counted between two frames: at most this many times the larger of the
# two frames' currents plus the margin (a load peak between them), never more
# than the current limit allows.
FLOW_FACTOR: Final = 2.0
FLOW_MARGIN: Final = 5.0  # A
# A current moving this far (A) from the last frame while the power field sides
# with the old value is not trusted until the next frame shows it.
CURRENT_JUMP: Final = 0.5
# Frames in a row that all pass the static rules but break a step rule: a
# corrupted frame is a random one-off, so a run this long is the BMS's own
# behaviour (a counter that runs fast, a recalibrated capacity) and becomes the
# new reference instead of leaving the entities unavailable for good.
STEP_DROPS_TO_REANCHOR: Final = 10
# A pack reading (almost) no voltage carries no current the BMS can measure.
NO_VOLTAGE: Final = 1.0  # V
# Discrete values guarded by a static rule instead (balancer status vs current).
STATICALLY_CHECKED: frozenset[str] = frozenset({"balancer_status", "balancing"})
# Device-info values that move on their own: uptime counts seconds.
DEVICE_INFO_STEPS: Mapping[str, Step] = {"uptime": Step(60.0, 1.1, rising=True)}
# A write read back from the cell-info frame moves these together at once.
WRITTEN_TOGETHER: Mapping[str, frozenset[str]] = {
    "emergency": frozenset({"emergency", "emergency_time_countdown"}),
}
