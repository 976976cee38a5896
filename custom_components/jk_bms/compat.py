"""The one place that knows which Home Assistant release runs this integration.

Supported: Home Assistant 2026.6.0 and newer (hacs.json, manifest, README).
"""

from __future__ import annotations

from homeassistant.const import MAJOR_VERSION, MINOR_VERSION

# Home Assistant validates flow and action schemas with probatio since 2026.10
# (voluptuous-compatible API) and with voluptuous before; a schema must come from
# the library Home Assistant catches errors of. Both names offer Schema,
# Required, Optional, In, Coerce, All, Range. (2026.9 already ships probatio but
# does not use it for flows, so the version decides, not what is importable.)
#
# BinarySensorDeviceClass lives in binary_sensor.const since 2026.10 (the package
# no longer re-exports it explicitly); 2026.6 has no such module.
if (MAJOR_VERSION, MINOR_VERSION) >= (2026, 10):
    import probatio
    from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
else:  # pragma: no cover (each test run covers one branch)
    import voluptuous as probatio  # type: ignore[no-redef]
    from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined]
        BinarySensorDeviceClass,
    )

__all__ = ["BinarySensorDeviceClass", "probatio"]
