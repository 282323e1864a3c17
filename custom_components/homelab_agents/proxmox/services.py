"""Guest power service actions: target by vmid (and entry) or by device/entity."""

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
from .models import Guest

if TYPE_CHECKING:
    from .runtime import ProxmoxRuntime

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_VMID: Final = "vmid"
ATTR_NAME: Final = "name"
ATTR_CONFIRM: Final = "confirm"
ATTR_STATUS: Final = "status"
ATTR_LIMIT: Final = "limit"

SERVICES: Final = {
    "start_guest": "start",
    "shutdown_guest": "shutdown",
    "reboot_guest": "reboot",
    "suspend_guest": "suspend",
    "resume_guest": "resume",
}

DESTRUCTIVE_SERVICES: Final = {"stop_guest": "stop", "reset_guest": "reset"}
NODE_SERVICES: Final = {"shutdown_node": "shutdown", "reboot_node": "reboot"}
ATTR_NODE: Final = "node"
ATTR_REQUESTER: Final = "requester"

GUEST_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_VMID): probatio.All(probatio.Coerce(int), probatio.Range(100)),
        probatio.Optional(ATTR_NAME): cv.string,
        **cv.ENTITY_SERVICE_FIELDS,
    }
)
POWER_SCHEMA: Final = GUEST_SCHEMA.extend(
    {
        # Ask first (Telegram's "Restart guest" button): the action then waits for a confirm.
        probatio.Optional(ATTR_CONFIRM, default=False): cv.boolean,
        probatio.Optional(ATTR_REQUESTER): cv.string,
    }
)
LIST_GUESTS_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_NODE): cv.string,
        probatio.Optional(ATTR_STATUS): cv.string,
        probatio.Optional(ATTR_NAME): cv.string,
        probatio.Optional(ATTR_LIMIT, default=200): probatio.All(
            probatio.Coerce(int), probatio.Range(1, 2000)
        ),
    }
)


DESTRUCTIVE_SCHEMA: Final = GUEST_SCHEMA.extend({probatio.Optional(ATTR_REQUESTER): cv.string})
NODE_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Required(ATTR_NODE): cv.string,
        probatio.Optional(ATTR_REQUESTER): cv.string,
    }
)


@callback
def async_setup_proxmox_services(hass: HomeAssistant) -> None:
    """Register the guest and node power service actions."""
    for name, action in SERVICES.items():

        async def handle(call: ServiceCall, action: str = action) -> ServiceResponse:
            targets = _targets(hass, call)
            if call.data[ATTR_CONFIRM]:
                requester = await async_resolve_requester(hass, call)
                pending = [
                    runtime.async_request_confirmed(vmid, action, requester)
                    for runtime, vmid in targets
                ]
                if len(pending) == 1:
                    return _requested(pending[0])
                return {"actions": [_requested(p) for p in pending]}
            results: list[JsonObjectType] = []
            for runtime, vmid in targets:
                result = await runtime.async_power(vmid, action)
                results.append({"vmid": vmid, **result.as_dict()})
            # One guest: its result; several (device/area targets): all of them.
            return results[0] if len(results) == 1 else {"results": cast("list[Any]", results)}

        hass.services.async_register(
            DOMAIN, name, handle, POWER_SCHEMA, supports_response=SupportsResponse.OPTIONAL
        )

    async def list_guests(call: ServiceCall) -> ServiceResponse:
        wanted_name = " ".join(call.data.get(ATTR_NAME, "").split()).casefold()
        guests: list[JsonObjectType] = []
        for runtime in _runtimes(hass, call):
            for guest in runtime.coordinator.data.guests.values():
                if call.data.get(ATTR_NODE) not in (None, guest.node):
                    continue
                if call.data.get(ATTR_STATUS) not in (None, guest.status):
                    continue
                if wanted_name and wanted_name not in (guest.name or "").casefold():
                    continue
                guests.append(guest_summary(runtime, guest))
        guests.sort(key=lambda g: (str(g["cluster"]), int(cast("int", g["vmid"]))))
        limit = call.data[ATTR_LIMIT]
        return {
            "guests": cast("list[Any]", guests[:limit]),
            "count": min(len(guests), limit),
            "total": len(guests),
        }

    hass.services.async_register(
        DOMAIN,
        "list_guests",
        list_guests,
        LIST_GUESTS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )

    for name, action in DESTRUCTIVE_SERVICES.items():

        async def request_guest(call: ServiceCall, action: str = action) -> ServiceResponse:
            requester = await async_resolve_requester(hass, call)
            targets = _targets(hass, call)
            pending = [
                runtime.async_request_confirmed(vmid, action, requester)
                for runtime, vmid in targets
            ]
            # Confirmations go one by one: each target gets its own action id.
            if len(pending) == 1:
                return _requested(pending[0])
            return {"actions": [_requested(p) for p in pending]}

        hass.services.async_register(
            DOMAIN,
            name,
            request_guest,
            DESTRUCTIVE_SCHEMA,
            supports_response=SupportsResponse.OPTIONAL,
        )

    for name, command in NODE_SERVICES.items():

        async def request_node(call: ServiceCall, command: str = command) -> ServiceResponse:
            requester = await async_resolve_requester(hass, call)
            node = call.data[ATTR_NODE]
            found = [r for r in _runtimes(hass, call) if node in r.coordinator.data.nodes]
            if len(found) != 1:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="unknown_node" if not found else "ambiguous_node",
                    translation_placeholders={"node": node},
                )
            return _requested(found[0].async_request_node_power(node, command, requester))

        hass.services.async_register(
            DOMAIN, name, request_node, NODE_SCHEMA, supports_response=SupportsResponse.OPTIONAL
        )


