"""Cloudflare entities: traffic figures per zone, status and problem per tunnel.

Zone figures cover the hour in progress and the 23 before it. Entities write state only when
what they show changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from homeassistant.const import PERCENTAGE, Platform, UnitOfInformation
from homeassistant.helpers.entity import Entity, EntityDescription

from ...entity import ChangeOnlyCoordinatorEntity, device_ref
from .const import TUNNEL_STATES
from .coordinator import CloudflareCoordinator
from .devices import tunnel_identifier, zone_identifier
from .models import CloudflareTunnel, TrafficTotals

if TYPE_CHECKING:
    from .runtime import CloudflareRuntime


@dataclass(frozen=True, kw_only=True)
class ZoneSensorDescription(SensorEntityDescription):
    """A traffic figure of a zone over the last 24 hours."""

    value_fn: Callable[[TrafficTotals], float | int | None]


ZONE_SENSORS: tuple[ZoneSensorDescription, ...] = (
    ZoneSensorDescription(
        key="cloudflare_requests",
        translation_key="cloudflare_requests",
        native_unit_of_measurement="requests",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda t: t.requests,
    ),
    ZoneSensorDescription(
        key="cloudflare_cached_ratio",
        translation_key="cloudflare_cached_ratio",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda t: t.cached_ratio,
    ),
    ZoneSensorDescription(
        key="cloudflare_bandwidth",
        translation_key="cloudflare_bandwidth",
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.MEGABYTES,
        suggested_display_precision=1,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda t: t.bytes,
    ),
    ZoneSensorDescription(
        key="cloudflare_threats",
        translation_key="cloudflare_threats",
        native_unit_of_measurement="threats",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda t: t.threats,
    ),
    ZoneSensorDescription(
        key="cloudflare_page_views",
        translation_key="cloudflare_page_views",
        native_unit_of_measurement="page views",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda t: t.page_views,
    ),
)

TUNNEL_STATUS = SensorEntityDescription(
    key="cloudflare_tunnel_status",
    translation_key="cloudflare_tunnel_status",
    device_class=SensorDeviceClass.ENUM,
    options=list(TUNNEL_STATES),
)
TUNNEL_PROBLEM = BinarySensorEntityDescription(
    key="cloudflare_tunnel_problem",
    translation_key="cloudflare_tunnel_problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
)


class CloudflareEntity(ChangeOnlyCoordinatorEntity[CloudflareCoordinator]):
    """An entity of the Cloudflare account."""

    def __init__(
        self, runtime: CloudflareRuntime, description: EntityDescription, unique_prefix: str
    ) -> None:
        """Identify the entity by the object's stable prefix and the description's key."""
        super().__init__(runtime.coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{unique_prefix}_{description.key}"


class ZoneSensor(CloudflareEntity, SensorEntity):
    """A zone's traffic figure."""

    entity_description: ZoneSensorDescription

    def __init__(
        self, runtime: CloudflareRuntime, description: ZoneSensorDescription, zone_id: str
    ) -> None:
        """Follow the zone with this id."""
        identifier = zone_identifier(runtime.account_id, zone_id)
        super().__init__(runtime, description, identifier)
        self._attr_device_info = device_ref(identifier)
        self.zone_id = zone_id

    @property
    def _totals(self) -> TrafficTotals | None:
        data = self.coordinator.data
        return data.totals(self.zone_id) if self.zone_id in data.zones else None

    @property
    def available(self) -> bool:
        """The zone and its figures were in the latest successful poll."""
        return super().available and self._totals is not None

    @property
    def native_value(self) -> float | int | None:
        """The figure."""
        totals = self._totals
        return None if totals is None else self.entity_description.value_fn(totals)


class TunnelEntity(CloudflareEntity):
    """An entity of one tunnel."""

    def __init__(
        self, runtime: CloudflareRuntime, description: EntityDescription, tunnel_id: str
    ) -> None:
        """Follow the tunnel with this id."""
        identifier = tunnel_identifier(runtime.account_id, tunnel_id)
        super().__init__(runtime, description, identifier)
        self._attr_device_info = device_ref(identifier)
        self.tunnel_id = tunnel_id

    @property
    def tunnel(self) -> CloudflareTunnel | None:
        """The tunnel in the latest poll."""
        return self.coordinator.data.tunnels.get(self.tunnel_id)

    @property
    def available(self) -> bool:
        """The tunnel was listed in the latest successful poll."""
        return super().available and self.tunnel is not None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """How many connections cloudflared holds to Cloudflare's edge."""
        tunnel = self.tunnel
        return None if tunnel is None else {"connections": tunnel.connections}


class TunnelStatusSensor(TunnelEntity, SensorEntity):
    """healthy, degraded (some connections), down (none) or inactive (never run)."""

    @property
    def native_value(self) -> str | None:
        """The status Cloudflare reports."""
        tunnel = self.tunnel
        if tunnel is None or tunnel.status not in TUNNEL_STATES:
            return None
        return tunnel.status


class TunnelProblemSensor(TunnelEntity, BinarySensorEntity):
    """On while the tunnel is not healthy."""

    @property
    def is_on(self) -> bool | None:
        """Whether the tunnel needs attention."""
        tunnel = self.tunnel
        return None if tunnel is None else tunnel.status != "healthy"


def zone_entities(runtime: CloudflareRuntime, platform: Platform, zone_id: str) -> list[Entity]:
    """Entities of one zone."""
    if platform is Platform.SENSOR:
        return [ZoneSensor(runtime, description, zone_id) for description in ZONE_SENSORS]
    return []


def tunnel_entities(runtime: CloudflareRuntime, platform: Platform, tunnel_id: str) -> list[Entity]:
    """Entities of one tunnel."""
    if platform is Platform.SENSOR:
        return [TunnelStatusSensor(runtime, TUNNEL_STATUS, tunnel_id)]
    if platform is Platform.BINARY_SENSOR:
        return [TunnelProblemSensor(runtime, TUNNEL_PROBLEM, tunnel_id)]
    return []
