"""Turn the simulated pack's state into the values of a cell-info frame, per variant."""

from __future__ import annotations

from custom_components.jk_bms.protocol import ALARMS, Value, Variant

from .battery import Battery

CELL_SLOTS = {Variant.JK02_24S: 24, Variant.JK02_32S: 32, Variant.JK04: 24}
JK04_RESISTANCE_SLOTS = 25
TEMPERATURE_SLOTS = {Variant.JK02_24S: 2, Variant.JK02_32S: 5, Variant.JK04: 0}
ALARM_BITS = {Variant.JK02_24S: 16, Variant.JK02_32S: 32, Variant.JK04: 0}


def _cell_values(battery: Battery, variant: Variant) -> dict[str, Value]:
    voltages = [
        round(v, 5 if variant is Variant.JK04 else 3) for v in battery.cell_voltages
    ]
    count = len(voltages)
    values: dict[str, Value] = {}
    for index in range(1, CELL_SLOTS[variant] + 1):
        values[f"cell_voltage_{index}"] = voltages[index - 1] if index <= count else 0.0
    resistance_slots = (
        JK04_RESISTANCE_SLOTS if variant is Variant.JK04 else CELL_SLOTS[variant]
    )
    for index in range(1, resistance_slots + 1):
        values[f"cell_resistance_{index}"] = (
            battery.cells[index - 1].wire_resistance_ohm if index <= count else 0.0
        )
    high = max(range(count), key=voltages.__getitem__)
    low = min(range(count), key=voltages.__getitem__)
    values["average_cell_voltage_reported"] = round(sum(voltages) / count, 3)
    values["delta_cell_voltage_reported"] = round(voltages[high] - voltages[low], 3)
    values["max_voltage_cell_index"] = high
    values["min_voltage_cell_index"] = low
    return values


def _balancer_values(battery: Battery) -> dict[str, Value]:
    current = battery.balancing_current_a
    status = "off" if current == 0 else ("charging" if current > 0 else "discharging")
    return {"balancing_current": round(current, 3), "balancer_status": status}


def cell_info_values(
    battery: Battery, variant: Variant, alarms: frozenset[str], runtime_s: int
) -> dict[str, Value]:
    """Everything a cell-info frame of ``variant`` carries, from the pack's state."""
    values = _cell_values(battery, variant) | _balancer_values(battery)
    values["total_runtime"] = runtime_s
    if variant is Variant.JK04:
        return values  # no current, SoC or temperatures in JK04 frames
    current = round(battery.current_a, 3)
    total = round(sum(round(v, 3) for v in battery.cell_voltages), 3)
    values |= {
        "total_voltage": total,
        "current": current,
        "power_reported": round(abs(total * current), 3),
        "mosfet_temperature": round(battery.mosfet_temperature_c, 1),
        "state_of_charge": battery.state_of_charge,
        "capacity_remaining": round(battery.bms_remaining_ah, 3),
        "full_charge_capacity": round(battery.full_charge_capacity_ah, 3),
        "charging_cycles": battery.charging_cycles,
        "total_charging_cycle_capacity": round(battery.cycle_charge_ah, 3),
        "state_of_health": 100,
        "charging": battery.charge_mosfet_on,
        "discharging": battery.discharge_mosfet_on,
    }
    temperatures = battery.temperatures_c
    for index in range(1, TEMPERATURE_SLOTS[variant] + 1):
        values[f"temperature_sensor_{index}"] = (
            round(temperatures[index - 1], 1) if index <= len(temperatures) else None
        )
    for bit, alarm in ALARMS.items():
        if bit < ALARM_BITS[variant]:
            values[alarm.key] = alarm.key in alarms
    if variant is Variant.JK02_32S:
        values["emergency_time_countdown"] = int(battery.emergency_s)
        values["heating"] = False
        values["heating_current"] = 0.0
        # The chemistry preset the BMS runs (option keys equal the Chemistry values).
        values["battery_type"] = battery.chemistry.chemistry.value
    return values
