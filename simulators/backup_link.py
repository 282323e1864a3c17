"""The link between the PVE and PBS simulators: vzdump to a PBS storage lands in PBS.

The PVE simulator is given an object with this shape for each of its `pbs`-type storages; the PBS
simulator's datastore provides it. Either simulator runs without the other.
"""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt
from typing import Final, Literal, Protocol

type BackupType = Literal["vm", "ct"]

SNAPSHOT_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
"""A snapshot's time (UTC) in PBS's snapshot paths, which PVE repeats in a PBS volume id."""


def snapshot_time_text(backup_time: int) -> str:
    """A snapshot's epoch time as PBS writes it in the snapshot's path: `2026-05-01T01:00:00Z`."""
    return dt.datetime.fromtimestamp(backup_time, dt.UTC).strftime(SNAPSHOT_TIME_FORMAT)


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupSnapshot:
    """One backup snapshot as both simulators need it."""

    backup_type: BackupType
    backup_id: str  # the guest's vmid as a string
    backup_time: int  # epoch seconds
    size: int  # bytes
    notes: str = ""
    verify_state: Literal["ok", "failed", "none"] = "none"
    protected: bool = False


class BackupTarget(Protocol):
    """A PBS datastore as seen from a PVE `pbs` storage."""

    @property
    def datastore(self) -> str:
        """Name of the datastore behind the storage."""

    def snapshots(self) -> list[BackupSnapshot]:
        """Every snapshot in the datastore, newest first."""

    def add_snapshot(self, snapshot: BackupSnapshot) -> None:
        """Store a snapshot made by a finished vzdump task."""

    def has_room_for(self, size: int) -> bool:
        """Whether a backup of this size fits (a full datastore makes vzdump fail)."""
