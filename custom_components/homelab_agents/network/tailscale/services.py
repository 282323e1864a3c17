"""Tailscale node actions: authorize, expire the key, delete (confirmed first).

A node is named by its node id, by its name (as in the MagicDNS name or the host name), or by
targeting its Home Assistant device or one of its entities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

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
import probatio

from ...confirm_services import async_resolve_requester
from ...const import DOMAIN, SourceKind
from ...service_targets import called_runtimes, device_targets

if TYPE_CHECKING:
    from .runtime import TailscaleRuntime

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_NODE_ID: Final = "node_id"
ATTR_NAME: Final = "name"
ATTR_REQUESTER: Final = "requester"

NODE_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_NODE_ID): cv.string,
        probatio.Optional(ATTR_NAME): cv.string,
        **cv.ENTITY_SERVICE_FIELDS,
    }
)
DELETE_SCHEMA: Final = NODE_SCHEMA.extend({probatio.Optional(ATTR_REQUESTER): cv.string})


@callback
def async_setup_tailscale_services(hass: HomeAssistant) -> None:
    """Register the Tailscale node actions."""

    async def authorize(call: ServiceCall) -> ServiceResponse:
        runtime, node_id = _target(hass, call)
        return await runtime.async_authorize(node_id)

    async def expire_key(call: ServiceCall) -> ServiceResponse:
        runtime, node_id = _target(hass, call)
        return await runtime.async_expire_key(node_id)

    async def delete(call: ServiceCall) -> ServiceResponse:
        requester = await async_resolve_requester(hass, call)
        runtime, node_id = _target(hass, call)
        action = runtime.async_request_delete(node_id, requester)
        return {
            "action_id": action.action_id,
            "summary": action.summary,
            "expires_at": action.expires_at.isoformat(),
        }

    for name, handler, schema in (
        ("authorize_tailscale_device", authorize, NODE_SCHEMA),
        ("expire_tailscale_device_key", expire_key, NODE_SCHEMA),
        ("delete_tailscale_device", delete, DELETE_SCHEMA),
    ):
        hass.services.async_register(
            DOMAIN, name, handler, schema, supports_response=SupportsResponse.OPTIONAL
        )


def _runtimes(hass: HomeAssistant, call: ServiceCall) -> list[TailscaleRuntime]:
    return called_runtimes(
        hass,
        call,
        SourceKind.TAILSCALE,
        wrong_kind="not_tailscale_entry",
        missing="no_tailscale_entry",
    )


def _target(hass: HomeAssistant, call: ServiceCall) -> tuple[TailscaleRuntime, str]:
    """The one node a call is about."""
    runtimes = _runtimes(hass, call)
    if (node_id := call.data.get(ATTR_NODE_ID)) is not None:
        found = [(r, node_id) for r in runtimes if node_id in r.coordinator.data.devices]
        return _one(found, node_id)
    if (name := call.data.get(ATTR_NAME)) is not None:
        wanted = name.strip().casefold()
        found = [
            (runtime, device.node_id)
            for runtime in runtimes
            for device in runtime.coordinator.data.devices.values()
            if wanted
            in {device.label.casefold(), device.hostname.casefold(), device.name.casefold()}
        ]
        return _one(found, name)
    targets = _device_targets(hass, call, runtimes)
    if not targets:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="tailscale_device_target_missing"
        )
    return _one(targets, ", ".join(node for _, node in targets))


def _one(found: list[tuple[TailscaleRuntime, str]], asked: str) -> tuple[TailscaleRuntime, str]:
    if not found:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_tailscale_device",
            translation_placeholders={"device": asked},
        )
    if len(found) > 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ambiguous_tailscale_device",
            translation_placeholders={"device": asked},
        )
    return found[0]


def _device_targets(
    hass: HomeAssistant, call: ServiceCall, runtimes: list[TailscaleRuntime]
) -> list[tuple[TailscaleRuntime, str]]:
    return device_targets(
        hass, call, runtimes, lambda runtime, device: runtime.node_of_device(device)
    )
