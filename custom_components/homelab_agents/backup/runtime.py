"""A Proxmox Backup Server entry while it runs: polling, devices, backups, verification, restores.

Backups and restores are Proxmox VE jobs (vzdump to a `pbs` storage; create from an archive),
started through the loaded Proxmox VE entry that has the guest; verification and the inventory
come from PBS itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final, cast

from homeassistant.const import CONF_HOST, CONF_PORT, CONF_VERIFY_SSL, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType

from ..confirm import PendingAction, async_get_confirmations
from ..const import (
    CONF_BACKUP_TIMEOUT,
    CONF_FINGERPRINT,
    CONF_FRESHNESS_HOURS,
    DEFAULT_BACKUP_TIMEOUT,
    DEFAULT_FRESHNESS_HOURS,
    DOMAIN,
    SourceKind,
)
from ..planned_silences import PlannedSilence, async_expire_later, async_silence_guest
from ..proxmox.client import (
    ProxmoxAuthError,
    ProxmoxClient,
    ProxmoxError,
    ProxmoxPermissionError,
)
from ..proxmox.models import Guest
from ..proxmox.runtime import EVENT_TASK_FINISHED, ProxmoxRuntime
from ..proxmox.tasks import TaskOutcome, TaskResult, wait_for_task
from ..runtime import HomelabAgentsConfigEntry
from ..service_targets import loaded_runtimes
from .client import PBS_NODE, pbs_credentials_from
from .coordinator import PbsCoordinator
from .devices import BackupDevices, datastore_identifier, group_identifier
from .entities import datastore_entities, group_entities, server_entities
from .health import DAY, BackupHealth, GuestRef, Problem, backed_up, group_problem, without_backup
from .models import BackupGroup, BackupInventory
from .pve_jobs import (
    BackupVolume,
    StorageLinks,
    call_pve,
    cluster_with_storage,
    failed_backups,
    find_guest,
    loaded_proxmox,
    parse_volid,
    pbs_storages,
    task_errors,
)

BACKUP_MODES: Final = ("snapshot", "suspend", "stop")
DEFAULT_NOTES: Final = "{{guestname}}"  # PBS lists it as the snapshot's comment
ISSUE_GUESTS_LISTED: Final = 20
REPORTED_FAILURES: Final = 50


def loaded_backup_servers(hass: HomeAssistant) -> list[PbsRuntime]:
    """The Proxmox Backup Server entries that run now."""
    return cast("list[PbsRuntime]", loaded_runtimes(hass, SourceKind.PROXMOX_BACKUP))


class PbsRuntime:
    """Everything one Proxmox Backup Server entry runs."""

    platforms: tuple[Platform, ...] = (Platform.BINARY_SENSOR, Platform.BUTTON, Platform.SENSOR)

    def __init__(self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
        """Wire client and coordinator; nothing runs until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.identity = str(entry.unique_id)
        self.client = ProxmoxClient(hass, pbs_credentials_from(dict(entry.data)))
        self.coordinator = PbsCoordinator(hass, entry, self.client)
        self.freshness = timedelta(
            hours=entry.options.get(CONF_FRESHNESS_HOURS, DEFAULT_FRESHNESS_HOURS)
        )
        self.task_wait = timedelta(
            minutes=entry.options.get(CONF_BACKUP_TIMEOUT, DEFAULT_BACKUP_TIMEOUT)
        )
        self.links = StorageLinks()
        web_url = f"https://{entry.data[CONF_HOST]}:{entry.data[CONF_PORT]}/"
        self.devices = BackupDevices(
            dr.async_get(hass), entry.entry_id, self.identity, entry.title, web_url
        )
        self._adders: dict[str, AddConfigEntryEntitiesCallback] = {}
        self._known_datastores: set[str] = set()
        self._known_groups: set[str] = set()

    async def async_start(self) -> None:
        """First poll (ConfigEntryNotReady while PBS is down), then follow changes."""
        await self.coordinator.async_config_entry_first_refresh()
        self.devices.sync(self.coordinator.data)
        self._update_tls_issue()
        self._update_unprotected_issue()
        self.entry.async_on_unload(self.coordinator.async_add_listener(self._inventory_changed))

    async def async_unload(self) -> None:
        """The guest list issue goes with the entry (pending restores belong to clusters)."""
        ir.async_delete_issue(self.hass, DOMAIN, f"guests_without_backup_{self.entry.entry_id}")

    def diagnostics(self) -> dict[str, Any]:
        """Datastore figures and counts; no guest names."""
        data = self.coordinator.data
        return {
            "datastores": {
                name: {
                    "total": store.total,
                    "used": store.used,
                    "deduplication": store.deduplication,
                    "gc": store.gc_message,
                }
                for name, store in data.datastores.items()
            },
            "groups": len(data.groups),
            "snapshots": sum(len(group.snapshots) for group in data.groups.values()),
            "problems": sum(self.problem_of(group) is not None for group in data.groups.values()),
            "storage_links": self.links.known(),
            "last_update_success": self.coordinator.last_update_success,
            "freshness_hours": self.freshness.total_seconds() / 3600,
            "task_wait_minutes": self.task_wait.total_seconds() / 60,
        }

    # Entities that come and go with the server

    @callback
    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add what exists now; later additions come from `_inventory_changed`."""
        self._adders[platform.value] = async_add_entities
        data = self.coordinator.data
        entities: list[Entity] = server_entities(self, platform.value)
        for name in data.datastores:
            entities += datastore_entities(self, platform.value, name)
        for group in data.groups.values():
            entities += group_entities(self, platform.value, group)
        async_add_entities(entities)
        self._known_datastores = set(data.datastores)
        self._known_groups = set(data.groups)

    @callback
    def _inventory_changed(self) -> None:
        if not self.coordinator.last_update_success:
            return
        data = self.coordinator.data
        self.devices.sync(data)
        self._add_new(data)
        self._remove_vanished(data)
        self._update_unprotected_issue()

    def _add_new(self, data: BackupInventory) -> None:
        new_datastores = set(data.datastores) - self._known_datastores
        new_groups = set(data.groups) - self._known_groups
        for platform, add in self._adders.items():
            entities: list[Entity] = []
            for name in sorted(new_datastores):
                entities += datastore_entities(self, platform, name)
            for key in sorted(new_groups):
                entities += group_entities(self, platform, data.groups[key])
            if entities:
                add(entities)
        self._known_datastores |= new_datastores
        self._known_groups |= new_groups

    def _remove_vanished(self, data: BackupInventory) -> None:
        """Groups whose last snapshot was pruned, and removed datastores, lose their devices."""
        for key in self._known_groups - set(data.groups):
            self.devices.remove(group_identifier(self.identity, key))
        for name in self._known_datastores - set(data.datastores):
            self.devices.remove(datastore_identifier(self.identity, name))
        self._known_groups &= set(data.groups)
        self._known_datastores &= set(data.datastores)

    def device_is_current(self, device: dr.DeviceEntry) -> bool:
        """Whether a device still stands for a datastore or group the server has."""
        return self.devices.is_current(device, self.coordinator.data)

    # Health

    def problem_of(self, group: BackupGroup) -> Problem | None:
        """Why a guest's backups need attention now, if they do."""
        return group_problem(group, dt_util.utcnow(), self.freshness)

    def guests_without_backup(self) -> list[GuestRef] | None:
        """Guests of the loaded PVE entries no loaded PBS has a backup of; None without PVE."""
        clusters = loaded_proxmox(self.hass)
        if not clusters:
            return None
        servers = {r.entry.entry_id: r for r in loaded_backup_servers(self.hass)}
        servers[self.entry.entry_id] = self  # not yet LOADED while it starts
        guests = [
            GuestRef(
                cluster=cluster.coordinator.data.name,
                vmid=guest.vmid,
                name=guest.name,
                guest_type=guest.guest_type,
            )
            for cluster in clusters
            for guest in cluster.coordinator.data.guests.values()
            if not guest.template
        ]
        return without_backup(guests, backed_up(r.coordinator.data for r in servers.values()))

    async def async_daily_backup_health(self) -> BackupHealth:
        """The last 24 hours of this server's backups, for reports."""
        return await async_backup_health(self.hass, [self])

    def _update_unprotected_issue(self) -> None:
        issue_id = f"guests_without_backup_{self.entry.entry_id}"
        guests = self.guests_without_backup()
        if not guests:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        listed = ", ".join(guest.label for guest in guests[:ISSUE_GUESTS_LISTED])
        if len(guests) > ISSUE_GUESTS_LISTED:
            listed += f" and {len(guests) - ISSUE_GUESTS_LISTED} more"
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="guests_without_backup",
            translation_placeholders={
                "title": self.entry.title,
                "count": str(len(guests)),
                "guests": listed,
            },
        )

    def _update_tls_issue(self) -> None:
        issue_id = f"tls_verification_off_{self.entry.entry_id}"
        if self.entry.data[CONF_VERIFY_SSL] or self.entry.data.get(CONF_FINGERPRINT):
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="pbs_tls_verification_off",
            translation_placeholders={"title": self.entry.title},
        )

    # Backups (through Proxmox VE)

    async def async_backup_guest(
        self,
        vmid: int,
        storage: str | None = None,
        mode: str = "snapshot",
        notes: str | None = None,
    ) -> JsonObjectType:
        """Back a guest up now through its cluster, wait for the task, show the new snapshot."""
        cluster, guest = find_guest(self.hass, vmid)
        storage = await self._backup_storage(cluster, storage)
        silences: list[PlannedSilence] = []
        if cluster.planned_silences:
            silences = await async_silence_guest(
                self.hass, vmid, guest.name, "backup", self.task_wait
            )
        try:
            return await self._run_backup(cluster, guest, storage, mode, notes or DEFAULT_NOTES)
        finally:
            async_expire_later(self.hass, silences)

    async def _backup_storage(self, cluster: ProxmoxRuntime, storage: str | None) -> str:
        """The caller's storage, else the cluster's one `pbs` storage of this server."""
        if storage is not None:
            if storage not in {s.storage for s in cluster.coordinator.data.storages.values()}:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="unknown_storage",
                    translation_placeholders={"storage": storage},
                )
            return storage
        candidates = pbs_storages(cluster)
        data = self.coordinator.data
        linked = [s for s in candidates if await self.links.datastore_of(cluster, s, data)]
        if len(linked) == 1:
            return linked[0].storage
        if not linked and len(candidates) == 1:
            return candidates[0].storage  # a first backup: nothing to link by yet
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="backup_storage_needed",
            translation_placeholders={
                "storages": ", ".join(s.storage for s in candidates) or "none"
            },
        )

    async def _run_backup(
        self, cluster: ProxmoxRuntime, guest: Guest, storage: str, mode: str, notes: str
    ) -> JsonObjectType:
        vmid = guest.vmid
        upid = await call_pve(
            cluster,
            "post",
            f"nodes/{guest.node}/vzdump",
            {"vmid": vmid, "storage": storage, "mode": mode, "notes-template": notes},
            action="back up",
        )
        result = await wait_for_task(cluster.client, guest.node, str(upid), self.task_wait)
        self._announce(cluster.entry.entry_id, vmid, guest.name, "backup", result)
        for server in {self, *loaded_backup_servers(self.hass)}:
            await server.coordinator.async_refresh()
        if result.outcome is TaskOutcome.ERROR:
            reason = await task_errors(cluster, guest.node, result.upid, str(result.exitstatus))
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="backup_failed",
                translation_placeholders={"vmid": str(vmid), "error": reason},
            )
        response: JsonObjectType = {
            "vmid": vmid,
            "name": guest.name,
            "storage": storage,
            "datastore": None,
            **result.as_dict(),
            "snapshot": None,
        }
        datastore = None
        for candidate in pbs_storages(cluster):
            if candidate.storage == storage:
                datastore = await self.links.datastore_of(cluster, candidate, self.coordinator.data)
        response["datastore"] = datastore
        group = self._newest_group(datastore, vmid)
        if group is not None and result.outcome is not TaskOutcome.UNKNOWN:
            response["snapshot"] = {
                "time": group.newest.time.isoformat(),
                "size": group.newest.size,
                "volid": group.newest.volid(storage),
            }
        return response

    def _newest_group(self, datastore: str | None, vmid: int) -> BackupGroup | None:
        groups = [
            group
            for group in self.coordinator.data.groups.values()
            if group.datastore == datastore and group.vmid == vmid
        ]
        return max(groups, key=lambda group: group.newest.time, default=None)

    def _announce(
        self, entry_id: str, vmid: int | None, name: str | None, action: str, result: TaskResult
    ) -> None:
        self.hass.bus.async_fire(
            EVENT_TASK_FINISHED,
            {
                "config_entry_id": entry_id,
                "vmid": vmid,
                "name": name,
                "action": action,
                **result.as_dict(),
            },
        )

    # Verification (PBS)

    def groups_of(self, datastore: str, vmid: int | None) -> list[BackupGroup]:
        """A datastore's groups, or one guest's (newest first); ServiceValidationError if none."""
        if datastore not in self.coordinator.data.datastores:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_datastore",
                translation_placeholders={"datastore": datastore},
            )
        groups = sorted(
            (
                group
                for group in self.coordinator.data.groups.values()
                if group.datastore == datastore and vmid in (None, group.vmid)
            ),
            key=lambda group: group.newest.time,
            reverse=True,
        )
        if vmid is not None and not groups:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="no_backups",
                translation_placeholders={"vmid": str(vmid), "datastore": datastore},
            )
        return groups

    async def async_verify(
        self, datastore: str, group: tuple[str, str] | None, skip_verified: bool = False
    ) -> JsonObjectType:
        """Verify a datastore or one group (type, id), wait for the task, return what it found."""
        scope = datastore if group is None else f"{datastore}/{group[0]}/{group[1]}"
        params: dict[str, Any] = {"ignore-verified": int(skip_verified)}
        if group is not None:
            params |= {"backup-type": group[0], "backup-id": group[1]}
        try:
            upid = await self.client.call("post", f"admin/datastore/{datastore}/verify", **params)
        except ProxmoxPermissionError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="pbs_missing_privilege",
                translation_placeholders={"error": str(err), "path": f"/datastore/{datastore}"},
            ) from err
        except ProxmoxAuthError as err:
            self.entry.async_start_reauth(self.hass)
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="pbs_auth_failed"
            ) from err
        except ProxmoxError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="verify_not_started",
                translation_placeholders={"scope": scope, "error": str(err)},
            ) from err
        result = await wait_for_task(self.client, PBS_NODE, str(upid), self.task_wait)
        self._announce(self.entry.entry_id, _vmid(group), None, "verify", result)
        await self.coordinator.async_refresh()
        snapshots = [
            snapshot
            for candidate in self.coordinator.data.groups.values()
            if candidate.datastore == datastore
            and (group is None or (candidate.backup_type, candidate.backup_id) == group)
            for snapshot in candidate.snapshots
        ]
        failed = [s.path for s in snapshots if s.verification == "failed"]
        if result.outcome is TaskOutcome.ERROR:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="verify_failed",
                translation_placeholders={
                    "scope": scope,
                    "error": str(result.exitstatus),
                    "failed": ", ".join(failed[:REPORTED_FAILURES]) or "none",
                },
            )
        return {
            "datastore": datastore,
            "vmid": _vmid(group),
            **result.as_dict(),
            "verified": sum(s.verification == "ok" for s in snapshots),
            "failed": list(failed[:REPORTED_FAILURES]),
        }

    # Restores (through Proxmox VE, confirmed)

    @callback
    def async_request_restore(
        self,
        volid: str,
        vmid: int,
        requester: str,
        *,
        storage: str | None = None,
        node: str | None = None,
        start: bool = False,
    ) -> PendingAction:
        """Record a restore; it runs when its requester confirms it. Never over a running guest."""
        volume = parse_volid(volid)
        cluster = cluster_with_storage(self.hass, volume.storage)
        data = cluster.coordinator.data
        existing = data.guests.get(vmid)
        _check_restore_target(existing, volume, vmid)
        if existing is None and node is not None and node not in data.nodes:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_node",
                translation_placeholders={"node": node},
            )
        original = data.guests.get(volume.vmid)
        target_node = (
            existing.node
            if existing is not None
            else node
            or (original.node if original is not None else _storage_node(cluster, volume.storage))
        )
        summary = (
            f"Restore the backup of {volume.backup_type}/{volume.vmid} from "
            f"{volume.time:%Y-%m-%d %H:%M} UTC to VM ID {vmid} on {target_node}"
        )
        if existing is not None:
            summary += f", overwriting {existing.name or f'guest {vmid}'}"

        async def execute() -> JsonObjectType:
            return await self._run_restore(
                cluster, volume, vmid, target_node, storage=storage, start=start
            )

        # A restore is the cluster's action: its entry counts it, and unloading it cancels it.
        return async_get_confirmations(self.hass).async_request(
            kind="restore_guest",
            summary=summary,
            requester=requester,
            config_entry_id=cluster.entry.entry_id,
            target={
                "volid": volume.volid,
                "vmid": vmid,
                "node": target_node,
                "storage": storage,
                "overwrite": existing is not None,
            },
            execute=execute,
            ttl=cluster.confirmation_ttl,
        )

    async def _run_restore(
        self,
        cluster: ProxmoxRuntime,
        volume: BackupVolume,
        vmid: int,
        node: str,
        *,
        storage: str | None,
        start: bool,
    ) -> JsonObjectType:
        # The guest may have started since the request: look again right before restoring.
        await cluster.coordinator.async_refresh()
        existing = cluster.coordinator.data.guests.get(vmid)
        _check_restore_target(existing, volume, vmid)
        if existing is not None:
            node = existing.node
        params: dict[str, Any] = {"vmid": vmid}
        if volume.guest_type == "qemu":
            params["archive"] = volume.volid
        else:
            params |= {"ostemplate": volume.volid, "restore": 1}
        if existing is not None:
            params["force"] = 1
        if storage:
            params["storage"] = storage
        if start:
            params["start"] = 1
        upid = await call_pve(
            cluster,
            "post",
            f"nodes/{node}/{volume.guest_type}",
            params,
            action="restore",
        )
        result = await wait_for_task(cluster.client, node, str(upid), self.task_wait)
        self._announce(cluster.entry.entry_id, vmid, None, "restore", result)
        await cluster.coordinator.async_refresh()
        if result.outcome is TaskOutcome.ERROR:
            reason = await task_errors(cluster, node, result.upid, str(result.exitstatus))
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="restore_failed",
                translation_placeholders={"vmid": str(vmid), "error": reason},
            )
        return {"vmid": vmid, "volid": volume.volid, **result.as_dict()}


