"""Proxmox VE entities: cluster, node, guest and storage devices and their figures.

A 2,000-guest cluster must stay under Home Assistant's 10,000 entities per entry: a guest has
four entities enabled by default (power switch, status, CPU, memory); the rest (reboot and
shutdown buttons, memory and disk used, network rates, start time) are created disabled.
Entities write state only when what they show changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfDataRate, UnitOfInformation
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from ..confirm import async_get_confirmations
from ..entity import ChangeOnlyCoordinatorEntity, device_ref
from ..reports.entities import LastReportSensor
from .coordinator import ProxmoxCoordinator
from .devices import cluster_identifier, guest_identifier, node_identifier, storage_identifier
from .models import ClusterSnapshot, Guest, Node, Storage

if TYPE_CHECKING:
    from .runtime import ProxmoxRuntime

GUEST_STATUSES = ["running", "stopped", "paused", "suspended", "prelaunch"]


def _percent(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole * 100, 1)


def _cpu(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


# Descriptions


@dataclass(frozen=True, kw_only=True)
class GuestSensorDescription(SensorEntityDescription):
    """A figure of a guest."""

    value_fn: Callable[[Guest, ClusterSnapshot], Any]


@dataclass(frozen=True, kw_only=True)
class NodeSensorDescription(SensorEntityDescription):
    """A figure of a node."""

    value_fn: Callable[[Node, ClusterSnapshot], Any]


@dataclass(frozen=True, kw_only=True)
class StorageSensorDescription(SensorEntityDescription):
    """A figure of a storage."""

    value_fn: Callable[[Storage], Any]


@dataclass(frozen=True, kw_only=True)
class ClusterSensorDescription(SensorEntityDescription):
    """A figure of the whole cluster."""

    value_fn: Callable[[ClusterSnapshot], Any]


class _SensorKwargs(TypedDict, total=False):
    device_class: SensorDeviceClass
    native_unit_of_measurement: str
    suggested_unit_of_measurement: str
    suggested_display_precision: int
    state_class: SensorStateClass


_BYTES: _SensorKwargs = {
    "device_class": SensorDeviceClass.DATA_SIZE,
    "native_unit_of_measurement": UnitOfInformation.BYTES,
    "suggested_unit_of_measurement": UnitOfInformation.GIBIBYTES,
    "suggested_display_precision": 1,
    "state_class": SensorStateClass.MEASUREMENT,
}
_PERCENT: _SensorKwargs = {
    "native_unit_of_measurement": PERCENTAGE,
    "state_class": SensorStateClass.MEASUREMENT,
    "suggested_display_precision": 1,
}
_RATE: _SensorKwargs = {
    "device_class": SensorDeviceClass.DATA_RATE,
    "native_unit_of_measurement": UnitOfDataRate.BYTES_PER_SECOND,
    "suggested_unit_of_measurement": UnitOfDataRate.KIBIBYTES_PER_SECOND,
    "suggested_display_precision": 1,
    "state_class": SensorStateClass.MEASUREMENT,
}

GUEST_SENSORS: tuple[GuestSensorDescription, ...] = (
    GuestSensorDescription(
        key="status",
        translation_key="guest_status",
        device_class=SensorDeviceClass.ENUM,
        options=GUEST_STATUSES,
        value_fn=lambda g, _: g.status if g.status in GUEST_STATUSES else None,
    ),
    GuestSensorDescription(
        key="cpu", translation_key="cpu", value_fn=lambda g, _: _cpu(g.cpu), **_PERCENT
    ),
    GuestSensorDescription(
        key="memory",
        translation_key="memory",
        value_fn=lambda g, _: _percent(g.mem, g.maxmem),
        **_PERCENT,
    ),
    GuestSensorDescription(
        key="memory_used",
        translation_key="memory_used",
        entity_registry_enabled_default=False,
        value_fn=lambda g, _: g.mem,
        **_BYTES,
    ),
    GuestSensorDescription(
        key="disk_used",
        translation_key="disk_used",
        entity_registry_enabled_default=False,
        value_fn=lambda g, _: g.disk if g.guest_type == "lxc" else None,
        **_BYTES,
    ),
    GuestSensorDescription(
        key="network_in",
        translation_key="network_in",
        entity_registry_enabled_default=False,
        value_fn=lambda g, s: s.net_rates.get(g.vmid, (None, None))[0],
        **_RATE,
    ),
    GuestSensorDescription(
        key="network_out",
        translation_key="network_out",
        entity_registry_enabled_default=False,
        value_fn=lambda g, s: s.net_rates.get(g.vmid, (None, None))[1],
        **_RATE,
    ),
    GuestSensorDescription(
        key="started",
        translation_key="started",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda g, s: s.boot_times.get(f"guest/{g.vmid}"),
    ),
)

NODE_SENSORS: tuple[NodeSensorDescription, ...] = (
    NodeSensorDescription(
        key="cpu", translation_key="cpu", value_fn=lambda n, _: _cpu(n.cpu), **_PERCENT
    ),
    NodeSensorDescription(
        key="memory",
        translation_key="memory",
        value_fn=lambda n, _: _percent(n.mem, n.maxmem),
        **_PERCENT,
    ),
    NodeSensorDescription(
        key="memory_used",
        translation_key="memory_used",
        entity_registry_enabled_default=False,
        value_fn=lambda n, _: n.mem,
        **_BYTES,
    ),
    NodeSensorDescription(
        key="root_fs",
        translation_key="root_fs",
        value_fn=lambda n, _: _percent(n.disk, n.maxdisk),
        **_PERCENT,
    ),
    NodeSensorDescription(
        key="started",
        translation_key="started",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda n, s: s.boot_times.get(f"node/{n.name}"),
    ),
)

STORAGE_SENSORS: tuple[StorageSensorDescription, ...] = (
    StorageSensorDescription(
        key="used", translation_key="storage_used", value_fn=lambda s: s.used, **_BYTES
    ),
    StorageSensorDescription(
        key="total",
        translation_key="storage_total",
        entity_registry_enabled_default=False,
        value_fn=lambda s: s.total,
        **_BYTES,
    ),
    StorageSensorDescription(
        key="usage",
        translation_key="storage_usage",
        value_fn=lambda s: _percent(s.used, s.total),
        **_PERCENT,
    ),
)

CLUSTER_SENSORS: tuple[ClusterSensorDescription, ...] = (
    ClusterSensorDescription(
        key="running_guests",
        translation_key="running_guests",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: sum(g.running for g in s.guests.values()),
    ),
    ClusterSensorDescription(
        key="guests",
        translation_key="guests",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: len(s.guests),
    ),
    ClusterSensorDescription(
        key="nodes_online",
        translation_key="nodes_online",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: sum(n.online for n in s.nodes.values()),
    ),
)

NODE_ONLINE = BinarySensorEntityDescription(
    key="online", translation_key="node_online", device_class=BinarySensorDeviceClass.CONNECTIVITY
)
QUORATE = BinarySensorEntityDescription(key="quorate", translation_key="quorate")
POWER = SwitchEntityDescription(key="power", translation_key="power")
REBOOT = ButtonEntityDescription(
    key="reboot", translation_key="reboot", entity_registry_enabled_default=False
)
SHUTDOWN = ButtonEntityDescription(
    key="shutdown", translation_key="shutdown", entity_registry_enabled_default=False
)


# Devices are registered by the runtime (parents before children); entities only point at them.


# Entities


class ProxmoxEntity(ChangeOnlyCoordinatorEntity[ProxmoxCoordinator]):
    """An entity of the cluster; unavailable when its object is gone."""

    def __init__(
        self,
        runtime: ProxmoxRuntime,
        description: EntityDescription,
        unique_prefix: str,
        device_info: DeviceInfo,
    ) -> None:
        """Attach to a device of the cluster."""
        super().__init__(runtime.coordinator)
        self.runtime = runtime
        self.entity_description = description
        self._attr_unique_id = f"{unique_prefix}_{description.key}"
        self._attr_device_info = device_info


class GuestEntity(ProxmoxEntity):
    """An entity of one guest."""

    def __init__(
        self, runtime: ProxmoxRuntime, description: EntityDescription, guest: Guest
    ) -> None:
        """Follow the guest with this vmid wherever it runs."""
        super().__init__(
            runtime,
            description,
            f"{runtime.identity}_guest_{guest.vmid}",
            device_ref(guest_identifier(runtime.identity, guest.vmid)),
        )
        self.vmid = guest.vmid

    @property
    def guest(self) -> Guest | None:
        """The guest in the latest poll."""
        return self.coordinator.data.guests.get(self.vmid)

    @property
    def available(self) -> bool:
        """Known in the latest successful poll."""
        return super().available and self.guest is not None


class GuestSensor(GuestEntity, SensorEntity):
    """A figure of a guest."""

    entity_description: GuestSensorDescription

    @property
    def native_value(self) -> Any:
        """The figure, or None when Proxmox does not know it (e.g. node offline)."""
        guest = self.guest
        if guest is None:
            return None
        return self.entity_description.value_fn(guest, self.coordinator.data)


class GuestPowerSwitch(GuestEntity, SwitchEntity):
    """On = running. Turning off shuts the guest down gracefully.

    Named after the guest itself, so Assist's own "turn on nextcloud" works on it.
    """

    _attr_name = None

    @property
    def is_on(self) -> bool | None:
        """Whether the guest runs; unknown when its node is offline."""
        guest = self.guest
        return None if guest is None or guest.status is None else guest.running

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Start the guest and wait for the task."""
        await self.runtime.async_power(self.vmid, "start")

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Shut the guest down gracefully and wait for the task."""
        await self.runtime.async_power(self.vmid, "shutdown")


class GuestButton(GuestEntity, ButtonEntity):
    """Reboot or shut down a guest."""

    async def async_press(self) -> None:
        """Run the action and wait for the task."""
        await self.runtime.async_power(self.vmid, self.entity_description.key)


class NodeEntity(ProxmoxEntity):
    """An entity of one node."""

    def __init__(self, runtime: ProxmoxRuntime, description: EntityDescription, node: str) -> None:
        """Follow the named node."""
        super().__init__(
            runtime,
            description,
            f"{runtime.identity}_node_{node}",
            device_ref(node_identifier(runtime.identity, node)),
        )
        self.node_name = node

    @property
    def node(self) -> Node | None:
        """The node in the latest poll."""
        return self.coordinator.data.nodes.get(self.node_name)


class NodeSensor(NodeEntity, SensorEntity):
    """A figure of a node; unavailable while the node is offline."""

    entity_description: NodeSensorDescription

    @property
    def available(self) -> bool:
        """Figures exist only for an online node."""
        node = self.node
        return super().available and node is not None and node.online

    @property
    def native_value(self) -> Any:
        """The figure."""
        node = self.node
        if node is None:
            return None
        return self.entity_description.value_fn(node, self.coordinator.data)


class NodeOnlineSensor(NodeEntity, BinarySensorEntity):
    """Whether the node is online in the cluster."""

    @property
    def is_on(self) -> bool | None:
        """Online."""
        node = self.node
        return None if node is None else node.online


class StorageSensor(ProxmoxEntity, SensorEntity):
    """A figure of a storage."""

    entity_description: StorageSensorDescription

    def __init__(
        self, runtime: ProxmoxRuntime, description: StorageSensorDescription, key: str
    ) -> None:
        """Follow the storage with this key."""
        super().__init__(
            runtime,
            description,
            f"{runtime.identity}_storage_{key}",
            device_ref(storage_identifier(runtime.identity, key)),
        )
        self.key = key

    @property
    def available(self) -> bool:
        """Known and reachable in the latest poll."""
        storage = self.coordinator.data.storages.get(self.key)
        return super().available and storage is not None and storage.available

    @property
    def native_value(self) -> Any:
        """The figure."""
        storage = self.coordinator.data.storages.get(self.key)
        return None if storage is None else self.entity_description.value_fn(storage)


class ClusterSensor(ProxmoxEntity, SensorEntity):
    """A figure of the cluster."""

    entity_description: ClusterSensorDescription

    def __init__(self, runtime: ProxmoxRuntime, description: ClusterSensorDescription) -> None:
        """Attach to the cluster device."""
        super().__init__(
            runtime,
            description,
            f"{runtime.identity}_cluster",
            device_ref(cluster_identifier(runtime.identity)),
        )

    @property
    def native_value(self) -> Any:
        """The figure."""
        return self.entity_description.value_fn(self.coordinator.data)


class QuorateSensor(ProxmoxEntity, BinarySensorEntity):
    """Whether the cluster has quorum (stand-alone nodes always do)."""

    def __init__(self, runtime: ProxmoxRuntime) -> None:
        """Attach to the cluster device."""
        super().__init__(
            runtime,
            QUORATE,
            f"{runtime.identity}_cluster",
            device_ref(cluster_identifier(runtime.identity)),
        )

    @property
    def is_on(self) -> bool:
        """Quorate."""
        quorate = self.coordinator.data.quorate
        return True if quorate is None else quorate


class PendingConfirmationsSensor(SensorEntity):
    """Destructive actions of this cluster waiting for their requester's confirmation."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_translation_key = "pending_confirmations"

    def __init__(self, runtime: ProxmoxRuntime) -> None:
        """Count the entry's pending actions."""
        self.runtime = runtime
        self._attr_unique_id = f"{runtime.identity}_cluster_pending_confirmations"
        self._attr_device_info = device_ref(cluster_identifier(runtime.identity))
        self._attr_native_value = self._count()

    def _count(self) -> int:
        confirmations = async_get_confirmations(self.runtime.hass)
        return len(confirmations.pending(config_entry_id=self.runtime.entry.entry_id))

    async def async_added_to_hass(self) -> None:
        """Follow the confirmation registry."""
        self.async_on_remove(async_get_confirmations(self.hass).async_add_listener(self._changed))

    @callback
    def _changed(self) -> None:
        count = self._count()
        if count != self._attr_native_value:
            self._attr_native_value = count
            self.async_write_ha_state()


