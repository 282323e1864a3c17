"""Pi-hole entities: query figures of the last 24 hours and the blocking switch.

Five sensors (gravity domains disabled by default) and one switch; the anomaly monitor adds
its problem sensor and event entity. All write state only when what they show changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import PERCENTAGE, Platform
from homeassistant.helpers.entity import Entity

from ...entity import ChangeOnlyCoordinatorEntity
from .coordinator import PiholeCoordinator
from .models import Summary

if TYPE_CHECKING:
    from .runtime import PiholeRuntime


@dataclass(frozen=True, kw_only=True)
class PiholeSensorDescription(SensorEntityDescription):
    """A figure of the Pi-hole's summary."""

    value_fn: Callable[[Summary], int | float | None]


SENSORS: tuple[PiholeSensorDescription, ...] = (
    PiholeSensorDescription(
        key="pihole_queries_today",
        translation_key="pihole_queries_today",
        native_unit_of_measurement="queries",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: s.queries_total,
    ),
    PiholeSensorDescription(
        key="pihole_blocked_today",
        translation_key="pihole_blocked_today",
        native_unit_of_measurement="queries",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: s.queries_blocked,
    ),
    PiholeSensorDescription(
        key="pihole_blocked_percent",
        translation_key="pihole_blocked_percent",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda s: s.percent_blocked,
    ),
    PiholeSensorDescription(
        key="pihole_active_clients",
        translation_key="pihole_active_clients",
        native_unit_of_measurement="clients",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: s.clients_active,
    ),
    PiholeSensorDescription(
        key="pihole_gravity_domains",
        translation_key="pihole_gravity_domains",
        native_unit_of_measurement="domains",
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        value_fn=lambda s: s.gravity_domains,
    ),
)
BLOCKING = SwitchEntityDescription(key="pihole_blocking", translation_key="pihole_blocking")


class PiholeEntity(ChangeOnlyCoordinatorEntity[PiholeCoordinator]):
    """An entity of the Pi-hole device."""

    def __init__(self, runtime: PiholeRuntime, description: Any) -> None:
        """Attach to the entry's Pi-hole device."""
        super().__init__(runtime.coordinator)
        self.runtime = runtime
        self.entity_description = description
        self._attr_unique_id = f"{runtime.identity}_{description.key}"
        self._attr_device_info = runtime.device_info


class PiholeSensor(PiholeEntity, SensorEntity):
    """One summary figure."""

    entity_description: PiholeSensorDescription

    @property
    def native_value(self) -> int | float | None:
        """The figure of the last poll."""
        return self.entity_description.value_fn(self.coordinator.data.summary)


class PiholeBlockingSwitch(PiholeEntity, SwitchEntity):
    """On = Pi-hole blocks. Off disables blocking until turned on (the service takes a timer)."""

    @property
    def is_on(self) -> bool | None:
        """Whether blocking is enabled; unknown when Pi-hole reports it failed."""
        return self.coordinator.data.blocking.enabled

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Enable blocking."""
        await self.runtime.async_set_blocking(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Disable blocking with no timer."""
        await self.runtime.async_set_blocking(False)


def pihole_entities(runtime: PiholeRuntime, platform: Platform) -> list[Entity]:
    """The Pi-hole's own entities of one platform."""
    if platform is Platform.SENSOR:
        return [PiholeSensor(runtime, description) for description in SENSORS]
    if platform is Platform.SWITCH:
        return [PiholeBlockingSwitch(runtime, BLOCKING)]
    return []
