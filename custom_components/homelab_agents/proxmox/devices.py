"""The cluster's devices in Home Assistant's registry: cluster, nodes, storages, guests.

Registered by the runtime in parent-before-child order, because a device can only point at a
parent (via_device_id) that already exists. Guests hang under the node they run on and move
with a migration.
"""

from __future__ import annotations

from homeassistant.helpers import device_registry as dr

from ..const import DOMAIN
from ..devices import EntryDevices
from .models import ClusterSnapshot, Guest, Storage


def cluster_identifier(identity: str) -> str:
    """Identifier of the cluster device."""
    return f"{identity}/cluster"


def node_identifier(identity: str, node: str) -> str:
    """Identifier of a node device."""
    return f"{identity}/node/{node}"


def guest_identifier(identity: str, vmid: int) -> str:
    """Identifier of a guest device: stable across renames and migrations."""
    return f"{identity}/guest/{vmid}"


def storage_identifier(identity: str, key: str) -> str:
    """Identifier of a storage device."""
    return f"{identity}/storage/{key}"


class ClusterDevices(EntryDevices):
    """Creates and updates one entry's devices; remembers where each guest was."""

    def __init__(
        self, registry: dr.DeviceRegistry, entry_id: str, identity: str, title: str, web_url: str
    ) -> None:
        """Manage the devices of the entry `entry_id` for the cluster `identity`."""
        super().__init__(registry, entry_id, identity, title, web_url)
        self._guest_nodes: dict[int, str] = {}

    def sync(self, snapshot: ClusterSnapshot) -> None:
        """Register what is new and move migrated guests; cheap when nothing changed."""
        cluster = cluster_identifier(self._identity)
        if cluster not in self._ids:
            self._create(
                cluster,
                name=self._title,
                model="Proxmox VE cluster",
                entry_type=dr.DeviceEntryType.SERVICE,
                configuration_url=self._web_url,
            )
        for name in snapshot.nodes:
            node = node_identifier(self._identity, name)
            if node not in self._ids:
                self._create(
                    node,
                    name=name,
                    model="Proxmox VE node",
                    via_device_id=self._ids[cluster],
                    configuration_url=f"{self._web_url}#v1:0:=node%2F{name}",
                )
        for key, storage in snapshot.storages.items():
            identifier = storage_identifier(self._identity, key)
            if identifier not in self._ids:
                self._create(identifier, **self._storage_info(storage, cluster))
        for guest in snapshot.guests.values():
            if self._guest_nodes.get(guest.vmid) != guest.node:
                self._register_guest(guest)

    def _storage_info(self, storage: Storage, cluster: str) -> dict[str, object]:
        parent = cluster if storage.shared else node_identifier(self._identity, storage.node)
        return {
            "name": storage.storage if storage.shared else f"{storage.storage} ({storage.node})",
            "model": f"Storage ({storage.plugin_type})" if storage.plugin_type else "Storage",
            "via_device_id": self._ids[parent],
        }

    def _register_guest(self, guest: Guest) -> None:
        kind = "Virtual machine" if guest.guest_type == "qemu" else "Container"
        node_id = self._ids[node_identifier(self._identity, guest.node)]
        identifier = guest_identifier(self._identity, guest.vmid)
        device_id = self._create(
            identifier,
            name=guest.name or f"{kind} {guest.vmid}",
            model=kind,
            serial_number=str(guest.vmid),
            via_device_id=node_id,
            configuration_url=f"{self._web_url}#v1:0:={guest.guest_type}%2F{guest.vmid}",
        )
        # get_or_create does not move an existing device: a migration needs an update.
        device = self._registry.async_get(device_id)
        if isinstance(device, dr.DeviceEntry) and device.via_device_id != node_id:
            self._registry.async_update_device(device_id, via_device_id=node_id)
        self._guest_nodes[guest.vmid] = guest.node

    def remove_guest(self, vmid: int) -> None:
        """Detach a deleted guest's device (and its entities) from the entry."""
        self._detach(guest_identifier(self._identity, vmid))
        self._guest_nodes.pop(vmid, None)

    def vmid_of(self, device: dr.DeviceEntry | dr.ChildDeviceEntry) -> int | None:
        """The guest a device stands for, if it is one of this cluster's guests."""
        prefix = guest_identifier(self._identity, 0)[:-1]
        for domain, identifier in device.identifiers:
            if domain == DOMAIN and identifier.startswith(prefix):
                return int(identifier.removeprefix(prefix))
        return None
