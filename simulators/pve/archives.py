"""Backup archives and volume ids: what `vzdump` wrote and what a storage lists as content."""

from __future__ import annotations

from dataclasses import dataclass, field
import datetime as dt
import re
from typing import Final, Literal

from simulators.backup_link import (
    SNAPSHOT_TIME_FORMAT,
    BackupSnapshot,
    BackupType,
    snapshot_time_text,
)

type ArchiveGuestType = Literal["qemu", "lxc"]
type ContentEntry = dict[str, str | int | dict[str, str]]

_PBS_VOLUME: Final = re.compile(
    r"(?P<storage>[^:]+):backup/(?P<type>vm|ct)/(?P<id>\d+)/(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"
)
_VZDUMP_VOLUME: Final = re.compile(
    r"(?P<storage>[^:]+):backup/vzdump-(?P<type>qemu|lxc)-(?P<id>\d+)-"
    r"(?P<time>\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d)\.(?:vma|tar)\.zst"
)
_BACKUP_TYPES: Final[dict[ArchiveGuestType, BackupType]] = {"qemu": "vm", "lxc": "ct"}
_GUEST_TYPES: Final[dict[str, ArchiveGuestType]] = {"vm": "qemu", "ct": "lxc"}


def backup_type_of(guest_type: ArchiveGuestType) -> BackupType:
    """PBS's backup type (`vm`/`ct`) for a PVE guest type (`qemu`/`lxc`)."""
    return _BACKUP_TYPES[guest_type]


def pbs_volid(storage: str, snapshot: BackupSnapshot) -> str:
    """The volume id PVE gives a PBS snapshot, e.g. `pbs-store:backup/vm/101/2026-...Z`."""
    stamp = snapshot_time_text(snapshot.backup_time)
    return f"{storage}:backup/{snapshot.backup_type}/{snapshot.backup_id}/{stamp}"


@dataclass(frozen=True, slots=True)
class GuestImage:
    """The guest configuration a backup carries, so a restore recreates the same guest."""

    name: str
    cores: int
    memory: int
    disk_size: int
    tags: str = ""


@dataclass(frozen=True, slots=True)
class VolumeRef:
    """A parsed backup volume id."""

    storage: str
    guest_type: ArchiveGuestType
    vmid: int
    backup_time: int
    pbs: bool


def parse_backup_volid(volid: str) -> VolumeRef | None:
    """Parse a PBS or vzdump-archive volume id; None if it is neither."""
    if match := _PBS_VOLUME.fullmatch(volid):
        stamp = dt.datetime.strptime(match["time"], SNAPSHOT_TIME_FORMAT).replace(tzinfo=dt.UTC)
        return VolumeRef(
            match["storage"],
            _GUEST_TYPES[match["type"]],
            int(match["id"]),
            int(stamp.timestamp()),
            True,
        )
    if match := _VZDUMP_VOLUME.fullmatch(volid):
        stamp = dt.datetime.strptime(match["time"], "%Y_%m_%d-%H_%M_%S").replace(tzinfo=dt.UTC)
        guest_type: ArchiveGuestType = "qemu" if match["type"] == "qemu" else "lxc"
        return VolumeRef(
            match["storage"], guest_type, int(match["id"]), int(stamp.timestamp()), False
        )
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Archive:
    """A vzdump archive on a directory-like storage (`local`, NFS)."""

    storage: str
    node: str | None  # None on shared storages, which every node sees
    guest_type: ArchiveGuestType
    vmid: int
    ctime: int
    size: int
    notes: str = ""
    protected: bool = False

    @property
    def volid(self) -> str:
        """E.g. `local:backup/vzdump-qemu-101-2026_11_27-10_00_00.vma.zst`."""
        stamp = dt.datetime.fromtimestamp(self.ctime, dt.UTC).strftime("%Y_%m_%d-%H_%M_%S")
        suffix = "vma.zst" if self.guest_type == "qemu" else "tar.zst"
        return f"{self.storage}:backup/vzdump-{self.guest_type}-{self.vmid}-{stamp}.{suffix}"

    def content_entry(self) -> ContentEntry:
        """The row `GET /nodes/{node}/storage/{storage}/content` lists for it."""
        entry: ContentEntry = {
            "volid": self.volid,
            "content": "backup",
            "ctime": self.ctime,
            "format": "vma.zst" if self.guest_type == "qemu" else "tar.zst",
            "size": self.size,
            "subtype": self.guest_type,
            "vmid": self.vmid,
        }
        if self.notes:
            entry["notes"] = self.notes.splitlines()[0]
        if self.protected:
            entry["protected"] = 1
        return entry


def snapshot_content_entry(storage: str, datastore: str, snapshot: BackupSnapshot) -> ContentEntry:
    """The content row PVE lists for a snapshot in a PBS datastore."""
    guest_type = _GUEST_TYPES[snapshot.backup_type]
    entry: ContentEntry = {
        "volid": pbs_volid(storage, snapshot),
        "content": "backup",
        "ctime": snapshot.backup_time,
        "format": f"pbs-{snapshot.backup_type}",
        "size": snapshot.size,
        "subtype": guest_type,
        "vmid": int(snapshot.backup_id),
    }
    if snapshot.notes:
        entry["notes"] = snapshot.notes.splitlines()[0]
    if snapshot.protected:
        entry["protected"] = 1
    if snapshot.verify_state != "none":
        entry["verification"] = {
            "state": snapshot.verify_state,
            "upid": _verify_upid(datastore, snapshot),
        }
    return entry


def _verify_upid(datastore: str, snapshot: BackupSnapshot) -> str:
    # PBS names verify workers after the snapshot, systemd-escaped (':' -> \x3a, '/' -> \x2f).
    worker_id = (
        f"{datastore}\\x3a{snapshot.backup_type}\\x2f{snapshot.backup_id}"
        f"\\x2f{snapshot.backup_time:08X}"
    )
    started = snapshot.backup_time + 3600
    return f"UPID:pbs:000003E8:00000A2C:00000000:{started:08X}:verify:{worker_id}:root@pam:"


@dataclass(slots=True)
class BackupCatalog:
    """Every vzdump archive the simulator wrote, and the guest images behind all its backups."""

    archives: list[Archive] = field(default_factory=list)
    images: dict[tuple[str, ArchiveGuestType, int, int], GuestImage] = field(default_factory=dict)

    def add_archive(self, archive: Archive, image: GuestImage) -> None:
        """Record a finished vzdump archive."""
        self.archives.append(archive)
        self.remember_image(archive.storage, archive.guest_type, archive.vmid, archive.ctime, image)

    def remember_image(
        self, storage: str, guest_type: ArchiveGuestType, vmid: int, ctime: int, image: GuestImage
    ) -> None:
        """Remember the guest configuration inside a backup (PBS ones included)."""
        self.images[storage, guest_type, vmid, ctime] = image

    def image(self, ref: VolumeRef) -> GuestImage | None:
        """The guest configuration inside a backup, if the simulator made it."""
        return self.images.get((ref.storage, ref.guest_type, ref.vmid, ref.backup_time))

    def archives_on(self, storage: str, node: str) -> list[Archive]:
        """The archives a node sees on a storage, oldest first."""
        return [
            archive
            for archive in self.archives
            if archive.storage == storage and archive.node in (None, node)
        ]

    def latest_time(self, storage: str, guest_type: ArchiveGuestType, vmid: int) -> int:
        """The newest backup time of a guest on a storage (0 if none)."""
        return max(
            (key[3] for key in self.images if key[:3] == (storage, guest_type, vmid)), default=0
        )
