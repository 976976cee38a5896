"""pytest fixtures: a virtual Bluetooth proxy registered with the test ``hass``, and virtual BMS.

Loaded for every test run by ``-p virtual_bms.pytest_plugin`` (pyproject addopts).

* ``virtual_proxy``: a ``VirtualProxy`` registered with Home Assistant's Bluetooth
  manager (3 slots, no periodic adverts: tests advertise explicitly) and removed
  at teardown.
* ``virtual_bms``: a factory ``virtual_bms(model="JK-B2A8S20P", **options) ->
  VirtualJkBms`` that creates a device, puts it behind the proxy and advertises
  it. Options are ``VirtualJkBms``'s keyword arguments (cells, chemistry,
  profile, module_layout, faults, …) plus ``advertise=False``. Streaming is
  manual by default (``stream_interval=None``): ``await bms.push_cell_info()``
  sends the next cell frame; pass ``stream_interval=0.01`` for a live stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from .device import VirtualJkBms
from .proxy import VirtualProxy

type VirtualBmsFactory = Callable[..., VirtualJkBms]


@pytest.fixture
async def virtual_proxy(
    hass: HomeAssistant, enable_bluetooth: None
) -> AsyncIterator[VirtualProxy]:
    """Provide a virtual ESPHome-style proxy registered with Home Assistant's Bluetooth."""
    proxy = VirtualProxy(hass, advert_interval=None)
    proxy.async_start()
    yield proxy
    for device in list(proxy.devices.values()):
        if isinstance(device, VirtualJkBms):
            device.power_off()
    proxy.async_stop()


@pytest.fixture
async def virtual_bms(virtual_proxy: VirtualProxy) -> AsyncIterator[VirtualBmsFactory]:
    """Create virtual JK BMS behind ``virtual_proxy`` (each advertises at once)."""
    created: list[VirtualJkBms] = []

    def factory(
        model: str = "JK-B2A8S20P", *, advertise: bool = True, **options: Any
    ) -> VirtualJkBms:
        options.setdefault("address", f"C8:47:8C:00:00:{len(created) + 1:02X}")
        options.setdefault("stream_interval", None)
        device = VirtualJkBms(model, **options)
        created.append(device)
        virtual_proxy.devices[device.address] = device
        if advertise:
            virtual_proxy.advertise(device.address)
        return device

    yield factory
    for device in created:
        device.power_off()
