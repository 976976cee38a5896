"""Settings and device-info frames: each value in its register's range, the BMS's rules.

A settings frame breaking a rule the BMS itself keeps, a device-info text with
unprintable bytes, a value outside its register's range: not a real frame. What
changed between two reads is listed here; the shield decides (read twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from .enums import Variant
from .fields import Value
from .frame_steps import allowance
from .models import DeviceInfo, Settings
from .register_spec import RegisterSpec
from .setting_rules import broken_rule, reported_value_fits
from .tables import frame_limits as limits
from .tables.registers import REGISTERS

RULE_BROKEN = "setting_rule_broken"
DEVICE_TEXT = (
    "model",
    "hardware_version",
    "software_version",
    "device_name",
    "manufacturing_date",
    "serial_number",
    "user_data",
    "user_data_2",
    "pin",
    "settings_password",
    "passcode",
)


def settings_reason(settings: Settings) -> str | None:
    """Return why a settings frame cannot be real on its own, or None."""
    specs = _specs(settings.variant)
    for key, value in settings.entries.items():
        spec = specs.get(key)
        if spec is not None and not reported_value_fits(spec, value):
            return "setting_out_of_range"
    if broken_rule(settings.entries, bms_only=True) is not None:
        return RULE_BROKEN
    return None


def device_info_reason(info: DeviceInfo, variant: Variant) -> str | None:
    """Return why a device-info frame cannot be real on its own, or None."""
    for key in DEVICE_TEXT:
        text = getattr(info, key)
        if any(not char.isprintable() or ord(char) > 0x7E for char in text):
            return "device_info_text"
    # The firmware's variant may differ from the frames' (they win, a repair
    # says so); a flipped version is a text change the second read catches.
    specs = _specs(variant)
    for key, value in info.entries.items():
        spec = specs.get(key)
        if spec is not None and not reported_value_fits(spec, value):
            return "setting_out_of_range"
    return None


def changed_keys(before: Mapping[str, Value], after: Mapping[str, Value]) -> set[str]:
    """Keys whose value differs (or that only one side has)."""
    keys = before.keys() | after.keys()
    return {key for key in keys if before.get(key) != after.get(key)}


def device_changes(
    previous: DeviceInfo, info: DeviceInfo, dt: float | None
) -> set[str]:
    """List what changed between two device-info reads (uptime: beyond its pace).

    ``dt`` None: the two reads are compared as copies (a candidate confirmed).
    """
    changed = changed_keys(previous.entries, info.entries)
    changed |= {
        key for key in DEVICE_TEXT if getattr(previous, key) != getattr(info, key)
    }
    if previous.power_on_count != info.power_on_count:
        changed.add("power_on_count")
    move = info.uptime - previous.uptime
    step = limits.DEVICE_INFO_STEPS["uptime"]
    if move < 0 or (dt is not None and move > allowance(step, dt, 0.0, 0.0)):
        changed.add("uptime")
    return changed - {"uptime"} if dt is None and move >= 0 else changed


@cache
def _specs(variant: Variant) -> Mapping[str, RegisterSpec]:
    return {
        key: spec
        for key, row in REGISTERS.items()
        if (spec := row.resolve(variant)) is not None
    }
