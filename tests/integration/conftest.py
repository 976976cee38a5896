"""Fixtures for tests that run inside Home Assistant's test harness."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import PropertyMock, patch

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/jk_bms."""


@pytest.fixture(autouse=True)
def auto_enable_bluetooth(
    auto_enable_custom_integrations: None, enable_bluetooth: None
) -> None:
    """Run every integration test with Home Assistant's Bluetooth stack set up.

    Bluetooth reads the integrations' matchers when it sets up, so custom
    integrations must be enabled first.
    """


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """bleak-retry-connector waits seconds between failed attempts: not in tests."""
    with patch("bleak_retry_connector.calculate_backoff_time", return_value=0):
        yield


@pytest.fixture
def all_entities() -> Iterator[None]:
    """Create every entity enabled, including those disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield
