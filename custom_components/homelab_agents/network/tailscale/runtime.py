"""A Tailscale entry while it runs: client, coordinator, node devices, monitor, node actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType

from ...confirm import PendingAction, async_get_confirmations
from ...const import DOMAIN
from ...entity import device_ref
from ...runtime import HomelabAgentsConfigEntry
from ..monitor import AnomalyMonitor
from .client import (
    TailscaleAuthError,
    TailscaleClient,
    TailscaleCredentials,
    TailscaleError,
    TailscaleNotFoundError,
    TailscalePermissionError,
    TailscaleRateLimitError,
)
from .const import (
    CONF_API_KEY,
    CONF_API_URL,
    CONF_EXPIRY_DAYS,
    CONF_OAUTH_CLIENT_ID,
    CONF_OAUTH_CLIENT_SECRET,
    CONF_ONLINE_MINUTES,
    CONF_TAILNET,
    DEFAULT_API_URL,
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_ONLINE_MINUTES,
    DEFAULT_TAILNET,
)
from .coordinator import TailscaleCoordinator
from .devices import TailnetDevices, device_label, tailnet_identifier
from .entities import node_entities, tailnet_entities
from .models import TailnetSnapshot, TailscaleDevice, presence_samples


def credentials_from(data: dict[str, Any]) -> TailscaleCredentials:
    """Connection settings from entry (or flow) data."""
    return TailscaleCredentials(
        api_url=data.get(CONF_API_URL) or DEFAULT_API_URL,
        tailnet=data.get(CONF_TAILNET) or DEFAULT_TAILNET,
        api_key=data.get(CONF_API_KEY) or None,
        oauth_client_id=data.get(CONF_OAUTH_CLIENT_ID) or None,
        oauth_client_secret=data.get(CONF_OAUTH_CLIENT_SECRET) or None,
    )


def client_for(hass: HomeAssistant, data: dict[str, Any]) -> TailscaleClient:
    """A client on Home Assistant's shared session."""
    return TailscaleClient(async_get_clientsession(hass), credentials_from(data))


