"""A Docker host entry while it runs: client, coordinator, container devices and actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from homeassistant.const import CONF_URL, CONF_VERIFY_SSL, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryError,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util.json import JsonObjectType

from ..confirm import PendingAction, async_get_confirmations
from ..const import CONF_CONFIRMATION_MINUTES, DEFAULT_CONFIRMATION_MINUTES, DOMAIN
from ..runtime import HomelabAgentsConfigEntry
from .client import (
    DockerClient,
    DockerConflictError,
    DockerConnectionError,
    DockerEndpoint,
    DockerError,
    DockerNotFoundError,
    DockerNotModifiedError,
    async_create_client,
    parse_endpoint,
)
from .const import (
    CONF_CA_CERT,
    CONF_CLIENT_CERT,
    CONF_CLIENT_KEY,
    CONF_STATS_INTERVAL,
    CONF_STOP_TIMEOUT,
    DEFAULT_STATS_INTERVAL,
    DEFAULT_STOP_TIMEOUT,
    MIN_STATS_INTERVAL,
)
from .coordinator import DockerCoordinator
from .devices import EngineDevices
from .entities import container_entities, engine_entities
from .models import EngineSnapshot

EVENT_CONTAINER_ACTION: Final = f"{DOMAIN}_container_action"
ACTION_LABELS: Final = {"start": "Start", "stop": "Stop", "restart": "Restart"}
# What a 304 means for each action: the container already is in the wanted state.
ALREADY: Final = {"start": "running", "stop": "stopped", "restart": "running"}


def endpoint_from(data: dict[str, Any]) -> DockerEndpoint:
    """Connection settings from entry (or flow) data."""
    return DockerEndpoint(
        url=data[CONF_URL],
        verify_ssl=data.get(CONF_VERIFY_SSL, True),
        ca_cert=data.get(CONF_CA_CERT) or None,
        client_cert=data.get(CONF_CLIENT_CERT) or None,
        client_key=data.get(CONF_CLIENT_KEY) or None,
    )


class DockerRuntime:
    """Everything one Docker host entry runs."""

    platforms: tuple[Platform, ...] = (Platform.SENSOR, Platform.SWITCH)

    def __init__(self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
        """Read the options; nothing connects until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.identity = str(entry.unique_id)
        interval = int(entry.options.get(CONF_STATS_INTERVAL, DEFAULT_STATS_INTERVAL))
        # Below the poll interval would still mean once per poll.
        self.stats_interval = (
            timedelta(seconds=max(interval, MIN_STATS_INTERVAL)) if interval > 0 else None
        )
        self.stop_timeout = int(entry.options.get(CONF_STOP_TIMEOUT, DEFAULT_STOP_TIMEOUT))
        self.confirmation_ttl = timedelta(
            minutes=entry.options.get(CONF_CONFIRMATION_MINUTES, DEFAULT_CONFIRMATION_MINUTES)
        )
        self.devices = EngineDevices(
            dr.async_get(hass), entry.entry_id, self.identity, entry.title, ""
        )
        self._adders: dict[str, AddConfigEntryEntitiesCallback] = {}
        self._known: set[str] = set()
        self._with_health: set[str] = set()
        self.client: DockerClient
        self.coordinator: DockerCoordinator

    async def async_start(self) -> None:
        """Connect and make the first poll (ConfigEntryNotReady while the engine is down)."""
        try:
            self.client = await async_create_client(self.hass, endpoint_from(dict(self.entry.data)))
        except DockerError as err:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="docker_certificate_unreadable",
                translation_placeholders={"error": str(err)},
            ) from err
        self.coordinator = DockerCoordinator(
            self.hass, self.entry, self.client, self.stats_interval
        )
        try:
            await self.coordinator.async_config_entry_first_refresh()
        except BaseException:
            await self.client.close()
            raise
        self.devices.sync(self.coordinator.data)
        self._update_security_issue()
        self.entry.async_on_unload(self.coordinator.async_add_listener(self._engine_changed))

    def _update_security_issue(self) -> None:
        """Warn while the API is reachable without encryption or certificate check."""
        issue_id = f"docker_insecure_{self.entry.entry_id}"
        scheme, _ = parse_endpoint(self.entry.data[CONF_URL])
        if scheme == "https" and not self.entry.data.get(CONF_VERIFY_SSL, True):
            key = "docker_tls_verification_off"
        elif scheme == "http":
            key = "docker_unencrypted"
        else:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=key,
            translation_placeholders={"title": self.entry.title},
        )

    async def async_unload(self) -> None:
        """Cancel this host's pending stops and close a dedicated session."""
        async_get_confirmations(self.hass).async_cancel_entry(self.entry.entry_id)
        await self.client.close()

    def diagnostics(self) -> dict[str, Any]:
        """Counts and poll state; no container names."""
        data = self.coordinator.data
        states: dict[str, int] = {}
        for container in data.containers.values():
            states[container.listed.state] = states.get(container.listed.state, 0) + 1
        return {
            "engine_version": data.version,
            "containers": len(data.containers),
            "states": states,
            "requests_last_refresh": data.requests,
            "stats_interval_s": (
                None if self.stats_interval is None else self.stats_interval.total_seconds()
            ),
            "last_update_success": self.coordinator.last_update_success,
        }

    # Entities that come with the containers

    @callback
    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add what exists now; later containers come from `_engine_changed`."""
        self._adders[platform.value] = async_add_entities
        data = self.coordinator.data
        entities: list[Entity] = engine_entities(self, platform.value)
        for key, container in data.containers.items():
            entities += container_entities(
                self, platform.value, key, health=container.has_healthcheck
            )
        async_add_entities(entities)
        self._known = set(data.containers)
        self._with_health = {k for k, c in data.containers.items() if c.has_healthcheck}

    @callback
    def _engine_changed(self) -> None:
        if not self.coordinator.last_update_success:
            return
        data = self.coordinator.data
        self.devices.sync(data)
        self._add_new(data)

    def _add_new(self, data: EngineSnapshot) -> None:
        new = set(data.containers) - self._known
        health = {k for k, c in data.containers.items() if c.has_healthcheck} - self._with_health
        if not new and not health:
            return
        for platform, add in self._adders.items():
            entities: list[Entity] = []
            for key in sorted(new):
                entities += container_entities(self, platform, key, health=key in health)
            for key in sorted(health - new):
                if platform == "sensor":
                    entities += [
                        e
                        for e in container_entities(self, platform, key, health=True)
                        if e.unique_id and e.unique_id.endswith("_container_health")
                    ]
            if entities:
                add(entities)
        self._known |= new
        self._with_health |= health

    def device_is_current(self, device: dr.DeviceEntry) -> bool:
        """The engine device and containers that exist now (the rest may be deleted)."""
        key = self.devices.key_of(device)
        return key is None or key in self.coordinator.data.containers

    # Actions

    async def async_action(self, key: str, action: str) -> JsonObjectType:
        """Start, stop or restart; the engine's refusals become translated errors."""
        container = self.coordinator.data.containers.get(key)
        if container is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_container",
                translation_placeholders={"container": key},
            )
        name = container.name
        placeholders = {"container": name, "action": action}
        try:
            # By name: a container compose re-created since the poll is still the one meant.
            await self.client.action(name, action, self.stop_timeout)
        except DockerNotModifiedError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="container_already",
                translation_placeholders={**placeholders, "state": ALREADY[action]},
            ) from err
        except DockerNotFoundError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="container_not_found",
                translation_placeholders=placeholders,
            ) from err
        except DockerConflictError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="container_conflict",
                translation_placeholders={**placeholders, "error": str(err)},
            ) from err
        except DockerConnectionError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="docker_action_unreachable",
                translation_placeholders={**placeholders, "error": str(err)},
            ) from err
        except DockerError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="container_action_failed",
                translation_placeholders={**placeholders, "error": str(err)},
            ) from err
        # Show the outcome at once (the debounced refresh would wait out its cooldown).
        await self.coordinator.async_refresh()
        after = self.coordinator.data.containers.get(key)
        result: JsonObjectType = {
            "container": name,
            "action": action,
            "status": "ok",
            "state": None if after is None else after.state,
            "exit_code": None if after is None else after.exit_code,
        }
        self.hass.bus.async_fire(
            EVENT_CONTAINER_ACTION, {"config_entry_id": self.entry.entry_id, **result}
        )
        return result

    @callback
    def async_request_stop(self, key: str, requester: str) -> PendingAction:
        """Record a stop that runs only when its requester confirms it."""
        container = self.coordinator.data.containers.get(key)
        if container is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_container",
                translation_placeholders={"container": key},
            )
        summary = f"Stop container {container.name} on {self.entry.title}"

        async def execute() -> JsonObjectType:
            return await self.async_action(key, "stop")

        return async_get_confirmations(self.hass).async_request(
            kind="stop_container",
            summary=summary,
            requester=requester,
            config_entry_id=self.entry.entry_id,
            target={"container": container.name, "key": key, "action": "stop"},
            execute=execute,
            ttl=self.confirmation_ttl,
        )

    @callback
    def async_request_stop_from_switch(self, key: str, requester: str) -> None:
        """Turning the switch off records the stop and says how to confirm it."""
        action = self.async_request_stop(key, requester)
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="container_stop_needs_confirmation",
            translation_placeholders={
                "summary": action.summary,
                "action_id": action.action_id,
            },
        )
