"""Repairs: tell the user when a JK BMS needs their hands or its SoC deserves less trust.

Every issue is raised from what the coordinator already knows (no extra Bluetooth
traffic) and deleted again as soon as the condition is gone:

* ``factory_password``: the BMS still has the factory PIN or settings password
  (device-info frame) or raises the alarm "Modify password in time". The
  passwords themselves are never read here, only the model's verdict.
* ``soc_not_resynchronised``: no full charge (a cell at the SOC-100 % voltage,
  which is when the BMS corrects its coulomb counter) for longer than the
  ``soc_resync_days`` option.
* ``soc_doubtful``: at rest the cells say the SoC is somewhere else than the
  BMS's counter says (``soc_check.py``); gone after a full charge or when the
  two agree again.
* ``pairing_required`` / ``no_connection_slot``: the last connection attempt
  failed because the firmware wants a bonded link, or because no adapter or
  proxy in range had a free connection slot; the text carries Home Assistant's
  reachability diagnostics for the address.
* ``variant_mismatch``: the firmware version suggests one protocol variant but
  the first cell frames have the shape of another (or of none).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from homeassistant.components import bluetooth
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import CONF_SOC_RESYNC_DAYS, DEFAULT_SOC_RESYNC_DAYS, DOMAIN
from .coordinator import JkBmsConfigEntry, JkBmsCoordinator
from .protocol import (
    MissingCharacteristicError,
    NoFreeSlotError,
    PairingRequiredError,
    UnsupportedVariantError,
    VariantMismatchError,
    detect_variant,
)
from .soc_check import doubt_placeholders

_LOGGER = logging.getLogger(__name__)

LEARN_MORE_URL: Final = "https://github.com/jk-bms-ha/jk_bms#troubleshooting"
SOC_LEARN_MORE_URL: Final = (
    "https://github.com/jk-bms-ha/jk_bms#why-can-the-soc-be-wrong"
)
PASSWORD_ALARM: Final = "alarm_modify_password_in_time"  # noqa: S105 (alarm key)
# The SoC issue depends on time as well as on data: look again even when the
# coordinator is quiet (link down, long poll interval).
RECHECK_INTERVAL: Final = timedelta(hours=1)

# Stands for "not looked at yet" where None means "no error".
_UNCHECKED: Final = Exception("unchecked")


class Issue(StrEnum):
    """Issue kinds; each is also the translation key of its texts."""

    FACTORY_PASSWORD = "factory_password"  # noqa: S105 (issue key)
    SOC_NOT_RESYNCHRONISED = "soc_not_resynchronised"
    SOC_DOUBTFUL = "soc_doubtful"
    PAIRING_REQUIRED = "pairing_required"
    NO_CONNECTION_SLOT = "no_connection_slot"
    VARIANT_MISMATCH = "variant_mismatch"
    VARIANT_UNSUPPORTED = "variant_unsupported"


# Connection failures: at most one of these is up at a time.
CONNECTION_ISSUES: Final = frozenset(
    {Issue.PAIRING_REQUIRED, Issue.NO_CONNECTION_SLOT, Issue.VARIANT_UNSUPPORTED}
)
# Raised while connected, from the data.
DATA_ISSUES: Final = frozenset(
    {
        Issue.FACTORY_PASSWORD,
        Issue.SOC_NOT_RESYNCHRONISED,
        Issue.SOC_DOUBTFUL,
        Issue.VARIANT_MISMATCH,
    }
)

# Connection failures by type, first match wins. A missing FFE1 characteristic
# is what 19.3x firmware shows without a bond: the advice is to pair.
_CONNECTION_ISSUE_TYPES: Final[tuple[tuple[type[Exception], Issue], ...]] = (
    (NoFreeSlotError, Issue.NO_CONNECTION_SLOT),
    (PairingRequiredError, Issue.PAIRING_REQUIRED),
    (MissingCharacteristicError, Issue.PAIRING_REQUIRED),
    (UnsupportedVariantError, Issue.VARIANT_UNSUPPORTED),
)

_SEVERITY: Final = {
    Issue.FACTORY_PASSWORD: ir.IssueSeverity.WARNING,
    Issue.SOC_NOT_RESYNCHRONISED: ir.IssueSeverity.WARNING,
    Issue.SOC_DOUBTFUL: ir.IssueSeverity.WARNING,
    Issue.PAIRING_REQUIRED: ir.IssueSeverity.ERROR,
    Issue.NO_CONNECTION_SLOT: ir.IssueSeverity.ERROR,
    Issue.VARIANT_MISMATCH: ir.IssueSeverity.WARNING,
    Issue.VARIANT_UNSUPPORTED: ir.IssueSeverity.ERROR,
}


def issue_id(kind: Issue, entry: JkBmsConfigEntry) -> str:
    """Return the issue id of ``kind`` for one config entry (one BMS)."""
    return f"{kind}_{entry.entry_id}"


def _causes(error: BaseException | None) -> Iterator[BaseException]:
    """Walk an exception and what caused it (UpdateFailed → client → bleak)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def classify_connection_error(error: BaseException | None) -> Issue | None:
    """Tell which connection issue an error is (by its type), or None."""
    for cause in _causes(error):
        for error_type, issue in _CONNECTION_ISSUE_TYPES:
            if isinstance(cause, error_type):
                return issue
    return None


def _create(
    hass: HomeAssistant,
    entry: JkBmsConfigEntry,
    kind: Issue,
    placeholders: dict[str, str],
) -> None:
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(kind, entry),
        is_fixable=False,
        severity=_SEVERITY[kind],
        translation_key=kind.value,
        translation_placeholders={"name": entry.title, **placeholders},
        learn_more_url=(
            SOC_LEARN_MORE_URL
            if kind in (Issue.SOC_NOT_RESYNCHRONISED, Issue.SOC_DOUBTFUL)
            else LEARN_MORE_URL
        ),
    )


