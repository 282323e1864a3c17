"""What one poll of a Proxmox Backup Server sees: datastores, backup groups and snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ..proxmox.tasks import TaskOutcome, outcome_of

type VerifyState = Literal["ok", "failed", "none"]
VERIFY_STATES: tuple[VerifyState, ...] = ("ok", "failed", "none")
SNAPSHOT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # PBS's spelling in snapshot paths and volids
GUEST_TYPES = {"vm": "qemu", "ct": "lxc"}  # PBS backup type -> PVE guest type
BACKUP_TYPES = {"qemu": "vm", "lxc": "ct"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """One backup of one guest."""

    datastore: str
    backup_type: str  # vm, ct (host backups are listed too but name no guest)
    backup_id: str
    time: datetime
    size: int | None
    verification: VerifyState
    verified_at: datetime | None
    comment: str | None
    protected: bool

    @property
    def path(self) -> str:
        """`vm/100/2026-05-01T01:00:00Z`, as PBS names a snapshot."""
        return f"{self.backup_type}/{self.backup_id}/{self.time.strftime(SNAPSHOT_TIME_FORMAT)}"

    def volid(self, storage: str) -> str:
        """The volume id Proxmox VE gives this snapshot on one of its `pbs` storages."""
        return f"{storage}:backup/{self.path}"


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupGroup:
    """All snapshots of one guest in one datastore, newest first (never empty)."""

    datastore: str
    backup_type: str
    backup_id: str
    snapshots: tuple[Snapshot, ...]

    @property
    def key(self) -> str:
        """`store1/vm/100`: unique within a server."""
        return f"{self.datastore}/{self.backup_type}/{self.backup_id}"

    @property
    def newest(self) -> Snapshot:
        """The latest backup."""
        return self.snapshots[0]

    @property
    def vmid(self) -> int | None:
        """The guest's VM ID (host backups have names instead)."""
        return int(self.backup_id) if self.backup_id.isdigit() else None

    @property
    def guest_type(self) -> str | None:
        """`qemu` or `lxc`, as Proxmox VE calls the guest type."""
        return GUEST_TYPES.get(self.backup_type)


@dataclass(frozen=True, slots=True, kw_only=True)
class Datastore:
    """A datastore's usage and its last garbage collection."""

    name: str
    total: int | None
    used: int | None
    avail: int | None
    estimated_full: datetime | None  # None: never, at the current trend
    deduplication: float | None
    gc_outcome: TaskOutcome | None
    gc_message: str | None
    gc_ended: datetime | None
    gc_removed: int | None
    gc_pending: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupInventory:
    """Everything one poll learned."""

    polled_at: datetime
    datastores: dict[str, Datastore]
    groups: dict[str, BackupGroup]  # by BackupGroup.key


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _epoch(value: Any) -> datetime | None:
    seconds = _int(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except OverflowError, OSError, ValueError:
        return None  # e.g. a full date millennia away while usage barely grows


def upid_started(upid: str) -> datetime | None:
    """When a PBS task started: the sixth field of its UPID, in hex seconds."""
    parts = upid.split(":")
    try:
        return datetime.fromtimestamp(int(parts[5], 16), UTC)
    except IndexError, ValueError:
        return None


def parse_datastore(
    usage: dict[str, Any], gc: dict[str, Any] | None, polled_at: datetime
) -> Datastore:
    """One row of /status/datastore-usage, with /admin/datastore/{store}/gc when readable."""
    gc_figures = usage.get("gc-status") or {}
    index_bytes = _int(gc_figures.get("index-data-bytes"))
    disk_bytes = _int(gc_figures.get("disk-bytes"))
    full = _epoch(usage.get("estimated-full-date"))
    gc = gc or {}
    state = gc.get("last-run-state")
    return Datastore(
        name=str(usage["store"]),
        total=_int(usage.get("total")),
        used=_int(usage.get("used")),
        avail=_int(usage.get("avail")),
        # PBS reports 0 (or a past date) when usage is flat or falling: never full.
        estimated_full=full if full is not None and full > polled_at else None,
        deduplication=round(index_bytes / disk_bytes, 2) if index_bytes and disk_bytes else None,
        gc_outcome=outcome_of(state) if isinstance(state, str) else None,
        gc_message=state if isinstance(state, str) else None,
        gc_ended=_epoch(gc.get("last-run-endtime")),
        gc_removed=_int(gc.get("removed-bytes")),
        gc_pending=_int(gc.get("pending-bytes")),
    )


def parse_snapshots(datastore: str, rows: list[dict[str, Any]]) -> dict[str, BackupGroup]:
    """GET /admin/datastore/{store}/snapshots grouped by guest, newest first."""
    by_group: dict[tuple[str, str], list[Snapshot]] = {}
    for row in rows:
        backup_type, backup_id = row.get("backup-type"), row.get("backup-id")
        taken = _epoch(row.get("backup-time"))
        if not isinstance(backup_type, str) or not isinstance(backup_id, str) or taken is None:
            continue
        verification = row.get("verification") or {}
        state = verification.get("state")
        upid = verification.get("upid")
        by_group.setdefault((backup_type, backup_id), []).append(
            Snapshot(
                datastore=datastore,
                backup_type=backup_type,
                backup_id=backup_id,
                time=taken,
                size=_int(row.get("size")),
                verification=state if state in ("ok", "failed") else "none",
                verified_at=upid_started(upid) if isinstance(upid, str) else None,
                comment=row.get("comment") or None,
                protected=bool(row.get("protected")),
            )
        )
    groups: dict[str, BackupGroup] = {}
    for (backup_type, backup_id), snapshots in by_group.items():
        snapshots.sort(key=lambda s: s.time, reverse=True)
        group = BackupGroup(
            datastore=datastore,
            backup_type=backup_type,
            backup_id=backup_id,
            snapshots=tuple(snapshots),
        )
        groups[group.key] = group
    return groups
