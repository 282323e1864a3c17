"""A UniFi Network entry while it runs: one session, polling, devices, anomaly samples."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

import aiohttp
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    Platform,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.storage import Store

from ...const import DOMAIN, LOGGER
from ...entity import device_ref
from ...runtime import HomelabAgentsConfigEntry
from ..monitor import AnomalyMonitor
from .client import UnifiClient, UnifiCredentials
from .const import CONF_SITE, CONF_TRACK_CLIENTS, DEFAULT_TRACK_CLIENTS
from .coordinator import UnifiCoordinator
from .devices import UnifiDevices, site_identifier
from .entities import device_entities, site_entities
from .samples import ClientHistory, StoredHistory, site_samples

HISTORY_STORAGE_VERSION: Final = 1
HISTORY_SAVE_DELAY: Final = 300  # seconds; Home Assistant's final write flushes it on stop
LOGIN_BLOCKS: Final = f"{DOMAIN}_unifi_login_blocks"
MODEL_UNIFI_OS: Final = "UniFi Network (UniFi OS)"
MODEL_CLASSIC: Final = "UniFi Network"


def credentials_from(data: dict[str, Any]) -> UnifiCredentials:
    """The client settings of an entry's (or a flow's) data."""
    return UnifiCredentials(
        host=data[CONF_HOST],
        port=int(data[CONF_PORT]),
        username=data[CONF_USERNAME],
        password=data[CONF_PASSWORD],
        site=data[CONF_SITE],
        verify_ssl=bool(data[CONF_VERIFY_SSL]),
    )


def history_store(hass: HomeAssistant, entry_id: str) -> Store[StoredHistory]:
    """Where an entry keeps the clients it has seen (for offline detection after restarts)."""
    return Store(hass, HISTORY_STORAGE_VERSION, f"{DOMAIN}.unifi_clients.{entry_id}")


async def async_remove_history(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed entry's client history."""
    await history_store(hass, entry_id).async_remove()


def login_blocks(hass: HomeAssistant) -> dict[str, float]:
    """Consoles refusing logins (429) until a `time.monotonic()` deadline, by host:port."""
    blocks: dict[str, float] = hass.data.setdefault(LOGIN_BLOCKS, {})
    return blocks


def client_session(hass: HomeAssistant, verify_ssl: bool) -> aiohttp.ClientSession:
    """A session of its own: the client keeps the cookies (none end up in a shared jar)."""
    return async_create_clientsession(
        hass, verify_ssl, auto_cleanup=False, cookie_jar=aiohttp.DummyCookieJar()
    )


