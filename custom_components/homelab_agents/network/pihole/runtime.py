"""A Pi-hole entry while it runs: one session, polling, entities, blocking and the monitor."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final, cast

from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_VERIFY_SSL, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType

from ...const import DOMAIN, SourceKind
from ...runtime import HomelabAgentsConfigEntry
from ...service_targets import loaded_runtimes
from ..monitor import AnomalyMonitor
from .client import PiholeAuthError, PiholeClient, PiholeError, api_base
from .coordinator import PiholeCoordinator
from .entities import pihole_entities
from .models import Blocking, parse_blocking
from .samples import pihole_samples

MAX_LISTED: Final = 100  # most domains or clients `get_pihole_statistics` returns per list


def loaded_piholes(hass: HomeAssistant) -> list[PiholeRuntime]:
    """The Pi-hole entries that run now."""
    return cast("list[PiholeRuntime]", loaded_runtimes(hass, SourceKind.PIHOLE))


def client_for(hass: HomeAssistant, data: dict[str, Any]) -> PiholeClient:
    """A client on Home Assistant's shared session for entry data (or flow input)."""
    return PiholeClient(
        async_get_clientsession(hass, data[CONF_VERIFY_SSL]),
        data[CONF_URL],
        data.get(CONF_PASSWORD),
    )


class PiholeRuntime:
    """Everything one Pi-hole entry runs."""

    platforms: tuple[Platform, ...] = (
        Platform.BINARY_SENSOR,
        Platform.EVENT,
        Platform.SENSOR,
        Platform.SWITCH,
    )

    def __init__(self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
        """Wire client and coordinator; nothing runs until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.identity = str(entry.unique_id)
        self.client = client_for(hass, dict(entry.data))
        self.coordinator = PiholeCoordinator(hass, entry, self.client)
        admin = api_base(entry.data[CONF_URL]).with_path("/admin/")
        self.device_info = DeviceInfo(
            identifiers={(DOMAIN, self.identity)},
            name=entry.title,
            manufacturer="Pi-hole",
            model="Pi-hole",
            entry_type=dr.DeviceEntryType.SERVICE,
            configuration_url=str(admin),
        )
        self.monitor = AnomalyMonitor(hass, entry, self.device_info)
        self._sampled_slot: int | None = None

    async def async_start(self) -> None:
        """Load the baselines, poll once (ConfigEntryNotReady while down), then follow polls."""
        await self.monitor.async_load()
        try:
            await self.coordinator.async_config_entry_first_refresh()
        except Exception:
            await self.client.async_logout()  # a failed setup must not keep a seat
            await self.monitor.async_unload()
            raise
        self.entry.async_on_unload(self.coordinator.async_add_listener(self._polled))
        self._polled()

    async def async_unload(self) -> None:
        """Persist the baselines and give the session's seat back."""
        await self.monitor.async_unload()
        await self.client.async_logout()

    @callback
    def _polled(self) -> None:
        """Hand each complete 10-minute slot to the monitor once."""
        data = self.coordinator.data
        if not self.coordinator.last_update_success or data.slot is None:
            return
        if data.slot.start == self._sampled_slot:
            return
        self._sampled_slot = data.slot.start
        self.monitor.async_process(pihole_samples(data.slot), [], now=data.polled_at)

    @callback
    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add the Pi-hole's entities and the monitor's."""
        entities: list[Entity] = pihole_entities(self, platform)
        entities += self.monitor.entities(platform)
        async_add_entities(entities)

    def device_is_current(self, device: dr.DeviceEntry) -> bool:
        """The entry's only device is its service: current while the entry runs."""
        return True

    def diagnostics(self) -> dict[str, Any]:
        """Figures, session state and the monitor; no password or session id."""
        data = self.coordinator.data
        return {
            "summary": {
                "queries_total": data.summary.queries_total,
                "queries_blocked": data.summary.queries_blocked,
                "clients_active": data.summary.clients_active,
            },
            "blocking": data.blocking.state,
            "slot": None if data.slot is None else data.slot.start,
            "clients_watched": 0 if data.slot is None else len(data.slot.clients),
            "logins": self.client.logins,
            "has_session": self.client.has_session,
            "backing_off_seconds": round(self.client.backing_off),
            "last_update_success": self.coordinator.last_update_success,
            "monitor": self.monitor.diagnostics(),
        }

    # Actions

    async def async_set_blocking(
        self, enabled: bool, duration: timedelta | None = None
    ) -> Blocking:
        """Enable or disable blocking (for `duration`, then Pi-hole enables it again)."""
        timer = None if duration is None else round(duration.total_seconds())
        answer = await self._call(
            self.client.post("/dns/blocking", {"blocking": enabled, "timer": timer})
        )
        blocking = parse_blocking(answer)
        self.coordinator.async_set_updated_data(
            replace(self.coordinator.data, blocking=blocking, polled_at=dt_util.utcnow())
        )
        return blocking

    async def async_statistics(self, count: int) -> JsonObjectType:
        """Top permitted and blocked domains and top clients of the last 24 hours."""
        count = min(count, MAX_LISTED)
        params = {"count": str(count)}
        permitted = await self._call(
            self.client.get("/stats/top_domains", {**params, "blocked": "false"})
        )
        blocked = await self._call(
            self.client.get("/stats/top_domains", {**params, "blocked": "true"})
        )
        clients = await self._call(self.client.get("/stats/top_clients", params))
        return {
            "top_permitted_domains": _domains(permitted, count),
            "top_blocked_domains": _domains(blocked, count),
            "top_clients": _clients(clients, count),
            "queries_total": _number(permitted.get("total_queries")),
            "queries_blocked": _number(permitted.get("blocked_queries")),
        }

    async def _call[T](self, request: Awaitable[T]) -> T:
        try:
            return await request
        except PiholeAuthError as err:
            self.entry.async_start_reauth(self.hass)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="pihole_auth_failed",
            ) from err
        except PiholeError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="pihole_action_failed",
                translation_placeholders={"error": str(err)},
            ) from err


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _domains(answer: dict[str, Any], count: int) -> list[Any]:
    rows = answer.get("domains")
    return [
        {"domain": str(row.get("domain")), "count": _number(row.get("count"))}
        for row in (rows if isinstance(rows, list) else [])[:count]
        if isinstance(row, dict)
    ]


def _clients(answer: dict[str, Any], count: int) -> list[Any]:
    rows = answer.get("clients")
    return [
        {
            "ip": str(row.get("ip")),
            "name": row.get("name") or None,
            "count": _number(row.get("count")),
        }
        for row in (rows if isinstance(rows, list) else [])[:count]
        if isinstance(row, dict)
    ]
