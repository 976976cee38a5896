"""Writable registers: one row per setting, switch or select (protocol doc §8).

Ranges are physical units. Where they come from:
* APP   - the JK app / entities.md hardware range (cell voltages 1.2-4.35 V) and
          ESPHome's number defaults, which mirror the app (balance trigger
          0.003-1 V, balancing start 1.2-4.25 V, balance current 0.3-5 A,
          capacity 5-2000 Ah, cell count 3-24/32).
* FIELD - bounded by the width of the field that reads the value back (uint8 etc.).
* CAPTURED - widened to a value real units report (tests/protocol/vectors).
* WIDE  - no documented range: a sensible envelope that covers every value seen
          in the captured frames (e.g. 1000 A discharge on a JK_B2A25SRP),
          so the check only stops typos, not real configurations.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..enums import FrameType, Variant  # noqa: TID252
from ..register_spec import (  # noqa: TID252
    Encoding,
    Readback,
    RegisterSpec,
    Rule,
    VariantOverride,
    WriteKind,
)
from .options import CAN_PROTOCOLS, PORT_MODES, TRIGGERS, UART_PROTOCOLS

S24, S32, J04 = Variant.JK02_24S, Variant.JK02_32S, Variant.JK04
SETTINGS, DEVICE_INFO, CELL_INFO = (
    FrameType.SETTINGS,
    FrameType.DEVICE_INFO,
    FrameType.CELL_INFO,
)
UINT, INT, FLOAT32 = Encoding.UINT, Encoding.INT, Encoding.FLOAT32
JK04_FLOAT = VariantOverride(encoding=FLOAT32, factor=1)


def _number(
    key: str,
    registers: Mapping[Variant, int],
    factor: float,
    minimum: float,
    maximum: float,
    step: float,
    unit: str | None,
    *,
    length: int = 4,
    encoding: Encoding = UINT,
    readback: Readback | None = None,
    overrides: Mapping[Variant, VariantOverride] | None = None,
) -> RegisterSpec:
    return RegisterSpec(
        key=key,
        kind=WriteKind.NUMBER,
        registers=registers,
        length=length,
        encoding=encoding,
        factor=factor,
        minimum=minimum,
        maximum=maximum,
        step=step,
        unit=unit,
        readback=readback or Readback(SETTINGS, key),
        overrides=overrides or {},
    )


def _switch(
    key: str,
    registers: Mapping[Variant, int],
    *,
    readback: Readback | None = None,
    overrides: Mapping[Variant, VariantOverride] | None = None,
) -> RegisterSpec:
    return RegisterSpec(
        key=key,
        kind=WriteKind.SWITCH,
        registers=registers,
        length=4,
        encoding=UINT,
        factor=1,
        minimum=0,
        maximum=1,
        step=1,
        unit=None,
        readback=readback or Readback(SETTINGS, key),
        overrides=overrides or {},
    )


def _select(
    key: str,
    register: int,
    options: tuple[str, ...],
    *,
    length: int = 2,
    readback: Readback | None = None,
) -> RegisterSpec:
    return RegisterSpec(
        key=key,
        kind=WriteKind.SELECT,
        registers={S32: register},
        length=length,
        encoding=UINT,
        factor=1,
        minimum=0,
        maximum=len(options) - 1,
        step=1,
        unit=None,
        readback=readback or Readback(DEVICE_INFO, key),
        options=options,
    )


def _both(register: int) -> Mapping[Variant, int]:
    return {S24: register, S32: register}


CELL_VOLTAGE = (1.2, 4.35, 0.001)  # APP: hardware range of every cell-voltage setting


def _cell_voltage(key: str, register: int) -> RegisterSpec:
    return _number(key, _both(register), 1000, *CELL_VOLTAGE, "V")


def _temperature(
    key: str, register: int, minimum: float, maximum: float
) -> RegisterSpec:
    # WIDE: protection temperatures in 0.1 °C, signed int32 (§8.1).
    return _number(key, _both(register), 10, minimum, maximum, 0.1, "°C", encoding=INT)


_ROWS: tuple[RegisterSpec, ...] = (
    # ESPHome declares length 1 for 0x01; the doc recommends length 4 (§8.1 ⚠).
    # CAPTURED: real units (sw 10.07 and 11.17) report 0.6 V, below the 1.2 V
    # cell-voltage minimum; the range must hold every value a BMS reports, or the
    # number entity cannot even re-send its own value. Not a cell limit.
    _number("smart_sleep_voltage", _both(0x01), 1000, 0.6, 4.35, 0.001, "V"),
    _cell_voltage("cell_uvp", 0x02),
    _cell_voltage("cell_uvpr", 0x03),
    _cell_voltage("cell_ovp", 0x04),
    _cell_voltage("cell_ovpr", 0x05),
    _number(  # APP: 0.003-1 V; JK04 float at 0x64
        "balance_trigger_voltage",
        {S24: 0x06, S32: 0x06, J04: 0x64},
        1000,
        0.003,
        1.0,
        0.001,
        "V",
        overrides={J04: JK04_FLOAT},
    ),
    _cell_voltage("soc_100_voltage", 0x07),
    _cell_voltage("soc_0_voltage", 0x08),
    _cell_voltage("rcv", 0x09),
    _cell_voltage("rfv", 0x0A),
    _number(  # APP: cell-voltage range; JK04 float at 0x20
        "power_off_voltage",
        {S24: 0x0B, S32: 0x0B, J04: 0x20},
        1000,
        *CELL_VOLTAGE,
        "V",
        overrides={J04: JK04_FLOAT},
    ),
    _number("max_charge_current", _both(0x0C), 1000, 1, 1000, 0.1, "A"),  # WIDE
    _number("charge_ocp_delay", _both(0x0D), 1, 1, 1000, 1, "s"),  # WIDE
    _number("charge_ocp_recovery", _both(0x0E), 1, 1, 1000, 1, "s"),  # WIDE
    _number("max_discharge_current", _both(0x0F), 1000, 1, 1000, 0.1, "A"),  # WIDE
    _number("discharge_ocp_delay", _both(0x10), 1, 1, 1000, 1, "s"),  # WIDE
    _number("discharge_ocp_recovery", _both(0x11), 1, 1, 1000, 1, "s"),  # WIDE
    _number("scp_recovery", _both(0x12), 1, 1, 1000, 1, "s"),  # WIDE
    _number(  # APP: 0.3-5 A; JK04 float at 0x68
        "max_balance_current",
        {S24: 0x13, S32: 0x13, J04: 0x68},
        1000,
        0.3,
        5.0,
        0.1,
        "A",
        overrides={J04: JK04_FLOAT},
    ),
    _temperature("charge_otp", 0x14, 0, 100),
    _temperature("charge_otpr", 0x15, 0, 100),
    _temperature("discharge_otp", 0x16, 0, 100),
    _temperature("discharge_otpr", 0x17, 0, 100),
    _temperature("charge_utp", 0x18, -40, 40),
    _temperature("charge_utpr", 0x19, -40, 40),
    _temperature("mosfet_otp", 0x1A, 0, 120),
    _temperature("mosfet_otpr", 0x1B, 0, 120),
    _number(  # APP: 3-24 cells (3-32 on 32S), CAPTURED: a 2-cell 32S unit; JK04 uint16
        "cell_count",
        {S24: 0x1C, S32: 0x1C, J04: 0x1C},
        1,
        2,
        32,
        1,
        None,
        overrides={
            S24: VariantOverride(maximum=24),
            J04: VariantOverride(length=2, maximum=24),
        },
    ),
    _switch("charging", _both(0x1D)),
    _switch("discharging", _both(0x1E)),
    _switch(
        "balancer",
        {S24: 0x1F, S32: 0x1F, J04: 0x6C},
        overrides={J04: VariantOverride(length=1)},
    ),
    # APP 5-2000 Ah; CAPTURED: a JK_PB2A16S15P (14.20) is configured for 2 Ah.
    _number("total_battery_capacity", _both(0x20), 1000, 1, 2000, 1, "Ah"),
    _number("scp_delay", {S24: 0x25, S32: 0x21}, 1, 0, 10000, 1, "µs"),  # WIDE
    _number(  # APP: 1.2-4.25 V; JK04 0x58 is ESPHome's register (unverified, §7.2 ⚠)
        "balancing_start_voltage",
        {S24: 0x26, S32: 0x22, J04: 0x58},
        1000,
        1.2,
        4.25,
        0.01,
        "V",
        overrides={J04: JK04_FLOAT},
    ),
    _number("precharge_time", {S32: 0x25}, 1, 0, 255, 1, "s"),  # FIELD: uint8 at 274
    _number(  # FIELD/WIDE: int8 °C
        "heating_start_temperature",
        {S32: 0x37},
        1,
        -40,
        80,
        1,
        "°C",
        length=1,
        encoding=INT,
    ),
    _number(
        "heating_stop_temperature",
        {S32: 0x38},
        1,
        -40,
        80,
        1,
        "°C",
        length=1,
        encoding=INT,
    ),
    _number("smart_sleep_time", {S32: 0x39}, 1, 0, 255, 1, "h", length=1),  # FIELD
    _number(  # WIDE: int8 °C
        "discharge_utp", {S32: 0x3A}, 1, -40, 40, 1, "°C", length=1, encoding=INT
    ),
    _number("discharge_utpr", {S32: 0x3B}, 1, -40, 40, 1, "°C", length=1, encoding=INT),
    _number(  # FIELD: uint8 in 0.1 h at device-info 266/267
        "rcv_time",
        {S32: 0xB3},
        10,
        0,
        25.5,
        0.1,
        "h",
        length=1,
        readback=Readback(DEVICE_INFO, "rcv_time"),
    ),
    _number(
        "rfv_time",
        {S32: 0xB4},
        10,
        0,
        25.5,
        0.1,
        "h",
        length=1,
        readback=Readback(DEVICE_INFO, "rfv_time"),
    ),
    _number(  # FIELD: uint8 minutes at device-info 269
        "emergency_duration",
        {S32: 0xB5},
        1,
        0,
        255,
        1,
        "min",
        length=1,
        readback=Readback(DEVICE_INFO, "emergency_duration"),
    ),
    _number(  # APP: a percentage
        "rebulk_soc",
        {S32: 0xB7},
        1,
        0,
        100,
        1,
        "%",
        length=1,
        readback=Readback(DEVICE_INFO, "rebulk_soc"),
    ),
    # 24S only; register from a register-list comment, unit unverified (§7.1 ⚠).
    *(
        _number(
            f"connection_wire_resistance_{index + 1}",
            {S24: 0x27 + index},
            1,
            0,
            1000,
            1,
            "mΩ",
        )
        for index in range(24)
    ),
    # 32S control bits: one register per bit (§7.1), 0x29/0x2C inferred from ordering.
    _switch("heating", {S32: 0x27}),
    _switch("disable_temperature_sensors", {S32: 0x28}),
    _switch("gps_heartbeat", {S32: 0x29}),
    _select(
        "port_mode",
        0x2A,
        PORT_MODES,
        length=4,
        readback=Readback(SETTINGS, "port_mode"),
    ),
    _switch("display_always_on", {S32: 0x2B}),
    _switch("special_charger", {S32: 0x2C}),
    _switch("smart_sleep", {S32: 0x2D}),
    _switch("disable_pcl_module", {S32: 0x2E}),
    _switch("timed_stored_data", {S32: 0x2F}),
    _switch("charging_float_mode", {S32: 0x30}),
    _switch("button_triggers_emergency", {S32: 0x31}),
    _switch("dry_contact_alarm_intermittent", {S32: 0x32}),
    _switch("discharge_ocp_2", {S32: 0x33}),
    _switch("discharge_ocp_3", {S32: 0x34}),
    _switch("gps_locked_charging", {S32: 0x35}),
    _switch("gps_locked_discharging", {S32: 0x36}),
    # ON starts emergency mode; the state shows as a countdown in the cell-info frame.
    _switch("emergency", {S32: 0x6B}, readback=Readback(CELL_INFO, "emergency")),
    _select("uart1_protocol", 0xA5, UART_PROTOCOLS),
    _select("can_protocol", 0xA6, CAN_PROTOCOLS),
    _select("uart2_protocol", 0xA8, UART_PROTOCOLS),
    _select("lcd_buzzer_trigger", 0xA9, TRIGGERS),
    _select("dry1_trigger", 0xAA, TRIGGERS),
    _select("dry2_trigger", 0xAB, TRIGGERS),
    _select("uart3_protocol", 0xB6, UART_PROTOCOLS),
)

REGISTERS: Mapping[str, RegisterSpec] = {row.key: row for row in _ROWS}

# ----------------------------------------------------------------- cross-field
# ``lower`` must be below ``upper`` (or equal, when not ``strict``); the
# translation key of a violation is ``rule_<name>``. Sources: entities.md "Writes
# must be safe", the JK manual ("Power Off Vol. must be lower than cell
# under-voltage protection"), and the orderings the BMS's semantics imply.
# ``kept_by_bms``: every captured settings frame obeys it, so a frame that breaks
# it is garbled (checked by the frame shield); the others are ours, for writes.
RULES: tuple[Rule, ...] = (
    # UVP < UVPR < … < OVPR < OVP: a recovery inside its protection band would
    # latch the protection forever.
    Rule("uvp_below_uvpr", "cell_uvp", "cell_uvpr"),
    Rule("uvpr_below_ovpr", "cell_uvpr", "cell_ovpr"),
    Rule("ovpr_below_ovp", "cell_ovpr", "cell_ovp"),
    # SOC-0 % ≥ UVP, SOC-100 % ≤ OVP (the coulomb counter re-syncs there).
    Rule("soc_0_not_below_uvp", "cell_uvp", "soc_0_voltage", strict=False),
    Rule("soc_100_not_above_ovp", "soc_100_voltage", "cell_ovp", strict=False),
    Rule("soc_0_below_soc_100", "soc_0_voltage", "soc_100_voltage"),
    Rule("power_off_below_uvp", "power_off_voltage", "cell_uvp"),
    # Charge requests sent to the inverter (CAN/RS485): asking for OVP or more
    # drives cells into the protection; float sits below bulk.
    Rule("rcv_below_ovp", "rcv", "cell_ovp"),
    Rule("rfv_not_above_rcv", "rfv", "rcv", strict=False),
    Rule("charge_otpr_below_otp", "charge_otpr", "charge_otp"),
    Rule("discharge_otpr_below_otp", "discharge_otpr", "discharge_otp"),
    Rule("mosfet_otpr_below_otp", "mosfet_otpr", "mosfet_otp"),
    Rule("charge_utp_below_utpr", "charge_utp", "charge_utpr"),
    # Captured 32S units report 0 / 0 here (older firmware): not kept by the BMS.
    Rule("discharge_utp_below_utpr", "discharge_utp", "discharge_utpr", bms=False),
    # The heater starts below the stop temperature (app values 3 / 7 °C); several
    # captured units report start 60 / stop 50, so the BMS does not keep it.
    Rule(
        "heating_start_below_stop",
        "heating_start_temperature",
        "heating_stop_temperature",
        bms=False,
    ),
)

# Older firmware reports 0 for fields it does not have (SOC anchors and charge
# requests are 0 on 10.x/11.x units): 0 there means "not set", not 0 V.
UNSET_WHEN_ZERO: frozenset[str] = frozenset(
    {"soc_0_voltage", "soc_100_voltage", "rcv", "rfv"}
)
