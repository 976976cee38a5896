"""The actions end to end: exact command frames, refusals before any byte, backup and restore."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr

from custom_components.jk_bms.const import DOMAIN
from custom_components.jk_bms.protocol import FrameType, decode_device_info
from custom_components.jk_bms.services import SERVICES, clock_seconds
from custom_components.jk_bms.validation import CHEMISTRY_PRESETS, Chemistry
from virtual_bms.chemistry import Chemistry as PackChemistry
from virtual_bms.chemistry import protection_preset
from virtual_bms.device import VirtualJkBms

from .helpers import setup_bms

HEADER = bytes.fromhex("AA5590EB")


def frame(register: int, value: bytes = b"") -> bytes:
    """A command frame per protocol doc §2 (zero filler, additive checksum)."""
    body = (HEADER + bytes((register, len(value))) + value).ljust(19, b"\x00")
    return body + bytes((sum(body) % 256,))


async def _setup(hass: HomeAssistant, virtual_bms, model: str, **options: Any):
    bms, entry, coordinator = await setup_bms(
        hass, virtual_bms, model, live=True, options={"update_interval": 1}, **options
    )
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return bms, entry, coordinator, devices[0].id


async def _call(hass: HomeAssistant, name: str, data: dict[str, Any], **kw: Any):
    return await hass.services.async_call(DOMAIN, name, data, blocking=True, **kw)


def _sent(bms: VirtualJkBms, start: int) -> list[bytes]:
    return [c.data for c in bms.received[start:]]


async def test_actions_registered_in_async_setup(hass: HomeAssistant) -> None:
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, DOMAIN, {})
    assert set(hass.services.async_services_for_domain(DOMAIN)) == set(SERVICES)


async def test_unknown_device_is_refused(hass: HomeAssistant, virtual_bms) -> None:
    _, entry, _, _ = await _setup(hass, virtual_bms, "JK-B2A8S20P")
    with pytest.raises(ServiceValidationError):
        await _call(hass, "restart", {"device_id": "no-such-device"})
    assert await hass.config_entries.async_unload(entry.entry_id)


# ------------------------------------------------------------------ presets


@pytest.mark.parametrize(
    ("chemistry", "register", "pack"),
    [
        ("lifepo4", 0x69, PackChemistry.LFP),
        ("li_ion", 0x68, PackChemistry.LI_ION),
        ("lto", 0x6A, PackChemistry.LTO),
    ],
)
async def test_preset_32s_sends_the_preset_command(
    hass: HomeAssistant, virtual_bms, chemistry: str, register: int, pack
) -> None:
    bms, entry, coordinator, device_id = await _setup(
        hass, virtual_bms, "JK-PB2A16S20P"
    )
    start = len(bms.received)
    response = await _call(
        hass,
        "apply_chemistry_preset",
        {"device_id": device_id, "chemistry": chemistry},
        return_response=True,
    )
    sent = _sent(bms, start)
    assert sent[0] == frame(register)  # e.g. AA 55 90 EB 69 00 … 00 E3 for LiFePO4
    # Then the settings are re-read: changed by the BMS itself, trusted once two
    # reads agree (0x96 twice), and the device info.
    assert [f[4] for f in sent[1:]] == [0x96, 0x96, 0x97]
    for key, value in protection_preset(pack).items():
        assert coordinator.data.settings.get(key) == pytest.approx(value), key
    assert response["changed"]["cell_ovp"]["to"] == protection_preset(pack)["cell_ovp"]
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_lifepo4_preset_frame_bytes() -> None:
    assert frame(0x69).hex(" ").upper() == (
        "AA 55 90 EB 69 00 00 00 00 00 00 00 00 00 00 00 00 00 00 E3"
    )


@pytest.mark.parametrize(
    ("model", "chemistry"), [("JK-B2A24S20P", "li_ion"), ("JK-B2A16S", "lto")]
)
async def test_preset_without_command_writes_values_one_by_one(
    hass: HomeAssistant, virtual_bms, model: str, chemistry: str
) -> None:
    bms, entry, _, device_id = await _setup(hass, virtual_bms, model)
    start = len(bms.received)
    response = await _call(
        hass,
        "apply_chemistry_preset",
        {"device_id": device_id, "chemistry": chemistry},
        return_response=True,
    )
    preset = {
        k: v
        for k, v in CHEMISTRY_PRESETS[Chemistry(chemistry)].items()
        if k in bms.settings
    }
    for key, value in preset.items():
        assert bms.settings[key] == pytest.approx(value, abs=1e-5), key
    assert set(response["changed"]) == set(preset)
    assert response["failed"] == {}
    # Every write was confirmed by its own read-back before the next one.
    registers = [f[4] for f in _sent(bms, start)]
    writes = [r for r in registers if r not in (0x96, 0x97)]
    assert len(writes) == len(preset)
    for index, register in enumerate(registers):
        if register not in (0x96, 0x97):
            assert registers[index + 1] == 0x96
    assert await hass.config_entries.async_unload(entry.entry_id)


# -------------------------------------------------------------- calibration


@pytest.mark.parametrize(
    ("model", "register"), [("JK-B2A8S20P", 0x64), ("JK-B2A24S20P", 0x21)]
)
async def test_calibrate_voltage(
    hass: HomeAssistant, virtual_bms, model, register
) -> None:
    bms, entry, coordinator, device_id = await _setup(hass, virtual_bms, model)
    measured = coordinator.snapshot.cell_info.total_voltage
    value = round(measured + 0.1, 3)
    start = len(bms.received)
    await _call(hass, "calibrate_voltage", {"device_id": device_id, "voltage": value})
    assert _sent(bms, start) == [
        frame(register, round(value * 1000).to_bytes(4, "little"))
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("model", "register"), [("JK-B2A8S20P", 0x67), ("JK-B2A24S20P", 0x24)]
)
async def test_calibrate_current(
    hass: HomeAssistant, virtual_bms, model, register
) -> None:
    bms, entry, coordinator, device_id = await _setup(hass, virtual_bms, model)
    measured = abs(coordinator.snapshot.cell_info.current)
    value = round(measured * 1.05, 3)
    start = len(bms.received)
    await _call(hass, "calibrate_current", {"device_id": device_id, "current": value})
    assert _sent(bms, start) == [
        frame(register, round(value * 1000).to_bytes(4, "little"))
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("service", "field", "factor"),
    [("calibrate_voltage", "voltage", 0.1), ("calibrate_current", "current", 10)],
)
async def test_implausible_calibration_refused(
    hass: HomeAssistant, virtual_bms, service, field, factor
) -> None:
    bms, entry, coordinator, device_id = await _setup(hass, virtual_bms, "JK-B2A8S20P")
    cell_info = coordinator.snapshot.cell_info
    measured = abs(cell_info.total_voltage if field == "voltage" else cell_info.current)
    start = len(bms.received)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(
            hass, service, {"device_id": device_id, field: measured * factor + 2}
        )
    assert caught.value.translation_key == "calibration_implausible"
    assert len(bms.received) == start
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("calibrate_voltage", {"voltage": 50.0}),
        ("restart", {}),
        ("set_clock", {}),
    ],
)
async def test_action_not_supported_by_variant(
    hass: HomeAssistant, virtual_bms, service: str, data: dict[str, Any]
) -> None:
    model = "JK-B2A16S" if service == "calibrate_voltage" else "JK-B2A24S20P"
    bms, entry, _, device_id = await _setup(hass, virtual_bms, model)
    start = len(bms.received)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, service, {"device_id": device_id, **data})
    assert caught.value.translation_key == "action_not_supported"
    assert len(bms.received) == start
    assert await hass.config_entries.async_unload(entry.entry_id)


# ------------------------------------------------------------ clock, restart


def test_clock_matches_the_app_capture() -> None:
    # heating-start-stop btsnoop: 6C 04 3F 2C 1F 0B = 186 592 319 s at 2025-11-29 15:11:59.
    assert clock_seconds(datetime(2025, 11, 29, 15, 11, 59)) == 186_592_319  # noqa: DTZ001


async def test_set_clock(hass: HomeAssistant, virtual_bms) -> None:
    bms, entry, _, device_id = await _setup(hass, virtual_bms, "JK-B2A8S20P")
    start = len(bms.received)
    await _call(
        hass, "set_clock", {"device_id": device_id, "time": "2025-11-29 15:11:59"}
    )
    assert _sent(bms, start) == [frame(0x6C, bytes.fromhex("3F2C1F0B"))]
    # Default: now, in Home Assistant's time zone.
    start = len(bms.received)
    await _call(hass, "set_clock", {"device_id": device_id})
    sent = _sent(bms, start)
    assert sent[0][4:6] == bytes((0x6C, 4))
    from homeassistant.util import dt as dt_util

    seconds = int.from_bytes(sent[0][6:10], "little")
    assert abs(seconds - clock_seconds(dt_util.now())) <= 2
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_restart(hass: HomeAssistant, virtual_bms) -> None:
    bms, entry, _, device_id = await _setup(hass, virtual_bms, "JK-B2A8S20P")
    start = len(bms.received)
    await _call(hass, "restart", {"device_id": device_id})
    assert _sent(bms, start)[0] == frame(0x66)
    assert await hass.config_entries.async_unload(entry.entry_id)


# ---------------------------------------------------------- export / apply


@pytest.mark.parametrize(
    "model", ["JK-PB2A16S20P", "JK-B2A8S20P", "JK-B2A24S20P", "JK-B2A16S"]
)
async def test_export_has_every_setting_and_no_secrets(
    hass: HomeAssistant, virtual_bms, model: str
) -> None:
    bms, entry, coordinator, device_id = await _setup(hass, virtual_bms, model)
    export = await _call(
        hass, "export_settings", {"device_id": device_id}, return_response=True
    )
    assert export["variant"] == coordinator.variant
    assert export["model"] == coordinator.device_info.model
    assert export["firmware"] == coordinator.device_info.software_version
    text = repr(export)
    for secret in ("pin", "settings_password", "passcode"):
        assert secret not in export["settings"]
    assert "123456" not in text
    device_info = decode_device_info(bms._frame(FrameType.DEVICE_INFO)).values()
    for key, value in export["settings"].items():
        truth = bms.settings.get(key, device_info.get(key))
        assert (
            truth == pytest.approx(value, abs=1e-3)
            if isinstance(value, float)
            else truth == value
        ), key
    assert await hass.config_entries.async_unload(entry.entry_id)


CUSTOM = {
    "cell_ovp": 3.62,
    "cell_ovpr": 3.5,
    "soc_100_voltage": 3.48,
    "rcv": 3.5,
    "rfv": 3.38,
    "cell_uvp": 2.8,
    "cell_uvpr": 2.95,
    "soc_0_voltage": 2.9,
    "power_off_voltage": 2.7,
    "max_charge_current": 120.0,
    "charge_otp": 55.0,
    "charge_otpr": 50.0,
    "charge_utp": 2.0,
    "charge_utpr": 6.0,
    "heating_start_temperature": 1,
    "heating_stop_temperature": 8,
    "total_battery_capacity": 280.0,
    "charging": False,
    "display_always_on": True,
}


async def test_export_then_apply_reproduces_the_first_bms(
    hass: HomeAssistant, virtual_bms
) -> None:
    first, entry1, _, device1 = await _setup(
        hass, virtual_bms, "JK-PB2A16S20P", settings=CUSTOM
    )
    first.device_info["uart1_protocol"] = "jk_bms_rs485_modbus_v1_0"
    first.device_info["rebulk_soc"] = 95
    second, entry2, coordinator2, device2 = await _setup(
        hass, virtual_bms, "JK-PB2A16S20P", address="C8:47:8C:00:00:42"
    )
    export = await _call(
        hass, "export_settings", {"device_id": device1}, return_response=True
    )

    # Dry run: reports the changes, sends nothing, changes nothing.
    start = len(second.received)
    before = dict(second.settings)
    dry = await _call(
        hass,
        "apply_settings",
        {"device_id": device2, "settings": export, "dry_run": True},
        return_response=True,
    )
    assert len(second.received) == start
    assert second.settings == before
    assert dry["dry_run"] is True
    assert dry["changed"]["cell_ovp"] == {"from": pytest.approx(3.65), "to": 3.62}
    assert "uart1_protocol" in dry["changed"]

    # The real thing: the whole export response is accepted as it is.
    result = await _call(
        hass,
        "apply_settings",
        {"device_id": device2, "settings": export},
        return_response=True,
    )
    assert result["failed"] == {}
    assert result["not_attempted"] == []
    assert set(result["changed"]) == set(dry["changed"])
    assert set(result["unchanged"]) | set(result["changed"]) == set(export["settings"])
    # Charging is switched off first, before any protection limit moves.
    writes = [
        c.register
        for c in [c.frame for c in second.received[start:] if c.frame]
        if c.register not in (0x96, 0x97)
    ]
    assert writes[0] == 0x1D

    again = await _call(
        hass, "export_settings", {"device_id": device2}, return_response=True
    )
    assert again["settings"] == export["settings"]
    for key in CUSTOM:
        assert second.settings[key] == pytest.approx(first.settings[key]), key
    assert coordinator2.data.settings.get("cell_ovp") == pytest.approx(3.62)

    # Applying the same set again changes nothing and writes nothing.
    start = len(second.received)
    result = await _call(
        hass,
        "apply_settings",
        {"device_id": device2, "settings": export},
        return_response=True,
    )
    assert result["changed"] == {}
    assert all(
        c.register in (0x96, 0x97)
        for c in [c.frame for c in second.received[start:] if c.frame]
    )
    assert await hass.config_entries.async_unload(entry1.entry_id)
    assert await hass.config_entries.async_unload(entry2.entry_id)


async def test_apply_refuses_settings_the_variant_lacks(
    hass: HomeAssistant, virtual_bms
) -> None:
    bms, entry, _, device_id = await _setup(hass, virtual_bms, "JK-B2A24S20P")
    start = len(bms.received)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(
            hass,
            "apply_settings",
            {"device_id": device_id, "settings": {"heating": True, "cell_ovp": 3.6}},
        )
    assert caught.value.translation_key == "settings_not_supported"
    assert caught.value.translation_placeholders["keys"] == "heating"
    assert len(bms.received) == start
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_apply_stops_at_a_failed_write(hass: HomeAssistant, virtual_bms) -> None:
    bms, entry, _, device_id = await _setup(hass, virtual_bms, "JK-PB2A16S20P")
    apply = bms._apply_command

    def refuse_capacity(command):
        if command.register == 0x20:
            return None, False  # acked, not applied
        return apply(command)

    bms._apply_command = refuse_capacity  # type: ignore[method-assign]
    target = {
        "total_battery_capacity": 200.0,
        "charging": False,
        "max_charge_current": 90.0,
    }
    result = await _call(
        hass,
        "apply_settings",
        {"device_id": device_id, "settings": target},
        return_response=True,
    )
    assert "total_battery_capacity" in result["failed"]
    assert set(result["changed"]) | set(result["not_attempted"]) == {
        "charging",
        "max_charge_current",
    }
    # Without a response variable the failure is an error naming the key.
    with pytest.raises(HomeAssistantError) as caught:
        await _call(
            hass, "apply_settings", {"device_id": device_id, "settings": target}
        )
    assert caught.value.translation_key == "apply_settings_failed"
    assert caught.value.translation_placeholders["key"] == "total_battery_capacity"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_commissioning_example(hass: HomeAssistant, virtual_bms) -> None:
    """docs/commissioning.md: preset -> cell count -> capacity -> charge/discharge/balance on."""
    bms, entry, coordinator, device_id = await _setup(
        hass,
        virtual_bms,
        "JK-PB2A16S20P",
        chemistry="li_ion",
        settings={"charging": False, "discharging": False, "balancer": False},
    )
    await _call(
        hass, "apply_chemistry_preset", {"device_id": device_id, "chemistry": "lifepo4"}
    )
    result = await _call(
        hass,
        "apply_settings",
        {
            "device_id": device_id,
            "chemistry": "lifepo4",
            "settings": {
                "cell_count": 16,
                "total_battery_capacity": 280,
                "charging": True,
                "discharging": True,
                "balancer": True,
            },
        },
        return_response=True,
    )
    assert result["failed"] == {}
    for key, value in protection_preset(PackChemistry.LFP).items():
        assert bms.settings[key] == pytest.approx(value), key
    assert bms.settings["total_battery_capacity"] == 280
    assert bms.settings["charging"] is True
    assert bms.settings["discharging"] is True
    assert bms.settings["balancer"] is True
    switches = [
        c.register
        for c in bms.commands()
        if c.register in (0x1C, 0x20, 0x1D, 0x1E, 0x1F)
    ]
    assert switches.index(0x20) < switches.index(0x1D)  # capacity before charging on
    assert coordinator.data.settings.get("charging") is True
    assert await hass.config_entries.async_unload(entry.entry_id)
