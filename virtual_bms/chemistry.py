"""Cell chemistries: open-circuit voltage curves and the JK app's protection presets."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from enum import StrEnum


class Chemistry(StrEnum):
    """Cell chemistry of the simulated pack (the JK app's three presets)."""

    LFP = "lfp"
    LI_ION = "li_ion"
    LTO = "lto"


@dataclass(frozen=True, slots=True)
class ChemistryModel:
    """How one chemistry behaves: rested voltage versus state of charge, and limits."""

    chemistry: Chemistry
    # (state of charge 0..1, rested cell voltage V), ascending in both columns.
    ocv_curve: tuple[tuple[float, float], ...]
    # Protection preset (V) the JK app loads for this chemistry.
    cell_ovp: float
    cell_ovpr: float
    soc_100_voltage: float
    cell_uvpr: float
    soc_0_voltage: float
    cell_uvp: float
    power_off_voltage: float
    balancing_start_voltage: float
    smart_sleep_voltage: float

    def open_circuit_voltage(self, state_of_charge: float) -> float:
        """Rested cell voltage at ``state_of_charge`` (clamped to 0..1), linear between points."""
        soc = min(max(state_of_charge, 0.0), 1.0)
        points = self.ocv_curve
        index = bisect_right([p[0] for p in points], soc)
        if index <= 0:
            return points[0][1]
        if index >= len(points):
            return points[-1][1]
        (soc_low, v_low), (soc_high, v_high) = points[index - 1], points[index]
        return v_low + (v_high - v_low) * (soc - soc_low) / (soc_high - soc_low)


# LiFePO4: the long flat plateau around 3.3 V and the steep knees at both ends are
# why a JK BMS re-synchronises its coulomb counter at the SOC-100 % voltage.
LFP = ChemistryModel(
    chemistry=Chemistry.LFP,
    ocv_curve=(
        (0.0, 2.50),
        (0.01, 2.80),
        (0.03, 3.00),
        (0.06, 3.12),
        (0.10, 3.20),
        (0.20, 3.25),
        (0.30, 3.28),
        (0.40, 3.29),
        (0.50, 3.30),
        (0.60, 3.31),
        (0.70, 3.325),
        (0.80, 3.335),
        (0.90, 3.345),
        (0.95, 3.36),
        (0.98, 3.39),
        (0.99, 3.42),
        (0.995, 3.46),
        (1.0, 3.65),
    ),
    cell_ovp=3.55,
    cell_ovpr=3.50,
    soc_100_voltage=3.52,
    cell_uvpr=2.65,
    soc_0_voltage=2.62,
    cell_uvp=2.60,
    power_off_voltage=2.50,
    balancing_start_voltage=3.00,
    smart_sleep_voltage=3.50,
)

LI_ION = ChemistryModel(
    chemistry=Chemistry.LI_ION,
    ocv_curve=(
        (0.0, 3.00),
        (0.03, 3.30),
        (0.10, 3.45),
        (0.20, 3.55),
        (0.30, 3.62),
        (0.40, 3.68),
        (0.50, 3.74),
        (0.60, 3.80),
        (0.70, 3.88),
        (0.80, 3.96),
        (0.90, 4.06),
        (0.98, 4.15),
        (1.0, 4.25),
    ),
    cell_ovp=4.20,
    cell_ovpr=4.10,
    soc_100_voltage=4.15,
    cell_uvpr=3.20,
    soc_0_voltage=3.10,
    cell_uvp=3.00,
    power_off_voltage=2.90,
    balancing_start_voltage=3.60,
    smart_sleep_voltage=3.80,
)

LTO = ChemistryModel(
    chemistry=Chemistry.LTO,
    ocv_curve=(
        (0.0, 1.70),
        (0.03, 1.95),
        (0.10, 2.15),
        (0.20, 2.22),
        (0.30, 2.27),
        (0.40, 2.30),
        (0.50, 2.33),
        (0.60, 2.36),
        (0.70, 2.40),
        (0.80, 2.45),
        (0.90, 2.52),
        (0.98, 2.62),
        (1.0, 2.85),
    ),
    cell_ovp=2.80,
    cell_ovpr=2.70,
    soc_100_voltage=2.75,
    cell_uvpr=2.00,
    soc_0_voltage=1.90,
    cell_uvp=1.80,
    power_off_voltage=1.70,
    balancing_start_voltage=2.20,
    smart_sleep_voltage=2.40,
)

CHEMISTRIES: dict[Chemistry, ChemistryModel] = {
    Chemistry.LFP: LFP,
    Chemistry.LI_ION: LI_ION,
    Chemistry.LTO: LTO,
}


def protection_preset(chemistry: Chemistry) -> dict[str, float]:
    """Voltage settings (entities.md keys) the JK app's preset loads for ``chemistry``."""
    model = CHEMISTRIES[chemistry]
    return {
        "cell_ovp": model.cell_ovp,
        "cell_ovpr": model.cell_ovpr,
        "soc_100_voltage": model.soc_100_voltage,
        "cell_uvpr": model.cell_uvpr,
        "soc_0_voltage": model.soc_0_voltage,
        "cell_uvp": model.cell_uvp,
        "power_off_voltage": model.power_off_voltage,
        "balancing_start_voltage": model.balancing_start_voltage,
        "smart_sleep_voltage": model.smart_sleep_voltage,
    }
