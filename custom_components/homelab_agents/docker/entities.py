"""Docker entities: the engine's container counts, and per container its state and figures.

HA allows 10,000 enabled entities per entry, so a container has four enabled by default
(running switch, state, CPU, memory used) plus health when it has a health check; memory limit
and usage %, restart count, image and start time are created disabled. CPU and memory entities
ask the coordinator for stats only while they are enabled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfInformation
from homeassistant.helpers.entity import Entity

from ..entity import ChangeOnlyCoordinatorEntity, device_ref
from .coordinator import DETAILS, STATS, DockerCoordinator
from .devices import container_identifier, engine_identifier
from .models import CONTAINER_STATES, HEALTH_STATES, STOPPED_STATES, Container, EngineSnapshot

if TYPE_CHECKING:
    from .runtime import DockerRuntime


def _memory_percent(container: Container) -> float | None:
    stats = container.stats
    if stats is None or stats.memory_used is None or not stats.memory_limit:
        return None
    return round(stats.memory_used / stats.memory_limit * 100, 1)


def _started(container: Container) -> datetime | None:
    if not container.listed.running or container.details is None:
        return None
    return container.details.started_at


@dataclass(frozen=True, kw_only=True)
class ContainerSensorDescription(SensorEntityDescription):
    """A figure of a container; `needs` names what the coordinator must read for it."""

    value_fn: Callable[[Container], Any]
    needs: str | None = None


@dataclass(frozen=True, kw_only=True)
class EngineSensorDescription(SensorEntityDescription):
    """A count over the engine's containers."""

    value_fn: Callable[[EngineSnapshot], int]


_BYTES: dict[str, Any] = {
    "device_class": SensorDeviceClass.DATA_SIZE,
    "native_unit_of_measurement": UnitOfInformation.BYTES,
    "suggested_unit_of_measurement": UnitOfInformation.MEBIBYTES,
    "suggested_display_precision": 1,
    "state_class": SensorStateClass.MEASUREMENT,
}
_PERCENT: dict[str, Any] = {
    "native_unit_of_measurement": PERCENTAGE,
    "state_class": SensorStateClass.MEASUREMENT,
    "suggested_display_precision": 1,
}

CONTAINER_STATE = ContainerSensorDescription(
    key="container_state",
    translation_key="container_state",
    device_class=SensorDeviceClass.ENUM,
    options=CONTAINER_STATES,
    value_fn=lambda c: c.state,
)
CONTAINER_HEALTH = ContainerSensorDescription(
    key="container_health",
    translation_key="container_health",
    device_class=SensorDeviceClass.ENUM,
    options=HEALTH_STATES,
    value_fn=lambda c: c.health,
)
CONTAINER_SENSORS: tuple[ContainerSensorDescription, ...] = (
    CONTAINER_STATE,
    ContainerSensorDescription(
        key="cpu",
        translation_key="cpu",
        needs=STATS,
        value_fn=lambda c: None if c.stats is None else c.stats.cpu_percent,
        **_PERCENT,
    ),
    ContainerSensorDescription(
        key="memory_used",
        translation_key="memory_used",
        needs=STATS,
        value_fn=lambda c: None if c.stats is None else c.stats.memory_used,
        **_BYTES,
    ),
    ContainerSensorDescription(
        key="memory_limit",
        translation_key="memory_limit",
        needs=STATS,
        entity_registry_enabled_default=False,
        value_fn=lambda c: None if c.stats is None else c.stats.memory_limit,
        **_BYTES,
    ),
    ContainerSensorDescription(
        key="memory",
        translation_key="memory",
        needs=STATS,
        entity_registry_enabled_default=False,
        value_fn=_memory_percent,
        **_PERCENT,
    ),
    ContainerSensorDescription(
        key="restart_count",
        translation_key="restart_count",
        needs=DETAILS,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda c: None if c.details is None else c.details.restart_count,
    ),
    ContainerSensorDescription(
        key="image",
        translation_key="image",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda c: c.listed.image[:255] or None,
    ),
    ContainerSensorDescription(
        key="started",
        translation_key="started",
        needs=DETAILS,
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_started,
    ),
)

ENGINE_SENSORS: tuple[EngineSensorDescription, ...] = (
    EngineSensorDescription(
        key="containers_running",
        translation_key="containers_running",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: sum(c.state == "running" for c in s.containers.values()),
    ),
    EngineSensorDescription(
        key="containers_stopped",
        translation_key="containers_stopped",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: sum(c.state in STOPPED_STATES for c in s.containers.values()),
    ),
    EngineSensorDescription(
        key="containers_unhealthy",
        translation_key="containers_unhealthy",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: sum(c.health == "unhealthy" for c in s.containers.values()),
    ),
    EngineSensorDescription(
        key="containers",
        translation_key="containers",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: len(s.containers),
    ),
)