class TailscaleRuntime:
    """Everything one tailnet entry runs."""

    platforms: tuple[Platform, ...] = (Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR)

    def __init__(self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
        """Wire client, coordinator and monitor; nothing runs until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.identity = str(entry.unique_id)
        self.client = client_for(hass, dict(entry.data))
        self.coordinator = TailscaleCoordinator(hass, entry, self.client)
        self.online_threshold = timedelta(
            minutes=entry.options.get(CONF_ONLINE_MINUTES, DEFAULT_ONLINE_MINUTES)
        )
        self.expiry_window = timedelta(
            days=entry.options.get(CONF_EXPIRY_DAYS, DEFAULT_EXPIRY_DAYS)
        )
        self.devices = TailnetDevices(
            dr.async_get(hass),
            entry.entry_id,
            self.identity,
            entry.title,
            admin_console=self.client.api_url == DEFAULT_API_URL,
        )
        self.monitor = AnomalyMonitor(hass, entry, device_ref(tailnet_identifier(self.identity)))
        self._adders: dict[str, AddConfigEntryEntitiesCallback] = {}
        self._known: set[str] = set()

    async def async_start(self) -> None:
        """Load the monitor's baselines, poll once (not ready while the API fails), follow."""
        await self.monitor.async_load()
        await self.coordinator.async_config_entry_first_refresh()
        self.devices.sync(self.coordinator.data)
        self._known = set(self.coordinator.data.devices)
        self._observe(self.coordinator.data)
        self.entry.async_on_unload(self.coordinator.async_add_listener(self._tailnet_changed))

    async def async_unload(self) -> None:
        """Cancel this entry's pending deletions and persist the monitor's baselines."""
        async_get_confirmations(self.hass).async_cancel_entry(self.entry.entry_id)
        await self.monitor.async_unload()

    def diagnostics(self) -> dict[str, Any]:
        """Counts and poll state; node ids, no addresses or users."""
        data = self.coordinator.data
        now = dt_util.utcnow()
        return {
            "tailnet": self.identity,
            "auth": "oauth" if self.client_uses_oauth else "api_key",
            "devices": len(data.devices),
            "online": sum(d.online(now, self.online_threshold) for d in data.devices.values()),
            "shared_in": data.shared_in,
            "default_fields_only": self.client.default_fields_only,
            "rate_limited_until": (
                self.client.blocked_until.isoformat() if self.client.blocked_until else None
            ),
            "last_update_success": self.coordinator.last_update_success,
            "monitor": self.monitor.diagnostics(),
        }

    @property
    def client_uses_oauth(self) -> bool:
        """Whether the entry authenticates with an OAuth client."""
        return not self.entry.data.get(CONF_API_KEY)

    # Entities that come and go with the tailnet

    @callback
    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add what exists now; nodes that join later come from `_tailnet_changed`."""
        self._adders[platform.value] = async_add_entities
        entities: list[Entity] = tailnet_entities(self, platform.value)
        entities += self.monitor.entities(platform)
        for node_id in self.coordinator.data.devices:
            entities += node_entities(self, platform.value, node_id)
        async_add_entities(entities)

    @callback
    def _tailnet_changed(self) -> None:
        if not self.coordinator.last_update_success:
            return
        data = self.coordinator.data
        self.devices.sync(data)
        new = sorted(set(data.devices) - self._known)
        if new:
            for platform, add in self._adders.items():
                entities: list[Entity] = []
                for node_id in new:
                    entities += node_entities(self, platform, node_id)
                if entities:
                    add(entities)
        # An empty answer after a full one is more likely a glitch than a wiped tailnet.
        if data.devices or not self._known:
            for node_id in self._known - set(data.devices):
                self.devices.remove(node_id)
            self._known = set(data.devices)
        else:
            self._known |= set(new)
        self._observe(data)

    @callback
    def _observe(self, data: TailnetSnapshot) -> None:
        """Hand the poll's presence to the anomaly monitor."""
        now = dt_util.utcnow()
        self.monitor.async_process([], presence_samples(data, now, self.online_threshold), now)

    def node_of_device(self, device: dr.DeviceEntry | dr.ChildDeviceEntry) -> str | None:
        """The node a registry device of this entry stands for, if any."""
        return self.devices.node_of(device)

    def device_is_current(self, device: dr.DeviceEntry) -> bool:
        """Whether a registry device still stands for the tailnet or one of its nodes."""
        node_id = self.node_of_device(device)
        return node_id is None or node_id in self.coordinator.data.devices

    # Node actions

    def node(self, node_id: str) -> TailscaleDevice:
        """A node of the last poll, or a translated validation error."""
        device = self.coordinator.data.devices.get(node_id)
        if device is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_tailscale_device",
                translation_placeholders={"device": node_id},
            )
        return device

    async def async_authorize(self, node_id: str) -> JsonObjectType:
        """Approve a node that waits for authorization."""
        device = self.node(node_id)
        await self._call("authorize", device, self.client.authorize)
        return {"node_id": node_id, "name": device.label, "authorized": True}

    async def async_expire_key(self, node_id: str) -> JsonObjectType:
        """Expire a node's key; the machine must log in again."""
        device = self.node(node_id)
        await self._call("expire_key", device, self.client.expire_key)
        return {"node_id": node_id, "name": device.label, "key_expired": True}

    @callback
    def async_request_delete(self, node_id: str, requester: str) -> PendingAction:
        """Record a deletion that runs only when its requester confirms it."""
        device = self.node(node_id)

        async def execute() -> JsonObjectType:
            await self._call("delete", device, self.client.delete)
            return {"node_id": node_id, "name": device.label, "deleted": True}

        return async_get_confirmations(self.hass).async_request(
            kind="delete_tailscale_device",
            summary=f"Delete {device_label(device)} from the tailnet {self.identity}",
            requester=requester,
            config_entry_id=self.entry.entry_id,
            target={"node_id": node_id, "name": device.label},
            execute=execute,
        )

    async def _call(self, action: str, device: TailscaleDevice, call: Any) -> None:
        placeholders = {"action": action, "device": device_label(device)}
        try:
            await call(device.node_id)
        except TailscaleNotFoundError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="tailscale_device_gone",
                translation_placeholders=placeholders,
            ) from err
        except TailscalePermissionError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="tailscale_insufficient_scope",
                translation_placeholders={**placeholders, "error": str(err)},
            ) from err
        except TailscaleAuthError as err:
            self.entry.async_start_reauth(self.hass)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="tailscale_auth_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        except TailscaleRateLimitError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="tailscale_rate_limited",
                translation_placeholders={"seconds": f"{err.retry_after:.0f}"},
            ) from err
        except TailscaleError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="tailscale_action_failed",
                translation_placeholders={**placeholders, "error": str(err)},
            ) from err
        # Show the outcome at once rather than at the next poll.
        await self.coordinator.async_refresh()
