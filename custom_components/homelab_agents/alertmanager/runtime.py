"""An Alertmanager entry while it runs: client, store, webhook, reconciliation, entities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPMethod
from typing import Any

import aiohttp
from homeassistant.components import webhook
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from ..const import (
    CONF_HEARTBEAT_TIMEOUT,
    CONF_HISTORY_DAYS,
    CONF_RECEIVER,
    CONF_RECONCILE_INTERVAL,
    CONF_WATCHDOG_ALERT,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_TOKEN,
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_RECEIVER,
    DEFAULT_RECONCILE_INTERVAL,
    DEFAULT_WATCHDOG_ALERT,
    DOMAIN,
)
from ..runtime import HomelabAgentsConfigEntry
from .client import AlertmanagerClient
from .coordinator import AlertmanagerCoordinator
from .entities import build_entities
from .notifications import AlertNotifier
from .store import AlertStore, StoreVersionTooNewError
from .webhook import AlertWebhook


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertmanagerOptions:
    """The entry's options with their defaults applied."""

    receiver: str
    reconcile_interval: timedelta
    heartbeat_timeout: timedelta
    watchdog_alert: str
    history_days: int

    @classmethod
    def from_entry(cls, entry: HomelabAgentsConfigEntry) -> AlertmanagerOptions:
        """Read options, falling back to the defaults."""
        options = entry.options
        return cls(
            receiver=options.get(CONF_RECEIVER, DEFAULT_RECEIVER),
            reconcile_interval=timedelta(
                seconds=options.get(CONF_RECONCILE_INTERVAL, DEFAULT_RECONCILE_INTERVAL)
            ),
            heartbeat_timeout=timedelta(
                minutes=options.get(CONF_HEARTBEAT_TIMEOUT, DEFAULT_HEARTBEAT_TIMEOUT)
            ),
            watchdog_alert=options.get(CONF_WATCHDOG_ALERT, DEFAULT_WATCHDOG_ALERT),
            history_days=options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS),
        )


@dataclass(frozen=True, slots=True)
class PipelineHealth:
    """Whether alerts can be trusted to reach Home Assistant, and if not, why."""

    problem: bool
    reason: str | None


def client_for(hass: HomeAssistant, data: dict[str, Any]) -> AlertmanagerClient:
    """Build an API client from entry (or flow) data."""
    authorization = None
    if data.get(CONF_USERNAME):
        authorization = aiohttp.encode_basic_auth(data[CONF_USERNAME], data.get(CONF_PASSWORD, ""))
    session = async_get_clientsession(hass, verify_ssl=data.get(CONF_VERIFY_SSL, True))
    return AlertmanagerClient(session, data[CONF_URL], authorization)


class AlertmanagerRuntime:
    """Everything one Alertmanager entry runs."""

    platforms: tuple[Platform, ...] = (
        Platform.BINARY_SENSOR,
        Platform.EVENT,
        Platform.SENSOR,
        Platform.TODO,
    )

    def __init__(self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
        """Wire the parts; nothing runs until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.options = AlertmanagerOptions.from_entry(entry)
        self.client = client_for(hass, dict(entry.data))
        self.store = AlertStore(hass, entry.entry_id, self.options.history_days)
        self.coordinator = AlertmanagerCoordinator(
            hass,
            entry,
            client=self.client,
            store=self.store,
            receiver=self.options.receiver,
            interval=self.options.reconcile_interval,
        )
        self.webhook = AlertWebhook(
            self.store, entry.data.get(CONF_WEBHOOK_TOKEN), self._request_reconciliation
        )
        self.started_at = dt_util.utcnow()

    @property
    def webhook_id(self) -> str:
        """The id in the webhook URL (a secret)."""
        return str(self.entry.data[CONF_WEBHOOK_ID])

    async def async_start(self) -> None:
        """Register the webhook, load the store, then reconcile once."""
        # Registered before loading so early deliveries get 503 (retried) rather than the
        # webhook component's silent 200 for unknown hooks.
        webhook.async_register(
            self.hass,
            DOMAIN,
            self.entry.title,
            self.webhook_id,
            self.webhook.async_handle,
            allowed_methods=[HTTPMethod.POST],
        )
        try:
            await self.store.async_load()
        except StoreVersionTooNewError as err:
            webhook.async_unregister(self.hass, self.webhook_id)
            raise ConfigEntryError(
                translation_domain=DOMAIN, translation_key="alert_store_too_new"
            ) from err
        self.notifier = AlertNotifier(self.hass, self.entry, self.store)
        # A failed reconciliation leaves the webhook working; the coordinator retries and
        # starts reauthentication itself on 401.
        await self.coordinator.async_refresh()

    async def async_unload(self) -> None:
        """Refuse deliveries (503, retried), unregister and write pending changes."""
        self.webhook.accepting = False
        webhook.async_unregister(self.hass, self.webhook_id)
        await self.store.async_flush()

    @callback
    def _request_reconciliation(self) -> None:
        self.entry.async_create_background_task(
            self.hass, self.coordinator.async_request_refresh(), "alertmanager reconciliation"
        )

    @property
    def last_reconciliation(self) -> datetime | None:
        """When Alertmanager's API last answered a reconciliation."""
        data = self.coordinator.data
        return data.finished_at if data is not None else None

    def pipeline_health(self, now: datetime) -> PipelineHealth:
        """Problem when nothing was heard for too long or the Watchdog alert is missing."""
        contacts = [t for t in (self.store.last_webhook_at, self.last_reconciliation) if t]
        last_contact = max([*contacts, self.started_at])
        if now - last_contact > self.options.heartbeat_timeout:
            return PipelineHealth(True, "no_contact")
        watchdog = self.options.watchdog_alert
        if watchdog and not any(a.alertname == watchdog for a in self.store.active.values()):
            return PipelineHealth(True, "watchdog_missing")
        return PipelineHealth(False, None)

    @callback
    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add the entry's entities of one platform."""
        async_add_entities(build_entities(self, platform))

    def device_is_current(self, device: dr.DeviceEntry) -> bool:
        """The entry's only device is its service: current while the entry runs."""
        return True

    def diagnostics(self) -> dict[str, Any]:
        """Store and reconciliation state, without alert contents beyond their labels."""
        store = self.store
        return {
            "options": {
                "receiver": self.options.receiver,
                "reconcile_interval_s": self.options.reconcile_interval.total_seconds(),
                "heartbeat_timeout_min": self.options.heartbeat_timeout.total_seconds() / 60,
                "watchdog_alert": self.options.watchdog_alert,
                "history_days": self.options.history_days,
            },
            "store": {
                "loaded": store.loaded,
                "firing": len(store.active),
                "history": len(store.history),
                "silences": len(store.silences),
                "truncated_alerts": store.truncated_alerts,
                "last_webhook_at": store.last_webhook_at,
            },
            "reconciliation": {
                "last_update_success": self.coordinator.last_update_success,
                "last_exception": repr(self.coordinator.last_exception)
                if self.coordinator.last_exception
                else None,
                "last_reconciliation": self.last_reconciliation,
            },
            "pipeline": self.pipeline_health(dt_util.utcnow()),
            "alerts": [
                {"fingerprint": a.fingerprint, "labels": a.labels, "silenced_by": a.silenced_by}
                for a in store.active.values()
            ],
        }
