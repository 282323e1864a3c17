"""A UniFi entry's devices: the site (a service) and one per adopted UniFi device.

Clients get no device: a household has dozens and a small office hundreds. They feed presence
samples to the anomaly monitor instead.
"""

from __future__ import annotations

from homeassistant.helpers import device_registry as dr

from ...const import DOMAIN
from ...devices import EntryDevices
from .const import MANUFACTURER
from .models import Device


def site_identifier(identity: str) -> str:
    """Identifier of the site device."""
    return f"{identity}/site"


def device_identifier(identity: str, mac: str) -> str:
    """Identifier of a UniFi device's HA device."""
    return f"{identity}/device/{mac}"


class UnifiDevices(EntryDevices):
    """Registers the site device and the UniFi devices as they are adopted."""

    manufacturer = MANUFACTURER

    def __init__(
        self, registry: dr.DeviceRegistry, entry_id: str, identity: str, title: str, web_url: str
    ) -> None:
        """Manage the devices of the entry `entry_id` for the site `identity`."""
        super().__init__(registry, entry_id, identity, title, web_url)
        self._versions: dict[str, str | None] = {}

    def sync_site(self, model: str) -> None:
        """The site device (parent of the UniFi devices)."""
        self._create(
            site_identifier(self._identity),
            name=self._title,
            model=model,
            entry_type=dr.DeviceEntryType.SERVICE,
            configuration_url=self._web_url,
        )

    def sync(self, devices: dict[str, Device]) -> None:
        """Register the UniFi devices not registered yet; follow firmware versions."""
        site = self._ids[site_identifier(self._identity)]
        for mac, device in devices.items():
            identifier = device_identifier(self._identity, mac)
            if identifier in self._ids:
                if self._versions.get(identifier) != device.version:
                    self._registry.async_update_device(
                        self._ids[identifier], sw_version=device.version
                    )
                    self._versions[identifier] = device.version
            else:
                self._versions[identifier] = device.version
                self._create(
                    identifier,
                    name=device.name,
                    model=device.model,
                    sw_version=device.version,
                    serial_number=device.serial,
                    via_device_id=site,
                )

    def is_current(self, device: dr.DeviceEntry, devices: dict[str, Device]) -> bool:
        """Whether a device of this entry still stands for the site or an adopted device."""
        current = {site_identifier(self._identity)}
        current |= {device_identifier(self._identity, mac) for mac in devices}
        return any(
            domain == DOMAIN and identifier in current for domain, identifier in device.identifiers
        )
