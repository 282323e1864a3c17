"""A backup server's devices: the server, its datastores, and one per backup group (guest).

Registered parents first, because a device can only point at a parent that exists.
"""

from __future__ import annotations

from homeassistant.helpers import device_registry as dr

from ..const import DOMAIN
from ..devices import EntryDevices
from .models import BackupGroup, BackupInventory


def server_identifier(identity: str) -> str:
    """Identifier of the server device."""
    return f"{identity}/server"


def datastore_identifier(identity: str, datastore: str) -> str:
    """Identifier of a datastore device."""
    return f"{identity}/datastore/{datastore}"


def group_identifier(identity: str, key: str) -> str:
    """Identifier of a backup group device (`key` is `store1/vm/100`)."""
    return f"{identity}/group/{key}"


def group_label(group: BackupGroup) -> str:
    """What the guest is called: its backup's comment (PVE writes the guest name), or its id."""
    kind = {"vm": "VM", "ct": "CT"}.get(group.backup_type, group.backup_type)
    return group.newest.comment or f"{kind} {group.backup_id}"


class BackupDevices(EntryDevices):
    """Creates one entry's devices and removes those whose datastore or group is gone."""

    def sync(self, inventory: BackupInventory) -> None:
        """Register what is new; cheap when nothing changed."""
        server = server_identifier(self._identity)
        if server not in self._ids:
            self._create(
                server,
                name=self._title,
                model="Proxmox Backup Server",
                entry_type=dr.DeviceEntryType.SERVICE,
                configuration_url=self._web_url,
            )
        for name in inventory.datastores:
            identifier = datastore_identifier(self._identity, name)
            if identifier not in self._ids:
                self._create(
                    identifier,
                    name=name,
                    model="Datastore",
                    via_device_id=self._ids[server],
                    configuration_url=f"{self._web_url}#DataStore-{name}",
                )
        several = len(inventory.datastores) > 1
        for key, group in inventory.groups.items():
            identifier = group_identifier(self._identity, key)
            if identifier not in self._ids:
                label = f"{group_label(group)} backups"
                self._create(
                    identifier,
                    name=f"{label} ({group.datastore})" if several else label,
                    model="Backup group",
                    serial_number=f"{group.backup_type}/{group.backup_id}",
                    via_device_id=self._ids[datastore_identifier(self._identity, group.datastore)],
                )

    def remove(self, identifier: str) -> None:
        """Detach a vanished datastore's or group's device (and its entities) from the entry."""
        self._detach(identifier)

    def is_current(self, device: dr.DeviceEntry, inventory: BackupInventory) -> bool:
        """Whether a device of this entry still stands for something the server has."""
        current = {server_identifier(self._identity)}
        current |= {datastore_identifier(self._identity, name) for name in inventory.datastores}
        current |= {group_identifier(self._identity, key) for key in inventory.groups}
        return any(
            domain == DOMAIN and identifier in current for domain, identifier in device.identifiers
        )
