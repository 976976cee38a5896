"""Fixtures for tests that run inside Home Assistant's test harness."""

from __future__ import annotations

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