def cluster_entities(runtime: ProxmoxRuntime, platform: str) -> list[Entity]:
    """Entities of the cluster device."""
    if platform == "sensor":
        return [
            *(ClusterSensor(runtime, d) for d in CLUSTER_SENSORS),
            PendingConfirmationsSensor(runtime),
            LastReportSensor(
                f"{runtime.identity}_cluster", device_ref(cluster_identifier(runtime.identity))
            ),
        ]
    if platform == "binary_sensor":
        return [QuorateSensor(runtime)]
    return []


def node_entities(runtime: ProxmoxRuntime, platform: str, node: str) -> list[Entity]:
    """Entities of one node."""
    if platform == "sensor":
        return [NodeSensor(runtime, d, node) for d in NODE_SENSORS]
    if platform == "binary_sensor":
        return [NodeOnlineSensor(runtime, NODE_ONLINE, node)]
    return []


def guest_entities(runtime: ProxmoxRuntime, platform: str, guest: Guest) -> list[Entity]:
    """Entities of one guest."""
    if platform == "sensor":
        return [GuestSensor(runtime, d, guest) for d in GUEST_SENSORS]
    if platform == "switch":
        return [GuestPowerSwitch(runtime, POWER, guest)]
    if platform == "button":
        return [GuestButton(runtime, REBOOT, guest), GuestButton(runtime, SHUTDOWN, guest)]
    return []


def storage_entities(runtime: ProxmoxRuntime, platform: str, key: str) -> list[Entity]:
    """Entities of one storage."""
    if platform == "sensor":
        return [StorageSensor(runtime, d, key) for d in STORAGE_SENSORS]
    return []