RUNNING = SwitchEntityDescription(key="running", translation_key="running")


class DockerEntity(ChangeOnlyCoordinatorEntity[DockerCoordinator]):
    """An entity of one Docker host."""

    def __init__(self, runtime: DockerRuntime, unique_prefix: str, key: str) -> None:
        """Attach to a device of the engine."""
        super().__init__(runtime.coordinator)
        self.runtime = runtime
        self._attr_unique_id = f"{unique_prefix}_{key}"


class ContainerEntity(DockerEntity):
    """An entity of one container, followed by its stable key across re-creation."""

    def __init__(self, runtime: DockerRuntime, key: str, description_key: str) -> None:
        """Follow the container with this key."""
        super().__init__(runtime, f"{runtime.identity}_container_{key}", description_key)
        self._attr_device_info = device_ref(container_identifier(runtime.identity, key))
        self.key = key

    @property
    def container(self) -> Container | None:
        """The container in the latest poll."""
        return self.coordinator.data.containers.get(self.key)

    @property
    def available(self) -> bool:
        """Present in the latest successful poll."""
        return super().available and self.container is not None


class ContainerSensor(ContainerEntity, SensorEntity):
    """A figure of a container."""

    entity_description: ContainerSensorDescription

    def __init__(
        self, runtime: DockerRuntime, description: ContainerSensorDescription, key: str
    ) -> None:
        """Show one figure of the container `key`."""
        super().__init__(runtime, key, description.key)
        self.entity_description = description

    async def async_added_to_hass(self) -> None:
        """Ask for what this figure needs, for as long as the entity exists."""
        await super().async_added_to_hass()
        if (needs := self.entity_description.needs) is not None:
            self.coordinator.want(needs, self.key)
            self.async_on_remove(lambda: self.coordinator.release(needs, self.key))

    @property
    def native_value(self) -> Any:
        """The figure, or None when it is not known (stopped, no stats yet)."""
        container = self.container
        return None if container is None else self.entity_description.value_fn(container)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The state sensor tells the last exit code (and the engine's error, if any)."""
        container = self.container
        if self.entity_description.key != "container_state" or container is None:
            return None
        error = None if container.details is None else container.details.error
        return {"exit_code": container.exit_code, "error": error}


class ContainerRunningSwitch(ContainerEntity, SwitchEntity):
    """On = running; turning on starts it. Off asks for a confirmation (stop is guarded).

    Named after the container itself, so Assist's own "turn on pihole" works on it.
    """

    _attr_name = None
    entity_description = RUNNING

    def __init__(self, runtime: DockerRuntime, key: str) -> None:
        """The container `key`'s switch."""
        super().__init__(runtime, key, RUNNING.key)

    @property
    def is_on(self) -> bool | None:
        """Running (paused and restarting count as on: the process exists)."""
        container = self.container
        if container is None:
            return None
        return container.state in ("running", "paused", "restarting")

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Start the container."""
        await self.runtime.async_action(self.key, "start")

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Record a stop for the calling user; it runs when they confirm it."""
        user_id = self._context.user_id if self._context else None
        requester = f"user:{user_id}" if user_id else "system"
        self.runtime.async_request_stop_from_switch(self.key, requester)


class EngineSensor(DockerEntity, SensorEntity):
    """A count over the engine's containers."""

    entity_description: EngineSensorDescription

    def __init__(self, runtime: DockerRuntime, description: EngineSensorDescription) -> None:
        """Attach to the engine device."""
        super().__init__(runtime, f"{runtime.identity}_engine", description.key)
        self.entity_description = description
        self._attr_device_info = device_ref(engine_identifier(runtime.identity))

    @property
    def native_value(self) -> int:
        """The count."""
        return self.entity_description.value_fn(self.coordinator.data)


def engine_entities(runtime: DockerRuntime, platform: str) -> list[Entity]:
    """Entities of the engine device."""
    if platform == "sensor":
        return [EngineSensor(runtime, d) for d in ENGINE_SENSORS]
    return []


def container_entities(
    runtime: DockerRuntime, platform: str, key: str, *, health: bool
) -> list[Entity]:
    """Entities of one container; `health` adds the health sensor (with a health check)."""
    if platform == "sensor":
        sensors = [ContainerSensor(runtime, d, key) for d in CONTAINER_SENSORS]
        if health:
            sensors.append(ContainerSensor(runtime, CONTAINER_HEALTH, key))
        return list(sensors)
    return [ContainerRunningSwitch(runtime, key)]  # the switch platform: the only other one
