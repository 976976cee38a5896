"""One cell-info frame on its own: what a real pack's frame can show (static rules).

Every redundancy the frame carries (total voltage vs the cells, power vs V x I,
SoC vs capacity, the BMS's own cell statistics, balancer status vs current) and
every limit the BMS's settings give (current, capacity, cell count, OVP). Each
rule returns the drop reason or None; tolerances are data in
``tables/frame_limits.py``.
"""

from __future__ import annotations

from .models import CellInfo, CellSample, Settings
from .tables import frame_limits as limits


def current_limit(settings: Settings | None) -> float:
    """Largest current (A) a real pack shows, from the configured OCP limits."""
    if settings is None:
        return limits.DEFAULT_CURRENT_LIMIT
    configured = [
        value
        for key in ("max_charge_current", "max_discharge_current")
        if isinstance(value := settings.get(key), int | float) and value > 0
    ]
    if not configured:
        return limits.DEFAULT_CURRENT_LIMIT
    return max(configured) * limits.CURRENT_LIMIT_FACTOR + limits.CURRENT_LIMIT_MARGIN


def cell_info_reason(cell: CellInfo, settings: Settings | None) -> str | None:
    """Return why a cell-info frame cannot be real on its own, or None."""
    details = cell.details
    return (
        _cells_reason(
            cell.cell_voltages,
            details.get("cell_presence_mask"),
            cell.total_voltage,
            settings,
        )
        or _statistics_reason(cell)
        or _current_reason(
            cell.current, cell.total_voltage, details.get("power_reported"), settings
        )
        or _capacity_reason(cell, settings)
        or _temperature_reason(cell)
        or _balancer_reason(cell)
    )


def cell_sample_reason(sample: CellSample, settings: Settings | None) -> str | None:
    """Return why a frame's sampled values cannot be real, or None (the same rules)."""
    if sample.state_of_charge is not None and sample.state_of_charge > 100:
        return "state_of_charge"
    return _cells_reason(
        sample.cell_voltages, sample.cell_presence_mask, sample.total_voltage, settings
    ) or _current_reason(
        sample.current, sample.total_voltage, sample.power_reported, settings
    )


def _cells_reason(
    voltages: tuple[float, ...],
    mask: object,
    total: float | None,
    settings: Settings | None,
) -> str | None:
    low, high = limits.CELL_VOLTAGE_RANGE
    ovp = settings.get("cell_ovp") if settings is not None else None
    if isinstance(ovp, int | float) and ovp > 0:
        high = min(high, ovp + limits.ABOVE_CELL_OVP)
    for volts in voltages:
        if volts != 0.0 and not low <= volts <= high:
            return "cell_voltage_range"
    if isinstance(mask, int) and not isinstance(mask, bool):
        for index, volts in enumerate(voltages):
            if volts != 0.0 and not mask >> index & 1:
                return "cell_not_present"
    count = settings.get("cell_count") if settings is not None else None
    if isinstance(count, int) and count > 0 and len(voltages) > count:
        return "cell_count"
    cells = sum(voltages)
    if total is not None:
        absolute, share = limits.TOTAL_VOLTAGE_TOLERANCE
        if abs(total - cells) > absolute + share * cells:
            return "total_voltage_vs_cells"
    return None


def _statistics_reason(cell: CellInfo) -> str | None:
    """Compare the BMS's own average and extreme cells (sampled a moment apart)."""
    reported = cell.details.get("average_cell_voltage_reported")
    average = cell.average_cell_voltage
    if (
        isinstance(reported, float)
        and average is not None
        and abs(reported - average) > limits.AVERAGE_CELL_TOLERANCE
    ):
        return "average_cell_voltage"
    voltages = cell.cell_voltages
    high, low = cell.max_cell_voltage, cell.min_cell_voltage
    if (
        high is None
        or low is None
        or not cell.details.get("delta_cell_voltage_reported")
    ):
        return None  # some 24S units leave their statistics at 0
    for key, extreme, sign in (
        ("max_voltage_cell_index", high, 1),
        ("min_voltage_cell_index", low, -1),
    ):
        index = cell.details.get(key)
        if not isinstance(index, int) or not 0 <= index < len(voltages):
            continue  # a unit with fewer statistics; the cells are checked anyway
        if sign * (extreme - voltages[index]) > limits.EXTREME_CELL_TOLERANCE:
            return "extreme_cell_index"
    return None


def _current_reason(
    current: float | None,
    total: float | None,
    reported: object,
    settings: Settings | None,
) -> str | None:
    if current is None:
        return None
    if abs(current) > current_limit(settings):
        return "current_limit"
    if total is None or not isinstance(reported, int | float):
        return None
    absolute, share = limits.POWER_TOLERANCE
    if total < limits.NO_VOLTAGE and abs(current) > absolute:
        return "current_without_voltage"
    computed = abs(total * current)
    if abs(reported - computed) > absolute * total + share * max(reported, computed):
        return "power_vs_current"
    return None


def _capacity_reason(cell: CellInfo, settings: Settings | None) -> str | None:
    soc, remaining, full = (
        cell.state_of_charge,
        cell.capacity_remaining,
        cell.full_charge_capacity,
    )
    if soc is not None and soc > 100:
        return "state_of_charge"
    if cell.state_of_health is not None and cell.state_of_health > 100:
        return "state_of_health"
    if remaining is None or full is None:
        return None
    if remaining < 0 or full < 0:
        return "capacity_negative"
    absolute, share = limits.REMAINING_ABOVE_FULL
    if remaining > full * (1 + share) + absolute:
        return "capacity_above_full"
    configured = settings.get("total_battery_capacity") if settings else None
    if (
        isinstance(configured, int | float)
        and configured > 0
        and full > configured * limits.FULL_CAPACITY_FACTOR
    ):
        return "capacity_above_configured"
    if soc and full > 0 and abs(soc - 100 * remaining / full) > limits.SOC_TOLERANCE:
        return "state_of_charge_vs_capacity"
    return None


def _temperature_reason(cell: CellInfo) -> str | None:
    low, high = limits.TEMPERATURE_RANGE
    readings = [*cell.temperatures.values()]
    if cell.mosfet_temperature is not None:
        readings.append(cell.mosfet_temperature)
    if readings and not low <= min(readings) <= max(readings) <= high:
        return "temperature_range"
    return None


def _balancer_reason(cell: CellInfo) -> str | None:
    status, current = cell.balancer_status, cell.balancing_current
    if status is None or current is None:
        return "balancer_status" if current is not None else None
    if status == "off":
        ok = abs(current) <= limits.BALANCER_OFF_CURRENT
    elif status == "charging":
        ok = current > 0
    else:
        ok = current < 0
    return None if ok else "balancer_status"
