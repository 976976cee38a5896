"""Writes end to end: exact bytes at the virtual BMS, and state only after the read-back.

The expected frames are built here from the protocol doc (§2 frame layout, §8.1
encoding, §8.2 register map, §7.1 control bits), independently of the
integration's register table, so a wrong row in that table fails these tests.
"""

from __future__ import annotations

import math
import struct
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
)

from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.coordinator import JkBmsCoordinator
from custom_components.jk_bms.protocol import (
    SELECT_OPTIONS,
    FrameType,
    Variant,
    WriteKind,
    registers_for,
)
from custom_components.jk_bms.validation import SettingRuleError, validate_change
from virtual_bms.device import VirtualJkBms

from .helpers import add_entry, setup_bms

S24, S32, J04 = Variant.JK02_24S, Variant.JK02_32S, Variant.JK04
HEADER = bytes.fromhex("AA5590EB")

# One model per variant (+ the JK-PB, whose SOC/RCV/heating fields are non-zero).
MODELS = {
    "JK-B2A8S20P": S32,
    "JK-PB2A16S20P": S32,
    "JK-B2A24S20P": S24,
    "JK-B2A16S": J04,
}


# ---------------------------------------------------------------- the protocol doc


# key -> (register, length, factor, encoding) per variant, transcribed from the
# protocol doc §8.2 (and §7.1 for the 32S control bits). "i" = signed int
# (temperatures, two's complement), "u" = unsigned, "f" = float32 (JK04).
def _jk02(register: int, factor: float = 1, *, length: int = 4, enc: str = "u"):
    return (register, length, factor, enc)


_COMMON_JK02: dict[str, tuple[int, int, float, str]] = {
    "smart_sleep_voltage": _jk02(0x01, 1000),  # §8.1 ⚠: length 4 recommended
    "cell_uvp": _jk02(0x02, 1000),
    "cell_uvpr": _jk02(0x03, 1000),
    "cell_ovp": _jk02(0x04, 1000),
    "cell_ovpr": _jk02(0x05, 1000),
    "balance_trigger_voltage": _jk02(0x06, 1000),
    "soc_100_voltage": _jk02(0x07, 1000),
    "soc_0_voltage": _jk02(0x08, 1000),
    "rcv": _jk02(0x09, 1000),
    "rfv": _jk02(0x0A, 1000),
    "power_off_voltage": _jk02(0x0B, 1000),
    "max_charge_current": _jk02(0x0C, 1000),
    "charge_ocp_delay": _jk02(0x0D),
    "charge_ocp_recovery": _jk02(0x0E),
    "max_discharge_current": _jk02(0x0F, 1000),
    "discharge_ocp_delay": _jk02(0x10),
    "discharge_ocp_recovery": _jk02(0x11),
    "scp_recovery": _jk02(0x12),
    "max_balance_current": _jk02(0x13, 1000),
    "charge_otp": _jk02(0x14, 10, enc="i"),
    "charge_otpr": _jk02(0x15, 10, enc="i"),
    "discharge_otp": _jk02(0x16, 10, enc="i"),
    "discharge_otpr": _jk02(0x17, 10, enc="i"),
    "charge_utp": _jk02(0x18, 10, enc="i"),
    "charge_utpr": _jk02(0x19, 10, enc="i"),
    "mosfet_otp": _jk02(0x1A, 10, enc="i"),
    "mosfet_otpr": _jk02(0x1B, 10, enc="i"),
    "cell_count": _jk02(0x1C),
    "charging": _jk02(0x1D),
    "discharging": _jk02(0x1E),
    "balancer": _jk02(0x1F),
    "total_battery_capacity": _jk02(0x20, 1000),
}
_CONTROL_BITS_32S = [
    "heating",
    "disable_temperature_sensors",
    "gps_heartbeat",
    "port_mode",  # bit 3 is the multiplexed-port select (§8.3)
    "display_always_on",
    "special_charger",
    "smart_sleep",
    "disable_pcl_module",
    "timed_stored_data",
    "charging_float_mode",
    "button_triggers_emergency",
    "dry_contact_alarm_intermittent",
    "discharge_ocp_2",
    "discharge_ocp_3",
    "gps_locked_charging",
    "gps_locked_discharging",
]
DOC_REGISTERS: dict[Variant, dict[str, tuple[int, int, float, str]]] = {
    S24: {
        **_COMMON_JK02,
        "scp_delay": _jk02(0x25),
        "balancing_start_voltage": _jk02(0x26, 1000),
        **{f"connection_wire_resistance_{i + 1}": _jk02(0x27 + i) for i in range(24)},
    },
    S32: {
        **_COMMON_JK02,
        "scp_delay": _jk02(0x21),
        "balancing_start_voltage": _jk02(0x22, 1000),
        "precharge_time": _jk02(0x25),
        **{key: _jk02(0x27 + bit) for bit, key in enumerate(_CONTROL_BITS_32S)},
        "heating_start_temperature": _jk02(0x37, length=1, enc="i"),
        "heating_stop_temperature": _jk02(0x38, length=1, enc="i"),
        "smart_sleep_time": _jk02(0x39, length=1),
        "discharge_utp": _jk02(0x3A, length=1, enc="i"),
        "discharge_utpr": _jk02(0x3B, length=1, enc="i"),
        "emergency": _jk02(0x6B),
        "uart1_protocol": _jk02(0xA5, length=2),
        "can_protocol": _jk02(0xA6, length=2),
        "uart2_protocol": _jk02(0xA8, length=2),
        "lcd_buzzer_trigger": _jk02(0xA9, length=2),
        "dry1_trigger": _jk02(0xAA, length=2),
        "dry2_trigger": _jk02(0xAB, length=2),
        "rcv_time": _jk02(0xB3, 10, length=1),
        "rfv_time": _jk02(0xB4, 10, length=1),
        "emergency_duration": _jk02(0xB5, length=1),
        "uart3_protocol": _jk02(0xB6, length=2),
        "rebulk_soc": _jk02(0xB7, length=1),
    },
    J04: {
        "power_off_voltage": (0x20, 4, 1, "f"),
        "balancing_start_voltage": (0x58, 4, 1, "f"),  # ESPHome's register (§7.2 ⚠)
        "balance_trigger_voltage": (0x64, 4, 1, "f"),
        "max_balance_current": (0x68, 4, 1, "f"),
        "cell_count": (0x1C, 2, 1, "u"),
        "balancer": (0x6C, 1, 1, "u"),
    },
}


