"""Backup health: stale or failed groups, guests nobody backs up, and the last day in numbers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from homeassistant.util.json import JsonObjectType

from .models import BACKUP_TYPES, BackupGroup, BackupInventory

type Problem = Literal["stale", "verification_failed"]
DAY = timedelta(days=1)


def group_problem(group: BackupGroup, now: datetime, threshold: timedelta) -> Problem | None:
    """Why a guest's backups need attention: the newest is too old, or failed verification."""
    if now - group.newest.time > threshold:
        return "stale"
    if group.newest.verification == "failed":
        return "verification_failed"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class GuestRef:
    """A guest of a Proxmox VE cluster, as backup reports name it."""

    cluster: str
    vmid: int
    name: str | None
    guest_type: str  # qemu, lxc

    @property
    def label(self) -> str:
        """`pihole (101)`."""
        return f"{self.name or 'guest'} ({self.vmid})"

    def as_dict(self) -> JsonObjectType:
        """Service response and attribute data."""
        return {
            "cluster": self.cluster,
            "vmid": self.vmid,
            "name": self.name,
            "type": "vm" if self.guest_type == "qemu" else "container",
        }


def backed_up(inventories: Iterable[BackupInventory]) -> set[tuple[str, str]]:
    """(backup type, backup id) of every group any of these servers holds."""
    return {
        (group.backup_type, group.backup_id)
        for inventory in inventories
        for group in inventory.groups.values()
    }


def without_backup(guests: Iterable[GuestRef], groups: set[tuple[str, str]]) -> list[GuestRef]:
    """Guests with no backup group of their type and VM ID, by VM ID."""
    missing = [
        guest
        for guest in guests
        if (BACKUP_TYPES.get(guest.guest_type, ""), str(guest.vmid)) not in groups
    ]
    return sorted(missing, key=lambda guest: (guest.vmid, guest.cluster))


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedBackup:
    """A vzdump task of a Proxmox VE cluster that ended in an error."""

    cluster: str
    node: str
    vmid: int | None
    upid: str
    exitstatus: str
    ended: datetime


@dataclass(kw_only=True)
class BackupHealth:
    """The last 24 hours of backups, for daily reports."""

    start: datetime
    end: datetime
    made: int = 0
    verified: int = 0
    verification_failed: int = 0
    failed: list[FailedBackup] = field(default_factory=list)
    stale: list[JsonObjectType] = field(default_factory=list)
    unprotected: list[GuestRef] = field(default_factory=list)

    def add_inventory(self, inventory: BackupInventory, threshold: timedelta) -> None:
        """Count one server's snapshots of the period and its stale or failed groups."""
        for group in inventory.groups.values():
            for snapshot in group.snapshots:
                if self.start <= snapshot.time <= self.end:
                    self.made += 1
                verified_at = snapshot.verified_at
                if verified_at is not None and self.start <= verified_at <= self.end:
                    if snapshot.verification == "failed":
                        self.verification_failed += 1
                    else:
                        self.verified += 1
            if group_problem(group, self.end, threshold) == "stale":
                self.stale.append(
                    {
                        "datastore": group.datastore,
                        "type": group.backup_type,
                        "vmid": group.vmid,
                        "backup_id": group.backup_id,
                        "name": group.newest.comment,
                        "last_backup": group.newest.time.isoformat(),
                    }
                )

    def as_dict(self) -> JsonObjectType:
        """Service response data."""
        failed: list[Any] = [
            {
                "cluster": task.cluster,
                "node": task.node,
                "vmid": task.vmid,
                "upid": task.upid,
                "exitstatus": task.exitstatus,
                "ended": task.ended.isoformat(),
            }
            for task in self.failed
        ]
        stale: list[Any] = list(self.stale)
        return {
            "period_start": self.start.isoformat(),
            "period_end": self.end.isoformat(),
            "backups_made": self.made,
            "backups_failed": len(self.failed),
            "verified": self.verified,
            "verification_failed": self.verification_failed,
            "stale_guests": stale,
            "guests_without_backup": [guest.as_dict() for guest in self.unprotected],
            "failed_backups": failed,
        }
