"""Actions (services) of the JK BMS integration: presets, calibration, clock, restart, backup/restore.

Every action targets one device (``device_id``), is validated before a byte is
sent (``ServiceValidationError``), and fails with a translated
``HomeAssistantError`` when the BMS does not do what was asked. Settings are
written through ``coordinator.async_write`` (validated, confirmed by read-back);
one-shot commands through ``coordinator.async_send_action`` (confirmed by the
BMS's ack). A multi-step action holds the link (``coordinator.async_hold_link``:
one at a time per BMS; poll mode connects for it through the proxy's slot
scheduler) and never touches the link session itself.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .compat import async_get_config_entry_for_device, probatio
from .const import DOMAIN
from .coordinator import JkBmsConfigEntry, JkBmsCoordinator
from .protocol import ACTIONS, Command, FrameType, WriteKind, registers_for
from .validation import (
    CHEMISTRY_PRESETS,
    Chemistry,
    SettingRuleError,
    SettingValue,
    check_number,
    check_settings_request,
    decimals,
    diff_settings,
    listed,
    plan_writes,
    validate_settings_set,
)

ATTR_CHEMISTRY = "chemistry"
ATTR_VOLTAGE = "voltage"
ATTR_CURRENT = "current"
ATTR_TIME = "time"
ATTR_SETTINGS = "settings"
ATTR_DRY_RUN = "dry_run"

# The BMS clock counts seconds from 2020-01-01 00:00 local time (captured from
# the JK app: 186 592 319 s = 2025-11-29 15:11:59, protocol doc §8.2).
CLOCK_EPOCH = datetime(2020, 1, 1)  # noqa: DTZ001 (the BMS clock is naive local time)

PRESET_COMMANDS: Mapping[Chemistry, Command] = {
    Chemistry.LIFEPO4: Command.PRESET_LIFEPO4,
    Chemistry.LI_ION: Command.PRESET_LI_ION,
    Chemistry.LTO: Command.PRESET_LTO,
}


@dataclass(frozen=True, slots=True)
class CalibrationCheck:
    """How far a calibration may move a reading (a typo would skew every protection).

    Allowed: |entered - measured| <= max(relative * |measured|, absolute).
    """

    reading: str  # CellInfo attribute the BMS measures now
    relative: float
    absolute: float
    unit: str


CALIBRATION_CHECKS: Mapping[Command, CalibrationCheck] = {
    # A healthy BMS reads the pack within a few %; 10 % catches a slipped digit.
    Command.VOLTAGE_CALIBRATION: CalibrationCheck("total_voltage", 0.10, 0.5, "V"),
    # Current shunts drift more (and the current moves while you read the clamp).
    Command.CURRENT_CALIBRATION: CalibrationCheck("current", 0.20, 1.0, "A"),
}

# Never exported: momentary commands, not settings.
NOT_EXPORTED: frozenset[str] = frozenset({"emergency"})
# What export_settings answers beside its settings (apply_settings takes it whole).
EXPORT_KEYS: frozenset[str] = frozenset({"variant", "model", "hardware", "firmware"})


# ------------------------------------------------------------------ plumbing


def _coordinator(call: ServiceCall) -> JkBmsCoordinator:
    """Find the targeted device's coordinator (ServiceValidationError if none/unloaded)."""
    entry = async_get_config_entry_for_device(call.hass, call.data[ATTR_DEVICE_ID])
    return cast(JkBmsConfigEntry, entry).runtime_data


def _current_values(
    coordinator: JkBmsCoordinator, confirmed: Mapping[str, object] | None = None
) -> dict[str, object]:
    """Collect what the BMS holds for every writable key it reports.

    ``confirmed``: the values read twice alike (what writes are checked
    against); without it, the newest snapshot (what export shows).
    """
    snapshot = coordinator.snapshot
    frames: dict[FrameType, Mapping[str, object]] = {
        FrameType.SETTINGS: snapshot.settings.values() if snapshot.settings else {},
        FrameType.DEVICE_INFO: snapshot.device_info.values(),
    }
    values: dict[str, object] = {}
    for key, spec in registers_for(coordinator.variant).items():
        frame = (
            frames.get(spec.readback.frame_type, {}) if confirmed is None else confirmed
        )
        if key not in NOT_EXPORTED and frame.get(spec.readback.key) is not None:
            values[key] = frame[spec.readback.key]
    return values


def _exported(coordinator: JkBmsCoordinator) -> dict[str, SettingValue]:
    """Return the current values in the shape apply_settings takes (BMS resolution)."""
    specs = registers_for(coordinator.variant)
    result: dict[str, SettingValue] = {}
    for key, value in _current_values(coordinator).items():
        spec = specs[key]
        if spec.kind is WriteKind.SWITCH:
            result[key] = bool(value)
        elif isinstance(value, float):
            result[key] = round(value, decimals(spec))
        elif isinstance(value, int | str):
            result[key] = value
    return result


