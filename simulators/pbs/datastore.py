"""A simulated PBS datastore: backup groups and snapshots, chunk usage, verification and GC.

Usage follows PBS's chunk store loosely: a group's first snapshot writes its whole size, later
ones only what changed (the group's change rate). Deleting a snapshot frees nothing until
garbage collection; GC then removes the unreferenced chunks, except those written in the last
24 hours 5 minutes, which it keeps as pending, like PBS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
import time
from typing import Final, Literal

from simulators.backup_link import BackupSnapshot, BackupType, snapshot_time_text

from .tasks import OK, Task, WorkerTasks
from .usage import UsageHistory, UsageLedger

CHUNK_SIZE: Final = 4 * 1024 * 1024
"""Average chunk size, for the chunk counts GC reports."""
GC_PENDING_WINDOW: Final = 24 * 3600 + 300
"""Chunks newer than this survive GC as pending (PBS's atime safety margin)."""
VERIFY_FAILED: Final = "verification failed - please check the log for details"
FILES: Final[dict[BackupType, tuple[str, ...]]] = {
    "vm": ("drive-scsi0.img.fidx", "index.json.blob", "qemu-server.conf.blob"),
    "ct": ("catalog.pcat1.didx", "index.json.blob", "pct.conf.blob", "root.pxar.didx"),
}
INDEX_SUFFIXES: Final = (".fidx", ".didx")
DEFAULT_CHANGE_RATE: Final = 0.02
"""Share of a guest's size each later snapshot writes, unless the group says otherwise."""

type VerifyState = Literal["ok", "failed"]


class DatastoreFullError(Exception):
    """A write that does not fit in the datastore's free space."""


class DatastoreBusyError(Exception):
    """An operation that is already running on the datastore (PBS allows one GC at a time)."""


class SnapshotError(Exception):
    """A request about a snapshot PBS would refuse (missing, protected)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DatastoreConfig:
    """How a datastore starts: its disk size, bytes already used, and whether it gets guests."""

    total: int
    used: int = 0
    comment: str = ""
    gc_schedule: str = "daily"
    seed_guests: bool = True


def snapshot_path(backup_type: str, backup_id: str, backup_time: int) -> str:
    """`vm/100/2024-05-01T01:00:00Z`, as PBS prints a snapshot."""
    return f"{backup_type}/{backup_id}/{snapshot_time_text(backup_time)}"


@dataclass(frozen=True, slots=True)
class Verification:
    """The last verification of a snapshot: its result and the task that did it."""

    state: VerifyState
    upid: str
    time: int


@dataclass(slots=True, kw_only=True)
class StoredSnapshot:
    """A snapshot in the datastore."""

    backup_type: BackupType
    backup_id: str
    backup_time: int
    size: int  # logical bytes, as listed
    chunk_bytes: int  # bytes of chunks only this snapshot holds on disk
    notes: str = ""
    protected: bool = False
    verification: Verification | None = None
    corrupt: bool = False  # the next verification fails

    @property
    def files(self) -> tuple[str, ...]:
        """The archive names PBS lists for the snapshot."""
        return FILES[self.backup_type]

    @property
    def path(self) -> str:
        """`vm/100/2024-05-01T01:00:00Z`, as PBS prints a snapshot."""
        return snapshot_path(self.backup_type, self.backup_id, self.backup_time)

    def as_backup_snapshot(self) -> BackupSnapshot:
        """The snapshot as the PVE simulator sees it."""
        return BackupSnapshot(
            backup_type=self.backup_type,
            backup_id=self.backup_id,
            backup_time=self.backup_time,
            size=self.size,
            notes=self.notes,
            verify_state=self.verification.state if self.verification else "none",
            protected=self.protected,
        )


@dataclass(slots=True, kw_only=True)
class BackupGroup:
    """All snapshots of one guest, oldest first."""

    backup_type: BackupType
    backup_id: str
    owner: str
    change_rate: float
    snapshots: list[StoredSnapshot] = field(default_factory=list)


@dataclass(slots=True)
class GcStatus:
    """PBS's GarbageCollectionStatus: what the last GC counted and removed."""

    upid: str | None = None
    index_file_count: int = 0
    index_data_bytes: int = 0
    disk_bytes: int = 0
    disk_chunks: int = 0
    removed_bytes: int = 0
    removed_chunks: int = 0
    pending_bytes: int = 0
    pending_chunks: int = 0
    removed_bad: int = 0
    still_bad: int = 0
    cache_hits: int = 0
    cache_misses: int = 0


@dataclass(frozen=True, slots=True)
class _Garbage:
    """Chunks no snapshot references any more, and when they were last written."""

    size: int
    written: int


class Datastore:
    """One datastore; also the `BackupTarget` a PVE `pbs` storage writes to."""

    def __init__(
        self,
        name: str,
        config: DatastoreConfig,
        *,
        tasks: WorkerTasks,
        created: float,
        owner: str = "root@pam",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """A datastore created at `created`; tasks it starts go to `tasks`."""
        self.name = name
        self.total = config.total
        self.comment = config.comment
        self.gc_schedule = config.gc_schedule
        self.owner = owner
        self.gc_status = GcStatus()
        self._tasks = tasks
        self._clock = clock
        self._groups: dict[tuple[str, str], BackupGroup] = {}
        self.gc_job: str | None = None  # UPID of the latest GC task, running or not
        self._garbage: list[_Garbage] = []
        self._ledger = UsageLedger(created, config.used)

    # BackupTarget

    @property
    def datastore(self) -> str:
        """The datastore's name (BackupTarget)."""
        return self.name

    def snapshots(self) -> list[BackupSnapshot]:
        """Every snapshot, newest first (BackupTarget)."""
        self._tasks.settle(self._clock())
        stored = sorted(self.stored_snapshots(), key=lambda s: s.backup_time, reverse=True)
        return [snapshot.as_backup_snapshot() for snapshot in stored]

    def add_snapshot(self, snapshot: BackupSnapshot) -> None:
        """Store a finished backup (BackupTarget); DatastoreFullError when it does not fit."""
        self._tasks.settle(self._clock())
        verification = None
        if snapshot.verify_state != "none":
            verify = self._tasks.record(
                "verify_snapshot",
                self.verify_worker_id(
                    snapshot.backup_type, snapshot.backup_id, snapshot.backup_time
                ),
                self.owner,
                starttime=snapshot.backup_time + 60,
                duration=30,
                exitstatus=OK if snapshot.verify_state == "ok" else VERIFY_FAILED,
            )
            verification = Verification(
                snapshot.verify_state, str(verify.upid), verify.upid.starttime
            )
        self.store(
            snapshot.backup_type,
            snapshot.backup_id,
            snapshot.backup_time,
            snapshot.size,
            notes=snapshot.notes,
            protected=snapshot.protected,
            verification=verification,
        )

    def has_room_for(self, size: int) -> bool:
        """Whether `size` bytes fit (BackupTarget); conservatively the whole size must fit."""
        return size <= self.avail

    # Usage

    @property
    def used(self) -> int:
        """Bytes used on the datastore's disk."""
        return self._ledger.current

    @property
    def avail(self) -> int:
        """Bytes still free (never negative)."""
        return max(self.total - self.used, 0)

    def usage_history(self, now: float) -> UsageHistory:
        """The month of usage history and estimated full date, as PBS computes them."""
        return self._ledger.history(now, self.total)

    def fill(self, free: int = 0) -> None:
        """Let other data take the disk until only `free` bytes remain (a full datastore)."""
        self._ledger.record(self._clock(), self.avail - free)

    # Snapshots

    def groups(
        self, backup_type: str | None = None, backup_id: str | None = None
    ) -> list[BackupGroup]:
        """Groups (each has snapshots) by type and id, optionally of one type and/or guest."""
        return [
            self._groups[key]
            for key in sorted(self._groups)
            if backup_type in (None, key[0]) and backup_id in (None, key[1])
        ]

    def group(self, backup_type: str, backup_id: str) -> BackupGroup | None:
        """One guest's group, if it has snapshots."""
        return self._groups.get((backup_type, backup_id))

    def stored_snapshots(
        self, backup_type: str | None = None, backup_id: str | None = None
    ) -> Iterable[StoredSnapshot]:
        """Snapshots, optionally of one type and/or guest, group by group, oldest first."""
        for group in self.groups(backup_type, backup_id):
            yield from group.snapshots

    def find(self, backup_type: str, backup_id: str, backup_time: int) -> StoredSnapshot:
        """One snapshot, or SnapshotError."""
        group = self._groups.get((backup_type, backup_id))
        for snapshot in group.snapshots if group else ():
            if snapshot.backup_time == backup_time:
                return snapshot
        path = snapshot_path(backup_type, backup_id, backup_time)
        raise SnapshotError(f"snapshot {path} does not exist")

    def store(
        self,
        backup_type: BackupType,
        backup_id: str,
        backup_time: int,
        size: int,
        *,
        notes: str = "",
        protected: bool = False,
        verification: Verification | None = None,
        change_rate: float = DEFAULT_CHANGE_RATE,
    ) -> StoredSnapshot:
        """Write a snapshot: the whole size for a new group, the changed part otherwise.

        `change_rate` applies when this snapshot starts a new group.
        """
        key = (backup_type, backup_id)
        group = self._groups.get(key)
        if group is None:
            group = BackupGroup(
                backup_type=backup_type,
                backup_id=backup_id,
                owner=self.owner,
                change_rate=change_rate,
            )
        if any(s.backup_time == backup_time for s in group.snapshots):
            raise ValueError(f"snapshot {backup_type}/{backup_id}@{backup_time} already exists")
        chunk_bytes = round(size * group.change_rate) if group.snapshots else size
        if chunk_bytes > self.avail:
            raise DatastoreFullError(
                f"datastore {self.name} is full: {chunk_bytes} bytes do not fit in {self.avail}"
            )
        snapshot = StoredSnapshot(
            backup_type=backup_type,
            backup_id=backup_id,
            backup_time=backup_time,
            size=size,
            chunk_bytes=chunk_bytes,
            notes=notes,
            protected=protected,
            verification=verification,
            # A snapshot that failed verification fails again until repaired.
            corrupt=verification is not None and verification.state == "failed",
        )
        self._groups[key] = group
        group.snapshots.append(snapshot)
        group.snapshots.sort(key=lambda s: s.backup_time)
        self._ledger.record(backup_time, chunk_bytes)
        return snapshot

    def delete(self, backup_type: str, backup_id: str, backup_time: int) -> None:
        """Forget a snapshot; its unshared chunks become garbage for the next GC."""
        snapshot = self.find(backup_type, backup_id, backup_time)
        if snapshot.protected:
            raise SnapshotError(f"cannot remove protected snapshot {snapshot.path}")
        group = self._groups[(backup_type, backup_id)]
        index = group.snapshots.index(snapshot)
        group.snapshots.pop(index)
        freed = snapshot.chunk_bytes
        if index < len(group.snapshots):
            # The next snapshot still references most chunks; only one day's change goes.
            freed = min(snapshot.chunk_bytes, round(snapshot.size * group.change_rate))
            group.snapshots[index].chunk_bytes += snapshot.chunk_bytes - freed
        if not group.snapshots:
            del self._groups[(backup_type, backup_id)]
        self._garbage.append(_Garbage(freed, snapshot.backup_time))

    def set_verify_outcome(
        self,
        backup_type: str,
        backup_id: str,
        outcome: VerifyState,
        *,
        backup_time: int | None = None,
    ) -> None:
        """Decide what the next verifications of a guest's snapshots (or one snapshot) find."""
        matched = [
            snapshot
            for snapshot in self.stored_snapshots(backup_type, backup_id)
            if backup_time in (None, snapshot.backup_time)
        ]
        if not matched:
            raise SnapshotError(f"no snapshot of {backup_type}/{backup_id} matches")
        for snapshot in matched:
            snapshot.corrupt = outcome == "failed"

    # Tasks

    def verify_worker_id(
        self, backup_type: str | None, backup_id: str | None, backup_time: int | None
    ) -> str:
        """The worker id PBS gives a verify task for this scope (root namespace)."""
        if backup_type is None or backup_id is None:
            return self.name
        if backup_time is None:
            return f"{self.name}:/{backup_type}/{backup_id}"
        return f"{self.name}:/{backup_type}/{backup_id}/{backup_time:08X}"

    def start_verify(
        self,
        auth_id: str,
        now: float,
        *,
        backup_type: str | None = None,
        backup_id: str | None = None,
        backup_time: int | None = None,
        ignore_verified: bool = True,
        outdated_after: int | None = None,
    ) -> Task:
        """Start a verify task; when it ends each chosen snapshot is `ok` or `failed`."""
        if backup_time is not None and backup_type is not None and backup_id is not None:
            chosen = [self.find(backup_type, backup_id, backup_time)]
            worker_type = "verify_snapshot"
        else:
            chosen = list(self.stored_snapshots(backup_type, backup_id))
            worker_type = "verify_group" if backup_id is not None else "verify"
        chosen = [
            snapshot
            for snapshot in chosen
            if _needs_verify(
                snapshot, now, ignore_verified=ignore_verified, outdated_after=outdated_after
            )
        ]
        worker_id = self.verify_worker_id(backup_type, backup_id, backup_time)

        def verify(task: Task) -> str:
            failed = 0
            for snapshot in chosen:
                if not self._holds(snapshot):
                    continue  # deleted while the task ran
                state: VerifyState = "failed" if snapshot.corrupt else "ok"
                failed += state == "failed"
                snapshot.verification = Verification(state, str(task.upid), task.upid.starttime)
            return VERIFY_FAILED if failed else OK

        return self._tasks.start(worker_type, worker_id, auth_id, verify, now)

    def start_gc(self, auth_id: str, now: float) -> Task:
        """Start garbage collection; DatastoreBusyError while one is already running."""
        if self._tasks.running_task("garbage_collection", self.name):
            raise DatastoreBusyError("garbage collection already running")

        def collect(task: Task) -> str:
            self.collect_garbage(str(task.upid), task.ends_at or now)
            return OK

        task = self._tasks.start("garbage_collection", self.name, auth_id, collect, now)
        self.gc_job = str(task.upid)
        return task

    def collect_garbage(self, upid: str | None, now: float) -> None:
        """Remove old garbage, keep recent garbage pending, and count what is left in gc_status."""
        cutoff = now - GC_PENDING_WINDOW
        removed = sum(g.size for g in self._garbage if g.written < cutoff)
        self._garbage = [g for g in self._garbage if g.written >= cutoff]
        pending = sum(g.size for g in self._garbage)
        if removed:
            self._ledger.record(now, -removed)
        live = list(self.stored_snapshots())
        index_bytes = sum(s.size for s in live)
        disk_bytes = sum(s.chunk_bytes for s in live) + pending
        disk_chunks = disk_bytes // CHUNK_SIZE
        self.gc_status = GcStatus(
            upid=upid,
            index_file_count=sum(
                1 for s in live for name in s.files if name.endswith(INDEX_SUFFIXES)
            ),
            index_data_bytes=index_bytes,
            disk_bytes=disk_bytes,
            disk_chunks=disk_chunks,
            removed_bytes=removed,
            removed_chunks=removed // CHUNK_SIZE,
            pending_bytes=pending,
            pending_chunks=pending // CHUNK_SIZE,
            still_bad=sum(1 for s in live if s.verification and s.verification.state == "failed"),
            cache_hits=max(index_bytes // CHUNK_SIZE - disk_chunks, 0),
            cache_misses=disk_chunks,
        )

    def _holds(self, snapshot: StoredSnapshot) -> bool:
        group = self._groups.get((snapshot.backup_type, snapshot.backup_id))
        return group is not None and any(s is snapshot for s in group.snapshots)


def _needs_verify(
    snapshot: StoredSnapshot, now: float, *, ignore_verified: bool, outdated_after: int | None
) -> bool:
    """PBS's verify filter: skip verified snapshots unless their verification is outdated."""
    if not ignore_verified or snapshot.verification is None:
        return True
    if outdated_after is None:
        return False
    days_since = (int(now) - snapshot.verification.time) // 86400
    return outdated_after == 0 or days_since > outdated_after
