"""The tailnet's devices in Home Assistant's registry: the tailnet, then one per node.

A node's device is identified by its node id, so renaming the machine keeps its history.
"""

from __future__ import annotations

from homeassistant.helpers import device_registry as dr

from ...const import DOMAIN
from ...devices import EntryDevices
from .const import ADMIN_URL, MANUFACTURER
from .models import TailnetSnapshot, TailscaleDevice


def tailnet_identifier(identity: str) -> str:
    """Identifier of the tailnet device."""
    return f"{identity}/tailnet"


def node_identifier(identity: str, node_id: str) -> str:
    """Identifier of a node's device."""
    return f"{identity}/node/{node_id}"


class TailnetDevices(EntryDevices):
    """Creates, renames and detaches one entry's devices."""

    manufacturer = MANUFACTURER

    def __init__(
        self,
        registry: dr.DeviceRegistry,
        entry_id: str,
        identity: str,
        title: str,
        *,
        admin_console: bool,
    ) -> None:
        """Manage the devices of the entry `entry_id` for the tailnet `identity`.

        Links to the admin console only for Tailscale's own control server.
        """
        super().__init__(registry, entry_id, identity, title, ADMIN_URL)
        self._admin_console = admin_console
        self._shown: dict[str, tuple[str, str | None, str | None]] = {}

    def sync(self, snapshot: TailnetSnapshot) -> None:
        """Register new nodes and follow renames and client updates; cheap when unchanged."""
        tailnet = tailnet_identifier(self._identity)
        if tailnet not in self._ids:
            self._create(
                tailnet,
                name=self._title,
                model="Tailnet",
                entry_type=dr.DeviceEntryType.SERVICE,
                configuration_url=self._web_url if self._admin_console else None,
            )
        for device in snapshot.devices.values():
            shown = (device.label, device.os, device.client_version)
            if self._shown.get(device.node_id) == shown:
                continue
            self._create(
                node_identifier(self._identity, device.node_id),
                name=device.label,
                model=device.os,
                sw_version=device.client_version,
                serial_number=device.node_id,
                via_device_id=self._ids[tailnet],
                configuration_url=self._machine_url(device),
            )
            self._shown[device.node_id] = shown

    def _machine_url(self, device: TailscaleDevice) -> str | None:
        """The machine's page in the admin console, which names machines by address."""
        if not self._admin_console or not device.addresses:
            return None
        return f"{self._web_url}/{device.addresses[0]}"

    def remove(self, node_id: str) -> None:
        """Detach a node that left the tailnet (and its entities) from the entry."""
        self._detach(node_identifier(self._identity, node_id))
        self._shown.pop(node_id, None)

    def node_of(self, device: dr.DeviceEntry | dr.ChildDeviceEntry) -> str | None:
        """The node id a registry device of this entry stands for, if any."""
        prefix = node_identifier(self._identity, "")
        for domain, identifier in device.identifiers:
            if domain == DOMAIN and identifier.startswith(prefix):
                return identifier[len(prefix) :]
        return None


def device_label(device: TailscaleDevice) -> str:
    """How messages name a node: its name and node id."""
    return f"{device.label} ({device.node_id})"
