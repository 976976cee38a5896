"""The simulated pack behind a virtual JK BMS: cells, current, heat, balancing, protections.

Pure Python, no asyncio and no protocol: ``step(dt)`` advances it. The protections
act on the same settings mapping the BMS reports and the integration writes
(entities.md keys), so a write over Bluetooth changes how the pack behaves.

Besides what the BMS measures and estimates, the pack keeps the truth: the exact
state of charge of every cell and the energy that went in and out, integrated at
a fine resolution, so tests can compare the integration's sensors with reality.
"""

from __future__ import annotations

import random
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

from .chemistry import CHEMISTRIES, Chemistry, ChemistryModel
from .current_profile import CurrentProfile

type SettingValue = float | int | bool | str | None

AMBIENT_C = 25.0
THERMAL_TIME_CONSTANT_S = 600.0
# Steady-state temperature rise per A² (61 A → about +3 °C cells, +7 °C MOSFETs).
CELL_HEATING_C_PER_A2 = 0.0008
MOSFET_HEATING_C_PER_A2 = 0.002
# Cell internal resistance for a 280 Ah cell; smaller cells scale up.
REFERENCE_RESISTANCE_OHM = 0.0015
REFERENCE_CAPACITY_AH = 280.0
# The BMS's current sensor reads slightly high: why SoC re-synchronisation matters.
CURRENT_SENSOR_GAIN = 1.003
# A cell voltage protection releases only after its recovery condition held this
# long, otherwise a cell relaxing below OVPR would flick the MOSFET every tick.
VOLTAGE_RELEASE_DELAY_S = 30.0


@dataclass(slots=True)
class Cell:
    """One cell: true state of charge, true capacity and internal resistance."""

    state_of_charge: float
    capacity_ah: float
    resistance_ohm: float
    wire_resistance_ohm: float


@dataclass(slots=True)
class Truth:
    """What really happened, for tests: energy and charge at the pack terminals."""

    energy_in_wh: float = 0.0
    energy_out_wh: float = 0.0
    charge_in_ah: float = 0.0
    charge_out_ah: float = 0.0


@dataclass(slots=True)
class ProtectionState:
    """Latched protections; each one names the alarm key it raises."""

    active: set[str] = field(default_factory=set)
    # Seconds spent above a current limit, and the remaining lock-out after a trip.
    over_current_for: dict[str, float] = field(default_factory=dict)
    locked_out_for: dict[str, float] = field(default_factory=dict)
    # Seconds the release condition of a latched protection has held so far.
    releasing_for: dict[str, float] = field(default_factory=dict)


# Protections that open the charge / discharge MOSFET while active.
BLOCKS_CHARGE = frozenset(
    {
        "alarm_cell_overvoltage",
        "alarm_charge_overcurrent",
        "alarm_charge_overtemperature",
        "alarm_charge_undertemperature",
        "alarm_mosfet_overtemperature",
    }
)
BLOCKS_DISCHARGE = frozenset(
    {
        "alarm_cell_undervoltage",
        "alarm_discharge_overcurrent",
        "alarm_discharge_overtemperature",
        "alarm_mosfet_overtemperature",
    }
)