class UnifiRuntime:
    """Everything one UniFi site entry runs."""

    platforms: tuple[Platform, ...] = (Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR)

    def __init__(self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
        """Wire session, client and coordinator; nothing runs until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.identity = str(entry.unique_id)
        data = dict(entry.data)
        self.session = client_session(hass, bool(data[CONF_VERIFY_SSL]))
        self.client = UnifiClient(self.session, credentials_from(data), login_blocks(hass))
        self.coordinator = UnifiCoordinator(hass, entry, self.client)
        self.history: ClientHistory = ClientHistory(
            track_clients=entry.options.get(CONF_TRACK_CLIENTS, DEFAULT_TRACK_CLIENTS)
        )
        web_url = f"https://{data[CONF_HOST]}:{data[CONF_PORT]}/"
        self.devices = UnifiDevices(
            dr.async_get(hass), entry.entry_id, self.identity, entry.title, web_url
        )
        self.monitor = AnomalyMonitor(hass, entry, device_ref(site_identifier(self.identity)))
        self._history_store = history_store(hass, entry.entry_id)
        self._history_save_scheduled = False
        self._adders: dict[Platform, AddConfigEntryEntitiesCallback] = {}
        self._known_devices: set[str] = set()

    async def async_start(self) -> None:
        """First poll (ConfigEntryNotReady while the controller is down), then follow it."""
        try:
            await self.monitor.async_load()
            await self._async_load_history()
            await self.coordinator.async_config_entry_first_refresh()
        except BaseException:
            await self.async_unload()
            raise
        model = MODEL_UNIFI_OS if self.client.unifi_os else MODEL_CLASSIC
        self.devices.sync_site(model)
        self.devices.sync(self.coordinator.data.devices)
        self._update_tls_issue()
        self._process_samples()
        self.entry.async_on_unload(self.coordinator.async_add_listener(self._site_changed))

    async def async_unload(self) -> None:
        """Persist the monitor, log out (the controller limits sessions and logins)."""
        await self.monitor.async_unload()
        if self._history_save_scheduled:
            await self._history_store.async_save(self._stored_history())
        await self.client.logout()
        ir.async_delete_issue(self.hass, DOMAIN, self._tls_issue_id)
        self.session.detach()

    def diagnostics(self) -> dict[str, Any]:
        """Counts and figures; no client names or addresses."""
        data = self.coordinator.data
        return {
            "unifi_os": self.client.unifi_os,
            "logins": self.client.logins,
            "clients": len(data.clients),
            "clients_remembered": self.history.known(),
            "devices": {
                "total": len(data.devices),
                "online": data.devices_online,
                "firmware_updates": data.firmware_updates,
                "by_type": dict(Counter(device.device_type for device in data.devices.values())),
            },
            "wan": {
                "connected": data.wan.connected,
                "download": data.wan.download,
                "upload": data.wan.upload,
                "latency": data.wan.latency,
            },
            "last_update_success": self.coordinator.last_update_success,
            "monitor": self.monitor.diagnostics(),
        }

    @callback
    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add what exists now; devices adopted later come from `_site_changed`."""
        self._adders[platform] = async_add_entities
        entities: list[Entity] = site_entities(self, platform)
        for mac in self.coordinator.data.devices:
            entities += device_entities(self, platform, mac)
        entities += self.monitor.entities(platform)
        async_add_entities(entities)
        self._known_devices = set(self.coordinator.data.devices)

    @callback
    def _site_changed(self) -> None:
        if not self.coordinator.last_update_success:
            return
        devices = self.coordinator.data.devices
        self.devices.sync(devices)
        new = set(devices) - self._known_devices
        if new:
            for platform, add in self._adders.items():
                entities = [e for mac in sorted(new) for e in device_entities(self, platform, mac)]
                if entities:
                    add(entities)
            self._known_devices |= new
        self._process_samples()

    def _process_samples(self) -> None:
        metrics, presence = site_samples(self.coordinator.data, self.history)
        self.monitor.async_process(metrics, presence, self.coordinator.data.polled_at)
        if not self._history_save_scheduled:
            self._history_save_scheduled = True
            self._history_store.async_delay_save(self._stored_history, HISTORY_SAVE_DELAY)

    def _stored_history(self) -> StoredHistory:
        self._history_save_scheduled = False
        return self.history.stored()

    async def _async_load_history(self) -> None:
        """Clients seen before a restart: those absent now are reported offline."""
        stored = await self._history_store.async_load()
        if stored is None:
            return
        try:
            self.history.restore(stored)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            LOGGER.warning("Stored UniFi client history unreadable (%s); starting afresh", err)

    def device_is_current(self, device: dr.DeviceEntry) -> bool:
        """Whether a device still stands for the site or a device the site has adopted."""
        return self.devices.is_current(device, self.coordinator.data.devices)

    @property
    def _tls_issue_id(self) -> str:
        return f"tls_verification_off_{self.entry.entry_id}"

    def _update_tls_issue(self) -> None:
        """Warn while the console's certificate is not verified (the password crosses it)."""
        if not self.entry.data[CONF_VERIFY_SSL]:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._tls_issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="unifi_tls_verification_off",
                translation_placeholders={"title": self.entry.title},
            )
