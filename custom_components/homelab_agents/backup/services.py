"""Backup service actions: list, back up now, verify, restore (confirmed), and daily health."""

from __future__ import annotations

from typing import Any, Final, cast

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, service
from homeassistant.util.json import JsonObjectType
import probatio

from ..confirm_services import async_resolve_requester
from ..const import CONF_KIND, DOMAIN, SourceKind
from .models import Snapshot
from .pve_jobs import loaded_proxmox
from .runtime import BACKUP_MODES, PbsRuntime, async_backup_health, loaded_backup_servers

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_VMID: Final = "vmid"
ATTR_DATASTORE: Final = "datastore"
ATTR_LIMIT: Final = "limit"
ATTR_STORAGE: Final = "storage"
ATTR_MODE: Final = "mode"
ATTR_NOTES: Final = "notes"
ATTR_SKIP_VERIFIED: Final = "skip_verified"
ATTR_VOLID: Final = "volid"
ATTR_NODE: Final = "node"
ATTR_START: Final = "start"
ATTR_REQUESTER: Final = "requester"

_ENTRY = probatio.Optional(ATTR_CONFIG_ENTRY_ID)
_VMID = probatio.All(probatio.Coerce(int), probatio.Range(100))

LIST_SCHEMA: Final = probatio.Schema(
    {
        _ENTRY: cv.string,
        probatio.Optional(ATTR_VMID): _VMID,
        probatio.Optional(ATTR_DATASTORE): cv.string,
        probatio.Optional(ATTR_LIMIT, default=50): probatio.All(
            probatio.Coerce(int), probatio.Range(1, 5000)
        ),
    }
)
BACKUP_SCHEMA: Final = probatio.Schema(
    {
        _ENTRY: cv.string,
        probatio.Required(ATTR_VMID): _VMID,
        probatio.Optional(ATTR_STORAGE): cv.string,
        probatio.Optional(ATTR_MODE, default="snapshot"): probatio.In(BACKUP_MODES),
        probatio.Optional(ATTR_NOTES): cv.string,
    }
)
VERIFY_SCHEMA: Final = probatio.Schema(
    {
        _ENTRY: cv.string,
        probatio.Optional(ATTR_DATASTORE): cv.string,
        probatio.Optional(ATTR_VMID): _VMID,
        probatio.Optional(ATTR_SKIP_VERIFIED, default=False): cv.boolean,
    }
)
RESTORE_SCHEMA: Final = probatio.Schema(
    {
        _ENTRY: cv.string,
        probatio.Required(ATTR_VOLID): cv.string,
        probatio.Required(ATTR_VMID): _VMID,
        probatio.Optional(ATTR_STORAGE): cv.string,
        probatio.Optional(ATTR_NODE): cv.string,
        probatio.Optional(ATTR_START, default=False): cv.boolean,
        probatio.Optional(ATTR_REQUESTER): cv.string,
    }
)
HEALTH_SCHEMA: Final = probatio.Schema({_ENTRY: cv.string})