class Battery:
    """A series pack of ``cell_count`` cells managed by its BMS settings."""

    def __init__(
        self,
        *,
        cell_count: int = 4,
        chemistry: Chemistry = Chemistry.LFP,
        capacity_ah: float = 280.0,
        state_of_charge: float = 0.70,
        settings: MutableMapping[str, SettingValue] | None = None,
        profile: CurrentProfile | None = None,
        temperature_sensors: int = 2,
        time_scale: float = 1.0,
        resolution_s: float = 0.1,
        seed: int = 1,
    ) -> None:
        """Build a pack; cells differ slightly (seeded) like a real matched set."""
        self.chemistry: ChemistryModel = CHEMISTRIES[chemistry]
        self.settings: MutableMapping[str, SettingValue] = (
            settings if settings is not None else {}
        )
        self.profile = profile if profile is not None else CurrentProfile()
        self.time_scale = time_scale
        self.resolution_s = resolution_s
        self.nominal_capacity_ah = capacity_ah
        rng = random.Random(seed)
        resistance = REFERENCE_RESISTANCE_OHM * REFERENCE_CAPACITY_AH / capacity_ah
        self.cells = [
            Cell(
                state_of_charge=min(
                    max(state_of_charge + rng.uniform(-0.004, 0.004), 0.0), 1.0
                ),
                capacity_ah=capacity_ah * rng.uniform(0.99, 1.01),
                resistance_ohm=resistance * rng.uniform(0.9, 1.1),
                wire_resistance_ohm=round(rng.uniform(0.05, 0.08), 3),
            )
            for _ in range(cell_count)
        ]
        self.ambient_c = AMBIENT_C
        self.temperatures_c = [
            AMBIENT_C + rng.uniform(-0.5, 0.5) for _ in range(temperature_sensors)
        ]
        self.mosfet_temperature_c = AMBIENT_C + 1.0
        self.time_s = 0.0
        self.current_a = 0.0
        self.balancing_current_a = 0.0
        self.truth = Truth()
        self.protection = ProtectionState()
        # Told (alarm key, tripped?, pack time s) whenever a protection trips or
        # releases: the BMS writes its logbook from this.
        self.protection_listener: Callable[[str, bool, float], None] | None = None
        self._reported_protections: frozenset[str] = frozenset()
        # What the BMS believes (coulomb counter), re-synchronised at the SoC voltages.
        self.full_charge_capacity_ah = capacity_ah
        self.bms_remaining_ah = state_of_charge * capacity_ah
        self.last_full_charge_s: float | None = None
        self.cycle_charge_ah = 0.0
        self.current_sensor_gain = CURRENT_SENSOR_GAIN
        # Drift knob: the counter runs away from the true charge by this many SoC
        # points per pack hour (an offset in the current sensor), until the next
        # re-synchronisation pulls it back; drift_counter() jumps at once.
        self.soc_drift_per_hour = 0.0
        self.emergency_s = 0.0

    # --- settings ---------------------------------------------------------------

    def setting(self, key: str, default: float) -> float:
        """Return a numeric setting, or ``default`` when the variant does not carry it."""
        value = self.settings.get(key)
        if value is None or isinstance(value, str):
            return default
        return float(value)

    def _switch(self, key: str) -> bool:
        value = self.settings.get(key, True)
        return bool(value) if not isinstance(value, str) else True

    # --- measured values ----------------------------------------------------------

    def cell_voltage(self, cell: Cell, current_a: float | None = None) -> float:
        """Terminal voltage of one cell at ``current_a`` (default: the present current)."""
        current = self.current_a if current_a is None else current_a
        return (
            self.chemistry.open_circuit_voltage(cell.state_of_charge)
            + current * cell.resistance_ohm
        )

    @property
    def cell_voltages(self) -> list[float]:
        """Terminal voltages of every cell, V."""
        return [self.cell_voltage(cell) for cell in self.cells]

    @property
    def total_voltage(self) -> float:
        """Pack terminal voltage, V."""
        return sum(self.cell_voltages)

    @property
    def power_w(self) -> float:
        """Pack power, W (> 0 = charging)."""
        return self.total_voltage * self.current_a

    @property
    def true_state_of_charge(self) -> float:
        """Mean true state of charge of the cells, 0..1."""
        return sum(cell.state_of_charge for cell in self.cells) / len(self.cells)

    @property
    def state_of_charge(self) -> int:
        """State of charge the BMS reports, % (its coulomb counter)."""
        return round(100 * self.bms_remaining_ah / self.full_charge_capacity_ah)

    @property
    def alarms(self) -> frozenset[str]:
        """Alarm keys (``alarm_<name>``) raised by the pack's protections."""
        return frozenset(self.protection.active)

    @property
    def charge_mosfet_on(self) -> bool:
        """Charge MOSFET state: the switch setting and no charge-blocking protection."""
        return self._switch("charging") and not (self.protection.active & BLOCKS_CHARGE)

    @property
    def discharge_mosfet_on(self) -> bool:
        """Discharge MOSFET state: the switch setting and no discharge-blocking protection."""
        return self._switch("discharging") and not (
            self.protection.active & BLOCKS_DISCHARGE
        )

    @property
    def balancing(self) -> bool:
        """Whether the balancer is moving charge right now."""
        return self.balancing_current_a != 0.0

    @property
    def charging_cycles(self) -> int:
        """Full cycles counted from the charge throughput."""
        return int(self.cycle_charge_ah // self.nominal_capacity_ah)

    def drift_counter(self, points: float) -> None:
        """Move the BMS's SoC counter ``points`` % away from the truth (clamped 0..100 %)."""
        self._set_counter(
            self.bms_remaining_ah + points / 100 * self.full_charge_capacity_ah
        )

    def _set_counter(self, remaining_ah: float) -> None:
        self.bms_remaining_ah = min(
            max(remaining_ah, 0.0), self.full_charge_capacity_ah
        )

    # --- simulation -------------------------------------------------------------

    def step(self, dt: float) -> None:
        """Advance by ``dt`` seconds of wall time (times ``time_scale`` of pack time)."""
        self.advance(dt * self.time_scale)

    def advance(self, pack_seconds: float) -> None:
        """Advance by ``pack_seconds`` of pack time, in substeps of ``resolution_s``."""
        remaining = pack_seconds
        while remaining > 1e-12:
            substep = min(self.resolution_s, remaining)
            self._substep(substep)
            remaining -= substep

    def _substep(self, dt: float) -> None:
        requested = self.profile.requested_current(self.time_s)
        self._update_over_current(requested, dt)
        current = requested
        if (current > 0 and not self.charge_mosfet_on) or (
            current < 0 and not self.discharge_mosfet_on
        ):
            current = 0.0
        voltage_before = sum(self.cell_voltage(cell, current) for cell in self.cells)
        for cell in self.cells:
            cell.state_of_charge += current * dt / 3600.0 / cell.capacity_ah
        self._balance(current, dt)
        voltage_after = sum(self.cell_voltage(cell, current) for cell in self.cells)
        self.current_a = current
        self._account(current, (voltage_before + voltage_after) / 2, dt)
        self._update_temperatures(current, dt)
        self._update_voltage_protections(dt)
        self._update_temperature_protections()
        self._resynchronise_soc()
        self.profile.update_cycle_phase(
            true_soc=self.true_state_of_charge,
            charge_blocked=requested > 0 and not self.charge_mosfet_on,
            discharge_blocked=requested < 0 and not self.discharge_mosfet_on,
        )
        self.emergency_s = max(0.0, self.emergency_s - dt)
        self.time_s += dt
        if self.protection.active != self._reported_protections:
            self._report_protections()

    def _report_protections(self) -> None:
        before, now = self._reported_protections, frozenset(self.protection.active)
        self._reported_protections = now
        if self.protection_listener is None:
            return
        for alarm in sorted(now - before):
            self.protection_listener(alarm, True, self.time_s)
        for alarm in sorted(before - now):
            self.protection_listener(alarm, False, self.time_s)

    def _account(self, current: float, mean_voltage: float, dt: float) -> None:
        hours = dt / 3600.0
        if current > 0:
            self.truth.energy_in_wh += mean_voltage * current * hours
            self.truth.charge_in_ah += current * hours
            self.cycle_charge_ah += current * hours
        elif current < 0:
            self.truth.energy_out_wh += mean_voltage * -current * hours
            self.truth.charge_out_ah += -current * hours
        measured = current * self.current_sensor_gain
        drift_ah = self.soc_drift_per_hour / 100 * self.full_charge_capacity_ah
        self._set_counter(self.bms_remaining_ah + (measured + drift_ah) * hours)

    def _balance(self, current: float, dt: float) -> None:
        """Active balancer: move charge from the highest cell to the lowest."""
        self.balancing_current_a = 0.0
        if not self._switch("balancer") or len(self.cells) < 2:
            return
        voltages = [self.cell_voltage(cell, current) for cell in self.cells]
        high = max(range(len(voltages)), key=voltages.__getitem__)
        low = min(range(len(voltages)), key=voltages.__getitem__)
        delta = voltages[high] - voltages[low]
        if delta < self.setting("balance_trigger_voltage", 0.01) or voltages[
            high
        ] < self.setting(
            "balancing_start_voltage", self.chemistry.balancing_start_voltage
        ):
            return
        amps = self.setting("max_balance_current", 2.0)
        moved_ah = amps * dt / 3600.0
        self.cells[high].state_of_charge -= moved_ah / self.cells[high].capacity_ah
        self.cells[low].state_of_charge += moved_ah / self.cells[low].capacity_ah
        self.balancing_current_a = amps if current >= 0 else -amps

    def _update_temperatures(self, current: float, dt: float) -> None:
        alpha = min(1.0, dt / THERMAL_TIME_CONSTANT_S)
        cell_target = self.ambient_c + CELL_HEATING_C_PER_A2 * current * current
        mos_target = self.ambient_c + MOSFET_HEATING_C_PER_A2 * current * current
        self.temperatures_c = [
            t + (cell_target - t) * alpha for t in self.temperatures_c
        ]
        self.mosfet_temperature_c += (mos_target - self.mosfet_temperature_c) * alpha

    def _latch(
        self,
        alarm: str,
        *,
        trip: bool,
        release: bool,
        dt: float = 0.0,
        delay: float = 0.0,
    ) -> None:
        state = self.protection
        if trip:
            state.active.add(alarm)
            state.releasing_for[alarm] = 0.0
        elif release and alarm in state.active:
            held = state.releasing_for.get(alarm, 0.0) + dt
            state.releasing_for[alarm] = held
            if held >= delay:
                state.active.discard(alarm)
                state.releasing_for[alarm] = 0.0
        else:
            state.releasing_for[alarm] = 0.0

    def _update_voltage_protections(self, dt: float) -> None:
        voltages = self.cell_voltages
        high, low = max(voltages), min(voltages)
        self._latch(
            "alarm_cell_overvoltage",
            trip=high >= self.setting("cell_ovp", self.chemistry.cell_ovp),
            release=high <= self.setting("cell_ovpr", self.chemistry.cell_ovpr),
            dt=dt,
            delay=VOLTAGE_RELEASE_DELAY_S,
        )
        self._latch(
            "alarm_cell_undervoltage",
            trip=low <= self.setting("cell_uvp", self.chemistry.cell_uvp),
            release=low >= self.setting("cell_uvpr", self.chemistry.cell_uvpr),
            dt=dt,
            delay=VOLTAGE_RELEASE_DELAY_S,
        )

    def _update_temperature_protections(self) -> None:
        hottest = max(self.temperatures_c, default=self.ambient_c)
        coldest = min(self.temperatures_c, default=self.ambient_c)
        mos = self.mosfet_temperature_c
        self._latch(
            "alarm_charge_overtemperature",
            trip=hottest >= self.setting("charge_otp", 50.0),
            release=hottest <= self.setting("charge_otpr", 45.0),
        )
        self._latch(
            "alarm_discharge_overtemperature",
            trip=hottest >= self.setting("discharge_otp", 70.0),
            release=hottest <= self.setting("discharge_otpr", 60.0),
        )
        self._latch(
            "alarm_charge_undertemperature",
            trip=coldest <= self.setting("charge_utp", 0.0),
            release=coldest >= self.setting("charge_utpr", 3.0),
        )
        self._latch(
            "alarm_mosfet_overtemperature",
            trip=mos >= self.setting("mosfet_otp", 80.0),
            release=mos <= self.setting("mosfet_otpr", 70.0),
        )

    def _update_over_current(self, requested: float, dt: float) -> None:
        """OCP: over the limit for longer than the delay → off for the recovery time."""
        limits = (
            ("alarm_charge_overcurrent", requested, "max_charge_current", "charge_ocp"),
            (
                "alarm_discharge_overcurrent",
                -requested,
                "max_discharge_current",
                "discharge_ocp",
            ),
        )
        state = self.protection
        for alarm, amps, limit_key, prefix in limits:
            locked = state.locked_out_for.get(alarm, 0.0)
            if locked > 0:
                state.locked_out_for[alarm] = locked - dt
                if locked - dt <= 0:
                    state.active.discard(alarm)
                continue
            if amps > self.setting(limit_key, 200.0):
                over = state.over_current_for.get(alarm, 0.0) + dt
                state.over_current_for[alarm] = over
                if over >= self.setting(f"{prefix}_delay", 10.0):
                    state.active.add(alarm)
                    state.locked_out_for[alarm] = self.setting(
                        f"{prefix}_recovery", 60.0
                    )
                    state.over_current_for[alarm] = 0.0
            else:
                state.over_current_for[alarm] = 0.0

    def _resynchronise_soc(self) -> None:
        """Set SoC to 100 % / 0 % (as the BMS does) when a cell reaches the SOC-100 % / SOC-0 % voltage."""
        voltages = self.cell_voltages
        if max(voltages) >= self.setting(
            "soc_100_voltage", self.chemistry.soc_100_voltage
        ):
            self.bms_remaining_ah = self.full_charge_capacity_ah
            self.last_full_charge_s = self.time_s
        elif min(voltages) <= self.setting(
            "soc_0_voltage", self.chemistry.soc_0_voltage
        ):
            self.bms_remaining_ah = 0.0
