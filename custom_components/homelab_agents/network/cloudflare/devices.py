"""A Cloudflare account's devices: the account, one per zone and one per tunnel.

Identifiers build on the account id and Cloudflare's zone and tunnel ids, never on names.
"""

from __future__ import annotations

from homeassistant.helpers import device_registry as dr

from ...const import DOMAIN
from ...devices import EntryDevices
from .const import MANUFACTURER
from .models import CloudflareData

DASHBOARD = "https://dash.cloudflare.com"


def account_identifier(account_id: str) -> str:
    """Identifier of the account device."""
    return f"cloudflare/{account_id}"


def zone_identifier(account_id: str, zone_id: str) -> str:
    """Identifier of a zone device."""
    return f"cloudflare/{account_id}/zone/{zone_id}"


def tunnel_identifier(account_id: str, tunnel_id: str) -> str:
    """Identifier of a tunnel device."""
    return f"cloudflare/{account_id}/tunnel/{tunnel_id}"


class CloudflareDevices(EntryDevices):
    """Registers the account's devices as zones and tunnels appear."""

    manufacturer = MANUFACTURER

    def sync(self, data: CloudflareData) -> None:
        """Register what is new; cheap when nothing changed."""
        account = account_identifier(self._identity)
        if account not in self._ids:
            self._create(
                account,
                name=self._title,
                model="Account",
                entry_type=dr.DeviceEntryType.SERVICE,
                configuration_url=self._web_url,
            )
        for zone in data.zones.values():
            identifier = zone_identifier(self._identity, zone.id)
            if identifier not in self._ids:
                self._create(
                    identifier,
                    name=zone.name,
                    model="Zone",
                    entry_type=dr.DeviceEntryType.SERVICE,
                    via_device_id=self._ids[account],
                    configuration_url=f"{self._web_url}/{zone.name}",
                )
        for tunnel in data.tunnels.values():
            identifier = tunnel_identifier(self._identity, tunnel.id)
            if identifier not in self._ids:
                self._create(
                    identifier,
                    name=f"{tunnel.name} tunnel",
                    model="Cloudflare Tunnel",
                    entry_type=dr.DeviceEntryType.SERVICE,
                    serial_number=tunnel.id,
                    via_device_id=self._ids[account],
                    configuration_url=f"{DASHBOARD}/{self._identity}/networks/tunnels",
                )

    def detach_zones(self, zone_ids: set[str]) -> None:
        """Detach the devices of zones the options no longer include."""
        for zone_id in zone_ids:
            self._detach(zone_identifier(self._identity, zone_id))

    def is_current(self, device: dr.DeviceEntry, data: CloudflareData) -> bool:
        """Whether a device stands for the account or a zone or tunnel it shows now."""
        current = {account_identifier(self._identity)}
        current |= {zone_identifier(self._identity, zone_id) for zone_id in data.zones}
        current |= {tunnel_identifier(self._identity, tunnel_id) for tunnel_id in data.tunnels}
        return any(
            domain == DOMAIN and identifier in current for domain, identifier in device.identifiers
        )
