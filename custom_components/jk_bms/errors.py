"""Typed protocol errors to translated Home Assistant exceptions: the one place.

Only the coordinator calls ``translate``; everything above it (entities,
services, the config entry set-up) sees translated exceptions only.
"""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.update_coordinator import UpdateFailed

from .const import DOMAIN
from .protocol import (
    NotConnectedError,
    ProtocolError,
    SettingsUnconfirmedError,
    WriteNotConfirmedError,
)

# What the coordinator was doing when the error came (besides action names).
CONNECT = "connect"  # set-up or a poll: UpdateFailed
WRITE = "write"  # one setting
HOLD = "hold"  # holding the link for a multi-step action
READ_SETTINGS = "read settings"
READ_LOGBOOK = "read logbook"


def fmt(value: object) -> str:
    """Format a value for a message (3.58, not 3.5800000000000001)."""
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def translate(
    err: ProtocolError,
    operation: str,
    *,
    key: str = "",
    value: object = None,
    reason: str = "",
) -> HomeAssistantError:
    """Return the translated exception for ``err`` raised while doing ``operation``."""
    error = str(err) or type(err).__name__
    if operation == CONNECT:
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": error, "reason": reason},
        )
    if isinstance(err, SettingsUnconfirmedError):
        return HomeAssistantError(
            translation_domain=DOMAIN, translation_key="settings_unconfirmed"
        )
    if operation == WRITE and isinstance(err, WriteNotConfirmedError):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="write_not_applied",
            translation_placeholders={
                "key": key,
                "value": fmt(value),
                "actual": fmt(err.actual),
            },
        )
    if operation == WRITE:
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="write_failed",
            translation_placeholders={"key": key, "error": error},
        )
    if operation == HOLD and isinstance(err, NotConnectedError):
        return HomeAssistantError(
            translation_domain=DOMAIN, translation_key="bms_not_connected"
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="action_failed",
        translation_placeholders={
            "action": CONNECT if operation == HOLD else operation,
            "error": error,
        },
    )