@callback
def async_setup_backup_services(hass: HomeAssistant) -> None:
    """Register the backup service actions."""

    async def list_backups(call: ServiceCall) -> ServiceResponse:
        backups: list[JsonObjectType] = []
        for server in _servers(hass, call):
            _require_fresh(server)
            storages = await _storages(server)
            for group in server.coordinator.data.groups.values():
                if call.data.get(ATTR_DATASTORE) not in (None, group.datastore):
                    continue
                if call.data.get(ATTR_VMID) not in (None, group.vmid):
                    continue
                storage = storages.get(group.datastore)
                backups += [_listed(snapshot, storage) for snapshot in group.snapshots]
        backups.sort(key=lambda backup: str(backup["time"]), reverse=True)
        limit = call.data[ATTR_LIMIT]
        return {
            "backups": cast("list[Any]", backups[:limit]),
            "count": min(len(backups), limit),
            "total": len(backups),
        }

    async def backup_guest(call: ServiceCall) -> ServiceResponse:
        return await _server(hass, call).async_backup_guest(
            call.data[ATTR_VMID],
            storage=call.data.get(ATTR_STORAGE),
            mode=call.data[ATTR_MODE],
            notes=call.data.get(ATTR_NOTES),
        )

    async def verify_backups(call: ServiceCall) -> ServiceResponse:
        server = _server(hass, call)
        _require_fresh(server)
        datastore = call.data.get(ATTR_DATASTORE) or _only_datastore(server)
        groups = server.groups_of(datastore, call.data.get(ATTR_VMID))
        # One guest: its newest group (a VM and a container rarely share a VM ID).
        scope = None if ATTR_VMID not in call.data else (groups[0].backup_type, groups[0].backup_id)
        return await server.async_verify(datastore, scope, call.data[ATTR_SKIP_VERIFIED])

    async def restore_guest(call: ServiceCall) -> ServiceResponse:
        requester = await async_resolve_requester(hass, call)
        action = _server(hass, call).async_request_restore(
            call.data[ATTR_VOLID],
            call.data[ATTR_VMID],
            requester,
            storage=call.data.get(ATTR_STORAGE),
            node=call.data.get(ATTR_NODE),
            start=call.data[ATTR_START],
        )
        return {
            "action_id": action.action_id,
            "summary": action.summary,
            "expires_at": action.expires_at.isoformat(),
        }

    async def backup_health(call: ServiceCall) -> ServiceResponse:
        health = await async_backup_health(hass, _servers(hass, call))
        return health.as_dict()

    for name, handler, schema, response in (
        ("list_backups", list_backups, LIST_SCHEMA, SupportsResponse.ONLY),
        ("backup_guest", backup_guest, BACKUP_SCHEMA, SupportsResponse.OPTIONAL),
        ("verify_backups", verify_backups, VERIFY_SCHEMA, SupportsResponse.OPTIONAL),
        ("restore_guest", restore_guest, RESTORE_SCHEMA, SupportsResponse.OPTIONAL),
        ("backup_health", backup_health, HEALTH_SCHEMA, SupportsResponse.ONLY),
    ):
        hass.services.async_register(DOMAIN, name, handler, schema, supports_response=response)


def _servers(hass: HomeAssistant, call: ServiceCall) -> list[PbsRuntime]:
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        entry = service.async_get_config_entry(hass, DOMAIN, entry_id)
        if entry.data.get(CONF_KIND) != SourceKind.PROXMOX_BACKUP:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_pbs_entry",
                translation_placeholders={"entry_title": entry.title},
            )
        return [cast("PbsRuntime", entry.runtime_data)]
    servers = loaded_backup_servers(hass)
    if not servers:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_pbs_entry")
    return servers


def _server(hass: HomeAssistant, call: ServiceCall) -> PbsRuntime:
    servers = _servers(hass, call)
    if len(servers) > 1:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="pbs_entry_needed")
    return servers[0]


def _require_fresh(server: PbsRuntime) -> None:
    """Answers from an inventory the server no longer confirms would mislead."""
    if not server.coordinator.last_update_success:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="pbs_unreachable",
            translation_placeholders={"error": str(server.coordinator.last_exception)},
        )


def _only_datastore(server: PbsRuntime) -> str:
    datastores = sorted(server.coordinator.data.datastores)
    if len(datastores) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="datastore_needed",
            translation_placeholders={"datastores": ", ".join(datastores) or "none"},
        )
    return datastores[0]


async def _storages(server: PbsRuntime) -> dict[str, str]:
    """For each datastore, the Proxmox VE storage that holds it (for volume ids)."""
    storages: dict[str, str] = {}
    inventory = server.coordinator.data
    for datastore in inventory.datastores:
        for cluster in loaded_proxmox(server.hass):
            if storage := await server.links.storage_for(cluster, datastore, inventory):
                storages[datastore] = storage
                break
    return storages


def _listed(snapshot: Snapshot, storage: str | None) -> JsonObjectType:
    return {
        "datastore": snapshot.datastore,
        "type": snapshot.backup_type,
        "vmid": int(snapshot.backup_id) if snapshot.backup_id.isdigit() else None,
        "backup_id": snapshot.backup_id,
        "name": snapshot.comment,
        "time": snapshot.time.isoformat(),
        "size": snapshot.size,
        "verification": snapshot.verification,
        "verified_at": None if snapshot.verified_at is None else snapshot.verified_at.isoformat(),
        "protected": snapshot.protected,
        "volid": None if storage is None else snapshot.volid(storage),
    }
