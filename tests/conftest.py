"""Test setup shared by every test package."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from hypothesis import HealthCheck, settings
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# Import the integration before any `hass` fixture exists: otherwise HA's loader
# mounts the plugin's empty testing_config and never sees our manifest matchers.
import custom_components.jk_bms  # noqa: F401

# CI must be deterministic: the same examples on every run, no wall-clock deadline
# on a shared 2-core machine. Locally, hypothesis explores new examples each run.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# Since 2026.10 state attribute keys are enums (EntityStateAttribute.FRIENDLY_NAME,
# SensorEntityCapabilityAttribute.STATE_CLASS, ...) and snapshots show them so;
# 2026.6 has plain strings with the same values.
_ATTRIBUTE_KEY = re.compile(r"<\w+Attribute\.[A-Z_0-9]+: ('[a-z_0-9]+')>")


class _SnapshotAcrossReleases(HomeAssistantSnapshotExtension):
    """Home Assistant's snapshots, compared without the attribute-key enums."""

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        return bool(
            _ATTRIBUTE_KEY.sub(r"\1", str(serialized_data))
            == _ATTRIBUTE_KEY.sub(r"\1", str(snapshot_data))
        )


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in Home Assistant's format (the plugin's fixture is shadowed).

    The snapshots are the current release's; on older ones (JK_BMS_HA=oldest)
    they are compared without the attribute-key enums those releases lack.
    """
    if (MAJOR_VERSION, MINOR_VERSION) >= (2026, 10):
        return snapshot.use_extension(HomeAssistantSnapshotExtension)
    return snapshot.use_extension(_SnapshotAcrossReleases)


@pytest.fixture
def expected_lingering_timers() -> bool:
    """Bluetooth's device-expiry timer outlives a test under the 2026.6 harness.

    Its set-up of the Bluetooth stack (JK_BMS_HA=oldest) leaves the scanner's
    expiry timer behind at teardown; the 2026.10 harness cleans it up, so there a
    lingering timer still fails the test.
    """
    return (MAJOR_VERSION, MINOR_VERSION) < (2026, 10)