def doc_frame(variant: Variant, key: str, value: Any) -> bytes:
    """The command frame the protocol doc prescribes for ``key = value``."""
    register, length, factor, enc = DOC_REGISTERS[variant][key]
    if key in SELECT_OPTIONS:
        raw: int | float = SELECT_OPTIONS[key].index(value)
    else:
        raw = value
    if enc == "f":
        payload = struct.pack("<f", float(raw))
    else:
        payload = round(float(raw) * factor).to_bytes(
            length, "little", signed=enc == "i"
        )
    body = (HEADER + bytes((register, length)) + payload).ljust(19, b"\x00")
    return body + bytes((sum(body) % 256,))


def test_doc_table_covers_every_writable_key() -> None:
    for variant, rows in DOC_REGISTERS.items():
        assert set(registers_for(variant)) == set(rows), variant


@pytest.mark.parametrize(
    ("variant", "key", "value", "frame"),
    [
        # §2 worked examples (checksums verified in the doc).
        (
            S24,
            "charging",
            True,
            "AA 55 90 EB 1D 04 01 00 00 00 00 00 00 00 00 00 00 00 00 9C",
        ),
        (
            S32,
            "charging",
            False,
            "AA 55 90 EB 1D 04 00 00 00 00 00 00 00 00 00 00 00 00 00 9B",
        ),
        (
            S24,
            "cell_ovp",
            3.65,
            "AA 55 90 EB 04 04 42 0E 00 00 00 00 00 00 00 00 00 00 00 D2",
        ),
        (
            S32,
            "cell_ovp",
            3.65,
            "AA 55 90 EB 04 04 42 0E 00 00 00 00 00 00 00 00 00 00 00 D2",
        ),
        (
            S32,
            "uart1_protocol",
            "jk_bms_rs485_modbus_v1_0",
            "AA 55 90 EB A5 02 01 00 00 00 00 00 00 00 00 00 00 00 00 22",
        ),
        (
            J04,
            "power_off_voltage",
            3.2,
            "AA 55 90 EB 20 04 CD CC 4C 40 00 00 00 00 00 00 00 00 00 C3",
        ),
        (
            J04,
            "balancer",
            True,
            "AA 55 90 EB 6C 01 01 00 00 00 00 00 00 00 00 00 00 00 00 E8",
        ),
        (
            J04,
            "cell_count",
            16,
            "AA 55 90 EB 1C 02 10 00 00 00 00 00 00 00 00 00 00 00 00 A8",
        ),
        # §2 captured app frames: random filler (bytes 10-18) and checksum replaced.
        (
            S32,
            "precharge_time",
            4,
            "AA 55 90 EB 25 04 04 00 00 00 36 D5 24 4A 68 8E AD 95 5F B7",
        ),
        (
            S32,
            "smart_sleep_time",
            23,
            "AA 55 90 EB 39 01 17 BB 2E 15 63 0E 3C DC A4 3A 7A 06 20 D0",
        ),
        # §8.1: -22.0 °C is sent as 24 FF FF FF.
        (
            S32,
            "charge_utp",
            -22.0,
            "AA 55 90 EB 18 04 24 FF FF FF 00 00 00 00 00 00 00 00 00 00",
        ),
    ],
)
def test_doc_frames_match_worked_examples(
    variant: Variant, key: str, value: Any, frame: str
) -> None:
    doc = bytes.fromhex(frame)
    ours = doc_frame(variant, key, value)
    length = doc[5]
    # Header, register, length and value bytes as in the doc; zero filler.
    assert ours[: 6 + length] == doc[: 6 + length]
    assert ours[6 + length : 19] == bytes(13 - length)
    if sum(doc[:19]) % 256 == doc[19] and not any(doc[6 + length : 19]):
        assert ours == doc  # a zero-filled example: byte for byte, checksum included
    assert ours[19] == sum(ours[:19]) % 256


