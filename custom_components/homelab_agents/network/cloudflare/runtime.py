"""A Cloudflare entry while it runs: polling, devices, entities and threat anomaly detection."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from ...entity import device_ref
from ...runtime import HomelabAgentsConfigEntry
from ..monitor import AnomalyMonitor
from .client import CloudflareClient
from .const import (
    CONF_ACCOUNT_ID,
    CONF_API_TOKEN,
    CONF_API_URL,
    CONF_POLL_INTERVAL,
    CONF_ZONES,
    DEFAULT_API_URL,
    DEFAULT_POLL_MINUTES,
)
from .coordinator import CloudflareCoordinator
from .devices import DASHBOARD, CloudflareDevices, account_identifier
from .entities import tunnel_entities, zone_entities
from .samples import threat_samples


def client_for(hass: HomeAssistant, data: dict[str, Any]) -> CloudflareClient:
    """A client on Home Assistant's shared session for an entry's (or a form's) data."""
    return CloudflareClient(
        async_get_clientsession(hass),
        data.get(CONF_API_URL) or DEFAULT_API_URL,
        data[CONF_API_TOKEN],
    )


class CloudflareRuntime:
    """Everything one Cloudflare account entry runs."""

    platforms: tuple[Platform, ...] = (Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR)

    def __init__(self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
        """Wire client, coordinator, devices and monitor; nothing runs until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.account_id: str = entry.data[CONF_ACCOUNT_ID]
        self.client = client_for(hass, dict(entry.data))
        interval = timedelta(minutes=entry.options.get(CONF_POLL_INTERVAL, DEFAULT_POLL_MINUTES))
        self.coordinator = CloudflareCoordinator(
            hass,
            entry,
            self.client,
            account_id=self.account_id,
            included=set(entry.options.get(CONF_ZONES) or ()),
            interval=interval,
        )
        self.devices = CloudflareDevices(
            dr.async_get(hass),
            entry.entry_id,
            self.account_id,
            entry.title,
            f"{DASHBOARD}/{self.account_id}",
        )
        self.monitor = AnomalyMonitor(hass, entry, device_ref(account_identifier(self.account_id)))
        self._adders: dict[Platform, AddConfigEntryEntitiesCallback] = {}
        self._known_zones: set[str] = set()
        self._known_tunnels: set[str] = set()

    async def async_start(self) -> None:
        """Load the baselines, poll once (ConfigEntryNotReady while Cloudflare fails), follow."""
        await self.monitor.async_load()
        await self.coordinator.async_config_entry_first_refresh()
        self.devices.sync(self.coordinator.data)
        if self.coordinator.included:
            listed = {zone.id for zone in self.coordinator.all_zones}
            self.devices.detach_zones(listed - self.coordinator.included)
        self.entry.async_on_unload(self.coordinator.async_add_listener(self._polled))
        self._detect()

    async def async_unload(self) -> None:
        """Save the learned baselines."""
        await self.monitor.async_unload()

    def diagnostics(self) -> dict[str, Any]:
        """Counts, tunnel states and the monitor's state; no token."""
        data = self.coordinator.data
        blocked = self.client.blocked_until
        return {
            "zones": len(data.zones),
            "zones_in_account": len(self.coordinator.all_zones),
            "tunnels": {tunnel.id: tunnel.status for tunnel in data.tunnels.values()},
            "requests_sent": self.client.requests_sent,
            "rate_limited_until": None if blocked is None else blocked.isoformat(),
            "poll_interval_seconds": (
                None
                if self.coordinator.update_interval is None
                else self.coordinator.update_interval.total_seconds()
            ),
            "last_update_success": self.coordinator.last_update_success,
            "monitor": self.monitor.diagnostics(),
        }

    @callback
    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add the monitor's entities and today's zones and tunnels; later ones follow polls."""
        self._adders[platform] = async_add_entities
        data = self.coordinator.data
        entities: list[Entity] = list(self.monitor.entities(platform))
        for zone_id in data.zones:
            entities += zone_entities(self, platform, zone_id)
        for tunnel_id in data.tunnels:
            entities += tunnel_entities(self, platform, tunnel_id)
        async_add_entities(entities)
        self._known_zones = set(data.zones)
        self._known_tunnels = set(data.tunnels)

    @callback
    def _polled(self) -> None:
        if not self.coordinator.last_update_success:
            return
        data = self.coordinator.data
        self.devices.sync(data)
        new_zones = set(data.zones) - self._known_zones
        new_tunnels = set(data.tunnels) - self._known_tunnels
        for platform, add in self._adders.items():
            entities: list[Entity] = []
            for zone_id in sorted(new_zones):
                entities += zone_entities(self, platform, zone_id)
            for tunnel_id in sorted(new_tunnels):
                entities += tunnel_entities(self, platform, tunnel_id)
            if entities:
                add(entities)
        self._known_zones |= new_zones
        self._known_tunnels |= new_tunnels
        self._detect()

    @callback
    def _detect(self) -> None:
        now = dt_util.utcnow()
        self.monitor.async_process(threat_samples(self.coordinator.data, now), [], now)

    def device_is_current(self, device: dr.DeviceEntry) -> bool:
        """Whether a device stands for the account or a zone or tunnel it still has."""
        return self.devices.is_current(device, self.coordinator.data)
