"""Container service actions: list, start, restart, and stop through a confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, cast

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
)
from homeassistant.util.json import JsonObjectType
import probatio

from ..confirm import PendingAction
from ..confirm_services import async_resolve_requester
from ..const import DOMAIN, SourceKind
from ..service_targets import called_runtimes, device_targets
from .models import CONTAINER_STATES, Container

if TYPE_CHECKING:
    from .runtime import DockerRuntime

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_CONTAINER: Final = "container"
ATTR_REQUESTER: Final = "requester"
ATTR_STATE: Final = "state"
ATTR_NAME: Final = "name"
ATTR_LIMIT: Final = "limit"

DIRECT_SERVICES: Final = {"start_container": "start", "restart_container": "restart"}

CONTAINER_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_CONTAINER): cv.string,
        **cv.ENTITY_SERVICE_FIELDS,
    }
)
STOP_SCHEMA: Final = CONTAINER_SCHEMA.extend({probatio.Optional(ATTR_REQUESTER): cv.string})
LIST_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_STATE): probatio.In(CONTAINER_STATES),
        probatio.Optional(ATTR_NAME): cv.string,
        probatio.Optional(ATTR_LIMIT, default=200): probatio.All(
            probatio.Coerce(int), probatio.Range(1, 2000)
        ),
    }
)


@callback
def async_setup_docker_services(hass: HomeAssistant) -> None:
    """Register list_containers, start_container, restart_container and stop_container."""
    for name, action in DIRECT_SERVICES.items():

        async def handle(call: ServiceCall, action: str = action) -> ServiceResponse:
            results = [
                await runtime.async_action(key, action) for runtime, key in _targets(hass, call)
            ]
            # One container: its result; several (device/area targets): all of them.
            return results[0] if len(results) == 1 else {"results": cast("list[Any]", results)}

        hass.services.async_register(
            DOMAIN, name, handle, CONTAINER_SCHEMA, supports_response=SupportsResponse.OPTIONAL
        )

    async def stop_container(call: ServiceCall) -> ServiceResponse:
        requester = await async_resolve_requester(hass, call)
        pending = [
            runtime.async_request_stop(key, requester) for runtime, key in _targets(hass, call)
        ]
        if len(pending) == 1:
            return _requested(pending[0])
        return {"actions": [_requested(p) for p in pending]}

    hass.services.async_register(
        DOMAIN,
        "stop_container",
        stop_container,
        STOP_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )

    async def list_containers(call: ServiceCall) -> ServiceResponse:
        wanted = " ".join(call.data.get(ATTR_NAME, "").split()).casefold()
        found: list[JsonObjectType] = []
        for runtime in _runtimes(hass, call):
            for container in runtime.coordinator.data.containers.values():
                if call.data.get(ATTR_STATE) not in (None, container.state):
                    continue
                if wanted and wanted not in container.name.casefold():
                    continue
                found.append(container_summary(runtime, container))
        found.sort(key=lambda c: (str(c["host"]), str(c["name"])))
        limit = call.data[ATTR_LIMIT]
        return {
            "containers": cast("list[Any]", found[:limit]),
            "count": min(len(found), limit),
            "total": len(found),
        }

    hass.services.async_register(
        DOMAIN,
        "list_containers",
        list_containers,
        LIST_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )


def container_summary(runtime: DockerRuntime, container: Container) -> JsonObjectType:
    """A container as lists show it: name, state, health and the headline figures."""
    stats = container.stats
    return {
        "host": runtime.entry.title,
        "name": container.name,
        "id": container.listed.id[:12],
        "image": container.listed.image,
        "state": container.state,
        "status": container.listed.status,
        "exit_code": container.exit_code,
        "health": container.health,
        "cpu_percent": None if stats is None else stats.cpu_percent,
        "memory_used": None if stats is None else stats.memory_used,
    }


def _requested(action: PendingAction) -> JsonObjectType:
    """What a caller needs to read the request back and confirm it."""
    return {
        "action_id": action.action_id,
        "summary": action.summary,
        "expires_at": action.expires_at.isoformat(),
    }


def _runtimes(hass: HomeAssistant, call: ServiceCall) -> list[DockerRuntime]:
    return called_runtimes(
        hass, call, SourceKind.DOCKER, wrong_kind="not_docker_entry", missing="no_docker_entry"
    )


def _targets(hass: HomeAssistant, call: ServiceCall) -> list[tuple[DockerRuntime, str]]:
    runtimes = _runtimes(hass, call)
    if (name := call.data.get(ATTR_CONTAINER)) is not None:
        found = [
            (runtime, container.listed.key)
            for runtime in runtimes
            if (container := runtime.coordinator.data.by_name(name)) is not None
        ]
        if not found:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_container",
                translation_placeholders={"container": name},
            )
        if len(found) > 1:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="ambiguous_container",
                translation_placeholders={"container": name},
            )
        return found
    targets = _device_targets(hass, call, runtimes)
    if not targets:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="container_target_missing"
        )
    return targets


def _device_targets(
    hass: HomeAssistant, call: ServiceCall, runtimes: list[DockerRuntime]
) -> list[tuple[DockerRuntime, str]]:
    return device_targets(
        hass, call, runtimes, lambda runtime, device: runtime.devices.key_of(device)
    )