# ------------------------------------------------------------------ set-up


async def _setup(hass: HomeAssistant, virtual_bms, model: str, **options: Any):
    return await setup_bms(
        hass, virtual_bms, model, live=True, options={"update_interval": 1}, **options
    )


def _current(coordinator: JkBmsCoordinator) -> dict[str, object]:
    snapshot = coordinator.snapshot
    values: dict[str, object] = dict(snapshot.device_info.values())
    if snapshot.settings is not None:
        values.update(snapshot.settings.values())
    return values


def _readback(coordinator: JkBmsCoordinator, key: str) -> object:
    spec = registers_for(coordinator.variant)[key]
    snapshot = coordinator.snapshot
    frame = {
        FrameType.SETTINGS: snapshot.settings,
        FrameType.DEVICE_INFO: snapshot.device_info,
        FrameType.CELL_INFO: snapshot.cell_info,
    }[spec.readback.frame_type]
    return None if frame is None else frame.values().get(spec.readback.key)


def pick_value(coordinator: JkBmsCoordinator, key: str) -> Any:
    """A value that differs from the BMS's and passes every rule (a valid test input)."""
    spec = registers_for(coordinator.variant)[key]
    current = _current(coordinator)
    now = _readback(coordinator, key)
    if spec.kind is WriteKind.SWITCH:
        return not bool(now)
    if spec.kind is WriteKind.SELECT:
        options = spec.options or ()
        return next(option for option in options if option != now)
    base = (
        now
        if isinstance(now, int | float) and not isinstance(now, bool)
        else spec.minimum
    )
    step = max(spec.step, 1 / spec.factor) if spec.factor else spec.step
    candidates = [
        base + sign * k * step for k in (1, 2, 5, 10, 50) for sign in (1, -1)
    ] + [spec.minimum, spec.maximum, (spec.minimum + spec.maximum) / 2]
    for candidate in candidates:
        value = round(candidate, 6)
        if spec.factor == 1 and spec.step >= 1:
            value = round(value)
        if math.isclose(value, float(base)) and isinstance(now, int | float):
            continue
        try:
            validate_change(current, coordinator.variant, key, value)
        except SettingRuleError:
            continue
        return value
    raise AssertionError(f"no valid test value for {key}")


def _cases() -> list[Any]:
    return [
        pytest.param(model, key, id=f"{model}-{key}")
        for model, variant in MODELS.items()
        for key in registers_for(variant)
    ]


