"""Typed, immutable results of decoding a frame."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .enums import Variant
from .fields import Value

FACTORY_PIN = "1234"
FACTORY_SETTINGS_PASSWORD = "123456"  # noqa: S105 (compared against, never sent)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """Device-info frame (0x03). Secrets are kept out of ``repr`` and ``values()``."""

    counter: int
    model: str
    hardware_version: str
    software_version: str
    uptime: int
    power_on_count: int
    device_name: str
    manufacturing_date: str
    serial_number: str
    user_data: str
    user_data_2: str
    variant: Variant | None
    entries: Mapping[str, Value] = field(repr=False)
    details: Mapping[str, Value] = field(repr=False)
    pin: str = field(repr=False, default="")
    settings_password: str = field(repr=False, default="")
    passcode: str = field(repr=False, default="")

    @property
    def uses_factory_passwords(self) -> bool:
        """Tell whether the BLE PIN or the settings password is the factory default."""
        return (
            self.pin == FACTORY_PIN
            or self.settings_password == FACTORY_SETTINGS_PASSWORD
        )

    @property
    def software_major(self) -> int | None:
        """Integer part of the software version (None if it is not a number)."""
        head = self.software_version.split(".", 1)[0].strip()
        return int(head) if head.isdigit() else None

    def values(self) -> dict[str, Value]:
        """Entity keys carried by this frame (32S settings included when 32S)."""
        return dict(self.entries)


@dataclass(frozen=True, slots=True)
class CellInfo:
    """Cell-info/status frame (0x02): live values; None where the variant lacks one."""

    variant: Variant
    counter: int
    cell_voltages: tuple[float, ...]
    cell_resistances: tuple[float, ...]
    temperatures: Mapping[int, float]
    alarms: frozenset[str]
    total_voltage: float | None
    current: float | None
    power: float | None
    state_of_charge: int | None
    capacity_remaining: float | None
    full_charge_capacity: float | None
    state_of_health: int | None
    charging_cycles: int | None
    total_charging_cycle_capacity: float | None
    average_cell_voltage: float | None
    delta_cell_voltage: float | None
    min_cell_voltage: float | None
    max_cell_voltage: float | None
    min_voltage_cell: int | None
    max_voltage_cell: int | None
    balancing_current: float | None
    balancer_status: str | None
    mosfet_temperature: float | None
    heating_current: float | None
    emergency_time_countdown: int | None
    total_runtime: int | None
    detail_logs_count: int | None
    charge_status: str | None
    charging: bool | None
    discharging: bool | None
    balancing: bool | None
    heating: bool | None
    emergency: bool | None
    errors: str | None
    entries: Mapping[str, Value] = field(repr=False)
    details: Mapping[str, Value] = field(repr=False)

    @property
    def cell_count(self) -> int:
        """Number of cells present (1-based numbering up to the last present cell)."""
        return len(self.cell_voltages)

    def values(self) -> dict[str, Value]:
        """Entity keys carried by this frame for this variant."""
        return dict(self.entries)


@dataclass(frozen=True, slots=True)
class CellSample:
    """What every cell frame is read for; the whole frame is decoded per hand-on.

    The energy meters need V and I, the SoC check's rest the current, the hand-on
    what it shows at once (a full charge, alarms, the MOSFETs), and the frame
    shield what guards those: the cells and the BMS's own power field. The names
    are CellInfo's, so the code that needs only these takes either.
    """

    counter: int
    cell_voltages: tuple[float, ...]
    cell_presence_mask: int | None
    total_voltage: float | None
    current: float | None
    power_reported: float | None  # the frame's own unsigned power field (JK02)
    state_of_charge: int | None
    full_charge_capacity: float | None
    alarm_word: int  # the alarm bits (JK02); 0: none
    charging: bool | None
    discharging: bool | None


@dataclass(frozen=True, slots=True)
class Settings:
    """Settings frame (0x01): typed access by entities.md control key."""

    variant: Variant
    counter: int
    entries: Mapping[str, Value] = field(repr=False)
    details: Mapping[str, Value] = field(repr=False)

    def __getitem__(self, key: str) -> Value:
        """Return the value of a control key (KeyError when the variant lacks it)."""
        return self.entries[key]

    def __contains__(self, key: object) -> bool:
        """Tell whether this variant's settings frame carries ``key``."""
        return key in self.entries

    def get(self, key: str, default: Value = None) -> Value:
        """Return the value of ``key`` or ``default``."""
        return self.entries.get(key, default)

    def values(self) -> dict[str, Value]:
        """Entity keys carried by this frame for this variant."""
        return dict(self.entries)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One logbook event: seconds since an unspecified epoch, code, English text."""

    timestamp_s: int
    code: int
    event: str


@dataclass(frozen=True, slots=True)
class Logbook:
    """Logbook frame (0x05, JK02_32S)."""

    counter: int
    entry_count: int
    entries: tuple[LogEntry, ...]

    def values(self) -> dict[str, Value]:
        """No entity reads the logbook; it is shown through actions/diagnostics."""
        return {}


type Decoded = DeviceInfo | CellInfo | Settings | Logbook
type LiveValues = CellInfo | CellSample  # either carries the live values by name
