"""Test setup shared by every test package."""

from __future__ import annotations

import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# Import the integration before any `hass` fixture exists: otherwise HA's loader
# mounts the plugin's empty testing_config and never sees our manifest matchers.
import custom_components.jk_bms  # noqa: F401


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in Home Assistant's format (the plugin's fixture is shadowed)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