# ------------------------------------------------------------------ every key


@pytest.mark.parametrize(("model", "key"), _cases())
async def test_write_exact_bytes_and_state_after_readback(
    hass: HomeAssistant, virtual_bms, model: str, key: str
) -> None:
    bms, entry, coordinator = await _setup(hass, virtual_bms, model)
    variant = coordinator.variant
    spec = registers_for(variant)[key]
    from_stream = spec.readback.frame_type is FrameType.CELL_INFO
    if from_stream and not coordinator.device_info.values().get("emergency_duration"):
        # A unit with 0 min configured never shows a countdown: configure one.
        bms.device_info["emergency_duration"] = 30
    before = _readback(coordinator, key)
    value = pick_value(coordinator, key)
    # Writes are checked against settings read twice alike: the first write
    # after connecting reads them once more first (not part of this exchange).
    await coordinator.async_confirmed_values()

    # What the integration shows at the moment each command reaches the BMS.
    seen: list[tuple[int, object, object]] = []
    receive = bms.receive

    def spy(data: bytes) -> None:
        seen.append((data[4], _readback(coordinator, key), coordinator.data.settings))
        receive(data)

    bms.receive = spy  # type: ignore[method-assign]
    start = len(bms.received)
    await coordinator.async_write(key, value)
    await hass.async_block_till_done()

    frames = [c.data for c in bms.received[start:]]
    readback_requests = {
        FrameType.DEVICE_INFO: [0x97],
        FrameType.SETTINGS: [0x96],
        FrameType.CELL_INFO: [],  # streamed: the next cell frames read it back
    }[spec.readback.frame_type]
    # Exactly: the write, then the request that reads it back (if any).
    assert frames[0] == doc_frame(variant, key, value)
    assert [f[4] for f in frames] == [frames[0][4], *readback_requests]
    # No optimistic state: the old value while the write and the request travel.
    assert [state for _, state, _ in seen] == [before] * len(frames)
    # Changed once the read-back arrived, in the client and in the coordinator data.
    after = _readback(coordinator, key)
    if isinstance(value, float):
        assert after == pytest.approx(value, abs=1e-4)
    else:
        assert after == value
    if spec.readback.frame_type is FrameType.SETTINGS:
        assert coordinator.data.settings is not None
        assert coordinator.data.settings.get(key) == after
    assert await hass.config_entries.async_unload(entry.entry_id)


# ---------------------------------------------------------- entities, end to end


