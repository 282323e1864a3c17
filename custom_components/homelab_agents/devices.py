"""Devices an entry registers itself, parents before children (via_device_id needs them)."""

from __future__ import annotations

from homeassistant.helpers import device_registry as dr

from .const import DOMAIN

# Proxmox VE and Proxmox Backup Server devices share their maker.
PROXMOX_MANUFACTURER = "Proxmox Server Solutions"


class EntryDevices:
    """Creates and detaches one entry's devices, remembering their registry ids."""

    manufacturer: str = PROXMOX_MANUFACTURER

    def __init__(
        self, registry: dr.DeviceRegistry, entry_id: str, identity: str, title: str, web_url: str
    ) -> None:
        """Manage the devices of the entry `entry_id` for the remote system `identity`."""
        self._registry = registry
        self._entry_id = entry_id
        self._identity = identity
        self._title = title
        self._web_url = web_url
        self._ids: dict[str, str] = {}  # identifier -> device id

    def _create(self, identifier: str, **info: object) -> str:
        device = self._registry.async_get_or_create(
            config_entry_id=self._entry_id,
            identifiers={(DOMAIN, identifier)},
            manufacturer=self.manufacturer,
            **info,  # type: ignore[arg-type]
        )
        self._ids[identifier] = device.id
        return device.id

    def _detach(self, identifier: str) -> None:
        """Detach a vanished object's device (and its entities) from the entry."""
        device = self._registry.async_get_device_by_identifier((DOMAIN, identifier), self._entry_id)
        if device is not None:
            self._registry.async_update_device(device.id, remove_config_entry_id=self._entry_id)
        self._ids.pop(identifier, None)