def _vmid(group: tuple[str, str] | None) -> int | None:
    return int(group[1]) if group is not None and group[1].isdigit() else None


def _storage_node(cluster: ProxmoxRuntime, storage: str) -> str:
    return next(s.node for s in pbs_storages(cluster) if s.storage == storage)


def _check_restore_target(existing: Guest | None, volume: BackupVolume, vmid: int) -> None:
    """A restore replaces a stopped guest of the same type, or creates a new one."""
    if existing is None:
        return
    if existing.status != "stopped":
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="restore_target_running",
            translation_placeholders={"vmid": str(vmid), "status": str(existing.status)},
        )
    if existing.guest_type != volume.guest_type:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="restore_type_mismatch",
            translation_placeholders={"vmid": str(vmid), "volid": volume.volid},
        )


async def async_backup_health(hass: HomeAssistant, servers: list[PbsRuntime]) -> BackupHealth:
    """The last 24 hours across these servers: made, failed, verified, stale, unprotected."""
    end = dt_util.utcnow()
    health = BackupHealth(start=end - DAY, end=end)
    for server in servers:
        health.add_inventory(server.coordinator.data, server.freshness)
    for cluster in loaded_proxmox(hass):
        health.failed += await failed_backups(cluster, health.start, end)
    health.unprotected = (servers[0].guests_without_backup() or []) if servers else []
    return health