async def test_switch_entity_changes_only_after_readback(
    hass: HomeAssistant, virtual_bms
) -> None:
    bms, entry, _ = await _setup(hass, virtual_bms, "JK-B2A8S20P")
    entity_id = _entity_id(hass, "switch", bms.address, "charging")
    assert hass.states.get(entity_id).state == "on"
    states: list[str] = []
    receive = bms.receive

    def spy(data: bytes) -> None:
        states.append(hass.states.get(entity_id).state)
        receive(data)

    bms.receive = spy  # type: ignore[method-assign]
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": entity_id}, blocking=True
    )
    await hass.async_block_till_done()
    # During the fresh settings read (the first write after connecting checks
    # against settings read twice alike), the write and the 0x96 read-back.
    assert states == ["on", "on", "on"]
    assert bms.settings["charging"] is False
    assert hass.states.get(entity_id).state == "off"
    assert bms.commands(0x1D)[-1].data == doc_frame(S32, "charging", False)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_number_entity_changes_only_after_readback(
    hass: HomeAssistant, virtual_bms
) -> None:
    bms, entry, _ = await _setup(hass, virtual_bms, "JK-B2A24S20P")
    entity_id = _entity_id(hass, "number", bms.address, "cell_ovp")
    _enable(hass, entity_id)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert float(hass.states.get(entity_id).state) == pytest.approx(3.55)
    states: list[str] = []
    receive = bms.receive

    def spy(data: bytes) -> None:
        states.append(hass.states.get(entity_id).state)
        receive(data)

    bms.receive = spy  # type: ignore[method-assign]
    await hass.services.async_call(
        "number", "set_value", {"entity_id": entity_id, "value": 3.6}, blocking=True
    )
    await hass.async_block_till_done()
    assert [float(s) for s in states] == [pytest.approx(3.55)] * 3  # read, write, read
    assert float(hass.states.get(entity_id).state) == pytest.approx(3.6)
    assert bms.commands(0x04)[-1].data == doc_frame(S24, "cell_ovp", 3.6)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_emergency_switch_is_confirmed_by_the_streamed_countdown(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Emergency reads back from the cell-info countdown (§6.1 byte 218), not 0x96."""
    bms, entry, coordinator = await _setup(hass, virtual_bms, "JK-PB2A16S20P")
    entity_id = _entity_id(hass, "switch", bms.address, "emergency")
    _enable(hass, entity_id)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data
    assert hass.states.get(entity_id).state == "off"

    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": entity_id}, blocking=True
    )
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "on"
    assert bms.commands(0x6B)[-1].data == doc_frame(S32, "emergency", True)
    cell_info = coordinator.snapshot.cell_info
    assert cell_info is not None
    assert cell_info.emergency_time_countdown == 30 * 60  # the configured 30 min

    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": entity_id}, blocking=True
    )
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "off"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_emergency_not_started_is_not_applied(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The BMS acks but the countdown stays 0 in the next frames: not applied."""
    bms, entry, coordinator = await _setup(hass, virtual_bms, "JK-PB2A16S20P")
    bms._apply_command = lambda frame: (None, False)  # type: ignore[method-assign]
    with pytest.raises(HomeAssistantError) as caught:
        await coordinator.async_write("emergency", True)
    assert caught.value.translation_key == "write_not_applied"
    assert coordinator.snapshot.cell_info is not None
    assert coordinator.snapshot.cell_info.emergency is False
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_smart_sleep_voltage_as_real_units_report_it(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Units on sw 10.07/11.17 report 0.6 V: the entity shows it and can send it."""
    bms, entry, _ = await _setup(
        hass, virtual_bms, "JK-B2A24S20P", settings={"smart_sleep_voltage": 0.6}
    )
    entity_id = _entity_id(hass, "number", bms.address, "smart_sleep_voltage")
    _enable(hass, entity_id)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert float(state.state) == pytest.approx(0.6)
    assert state.attributes["min"] <= 0.6
    for value in (0.7, 0.6):
        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": entity_id, "value": value},
            blocking=True,
        )
        assert bms.settings["smart_sleep_voltage"] == pytest.approx(value)
        assert float(hass.states.get(entity_id).state) == pytest.approx(value)
    assert await hass.config_entries.async_unload(entry.entry_id)


def _entity_id(hass: HomeAssistant, platform: str, address: str, key: str) -> str:
    from homeassistant.helpers import entity_registry as er

    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{address}_{key}")
    assert found is not None, f"no {platform} entity for {key}"
    return found


def _enable(hass: HomeAssistant, entity_id: str) -> None:
    from homeassistant.helpers import entity_registry as er

    er.async_get(hass).async_update_entity(entity_id, disabled_by=None)


# ------------------------------------------------------- a BMS that does not comply


@pytest.mark.parametrize("model", list(MODELS))
async def test_ignored_write_raises_and_keeps_the_real_value(
    hass: HomeAssistant, virtual_bms, model: str
) -> None:
    """The BMS acks but does not apply: read-back shows the old value."""
    bms, entry, coordinator = await _setup(hass, virtual_bms, model)
    bms._apply_command = lambda frame: (None, False)  # type: ignore[method-assign]
    key = "balancer"
    before = _readback(coordinator, key)
    with pytest.raises(HomeAssistantError) as caught:
        await coordinator.async_write(key, not before)
    assert caught.value.translation_key == "write_not_applied"
    assert _readback(coordinator, key) == before == bms.settings[key]
    assert coordinator.data.settings.get(key) == before
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_mismatching_readback_shows_what_the_bms_has(
    hass: HomeAssistant, virtual_bms
) -> None:
    """The BMS stores another value (e.g. it clamps): error, and the real value shows."""
    bms, entry, coordinator = await _setup(hass, virtual_bms, "JK-PB2A16S20P")
    apply = bms._apply_command

    def clamp(frame):
        setting, drop = apply(frame)
        if setting and setting[0] == "max_charge_current":
            bms.settings["max_charge_current"] = 100.0
        return setting, drop

    bms._apply_command = clamp  # type: ignore[method-assign]
    with pytest.raises(HomeAssistantError) as caught:
        await coordinator.async_write("max_charge_current", 150.0)
    assert caught.value.translation_key == "write_not_applied"
    assert coordinator.snapshot.settings is not None
    assert coordinator.snapshot.settings["max_charge_current"] == 100.0
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_missing_ack_raises_without_optimistic_state(
    hass: HomeAssistant, virtual_bms
) -> None:
    bms, entry, coordinator = await _setup(hass, virtual_bms, "JK-B2A24S20P")
    await (
        coordinator.async_refresh_settings()
    )  # confirmed: the write reads nothing first
    bms._apply_command = lambda frame: (None, False)  # type: ignore[method-assign]
    bms.faults.skip_next_acks = 1
    before = coordinator.data.settings.get("charging")
    with pytest.raises(HomeAssistantError) as caught:
        await coordinator.async_write("charging", not before)
    assert caught.value.translation_key == "write_failed"
    assert coordinator.data.settings.get("charging") == before
    # Only the write went out: no read-back was attempted without an ack.
    assert [c.register for c in bms.commands()][-1] == 0x1D
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("model", "platform", "key", "service", "data", "applied"),
    [
        # Read back from the settings frame (0x96) ...
        ("JK-B2A24S20P", "switch", "charging", "turn_off", {}, "off"),
        # ... and from the device-info frame (0x97).
        (
            "JK-PB2A16S20P",
            "select",
            "uart1_protocol",
            "select_option",
            {"option": "pace_rs485_modbus_v1_3"},
            "pace_rs485_modbus_v1_3",
        ),
    ],
)
@pytest.mark.parametrize("mode", ["stream", "poll"])
async def test_lost_ack_rereads_what_the_bms_applied(
    hass: HomeAssistant,
    virtual_bms,
    model: str,
    platform: str,
    key: str,
    service: str,
    data: dict[str, Any],
    applied: str,
    mode: str,
) -> None:
    """The BMS applies the value but its ack is lost: error, then the real value."""
    bms: VirtualJkBms = virtual_bms(model, stream_interval=0.05, time_scale=0)
    entry = add_entry(hass, bms, update_interval=1, connection_mode=mode)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    entity_id = _entity_id(hass, platform, bms.address, key)
    before = hass.states.get(entity_id).state
    assert before != applied

    apply = bms._apply_command

    def lose_the_ack(frame):
        # Armed as the write arrives: poll mode's connect makes requests first.
        bms.faults.skip_next_acks = 1
        return apply(frame)

    bms._apply_command = lose_the_ack  # type: ignore[method-assign]
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            platform, service, {"entity_id": entity_id, **data}, blocking=True
        )
    bms._apply_command = apply  # type: ignore[method-assign]
    assert caught.value.translation_key == "write_failed"
    applied_at_bms = bms.settings.get(key, bms.device_info.get(key))
    assert str(applied_at_bms).lower() in ("false", applied)  # the BMS did apply it
    assert hass.states.get(entity_id).state == before  # nothing optimistic

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(entity_id).state == applied
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_writes_are_serialised_with_each_other_and_reads(
    hass: HomeAssistant, virtual_bms
) -> None:
    """Concurrent writes and a settings refresh never interleave on the link."""
    import asyncio

    bms, entry, coordinator = await _setup(hass, virtual_bms, "JK-PB2A16S20P")
    start = len(bms.received)
    await asyncio.gather(
        coordinator.async_write("max_charge_current", 120.0),
        coordinator.async_refresh_settings(),
        coordinator.async_write("max_discharge_current", 150.0),
        coordinator.async_write("charging", False),
    )
    registers = [c.data[4] for c in bms.received[start:]]
    # Every write is immediately followed by its own read-back request.
    for index, register in enumerate(registers):
        if register in (0x0C, 0x0F, 0x1D):
            assert registers[index + 1] == 0x96
    assert sorted(r for r in registers if r != 0x96) == [0x0C, 0x0F, 0x1D]
    assert bms.settings["max_charge_current"] == 120.0
    assert bms.settings["max_discharge_current"] == 150.0
    assert await hass.config_entries.async_unload(entry.entry_id)
