"""Binary sensors of a JK BMS: what the MOSFETs, balancer and heater do, and alarms."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .compat import BinarySensorDeviceClass
from .coordinator import JkBmsConfigEntry, JkBmsCoordinator, JkBmsData
from .entity import (
    JK02,
    JK02_32S,
    JkBmsEntity,
    JkBmsEntityDescription,
    cell_info_value,
    is_pb,
    is_supported,
)
from .protocol import ALARMS
from .protocol.tables.alarms import JK02_24S_ALARM_BITS

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class JkBmsBinarySensorEntityDescription(
    JkBmsEntityDescription, BinarySensorEntityDescription
):
    """Describes a JK BMS binary sensor."""

    value_fn: Callable[[JkBmsData], bool | None]
    attributes_fn: Callable[[JkBmsData], Mapping[str, object]] | None = None
    """State attributes (the evidence behind the state), compared like the state."""


def _flag(key: str) -> Callable[[JkBmsData], bool | None]:
    read = cell_info_value(key)

    def value(data: JkBmsData) -> bool | None:
        raw = read(data)
        return None if raw is None else bool(raw)

    return value


def _soc_doubtful(data: JkBmsData) -> bool | None:
    value = data.derived.get("soc_doubtful")
    return value if isinstance(value, bool) else None


def _soc_doubt_attributes(data: JkBmsData) -> Mapping[str, object]:
    """Return the numbers behind a doubt, or why the check cannot tell."""
    derived = data.derived
    return {
        "cells_low": derived.get("soc_doubt_cells_low"),
        "cells_high": derived.get("soc_doubt_cells_high"),
        "bms_soc": derived.get("soc_doubt_bms"),
        "reason": (
            derived.get("soc_check_reason")
            if derived.get("soc_doubtful") is None
            else None
        ),
    }


BINARY_SENSORS: tuple[JkBmsBinarySensorEntityDescription, ...] = (
    JkBmsBinarySensorEntityDescription(
        key="charging",
        translation_key="charging",
        object_id="charging",  # named "Charge MOSFET": the switch is "Charging"
        device_class=BinarySensorDeviceClass.POWER,
        variants=JK02,
        value_fn=_flag("charging"),
    ),
    JkBmsBinarySensorEntityDescription(
        key="discharging",
        translation_key="discharging",
        object_id="discharging",  # named "Discharge MOSFET"
        device_class=BinarySensorDeviceClass.POWER,
        variants=JK02,
        value_fn=_flag("discharging"),
    ),
    JkBmsBinarySensorEntityDescription(
        key="balancing",
        translation_key="balancing",
        device_class=BinarySensorDeviceClass.RUNNING,
        value_fn=_flag("balancing"),
    ),
    JkBmsBinarySensorEntityDescription(
        key="heating",
        translation_key="heating",
        object_id="heating",  # named "Heater": the switch is "Heating"
        # "Running", not the heat class's "Normal"/"Hot" (it is the heater, not heat).
        device_class=BinarySensorDeviceClass.RUNNING,
        entity_category=EntityCategory.DIAGNOSTIC,
        variants=JK02_32S,
        value_fn=_flag("heating"),
    ),
    JkBmsBinarySensorEntityDescription(
        key="emergency",
        translation_key="emergency",
        device_class=BinarySensorDeviceClass.RUNNING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02_32S,
        value_fn=_flag("emergency"),
    ),
    JkBmsBinarySensorEntityDescription(
        # The BMS's SoC lies outside what the resting cells allow (soc_check.py).
        key="soc_doubtful",
        translation_key="soc_doubtful",
        device_class=BinarySensorDeviceClass.PROBLEM,
        variants=JK02,
        value_fn=_soc_doubtful,
        attributes_fn=_soc_doubt_attributes,
    ),
    *(
        JkBmsBinarySensorEntityDescription(
            key=f"dry_contact_{contact}",
            translation_key="dry_contact",
            translation_placeholders={"n": str(contact)},
            entity_category=EntityCategory.DIAGNOSTIC,
            entity_registry_enabled_default=False,
            variants=JK02_32S,
            supported_fn=is_pb,
            value_fn=_flag(f"dry_contact_{contact}"),
        )
        for contact in (1, 2)
    ),
)

# One problem sensor per alarm bit: 16 bits on JK02_24S, 29 on JK02_32S. Off by
# default: the "Errors" sensor names every active alarm; enable one to automate on it.
ALARM_BINARY_SENSORS: tuple[JkBmsBinarySensorEntityDescription, ...] = tuple(
    JkBmsBinarySensorEntityDescription(
        key=alarm.key,
        translation_key=alarm.key,
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        variants=JK02 if bit < JK02_24S_ALARM_BITS else JK02_32S,
        value_fn=_flag(alarm.key),
    )
    for bit, alarm in ALARMS.items()
)

ALL_BINARY_SENSORS = (*BINARY_SENSORS, *ALARM_BINARY_SENSORS)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: JkBmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the binary sensors this BMS supports."""
    coordinator = entry.runtime_data
    async_add_entities(
        JkBmsBinarySensor(coordinator, description)
        for description in ALL_BINARY_SENSORS
        if is_supported(description, coordinator)
    )


class JkBmsBinarySensor(JkBmsEntity, BinarySensorEntity):
    """An on/off state reported by the BMS."""

    entity_description: JkBmsBinarySensorEntityDescription

    def __init__(
        self,
        coordinator: JkBmsCoordinator,
        description: JkBmsBinarySensorEntityDescription,
    ) -> None:
        """Create the binary sensor for ``description``."""
        super().__init__(coordinator, description)

    @property
    @override
    def is_on(self) -> bool | None:
        """Return the latest state."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, object] | None:
        """Return the evidence behind the state (only where the description says)."""
        attributes_fn = self.entity_description.attributes_fn
        return None if attributes_fn is None else attributes_fn(self.coordinator.data)

    @override
    def _shown_value(self) -> object:
        if self.entity_description.attributes_fn is None:
            return self.is_on
        return self.is_on, self.extra_state_attributes
