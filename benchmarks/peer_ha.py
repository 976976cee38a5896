"""BMS_BLE-HA (patman15) in the bench's Home Assistant, against the same virtual BMS.

Bench-only, never part of the integration: its source (the ``2.15.0`` tag's
``custom_components/bms_ble``) and the aiobmsble release it pins are looked for
in the bench-only directory next to the venv (``bench-extras``); aiobmsble is
installed there with pip when missing. The source is not downloaded here: put a
checkout there first, e.g.
``git clone --depth 1 --branch 2.15.0 https://github.com/patman15/BMS_BLE-HA
<bench-extras>/BMS_BLE-HA-2.15.0`` (or pass ``--peer-source``). Without it the
side-by-side rows are skipped and the report says why.

It runs in its own process (``python -m benchmarks.load peer``): aiobmsble's
version for the decode comparison (peer_decode.py) differs from the one
BMS_BLE-HA pins.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from .peer_decode import EXTRAS

PEER_VERSION = "2.15.0"
PEER_SOURCE = EXTRAS / f"BMS_BLE-HA-{PEER_VERSION}"
PEER_DOMAIN = "bms_ble"
# BMS_BLE-HA's own sensor keys for current, power, voltage and SoC.
PEER_LIVE_KEYS = ("current", "power", "voltage", "battery_level")


def peer_requirement(source: Path) -> str | None:
    """Return the aiobmsble pin of the BMS_BLE-HA checkout at ``source``, if any."""
    manifest = source / "custom_components" / PEER_DOMAIN / "manifest.json"
    if not manifest.is_file():
        return None
    requirements = json.loads(manifest.read_text(encoding="utf-8"))["requirements"]
    return next((r for r in requirements if r.startswith("aiobmsble")), None)


def prepare(source: Path = PEER_SOURCE) -> tuple[bool, str]:
    """Make BMS_BLE-HA and its aiobmsble importable here; (ready, what or why not)."""
    requirement = peer_requirement(source)
    if requirement is None:
        return False, (
            f"no BMS_BLE-HA {PEER_VERSION} checkout in {source} (the bench does "
            "not download it; see benchmarks/peer_ha.py)"
        )
    target = EXTRAS / requirement.replace("==", "-")
    if not (target / "aiobmsble").is_dir():
        result = subprocess.run(  # noqa: S603 (fixed arguments)
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(target),
                requirement,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            return False, f"pip could not install {requirement}: {result.stderr[-300:]}"
    # custom_components is a namespace package: this adds bms_ble next to jk_bms.
    sys.path[:0] = [str(target), str(source)]
    # Found, not imported: aiobmsble must bind bleak's BleakClient after Home
    # Assistant's Bluetooth has put its wrapper in place, as in a real start.
    if importlib.util.find_spec("aiobmsble") is None:
        return False, f"{requirement} is not importable from {target}"
    return True, f"BMS_BLE-HA {PEER_VERSION} with {requirement}"
