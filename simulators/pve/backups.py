"""Backups and restores: `vzdump` tasks writing to storages, and guests created from archives."""

from __future__ import annotations

from dataclasses import dataclass

from simulators.backup_link import BackupSnapshot

from .archives import Archive, GuestImage, VolumeRef, backup_type_of, parse_backup_volid
from .errors import server_error
from .model import GIB, Cluster, Guest, GuestType, Storage
from .tasks import Task, TaskError

# What PVE logs when the PBS datastore runs out of space mid-backup.
_NO_SPACE = (
    "backup write data failed: command error: write_data upload error: pipelined request failed: "
    "No space left on device (os error 28)"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupJob:
    """What a `POST /nodes/{node}/vzdump` asked for."""

    node: str
    vmids: list[int] | None  # None: every guest on the node (`all=1`)
    storage: str
    mode: str
    notes_template: str | None
    protected: bool
    command: str  # the job's command line, as the task log shows it


def backup_storage(cluster: Cluster, storage_id: str) -> Storage:
    """The storage a backup goes to, or PVE's error when it cannot take backups."""
    storage = cluster.storages.get(storage_id)
    if storage is None:
        raise server_error(f"storage '{storage_id}' does not exist")
    if not storage.holds("backup"):
        raise server_error(f"storage '{storage_id}' does not support backups")
    return storage


def start_vzdump(cluster: Cluster, job: BackupJob, *, user: str) -> Task:
    """Start a vzdump task; guests on other nodes are skipped, as PVE does."""
    storage = backup_storage(cluster, job.storage)
    if job.vmids is None:
        local = [guest.vmid for guest in cluster.guests_on(job.node)]
    else:
        local = [
            vmid
            for vmid in job.vmids
            if vmid not in cluster.guests or cluster.guests[vmid].node == job.node
        ]
    skipped = sorted(set(job.vmids or ()) - set(local))
    locked = [cluster.guests[vmid] for vmid in local if vmid in cluster.guests]
    for guest in locked:
        guest.lock = "backup"
    log = [f"INFO: starting new backup job: {job.command}"]
    if skipped:
        log.append(f"INFO: skip external VMs: {', '.join(map(str, skipped))}")

    def back_up(task: Task) -> None:
        failures = sum(not _back_up_guest(cluster, job, storage, vmid, task) for vmid in local)
        if failures:
            raise TaskError("job errors")
        task.log.append("INFO: Backup job finished successfully")

    def unlock(_task: Task) -> None:
        for guest in locked:
            if guest.lock == "backup":
                guest.lock = None

    return cluster.tasks.start(
        node=job.node,
        task_type="vzdump",
        task_id=str(local[0]) if len(local) == 1 else "",
        user=user,
        outcome=cluster.take_outcome(*local),
        work=back_up,
        cleanup=unlock,
        log=log,
    )


def _back_up_guest(
    cluster: Cluster, job: BackupJob, storage: Storage, vmid: int, task: Task
) -> bool:
    guest = cluster.guests.get(vmid)
    if guest is None:
        task.log.append(f"ERROR: Backup of VM {vmid} failed - unable to find VM '{vmid}'")
        return False
    task.log.append(f"INFO: Starting Backup of VM {vmid} ({guest.guest_type})")
    task.log.append(f"INFO: status = {guest.status}")
    task.log.append(f"INFO: backup mode: {job.mode}")
    size = max(GIB // 4, int(guest.disk_size * guest.profile.disk_share * 0.6))
    image = GuestImage(guest.name, guest.cores, guest.memory, guest.disk_size, guest.tags)
    notes = _render_notes(job.notes_template or "", cluster, guest)
    backup_time = _next_backup_time(cluster, storage, guest, task.starttime)
    if storage.target is not None:
        if not storage.target.has_room_for(size):
            task.log.append(f"ERROR: Backup of VM {vmid} failed - {_NO_SPACE}")
            return False
        storage.target.add_snapshot(
            BackupSnapshot(
                backup_type=backup_type_of(guest.guest_type),
                backup_id=str(vmid),
                backup_time=backup_time,
                size=size,
                notes=notes,
                protected=job.protected,
            )
        )
        cluster.backups.remember_image(storage.storage, guest.guest_type, vmid, backup_time, image)
    else:
        archive = Archive(
            storage=storage.storage,
            node=None if storage.shared else job.node,
            guest_type=guest.guest_type,
            vmid=vmid,
            ctime=backup_time,
            size=size,
            notes=notes,
            protected=job.protected,
        )
        cluster.backups.add_archive(archive, image)
        task.log.append(f"INFO: creating vzdump archive '{archive.volid}'")
    task.log.append(f"INFO: Finished Backup of VM {vmid} (00:00:01)")
    return True


def _next_backup_time(cluster: Cluster, storage: Storage, guest: Guest, start: int) -> int:
    # Backup times identify snapshots, so two backups of a guest within a second (fast tests)
    # get successive seconds instead of colliding.
    latest = cluster.backups.latest_time(storage.storage, guest.guest_type, guest.vmid)
    if storage.target is not None:
        backup_type = backup_type_of(guest.guest_type)
        latest = max(
            [latest]
            + [
                snapshot.backup_time
                for snapshot in storage.target.snapshots()
                if snapshot.backup_type == backup_type and snapshot.backup_id == str(guest.vmid)
            ]
        )
    return max(start, latest + 1)


def _render_notes(template: str, cluster: Cluster, guest: Guest) -> str:
    notes = (
        template.replace("{{cluster}}", cluster.name)
        .replace("{{guestname}}", guest.name)
        .replace("{{node}}", guest.node)
        .replace("{{vmid}}", str(guest.vmid))
    )
    # The template escapes newlines and backslashes (`\n`, `\\`) to stay on one line.
    return notes.replace("\\\\", "\0").replace("\\n", "\n").replace("\0", "\\")


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreRequest:
    """What a `POST /nodes/{node}/{qemu|lxc}` with a backup archive asked for."""

    node: str
    guest_type: GuestType
    vmid: int
    archive: str
    force: bool
    start: bool


def start_restore(cluster: Cluster, request: RestoreRequest, *, user: str) -> Task:
    """Check a restore as PVE does before its worker starts, then start the task."""
    label = "VM" if request.guest_type == "qemu" else "CT"
    prefix = f"unable to restore {label} {request.vmid} -"
    ref = parse_backup_volid(request.archive)
    if ref is None:
        raise server_error(f"{prefix} unable to parse volume ID '{request.archive}'")
    if ref.storage not in cluster.storages:
        raise server_error(f"{prefix} storage '{ref.storage}' does not exist")
    existing = cluster.guests.get(request.vmid)
    if existing is not None:
        if existing.node != request.node or not request.force:
            raise server_error(
                f"{prefix} {label} {request.vmid} already exists on node '{existing.node}'"
            )
        if existing.status == "running":
            raise server_error(
                f"{prefix} vm is running"
                if request.guest_type == "qemu"
                else "can't overwrite running container"
            )
        existing.lock = "create"

    def restore(_task: Task) -> None:
        image = _locate_backup(cluster, ref, request, prefix)
        _materialise(
            cluster,
            node=request.node,
            guest_type=request.guest_type,
            vmid=request.vmid,
            image=image,
            start=request.start,
        )

    def unlock(_task: Task) -> None:
        if existing is not None and existing.lock == "create":
            existing.lock = None

    return cluster.tasks.start(
        node=request.node,
        task_type="qmrestore" if request.guest_type == "qemu" else "vzrestore",
        task_id=str(request.vmid),
        user=user,
        outcome=cluster.take_outcome(request.vmid),
        work=restore,
        cleanup=unlock,
        log=[f"restore {request.archive} to {label} {request.vmid}"],
    )


def _locate_backup(
    cluster: Cluster, ref: VolumeRef, request: RestoreRequest, prefix: str
) -> GuestImage:
    storage = cluster.storages[ref.storage]
    if ref.guest_type != request.guest_type:
        wanted = "VM" if request.guest_type == "qemu" else "container"
        raise TaskError(f"{prefix} archive '{request.archive}' is not a {wanted} backup")
    if storage.target is not None:
        backup_type = backup_type_of(ref.guest_type)
        found = any(
            snapshot.backup_type == backup_type
            and snapshot.backup_id == str(ref.vmid)
            and snapshot.backup_time == ref.backup_time
            for snapshot in storage.target.snapshots()
        )
    else:
        found = any(
            archive.volid == request.archive
            for archive in cluster.backups.archives_on(ref.storage, request.node)
        )
    if not found:
        raise TaskError(f"{prefix} volume '{request.archive}' does not exist")
    image = cluster.backups.image(ref)
    if image is not None:
        return image
    # A backup the simulator did not make (one the PBS side already had): the original guest's
    # configuration if it still exists, else plain defaults.
    original = cluster.guests.get(ref.vmid)
    if original is not None and original.guest_type == ref.guest_type:
        return GuestImage(
            original.name, original.cores, original.memory, original.disk_size, original.tags
        )
    kind = "vm" if request.guest_type == "qemu" else "ct"
    return GuestImage(f"{kind}{ref.vmid}", 2, 2 * GIB, 32 * GIB)


def _materialise(
    cluster: Cluster,
    *,
    node: str,
    guest_type: GuestType,
    vmid: int,
    image: GuestImage,
    start: bool,
) -> None:
    cluster.guests.pop(vmid, None)
    guest = cluster.add_guest(
        node=node,
        guest_type=guest_type,
        vmid=vmid,
        name=image.name,
        status="stopped",
        cores=image.cores,
        memory=image.memory,
        disk_size=image.disk_size,
        tags=image.tags,
    )
    if start:
        cluster.power_on(guest)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateRequest:
    """What a `POST /nodes/{node}/{qemu|lxc}` without a backup archive asked for."""

    node: str
    guest_type: GuestType
    vmid: int
    name: str | None
    cores: int
    memory: int
    start: bool


def start_create(cluster: Cluster, request: CreateRequest, *, user: str) -> Task:
    """Create a new guest through a task (`qmcreate` / `vzcreate`)."""
    label = "VM" if request.guest_type == "qemu" else "CT"
    existing = cluster.guests.get(request.vmid)
    if existing is not None:
        raise server_error(
            f"unable to create {label} {request.vmid} - {label} {request.vmid} already exists "
            f"on node '{existing.node}'"
        )

    def create(_task: Task) -> None:
        if request.vmid in cluster.guests:
            raise TaskError(f"{label} {request.vmid} already exists")
        image = GuestImage(
            request.name or f"{label.lower()}{request.vmid}",
            request.cores,
            request.memory,
            32 * GIB if request.guest_type == "qemu" else 8 * GIB,
        )
        _materialise(
            cluster,
            node=request.node,
            guest_type=request.guest_type,
            vmid=request.vmid,
            image=image,
            start=request.start,
        )

    return cluster.tasks.start(
        node=request.node,
        task_type="qmcreate" if request.guest_type == "qemu" else "vzcreate",
        task_id=str(request.vmid),
        user=user,
        outcome=cluster.take_outcome(request.vmid),
        work=create,
    )
