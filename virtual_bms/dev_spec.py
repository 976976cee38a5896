"""``JK_BMS_DEV_BMS``: which virtual BMS scripts/develop starts.

Format: comma-separated devices, each ``variant:model:cells:chemistry:profile:drift``.
Every field may be empty (or trailing fields left out) to take the default:

* variant: ``32s`` (JK02_32S), ``24s`` (JK02_24S) or ``04`` (JK04);
  default: the model's variant, or 32s.
* model: ``JK-B2A8S20P`` (32S), ``JK-B2A24S20P`` (24S), ``JK-B2A16S`` (JK04),
  ``JK-PB2A16S20P`` (32S, PB); default: the variant's model.
* cells: number of cells in series; default: the model's (B2A8S20P: 4, others 16).
* chemistry: ``lfp``, ``li_ion`` or ``lto``; default ``lfp``.
* profile: ``cycle`` (charge, then discharge, repeat), ``charge``, ``discharge``
  or ``idle``; default ``cycle``.
* drift: SoC points the BMS's counter starts away from the cells' true charge
  (``+30`` or ``-20``); default 0. With ``idle`` the SoC cross-check raises its
  doubt after the rest time (one pack hour: two minutes at the default scale).

Examples: unset or empty = one JK-B2A8S20P, 4S LiFePO4 280 Ah, cycling (the app
guide's pack); ``"32s:JK-B2A8S20P:4:lfp:cycle,24s::16:lfp:discharge,04"`` = three.
``JK_BMS_DEV_TIME_SCALE`` (default 30) speeds the packs up so values move visibly.
"""

from __future__ import annotations

from dataclasses import dataclass

from custom_components.jk_bms.protocol import Variant

from .chemistry import Chemistry
from .current_profile import ProfileKind
from .device import VirtualJkBms
from .profiles import (
    DEFAULT_PROFILE,
    DEFAULT_PROFILE_FOR_VARIANT,
    DeviceProfile,
    find_profile,
)

ENV_DEVICES = "JK_BMS_DEV_BMS"
ENV_TIME_SCALE = "JK_BMS_DEV_TIME_SCALE"
DEFAULT_TIME_SCALE = 30.0
_VARIANTS = {
    "32s": Variant.JK02_32S,
    "jk02_32s": Variant.JK02_32S,
    "24s": Variant.JK02_24S,
    "jk02_24s": Variant.JK02_24S,
    "04": Variant.JK04,
    "jk04": Variant.JK04,
}


@dataclass(frozen=True, slots=True)
class DevBmsSpec:
    """One virtual BMS requested through ``JK_BMS_DEV_BMS``."""

    profile: DeviceProfile
    cells: int | None
    chemistry: Chemistry
    current_profile: ProfileKind
    soc_drift: float = 0.0

    def build(self, address: str, time_scale: float) -> VirtualJkBms:
        """Create the device, live-streaming and accelerated."""
        return VirtualJkBms(
            self.profile,
            address=address,
            cells=self.cells,
            chemistry=self.chemistry,
            profile=self.current_profile,
            soc_drift=self.soc_drift,
            stream_interval=0.5,
            time_scale=time_scale,
            resolution_s=1.0,
        )


def parse_one(text: str) -> DevBmsSpec:
    """Parse ``variant:model:cells:chemistry:profile:drift`` (fields optional)."""
    fields = [f.strip() for f in text.split(":")]
    if len(fields) > 6:
        raise ValueError(
            f"{text!r}: at most 6 fields (variant:model:cells:chemistry:profile:drift)"
        )
    variant_text, model, cells, chemistry, profile, drift = (fields + [""] * 6)[:6]
    variant = _VARIANTS.get(variant_text.lower()) if variant_text else None
    if variant_text and variant is None:
        raise ValueError(f"{text!r}: unknown variant {variant_text!r} (32s, 24s or 04)")
    if model:
        device = find_profile(model)
    else:
        device = find_profile(
            DEFAULT_PROFILE_FOR_VARIANT[variant] if variant else DEFAULT_PROFILE
        )
    if variant is not None and device.variant is not variant:
        raise ValueError(
            f"{text!r}: {device.key} speaks {device.variant}, not {variant}"
        )
    return DevBmsSpec(
        profile=device,
        cells=int(cells) if cells else None,
        chemistry=Chemistry(chemistry.lower()) if chemistry else Chemistry.LFP,
        current_profile=ProfileKind(profile.lower()) if profile else ProfileKind.CYCLE,
        soc_drift=float(drift) if drift else 0.0,
    )


def parse_specs(text: str | None) -> list[DevBmsSpec]:
    """Parse the whole variable; empty or unset means the app guide's B2A8S20P."""
    parts = [p for p in (text or "").split(",") if p.strip()]
    return [parse_one(p) for p in parts] or [parse_one("")]


def dev_address(index: int) -> str:
    """MAC of the ``index``-th development BMS (an OUI real JK modules use)."""
    return f"C8:47:8C:D0:00:{index + 1:02X}"