def _delete(
    hass: HomeAssistant, entry: JkBmsConfigEntry, kinds: frozenset[Issue]
) -> None:
    for kind in kinds:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry))


@callback
def async_update_connection_issues(
    hass: HomeAssistant,
    entry: JkBmsConfigEntry,
    address: str,
    error: BaseException | None,
) -> None:
    """Raise the connection issue ``error`` stands for; clear the others.

    ``error`` None (connected) clears them all. An error that is none of ours
    (timeouts, a device out of range) leaves the current issues as they are:
    it says nothing about whether pairing or a slot is still the problem.
    """
    if error is None:
        _delete(hass, entry, CONNECTION_ISSUES)
        return
    kind = classify_connection_error(error)
    if kind is None:
        return
    _delete(hass, entry, CONNECTION_ISSUES - {kind})
    _create(
        hass,
        entry,
        kind,
        {
            "address": address,
            "error": str(error.__cause__ or error),
            "reason": bluetooth.async_address_reachability_diagnostics(
                hass, address, bluetooth.BluetoothReachabilityIntent.CONNECTION
            ),
        },
    )


@callback
def async_delete_issues(hass: HomeAssistant, entry: JkBmsConfigEntry) -> None:
    """Remove every issue of ``entry`` (entry unloaded or removed)."""
    _delete(hass, entry, CONNECTION_ISSUES | DATA_ISSUES)


class JkBmsRepairs:
    """Watch one BMS's coordinator and keep its issues in line with its state."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: JkBmsConfigEntry,
        coordinator: JkBmsCoordinator,
    ) -> None:
        """Bind to one entry; nothing is watched until ``async_start``."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.soc_resync_days = int(
            entry.options.get(CONF_SOC_RESYNC_DAYS, DEFAULT_SOC_RESYNC_DAYS)
        )
        # What is raised now, with its placeholders: create/delete only on change.
        self._raised: dict[Issue, dict[str, str]] = {}
        self._last_error: BaseException | None = _UNCHECKED

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Check now and on every coordinator update; return the stopper."""

        @callback
        def recheck(_now: datetime) -> None:
            self.async_check()

        unsubs: list[Callable[[], None]] = [
            self.coordinator.async_add_listener(self.async_check),
            async_track_time_interval(
                self.hass,
                recheck,
                RECHECK_INTERVAL,
                name=f"{DOMAIN} repairs {self.entry.title}",
                cancel_on_shutdown=True,
            ),
        ]
        self.async_check()

        @callback
        def stop() -> None:
            while unsubs:
                unsubs.pop()()
            async_delete_issues(self.hass, self.entry)
            self._raised.clear()

        return stop

    @callback
    def async_check(self) -> None:
        """Re-evaluate every condition."""
        coordinator = self.coordinator
        error: BaseException | None = None
        if not coordinator.link_connected:
            error = coordinator.link_error or coordinator.last_exception
        # Only look again when the error changed (listeners run every few seconds).
        if error is not self._last_error:
            self._last_error = error
            async_update_connection_issues(
                self.hass, self.entry, coordinator.address, error
            )
        self._set(Issue.FACTORY_PASSWORD, self._factory_password())
        self._set(Issue.SOC_NOT_RESYNCHRONISED, self._soc_not_resynchronised())
        data = coordinator.data
        # The cells' verdict (soc_check.py): the counter is off, with the numbers.
        self._set(Issue.SOC_DOUBTFUL, doubt_placeholders(data.derived, data.settings))
        self._set(Issue.VARIANT_MISMATCH, self._variant_mismatch())

    @callback
    def _set(self, kind: Issue, placeholders: dict[str, str] | None) -> None:
        if placeholders is None:
            if self._raised.pop(kind, None) is not None:
                ir.async_delete_issue(self.hass, DOMAIN, issue_id(kind, self.entry))
            return
        if self._raised.get(kind) == placeholders:
            return
        self._raised[kind] = placeholders
        _create(self.hass, self.entry, kind, placeholders)

    def _factory_password(self) -> dict[str, str] | None:
        data = self.coordinator.data
        alarm = data.cell_info is not None and PASSWORD_ALARM in data.cell_info.alarms
        if not (data.device_info.uses_factory_passwords or alarm):
            return None
        # Deliberately nothing from the secrets: the name (in every issue) says
        # which BMS. Not its model too: that is often the name ("X (X)").
        return {}

    def _soc_not_resynchronised(self) -> dict[str, str] | None:
        data = self.coordinator.data
        last = data.derived.get("last_full_charge")
        # Never seen full: count from when the integration started watching.
        since = last if isinstance(last, datetime) else self.entry.created_at
        age = dt_util.utcnow() - since
        if age <= timedelta(days=self.soc_resync_days):
            return None
        soc_100: object = None
        if data.settings is not None:
            soc_100 = data.settings.get("soc_100_voltage")
        soc = data.cell_info.state_of_charge if data.cell_info else None
        return {
            "days": str(age.days),
            "limit": str(self.soc_resync_days),
            "since": dt_util.as_local(since).date().isoformat(),
            "soc": "?" if soc is None else str(soc),
            "soc_100_voltage": (
                f"{soc_100:.3f}" if isinstance(soc_100, int | float) else "?"
            ),
        }

    def _variant_mismatch(self) -> dict[str, str] | None:
        coordinator = self.coordinator
        info = coordinator.data.device_info
        try:
            expected: str = detect_variant(info)
        except VariantMismatchError:
            expected = "unknown"
        if expected == coordinator.variant:
            return None
        return {
            "model": info.model,
            "firmware": info.software_version,
            "expected": expected,
            "variant": str(coordinator.variant),
        }
