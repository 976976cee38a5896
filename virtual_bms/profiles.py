"""Device models the virtual BMS can be: variant, real template frames, radio, defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from custom_components.jk_bms.protocol import Value, Variant
from custom_components.jk_bms.protocol.tables.options import (
    CAN_PROTOCOLS,
    TRIGGERS,
    UART_PROTOCOLS,
)

from .chemistry import Chemistry
from .gatt import ModuleLayout
from .templates import (
    B2A8S20P_11_17,
    B2A16S_3_3_0,
    B2A24S20P_10_07,
    PB2A16S20P_15_41,
    FrameTemplates,
)


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """One real JK model as the virtual BMS plays it."""

    key: str
    variant: Variant
    templates: FrameTemplates
    cell_count: int
    capacity_ah: float
    chemistry: Chemistry = Chemistry.LFP
    temperature_sensors: int = 2
    module_layout: ModuleLayout = ModuleLayout.OLD
    mtu: int = 131
    # Notification sizes one 300-byte frame is cut into (repeated), protocol doc §1.2.
    chunk_layout: tuple[int, ...] = (128, 22)
    # JK-PB: after the settings frame the device-info frame comes again (counter 0xA5).
    repeats_device_info: bool = False
    # JK-PB keeps alarm bit 19 "Modify password in time" up while the factory passwords are set.
    password_alarm: bool = False
    settings: Mapping[str, Value] = field(default_factory=dict)
    device_info: Mapping[str, Value] = field(default_factory=dict)


# The JK app guide our users follow: JK-B2A8S20P on a 4S LiFePO4 280 Ah pack.
APP_GUIDE_SETTINGS: Mapping[str, Value] = {
    "balance_trigger_voltage": 0.010,
    "balancing_start_voltage": 3.00,
    "max_balance_current": 2.0,
    "cell_ovp": 3.550,
    "soc_100_voltage": 3.520,
    "cell_ovpr": 3.500,
    "cell_uvpr": 2.650,
    "soc_0_voltage": 2.620,
    "cell_uvp": 2.600,
    "power_off_voltage": 2.500,
    "smart_sleep_voltage": 3.500,
    "smart_sleep_time": 24,
    "max_charge_current": 200.0,
    "max_discharge_current": 200.0,
    "charge_ocp_delay": 10,
    "discharge_ocp_delay": 10,
    "charge_ocp_recovery": 60,
    "discharge_ocp_recovery": 60,
    "discharge_otp": 70.0,
    "discharge_otpr": 60.0,
    "charge_otp": 50.0,
    "charge_otpr": 45.0,
    "charge_utp": 0.0,
    "charge_utpr": 3.0,
    "mosfet_otp": 80.0,
    "mosfet_otpr": 70.0,
    "scp_delay": 1500,
    "scp_recovery": 60,
    "device_address": 1,
    "charging": True,
    "discharging": True,
    "balancer": True,
    **{f"connection_wire_resistance_{n}": 0 for n in range(1, 33)},
}
APP_GUIDE_DEVICE_INFO: Mapping[str, Value] = {
    "uart1_protocol": UART_PROTOCOLS[0],
    "can_protocol": CAN_PROTOCOLS[0],
    "lcd_buzzer_trigger": TRIGGERS[9],
    "lcd_buzzer_trigger_value": 100,
    "lcd_buzzer_release_value": 95,
}

PROFILES: dict[str, DeviceProfile] = {
    "JK-B2A8S20P": DeviceProfile(
        key="JK-B2A8S20P",
        variant=Variant.JK02_32S,
        templates=B2A8S20P_11_17,
        cell_count=4,
        capacity_ah=280.0,
        settings=APP_GUIDE_SETTINGS,
        device_info=APP_GUIDE_DEVICE_INFO,
    ),
    "JK-B2A24S20P": DeviceProfile(
        key="JK-B2A24S20P",
        variant=Variant.JK02_24S,
        templates=B2A24S20P_10_07,
        cell_count=16,
        capacity_ah=100.0,
        module_layout=ModuleLayout.NEW,
        mtu=247,
        chunk_layout=(150,),
        settings={"charging": True, "discharging": True, "balancer": True},
    ),
    "JK-B2A16S": DeviceProfile(
        key="JK-B2A16S",
        variant=Variant.JK04,
        templates=B2A16S_3_3_0,
        cell_count=16,
        capacity_ah=100.0,
        temperature_sensors=0,
        mtu=23,
        chunk_layout=(20,),
    ),
    "JK-PB2A16S20P": DeviceProfile(
        key="JK-PB2A16S20P",
        variant=Variant.JK02_32S,
        templates=PB2A16S20P_15_41,
        cell_count=16,
        capacity_ah=310.0,
        temperature_sensors=4,
        repeats_device_info=True,
        password_alarm=True,
    ),
}

_ALIASES = {
    "b2a8s20p": "JK-B2A8S20P",
    "b2a24s20p": "JK-B2A24S20P",
    "b2a16s": "JK-B2A16S",
    "pb2a16s20p": "JK-PB2A16S20P",
    "pb": "JK-PB2A16S20P",
}
DEFAULT_PROFILE = "JK-B2A8S20P"
DEFAULT_PROFILE_FOR_VARIANT: Mapping[Variant, str] = {
    Variant.JK02_32S: "JK-B2A8S20P",
    Variant.JK02_24S: "JK-B2A24S20P",
    Variant.JK04: "JK-B2A16S",
}


def find_profile(name: str) -> DeviceProfile:
    """Look a model up by key, loosely (``JK_B2A8S20P``, ``b2a8s20p`` and ``pb`` work)."""
    normalized = (
        name.strip().lower().removeprefix("jk-").removeprefix("jk_").replace("_", "")
    )
    key = _ALIASES.get(normalized.replace("-", ""))
    if key is None:
        raise KeyError(
            f"unknown virtual BMS model {name!r}; known: {', '.join(PROFILES)}"
        )
    return PROFILES[key]
