"""Plausibility of decoded cell-info frames: what a real pack can report.

The frame checksum is an 8-bit sum, so about 1 in 256 garbled frames passes it,
and the decoders accept any bytes. These limits are wide enough for every
captured frame from real devices (tests/protocol/vectors) and still reject what
a corrupted frame typically shows (cell voltages of tens of volts, SoC above
100 %, temperatures of hundreds of degrees, a total that is not the cells' sum).
"""

from __future__ import annotations

from typing import Final

from .errors import ImplausibleFrameError
from .models import CellInfo

# Volts for one present cell, any chemistry (LTO ~1.5 V … LFP/NMC up to ~4.3 V).
CELL_VOLTAGE_RANGE: Final = (0.5, 5.0)
# A present cell reading exactly 0 V is not garbage: an open sense wire reads
# so, and that frame carries the alarm the user must see.
UNMEASURED_CELL_VOLTAGE: Final = 0.0
# °C for a present temperature sensor.
TEMPERATURE_RANGE: Final = (-50.0, 150.0)
MAX_STATE_OF_CHARGE: Final = 100  # %
# The total voltage is measured separately from the cells, but agrees closely
# (within 0.05 % in the captures); 10 % leaves room for wiring and shunt drops.
TOTAL_VOLTAGE_TOLERANCE: Final = 0.10


def check_plausibility(cell_info: CellInfo) -> None:
    """Raise ImplausibleFrameError if ``cell_info`` cannot come from a real pack."""
    low, high = CELL_VOLTAGE_RANGE
    for number, volts in enumerate(cell_info.cell_voltages, start=1):
        if volts != UNMEASURED_CELL_VOLTAGE and not low <= volts <= high:
            raise ImplausibleFrameError(f"cell {number} at {volts} V")
    soc = cell_info.state_of_charge
    if soc is not None and soc > MAX_STATE_OF_CHARGE:
        raise ImplausibleFrameError(f"state of charge {soc} %")
    low, high = TEMPERATURE_RANGE
    for sensor, celsius in cell_info.temperatures.items():
        if not low <= celsius <= high:
            raise ImplausibleFrameError(f"temperature sensor {sensor} at {celsius} °C")
    total = cell_info.total_voltage
    cells = sum(cell_info.cell_voltages)
    if (
        total is not None
        and cells > 0
        and abs(total - cells) > TOTAL_VOLTAGE_TOLERANCE * cells
    ):
        raise ImplausibleFrameError(
            f"total voltage {total} V, cells add up to {cells:.3f} V"
        )
