"""Backups and restores are Proxmox VE jobs: vzdump to a `pbs` storage, create from an archive.

A PVE `pbs` storage names the datastore in its configuration, which the API a monitoring token
can read does not show. So a storage is linked to a datastore by what it lists: a snapshot of
this server's datastore that the storage also lists (one content request per storage and
datastore, remembered while the entry runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
import re
from typing import TYPE_CHECKING, Any, Final, cast

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)

from ..const import CONF_KIND, DOMAIN, LOGGER, SourceKind
from ..proxmox.client import ProxmoxAuthError, ProxmoxError, ProxmoxPermissionError
from ..proxmox.models import Guest, Storage
from ..proxmox.tasks import TaskOutcome, outcome_of
from .health import FailedBackup
from .models import GUEST_TYPES, SNAPSHOT_TIME_FORMAT, BackupGroup, BackupInventory

if TYPE_CHECKING:
    from ..proxmox.runtime import ProxmoxRuntime

_PBS_VOLID: Final = re.compile(
    r"(?P<storage>[^:\s]+):backup/(?P<type>vm|ct)/(?P<id>\d+)/"
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupVolume:
    """A PBS snapshot as Proxmox VE names it: `pbs-store:backup/vm/101/2026-05-01T01:00:00Z`."""

    volid: str
    storage: str
    backup_type: str
    vmid: int
    time: datetime

    @property
    def guest_type(self) -> str:
        """`qemu` or `lxc`: what a restore creates."""
        return GUEST_TYPES[self.backup_type]


def parse_volid(volid: str) -> BackupVolume:
    """A PBS volume id, or ServiceValidationError."""
    match = _PBS_VOLID.fullmatch(volid.strip())
    if match is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_volid",
            translation_placeholders={"volid": volid},
        )
    return BackupVolume(
        volid=match.group(0),
        storage=match["storage"],
        backup_type=match["type"],
        vmid=int(match["id"]),
        time=datetime.strptime(match["time"], SNAPSHOT_TIME_FORMAT).replace(tzinfo=UTC),
    )


def loaded_proxmox(hass: HomeAssistant) -> list[ProxmoxRuntime]:
    """The Proxmox VE entries that run now."""
    return [
        cast("ProxmoxRuntime", entry.runtime_data)
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
        and entry.data.get(CONF_KIND) == SourceKind.PROXMOX_VE
    ]


def find_guest(hass: HomeAssistant, vmid: int) -> tuple[ProxmoxRuntime, Guest]:
    """The cluster and guest with this VM ID."""
    runtimes = loaded_proxmox(hass)
    if not runtimes:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_proxmox_entry")
    found = [
        (runtime, runtime.coordinator.data.guests[vmid])
        for runtime in runtimes
        if vmid in runtime.coordinator.data.guests
    ]
    if len(found) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ambiguous_guest" if found else "unknown_guest",
            translation_placeholders={"vmid": str(vmid)},
        )
    return found[0]


def pbs_storages(runtime: ProxmoxRuntime) -> list[Storage]:
    """The cluster's `pbs` storages, as an online node sees them."""
    return sorted(
        (
            storage
            for storage in runtime.coordinator.data.storages.values()
            if storage.plugin_type == "pbs"
        ),
        key=lambda storage: storage.storage,
    )


def cluster_with_storage(hass: HomeAssistant, storage: str) -> ProxmoxRuntime:
    """The one cluster with a `pbs` storage of this name (where a backup volume lives)."""
    runtimes = loaded_proxmox(hass)
    if not runtimes:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_proxmox_entry")
    found = [r for r in runtimes if any(s.storage == storage for s in pbs_storages(r))]
    if len(found) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ambiguous_backup_storage" if found else "unknown_backup_storage",
            translation_placeholders={"storage": storage},
        )
    return found[0]


