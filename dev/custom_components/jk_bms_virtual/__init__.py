"""Development only: a virtual Bluetooth proxy with virtual JK BMS, for scripts/develop.

Enabled by ``jk_bms_virtual:`` in configuration.yaml. Which BMS it starts is
read from ``JK_BMS_DEV_BMS`` (see virtual_bms/dev_spec.py and virtual_bms/README.md).
The proxy registers with the Bluetooth manager like an ESPHome proxy, so the
jk_bms integration discovers, connects and streams through Home Assistant's
real Bluetooth stack, even on a machine without a Bluetooth adapter.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import import_module
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType

import homeassistant.helpers.config_validation as cv
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.typing import ConfigType

DOMAIN = "jk_bms_virtual"
CONFIG_SCHEMA = cv.empty_config_schema(DOMAIN)
_LOGGER = logging.getLogger(__name__)

# This file is symlinked into config/custom_components; the virtual_bms package
# lives at the repository root, three levels above the real file.
_REPO_ROOT = Path(__file__).resolve().parents[3]


def _import(name: str) -> ModuleType:
    """Import ``virtual_bms.<name>`` from the repository without touching sys.path.

    Adding the repository root to sys.path would also add its ``custom_components``
    to Home Assistant's ``custom_components`` namespace package and hide others.
    """
    if "virtual_bms" not in sys.modules:
        package_dir = _REPO_ROOT / "virtual_bms"
        spec = spec_from_file_location(
            "virtual_bms",
            package_dir / "__init__.py",
            submodule_search_locations=[str(package_dir)],
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"virtual_bms not found in {_REPO_ROOT}")
        package = module_from_spec(spec)
        sys.modules["virtual_bms"] = package
        spec.loader.exec_module(package)
    return import_module(name)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the virtual proxy and bring the configured virtual BMS into range."""
    dev_spec = await hass.async_add_import_executor_job(_import, "virtual_bms.dev_spec")
    proxy_module = await hass.async_add_import_executor_job(
        _import, "virtual_bms.proxy"
    )
    specs = dev_spec.parse_specs(os.environ.get(dev_spec.ENV_DEVICES))
    time_scale = float(
        os.environ.get(dev_spec.ENV_TIME_SCALE) or dev_spec.DEFAULT_TIME_SCALE
    )
    proxy = proxy_module.VirtualProxy(hass)
    proxy.async_start()
    devices = []
    for index, spec in enumerate(specs):
        device = spec.build(dev_spec.dev_address(index), time_scale)
        proxy.add(device)
        devices.append(device)
        _LOGGER.info(
            "Virtual JK BMS %s (%s, %s, %d cells, %s, %s) advertising as %s",
            device.address,
            spec.profile.key,
            device.variant,
            len(device.battery.cells),
            spec.chemistry,
            spec.current_profile,
            device.local_name,
        )

    def _stop(_event: Event) -> None:
        for device in devices:
            device.power_off()
        proxy.async_stop()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _stop)
    return True
