"""Open-circuit voltage tables: what a rested cell's voltage says about its charge.

Data, one table per chemistry of the JK app (keys equal ``validation.Chemistry``'s
values), plus the inverse lookup. No Home Assistant, no protocol: the SoC
cross-check (``soc_check.py``) is the only user.

A rested cell's voltage maps to its state of charge through a curve that
depends on the chemistry and, a little, on the maker, the temperature, the age
and the direction the cell came from (hysteresis). Each table is therefore a
published pseudo-OCV curve (slow charge and discharge averaged) plus a voltage
``tolerance`` that covers the rest; the cross-check only claims what the curve
allows within that tolerance.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OcvTable:
    """Rested cell voltage versus state of charge for one chemistry."""

    # (rested cell voltage V, state of charge %), both ascending.
    points: tuple[tuple[float, float], ...]
    # How far (V) a real rested cell may sit from the curve: makers, hysteresis,
    # temperature, the BMS's measurement, relaxation left after the rest time.
    tolerance: float
    # Where this chemistry's full-charge limits live (cell OVP, SOC-100 %
    # voltage, V): the settings tell the chemistry when both fall in here.
    full_charge_window: tuple[float, float]

    def state_of_charge(self, voltage: float) -> float:
        """State of charge (%) at a rested ``voltage``, linear between points, clamped."""
        points = self.points
        if voltage <= points[0][0]:
            return points[0][1]
        if voltage >= points[-1][0]:
            return points[-1][1]
        index = bisect_left(points, voltage, key=lambda point: point[0])
        (v_low, soc_low), (v_high, soc_high) = points[index - 1], points[index]
        return soc_low + (soc_high - soc_low) * (voltage - v_low) / (v_high - v_low)

    def band(self, lowest: float, highest: float) -> tuple[float, float]:
        """SoC band (%) the pack can be in with its lowest and highest rested cell.

        The lowest cell minus the tolerance bounds it from below, the highest
        cell plus the tolerance from above: an unbalanced pack only widens it.
        """
        return (
            self.state_of_charge(lowest - self.tolerance),
            self.state_of_charge(highest + self.tolerance),
        )


# LiFePO4. Source: Sunil, Pattipati, Balasingam, "Piecewise Linear Approximation
# of Battery Open-Circuit Voltage Characteristics Using Dynamic Programming",
# IEEE Trans. Instrum. Meas. 2025 — the optimised breakpoints published with it
# (github.com/soorajsunil/Piecewise-Battery-OCV) for a Lithium Werks APR18650M1B
# LiFePO4 cell, C/32 charge and discharge at room temperature; restated here as
# (V, %) rounded to 5 mV. Large prismatic cells (EVE, CATL) have the same flat
# plateau from about 3.27 V at 30 % to 3.35 V at 98 %: in the middle a rested
# voltage says little, at the knees below 10 % and above 98 % it says a lot.
# Tolerance 25 mV: charge/discharge hysteresis on the plateau is 10-20 mV either
# side of the averaged curve, plus the BMS's cell measurement (a few mV).
LIFEPO4 = OcvTable(
    points=(
        (2.010, 0.0),
        (2.420, 0.3),
        (2.740, 1.2),
        (2.930, 2.7),
        (3.085, 5.3),
        (3.195, 8.9),
        (3.275, 29.7),
        (3.350, 98.3),
        (3.420, 99.5),
        (3.600, 100.0),
    ),
    tolerance=0.025,
    full_charge_window=(3.35, 3.70),
)

# Li-ion (NMC/NCA). Source: the same publication's breakpoints for a Samsung
# INR21700-40T (NMC), C/20 at room temperature, rounded to 5 mV. The Molicel
# P42A published beside it and the Sony/Murata US18650VTC6 C/20 curve
# (github.com/derlucae98/US18650VTC6_OCV_SOC_Curve) sit within about 60 mV of it
# below 20 % and within 25 mV above. Tolerance 40 mV for that spread between
# cathode mixes; the curve is steep everywhere, so the band stays narrow.
LI_ION = OcvTable(
    points=(
        (2.500, 0.0),
        (2.810, 0.5),
        (3.120, 3.5),
        (3.320, 8.5),
        (3.420, 13.6),
        (3.585, 29.2),
        (3.695, 45.2),
        (4.065, 83.9),
        (4.110, 95.5),
        (4.200, 100.0),
    ),
    tolerance=0.040,
    full_charge_window=(3.95, 4.35),
)

# LTO (lithium titanate anode, NMC cathode). No measured table was at hand: a
# coarse curve from the facts the cell makers state (Toshiba SCiB, Yinlong 66160
# datasheets: 1.5-2.8 V window, 2.3-2.4 V nominal at mid charge) and the LTO
# shape on batterydesign.net's "Open Circuit Voltage" page (steep below 10 %, a
# gentle slope through the middle, a rise above 90 %). The least certain table,
# hence the widest tolerance (50 mV).
LTO = OcvTable(
    points=(
        (1.800, 0.0),
        (2.050, 5.0),
        (2.180, 15.0),
        (2.250, 30.0),
        (2.300, 50.0),
        (2.380, 70.0),
        (2.480, 85.0),
        (2.580, 95.0),
        (2.700, 100.0),
    ),
    tolerance=0.050,
    full_charge_window=(2.40, 2.95),
)

# Keyed by ``validation.Chemistry`` values (a StrEnum member equals its value).
OCV_TABLES: Mapping[str, OcvTable] = {
    "lifepo4": LIFEPO4,
    "li_ion": LI_ION,
    "lto": LTO,
}