async def call_pve(
    runtime: ProxmoxRuntime, method: str, path: str, params: dict[str, Any], *, action: str
) -> Any:
    """One PVE call of a backup job, its errors translated."""
    try:
        return await runtime.client.call(method, path, **params)
    except ProxmoxPermissionError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="missing_privilege",
            translation_placeholders={"error": str(err)},
        ) from err
    except ProxmoxAuthError as err:
        runtime.entry.async_start_reauth(runtime.hass)
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="proxmox_auth_failed"
        ) from err
    except ProxmoxError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="action_failed",
            translation_placeholders={
                "action": action,
                "vmid": str(params["vmid"]),
                "error": str(err),
            },
        ) from err


async def task_errors(runtime: ProxmoxRuntime, node: str, upid: str, fallback: str) -> str:
    """Why a task failed: its log's ERROR lines (vzdump's exit status only says "job errors")."""
    try:
        lines = await runtime.client.call("get", f"nodes/{node}/tasks/{upid}/log", limit=500)
    except ProxmoxError:
        return fallback
    errors = [
        text.removeprefix("ERROR: ")
        for line in lines or ()
        if isinstance(line, dict) and (text := str(line.get("t", ""))).startswith("ERROR:")
    ]
    return "; ".join(errors) or fallback


async def failed_backups(
    runtime: ProxmoxRuntime, start: datetime, end: datetime
) -> list[FailedBackup]:
    """The cluster's vzdump tasks that ended in an error between `start` and `end`."""
    try:
        tasks = await runtime.client.call("get", "cluster/tasks")
    except ProxmoxError as err:
        LOGGER.warning("Could not read the tasks of %s: %s", runtime.entry.title, err)
        return []
    failed: list[FailedBackup] = []
    for task in tasks if isinstance(tasks, list) else []:
        status, ended = task.get("status"), task.get("endtime")
        if task.get("type") != "vzdump" or not isinstance(status, str) or not ended:
            continue
        when = datetime.fromtimestamp(int(ended), UTC)
        if outcome_of(status) is not TaskOutcome.ERROR or not start <= when <= end:
            continue
        task_id = str(task.get("id") or "")
        failed.append(
            FailedBackup(
                cluster=runtime.coordinator.data.name,
                node=str(task.get("node")),
                vmid=int(task_id) if task_id.isdigit() else None,
                upid=str(task.get("upid")),
                exitstatus=status,
                ended=when,
            )
        )
    return failed


class StorageLinks:
    """Which `pbs` storage of which cluster holds which datastore of this server."""

    def __init__(self) -> None:
        """Nothing linked yet."""
        self._links: dict[tuple[str, str], str] = {}  # (PVE entry id, storage) -> datastore

    async def datastore_of(
        self, runtime: ProxmoxRuntime, storage: Storage, inventory: BackupInventory
    ) -> str | None:
        """The datastore of this server behind a PVE storage, or None (another server's)."""
        key = (runtime.entry.entry_id, storage.storage)
        if key in self._links:
            return self._links[key]
        # One guest's group per datastore (host backups never show up in a PVE storage).
        samples: dict[str, BackupGroup] = {}
        for group in sorted(inventory.groups.values(), key=lambda g: g.vmid is None):
            samples.setdefault(group.datastore, group)
        for datastore, group in samples.items():
            try:
                rows = await runtime.client.call(
                    "get",
                    f"nodes/{storage.node}/storage/{storage.storage}/content",
                    content="backup",
                    vmid=group.vmid,
                )
            except ProxmoxError as err:
                LOGGER.debug("Storage %s not readable: %s", storage.storage, err)
                return None
            listed = {row.get("volid") for row in rows or () if isinstance(row, dict)}
            if any(s.volid(storage.storage) in listed for s in group.snapshots):
                self._links[key] = datastore
                return datastore
        return None

    async def storage_for(
        self, runtime: ProxmoxRuntime, datastore: str, inventory: BackupInventory
    ) -> str | None:
        """The cluster's storage that holds a datastore of this server, if any."""
        for storage in pbs_storages(runtime):
            if await self.datastore_of(runtime, storage, inventory) == datastore:
                return storage.storage
        return None

    def known(self) -> dict[str, str]:
        """The links found so far, for diagnostics."""
        return {f"{entry}/{storage}": store for (entry, storage), store in self._links.items()}
