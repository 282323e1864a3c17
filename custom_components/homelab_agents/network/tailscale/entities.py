"""Tailscale entities: tailnet counts, and per node online, key expiry, update, authorized."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.util import dt as dt_util

from ...entity import ChangeOnlyCoordinatorEntity, device_ref
from .coordinator import TailscaleCoordinator
from .devices import node_identifier, tailnet_identifier
from .models import TailnetSnapshot, TailscaleDevice

if TYPE_CHECKING:
    from .runtime import TailscaleRuntime


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """When a node counts as online and a key as expiring soon, at the moment `now`."""

    now: datetime
    online: timedelta
    expiry: timedelta


@dataclass(frozen=True, kw_only=True)
class TailnetSensorDescription(SensorEntityDescription):
    """A figure of the whole tailnet, with the nodes it counts."""

    members_fn: Callable[[TailnetSnapshot, Thresholds], list[TailscaleDevice]]
    list_members: bool = False


@dataclass(frozen=True, kw_only=True)
class NodeSensorDescription(SensorEntityDescription):
    """A value of one node."""

    value_fn: Callable[[TailscaleDevice, Thresholds], Any]


@dataclass(frozen=True, kw_only=True)
class NodeBinarySensorDescription(BinarySensorEntityDescription):
    """A yes/no of one node."""

    value_fn: Callable[[TailscaleDevice, Thresholds], bool | None]


TAILNET_SENSORS: tuple[TailnetSensorDescription, ...] = (
    TailnetSensorDescription(
        key="tailnet_devices",
        translation_key="tailnet_devices",
        state_class=SensorStateClass.MEASUREMENT,
        members_fn=lambda snapshot, _: list(snapshot.devices.values()),
    ),
    TailnetSensorDescription(
        key="tailnet_online_devices",
        translation_key="tailnet_online_devices",
        state_class=SensorStateClass.MEASUREMENT,
        members_fn=lambda snapshot, t: [
            d for d in snapshot.devices.values() if d.online(t.now, t.online)
        ],
    ),
    TailnetSensorDescription(
        key="tailnet_awaiting_authorization",
        translation_key="tailnet_awaiting_authorization",
        state_class=SensorStateClass.MEASUREMENT,
        members_fn=lambda snapshot, _: [d for d in snapshot.devices.values() if not d.authorized],
        list_members=True,
    ),
    TailnetSensorDescription(
        key="tailnet_keys_expiring",
        translation_key="tailnet_keys_expiring",
        state_class=SensorStateClass.MEASUREMENT,
        members_fn=lambda snapshot, t: [
            d for d in snapshot.devices.values() if d.key_expires_within(t.now, t.expiry)
        ],
        list_members=True,
    ),
)

NODE_SENSORS: tuple[NodeSensorDescription, ...] = (
    NodeSensorDescription(
        key="tailscale_key_expiry",
        translation_key="tailscale_key_expiry",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda device, _: device.expires,
    ),
)

NODE_BINARY_SENSORS: tuple[NodeBinarySensorDescription, ...] = (
    NodeBinarySensorDescription(
        key="tailscale_online",
        translation_key="tailscale_online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        value_fn=lambda device, t: device.online(t.now, t.online),
    ),
    NodeBinarySensorDescription(
        key="tailscale_update_available",
        translation_key="tailscale_update_available",
        device_class=BinarySensorDeviceClass.UPDATE,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda device, _: device.update_available,
    ),
    NodeBinarySensorDescription(
        key="tailscale_authorized",
        translation_key="tailscale_authorized",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda device, _: device.authorized,
    ),
)


class TailscaleEntity(ChangeOnlyCoordinatorEntity[TailscaleCoordinator]):
    """An entity of one tailnet entry."""

    def __init__(
        self, runtime: TailscaleRuntime, description: EntityDescription, device_id: str, unique: str
    ) -> None:
        """Identify the entity by the tailnet, the object it shows and its description."""
        super().__init__(runtime.coordinator)
        self.runtime = runtime
        self.entity_description = description
        self._attr_unique_id = f"{runtime.identity}_{unique}_{description.key}"
        self._attr_device_info = device_ref(device_id)

    def thresholds(self) -> Thresholds:
        """The entry's thresholds, now."""
        return Thresholds(
            now=dt_util.utcnow(),
            online=self.runtime.online_threshold,
            expiry=self.runtime.expiry_window,
        )


class TailnetSensor(TailscaleEntity, SensorEntity):
    """A count over the tailnet's devices."""

    entity_description: TailnetSensorDescription

    def __init__(self, runtime: TailscaleRuntime, description: TailnetSensorDescription) -> None:
        """A figure of the tailnet device."""
        super().__init__(runtime, description, tailnet_identifier(runtime.identity), "tailnet")

    def _members(self) -> list[TailscaleDevice]:
        return self.entity_description.members_fn(self.coordinator.data, self.thresholds())

    @property
    def native_value(self) -> int:
        """How many nodes count."""
        return len(self._members())

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The nodes counted, when there are few enough to be worth naming."""
        if not self.entity_description.list_members:
            return None
        return {"devices": sorted(device.label for device in self._members())}


class NodeEntity(TailscaleEntity):
    """An entity of one node, unavailable once the node left the tailnet."""

    def __init__(
        self, runtime: TailscaleRuntime, description: EntityDescription, node_id: str
    ) -> None:
        """Attach to the node's device."""
        super().__init__(runtime, description, node_identifier(runtime.identity, node_id), node_id)
        self.node_id = node_id

    @property
    def node(self) -> TailscaleDevice | None:
        """The node as the last poll saw it."""
        return self.coordinator.data.devices.get(self.node_id)

    @property
    def available(self) -> bool:
        """Available while the API answers and the node exists."""
        return super().available and self.node is not None


class NodeSensor(NodeEntity, SensorEntity):
    """A value of a node."""

    entity_description: NodeSensorDescription

    @property
    def native_value(self) -> Any:
        """The value; None once the node is gone."""
        node = self.node
        return None if node is None else self.entity_description.value_fn(node, self.thresholds())


class NodeBinarySensor(NodeEntity, BinarySensorEntity):
    """A yes/no of a node."""

    entity_description: NodeBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """The value; None once the node is gone."""
        node = self.node
        return None if node is None else self.entity_description.value_fn(node, self.thresholds())

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Where to reach the node (online sensor only; these rarely change)."""
        node = self.node
        if node is None or self.entity_description.key != "tailscale_online":
            return None
        return {
            "addresses": list(node.addresses),
            "hostname": node.hostname,
            "os": node.os,
            "tags": list(node.tags),
        }


def tailnet_entities(runtime: TailscaleRuntime, platform: str) -> list[Entity]:
    """The tailnet device's own entities of a platform."""
    if platform == Platform.SENSOR:
        return [TailnetSensor(runtime, description) for description in TAILNET_SENSORS]
    return []


def node_entities(runtime: TailscaleRuntime, platform: str, node_id: str) -> list[Entity]:
    """A node's entities of a platform."""
    if platform == Platform.SENSOR:
        return [NodeSensor(runtime, d, node_id) for d in NODE_SENSORS]
    if platform == Platform.BINARY_SENSOR:
        return [NodeBinarySensor(runtime, d, node_id) for d in NODE_BINARY_SENSORS]
    return []