async def _send_action(
    coordinator: JkBmsCoordinator, command: Command, value: float | None = None
) -> None:
    """Validate an action for this variant, send it, wait for the ack."""
    variant = coordinator.variant
    spec = ACTIONS.get(command, {}).get(variant)
    name = command.name.lower()
    if spec is None:
        raise SettingRuleError(
            "supported", "action_not_supported", action=name, variant=variant
        )
    if value is not None and (
        (spec.minimum is not None and value < spec.minimum)
        or (spec.maximum is not None and value > spec.maximum)
    ):
        raise SettingRuleError(
            "range",
            "value_out_of_range",
            key=name,
            value=value,
            minimum=spec.minimum,
            maximum=spec.maximum,
            unit="",
            variant=variant,
        )
    await coordinator.async_send_action(command, value)


def _changes(
    before: Mapping[str, object], after: Mapping[str, object]
) -> dict[str, dict[str, object]]:
    return {
        key: {"from": before.get(key), "to": value}
        for key, value in after.items()
        if before.get(key) != value
    }


async def _apply(
    call: ServiceCall,
    coordinator: JkBmsCoordinator,
    target: Mapping[str, object],
    *,
    chemistry: Chemistry | None,
    dry_run: bool,
) -> dict[str, Any]:
    """Validate a whole set, then write the differing values one by one, each confirmed."""
    variant = coordinator.variant
    # Writes are checked against confirmed settings; a dry run writes (and
    # reads) nothing, so the newest ones do for its report.
    confirmed = None if dry_run else await coordinator.async_confirmed_values()
    current = _current_values(coordinator, confirmed)
    validate_settings_set(current, variant, target, chemistry=chemistry)
    changes = diff_settings(current, variant, target)
    plan = plan_writes(current, variant, changes)
    response: dict[str, Any] = {
        "dry_run": dry_run,
        "changed": {},
        "unchanged": sorted(set(target) - set(changes)),
        "failed": {},
        "not_attempted": [],
    }
    if dry_run:
        response["changed"] = {
            key: {"from": current.get(key), "to": value} for key, value in plan
        }
        return response
    for index, (key, value) in enumerate(plan):
        try:
            await coordinator.async_write(key, value)
        except HomeAssistantError as err:
            # Stop: the rest of the plan assumed this value (its order depends on it).
            response["failed"][key] = str(err)
            response["not_attempted"] = [k for k, _ in plan[index + 1 :]]
            if not call.return_response:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="apply_settings_failed",
                    translation_placeholders={
                        "key": key,
                        "error": str(err),
                        "changed": ", ".join(response["changed"]) or "-",
                        "not_attempted": ", ".join(response["not_attempted"]) or "-",
                    },
                ) from err
            break
        response["changed"][key] = {"from": current.get(key), "to": value}
    return response


