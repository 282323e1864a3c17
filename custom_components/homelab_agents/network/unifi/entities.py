"""UniFi entities: the site's WAN, client and device figures; two per UniFi device.

The site device has the WAN connectivity sensor, download, upload and latency, the counts of
clients, devices online/offline, firmware updates and new clients. Each UniFi device has a
connectivity sensor and a firmware update sensor. Entities write state only on change.
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
from homeassistant.const import EntityCategory, Platform, UnitOfDataRate, UnitOfTime
from homeassistant.helpers.entity import Entity, EntityDescription

from ...entity import ChangeOnlyCoordinatorEntity, device_ref
from .coordinator import UnifiCoordinator
from .devices import device_identifier, site_identifier
from .models import Device, SiteStatus

if TYPE_CHECKING:
    from .runtime import UnifiRuntime


@dataclass(frozen=True, kw_only=True)
class SiteSensorDescription(SensorEntityDescription):
    """A figure of the site."""

    value_fn: Callable[[SiteStatus, UnifiRuntime], Any]


_RATE: dict[str, Any] = {
    "device_class": SensorDeviceClass.DATA_RATE,
    "native_unit_of_measurement": UnitOfDataRate.BYTES_PER_SECOND,
    "suggested_unit_of_measurement": UnitOfDataRate.MEGABITS_PER_SECOND,
    "suggested_display_precision": 1,
    "state_class": SensorStateClass.MEASUREMENT,
}
_COUNT: dict[str, Any] = {"state_class": SensorStateClass.MEASUREMENT}

SITE_SENSORS: tuple[SiteSensorDescription, ...] = (
    SiteSensorDescription(
        key="unifi_wan_download",
        translation_key="unifi_wan_download",
        value_fn=lambda s, _: s.wan.download,
        **_RATE,
    ),
    SiteSensorDescription(
        key="unifi_wan_upload",
        translation_key="unifi_wan_upload",
        value_fn=lambda s, _: s.wan.upload,
        **_RATE,
    ),
    SiteSensorDescription(
        key="unifi_wan_latency",
        translation_key="unifi_wan_latency",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s, _: s.wan.latency,
    ),
    SiteSensorDescription(
        key="unifi_clients",
        translation_key="unifi_clients",
        value_fn=lambda s, _: len(s.clients),
        **_COUNT,
    ),
    SiteSensorDescription(
        key="unifi_devices_online",
        translation_key="unifi_devices_online",
        value_fn=lambda s, _: s.devices_online,
        **_COUNT,
    ),
    SiteSensorDescription(
        key="unifi_devices_offline",
        translation_key="unifi_devices_offline",
        value_fn=lambda s, _: s.devices_offline,
        **_COUNT,
    ),
    SiteSensorDescription(
        key="unifi_firmware_updates",
        translation_key="unifi_firmware_updates",
        value_fn=lambda s, _: s.firmware_updates,
        **_COUNT,
    ),
    SiteSensorDescription(
        key="unifi_new_clients",
        translation_key="unifi_new_clients",
        value_fn=lambda _, runtime: runtime.history.new_clients(),
        **_COUNT,
    ),
    SiteSensorDescription(
        key="unifi_wan_ip",
        translation_key="unifi_wan_ip",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda s, _: s.wan.ip,
    ),
)
WAN = BinarySensorEntityDescription(
    key="unifi_wan",
    translation_key="unifi_wan",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
)
DEVICE_CONNECTED = BinarySensorEntityDescription(
    key="unifi_device_connected",
    translation_key="unifi_device_connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)
FIRMWARE_UPDATE = BinarySensorEntityDescription(
    key="unifi_firmware_update",
    translation_key="unifi_firmware_update",
    device_class=BinarySensorDeviceClass.UPDATE,
    entity_category=EntityCategory.DIAGNOSTIC,
)


class UnifiEntity(ChangeOnlyCoordinatorEntity[UnifiCoordinator]):
    """An entity of a UniFi site."""

    def __init__(
        self, runtime: UnifiRuntime, description: EntityDescription, unique_prefix: str, device: str
    ) -> None:
        """Attach to a device of the site."""
        super().__init__(runtime.coordinator)
        self.runtime = runtime
        self.entity_description = description
        self._attr_unique_id = f"{unique_prefix}_{description.key}"
        self._attr_device_info = device_ref(device)


class SiteSensor(UnifiEntity, SensorEntity):
    """A figure of the site."""

    entity_description: SiteSensorDescription

    def __init__(self, runtime: UnifiRuntime, description: SiteSensorDescription) -> None:
        """Attach to the site device."""
        identity = runtime.identity
        super().__init__(runtime, description, identity, site_identifier(identity))

    @property
    def native_value(self) -> Any:
        """The figure."""
        return self.entity_description.value_fn(self.coordinator.data, self.runtime)


class WanSensor(UnifiEntity, BinarySensorEntity):
    """On while the gateway reports the internet connection up."""

    def __init__(self, runtime: UnifiRuntime) -> None:
        """Attach to the site device."""
        identity = runtime.identity
        super().__init__(runtime, WAN, identity, site_identifier(identity))

    @property
    def is_on(self) -> bool | None:
        """Whether the WAN is up."""
        return self.coordinator.data.wan.connected


class DeviceEntity(UnifiEntity):
    """An entity of one UniFi device."""

    def __init__(self, runtime: UnifiRuntime, description: EntityDescription, mac: str) -> None:
        """Follow the device with this MAC."""
        identity = runtime.identity
        super().__init__(
            runtime, description, f"{identity}_{mac}", device_identifier(identity, mac)
        )
        self.mac = mac

    @property
    def device(self) -> Device | None:
        """The device in the latest poll; None once the site no longer has it."""
        return self.coordinator.data.devices.get(self.mac)

    @property
    def available(self) -> bool:
        """Known in the latest successful poll."""
        return super().available and self.device is not None


class DeviceConnectedSensor(DeviceEntity, BinarySensorEntity):
    """On while the controller reaches the device."""

    @property
    def is_on(self) -> bool | None:
        """Whether the device is connected."""
        device = self.device
        return None if device is None else device.online


class FirmwareUpdateSensor(DeviceEntity, BinarySensorEntity):
    """On while a firmware update is available for the device."""

    @property
    def is_on(self) -> bool | None:
        """Whether an update is available."""
        device = self.device
        return None if device is None else device.upgradable

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Installed and offered firmware."""
        device = self.device
        if device is None:
            return None
        return {"installed_version": device.version, "latest_version": device.upgrade_to}


def site_entities(runtime: UnifiRuntime, platform: Platform) -> list[Entity]:
    """Entities of the site device."""
    if platform is Platform.SENSOR:
        return [SiteSensor(runtime, description) for description in SITE_SENSORS]
    if platform is Platform.BINARY_SENSOR:
        return [WanSensor(runtime)]
    return []


def device_entities(runtime: UnifiRuntime, platform: Platform, mac: str) -> list[Entity]:
    """Entities of one UniFi device."""
    if platform is Platform.BINARY_SENSOR:
        return [
            DeviceConnectedSensor(runtime, DEVICE_CONNECTED, mac),
            FirmwareUpdateSensor(runtime, FIRMWARE_UPDATE, mac),
        ]
    return []