def guest_summary(runtime: ProxmoxRuntime, guest: Guest) -> JsonObjectType:
    """A guest as lists show it: identity, place, state and the headline figures."""
    return {
        "cluster": runtime.coordinator.data.name,
        "vmid": guest.vmid,
        "name": guest.name,
        "type": "vm" if guest.guest_type == "qemu" else "container",
        "node": guest.node,
        "status": guest.status,
        "cpu_percent": None if guest.cpu is None else round(guest.cpu * 100, 1),
        "memory_percent": (
            round(guest.mem / guest.maxmem * 100, 1) if guest.mem and guest.maxmem else None
        ),
    }


def _requested(action: PendingAction) -> JsonObjectType:
    """What a caller needs to read the request back and confirm it."""
    return {
        "action_id": action.action_id,
        "summary": action.summary,
        "expires_at": action.expires_at.isoformat(),
    }


def _runtimes(hass: HomeAssistant, call: ServiceCall) -> list[ProxmoxRuntime]:
    return called_runtimes(
        hass,
        call,
        SourceKind.PROXMOX_VE,
        wrong_kind="not_proxmox_entry",
        missing="no_proxmox_entry",
    )


def _targets(hass: HomeAssistant, call: ServiceCall) -> list[tuple[ProxmoxRuntime, int]]:
    runtimes = _runtimes(hass, call)
    if (vmid := call.data.get(ATTR_VMID)) is not None:
        found = [r for r in runtimes if vmid in r.coordinator.data.guests]
        if not found:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_guest",
                translation_placeholders={"vmid": str(vmid)},
            )
        if len(found) > 1:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="ambiguous_guest",
                translation_placeholders={"vmid": str(vmid)},
            )
        return [(found[0], vmid)]
    if (name := call.data.get(ATTR_NAME)) is not None:
        return [_by_name(runtimes, name)]
    targets = _device_targets(hass, call, runtimes)
    if not targets:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="guest_target_missing"
        )
    return targets


def _by_name(runtimes: list[ProxmoxRuntime], name: str) -> tuple[ProxmoxRuntime, int]:
    """A guest by its name, as people (and voice) say it: case and spacing do not matter."""
    wanted = " ".join(name.split()).casefold()
    found = [
        (runtime, guest.vmid)
        for runtime in runtimes
        for guest in runtime.coordinator.data.guests.values()
        if guest.name and " ".join(guest.name.split()).casefold() == wanted
    ]
    if not found:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_guest_name",
            translation_placeholders={"name": name},
        )
    if len(found) > 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ambiguous_guest_name",
            translation_placeholders={
                "name": name,
                "vmids": ", ".join(str(vmid) for _, vmid in found),
            },
        )
    return found[0]


def _device_targets(
    hass: HomeAssistant, call: ServiceCall, runtimes: list[ProxmoxRuntime]
) -> list[tuple[ProxmoxRuntime, int]]:
    return device_targets(
        hass, call, runtimes, lambda runtime, device: runtime.vmid_of_device(device)
    )