def _unwrap(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept export_settings' whole response as well as its ``settings`` part.

    Keys beside ``settings`` other than export's own are refused: they would
    otherwise be ignored without a word.
    """
    inner = settings.get(ATTR_SETTINGS)
    if not isinstance(inner, Mapping):
        return settings
    beside = set(settings) - {ATTR_SETTINGS} - EXPORT_KEYS
    if beside:
        raise SettingRuleError(
            "beside", "settings_beside_settings", keys=listed(beside)
        )
    return cast(Mapping[str, Any], inner)


# ------------------------------------------------------------------ handlers


async def _async_apply_chemistry_preset(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    chemistry = Chemistry(call.data[ATTR_CHEMISTRY])
    async with coordinator.async_hold_link():
        if coordinator.variant in ACTIONS.get(PRESET_COMMANDS[chemistry], {}):
            # The BMS loads its own preset (as the JK app's automatic configuration).
            before = _exported(coordinator)
            await _send_action(coordinator, PRESET_COMMANDS[chemistry])
            await coordinator.async_refresh_settings(device_info=True)
            changed = _changes(before, _exported(coordinator))
            return cast(ServiceResponse, {"changed": changed})
        # No preset command on this variant: write the preset's values the safe way.
        supported = registers_for(coordinator.variant)
        preset = {
            key: value
            for key, value in CHEMISTRY_PRESETS[chemistry].items()
            if key in supported
        }
        result = await _apply(
            call, coordinator, preset, chemistry=chemistry, dry_run=False
        )
        return cast(ServiceResponse, result)


async def _async_calibrate(call: ServiceCall, command: Command, attr: str) -> None:
    coordinator = _coordinator(call)
    value = check_number(attr, float(call.data[attr]))  # NaN: refused before connecting
    check = CALIBRATION_CHECKS[command]
    cell_info = coordinator.snapshot.cell_info
    measured = getattr(cell_info, check.reading, None) if cell_info else None
    if isinstance(measured, int | float):
        measured = abs(measured)
        allowed = max(check.relative * measured, check.absolute)
        if abs(value - measured) > allowed:
            raise SettingRuleError(
                "calibration",
                "calibration_implausible",
                value=value,
                measured=round(measured, 3),
                allowed=round(allowed, 3),
                unit=check.unit,
            )
    async with coordinator.async_hold_link():
        await _send_action(coordinator, command, value)


async def _async_calibrate_voltage(call: ServiceCall) -> None:
    await _async_calibrate(call, Command.VOLTAGE_CALIBRATION, ATTR_VOLTAGE)


async def _async_calibrate_current(call: ServiceCall) -> None:
    await _async_calibrate(call, Command.CURRENT_CALIBRATION, ATTR_CURRENT)


def clock_seconds(when: datetime) -> int:
    """Seconds since 2020-01-01 00:00 in Home Assistant's local time (the BMS clock)."""
    local = dt_util.as_local(when) if when.tzinfo else when
    return int((local.replace(tzinfo=None) - CLOCK_EPOCH).total_seconds())


async def _async_set_clock(call: ServiceCall) -> None:
    coordinator = _coordinator(call)
    when: datetime = call.data.get(ATTR_TIME) or dt_util.now()
    seconds = clock_seconds(when)
    async with coordinator.async_hold_link():
        await _send_action(coordinator, Command.TIME_CALIBRATION, seconds)


async def _async_restart(call: ServiceCall) -> None:
    coordinator = _coordinator(call)
    async with coordinator.async_hold_link():
        await _send_action(coordinator, Command.RESTART)


async def _async_export_settings(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    async with coordinator.async_hold_link():
        await coordinator.async_refresh_settings(device_info=True)
        info = coordinator.device_info
        return {
            "variant": coordinator.variant.value,
            "model": info.model,
            "hardware": info.hardware_version,
            "firmware": info.software_version,
            # Only writable settings: never the PIN or passwords.
            "settings": dict(_exported(coordinator)),
        }


async def _async_apply_settings(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    target = _unwrap(call.data[ATTR_SETTINGS])
    chemistry: Chemistry | str | None = call.data.get(ATTR_CHEMISTRY)
    dry_run: bool = call.data[ATTR_DRY_RUN]
    chemistry = Chemistry(chemistry) if chemistry else None
    # Refuse an invalid set before anything, even the refresh below, is sent
    # (rules against the newest settings too: refusing early is safe); the
    # writes are then checked again against the confirmed settings.
    check_settings_request(coordinator.variant, target, chemistry=chemistry)
    validate_settings_set(
        _current_values(coordinator), coordinator.variant, target, chemistry=chemistry
    )
    async with coordinator.async_hold_link():
        if not dry_run:
            await coordinator.async_refresh_settings(
                device_info=True
            )  # plan against what the BMS has right now
        result = await _apply(
            call, coordinator, target, chemistry=chemistry, dry_run=dry_run
        )
        return cast(ServiceResponse, result)


# ------------------------------------------------------------- registration

DEVICE = {probatio.Required(ATTR_DEVICE_ID): cv.string}
CHEMISTRY = probatio.In([chemistry.value for chemistry in Chemistry])


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One action: its handler, schema and whether it answers with data."""

    handler: Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]
    schema: probatio.Schema
    response: SupportsResponse = SupportsResponse.NONE


SERVICES: Mapping[str, ServiceSpec] = {
    "apply_chemistry_preset": ServiceSpec(
        _async_apply_chemistry_preset,
        probatio.Schema({**DEVICE, probatio.Required(ATTR_CHEMISTRY): CHEMISTRY}),
        SupportsResponse.OPTIONAL,
    ),
    "calibrate_voltage": ServiceSpec(
        _async_calibrate_voltage,
        probatio.Schema(
            {**DEVICE, probatio.Required(ATTR_VOLTAGE): probatio.Coerce(float)}
        ),
    ),
    "calibrate_current": ServiceSpec(
        _async_calibrate_current,
        probatio.Schema(
            {**DEVICE, probatio.Required(ATTR_CURRENT): probatio.Coerce(float)}
        ),
    ),
    "set_clock": ServiceSpec(
        _async_set_clock,
        probatio.Schema({**DEVICE, probatio.Optional(ATTR_TIME): cv.datetime}),
    ),
    "restart": ServiceSpec(_async_restart, probatio.Schema(DEVICE)),
    "export_settings": ServiceSpec(
        _async_export_settings, probatio.Schema(DEVICE), SupportsResponse.ONLY
    ),
    "apply_settings": ServiceSpec(
        _async_apply_settings,
        probatio.Schema(
            {
                **DEVICE,
                probatio.Required(ATTR_SETTINGS): probatio.Schema({cv.string: object}),
                probatio.Optional(ATTR_DRY_RUN, default=False): cv.boolean,
                probatio.Optional(ATTR_CHEMISTRY): CHEMISTRY,
            }
        ),
        SupportsResponse.OPTIONAL,
    ),
}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, in async_setup; they resolve the device per call)."""
    for name, spec in SERVICES.items():
        hass.services.async_register(
            DOMAIN,
            name,
            spec.handler,
            schema=spec.schema,
            supports_response=spec.response,
        )
