"""Fill a datastore with a homelab's backup history: daily snapshots of VMs and containers.

Deterministic for a given random generator: guests back up every day at 01:00 UTC (spread over
an hour), a verification job checks the day's snapshots at 03:00 and garbage collection runs at
midnight. Most snapshots verify `ok`, a few `failed`, and some were never verified.
"""

from __future__ import annotations

from dataclasses import dataclass
import random
from typing import Final

from simulators.backup_link import BackupType

from .datastore import VERIFY_FAILED, Datastore, Verification, VerifyState
from .tasks import OK, WorkerTasks

GIB: Final = 1024**3
DAY: Final = 86400
FIRST_VMID: Final = 100
SEED_FILL: Final = 0.6
"""Seeded snapshots take at most this share of the free space (sizes shrink to fit)."""
CONTAINER_SHARE: Final = 0.3
UNVERIFIED_SHARE: Final = 0.05
FAILED_SHARE: Final = 0.02
PROTECTED_SHARE: Final = 0.01
_NAMES: Final = ("web", "db", "dns", "media", "git", "ci", "proxy", "nas", "mail", "monitor")


@dataclass(frozen=True, slots=True)
class _Guest:
    backup_type: BackupType
    backup_id: str
    name: str
    size: int
    change_rate: float
    offset: int  # seconds after 01:00 UTC its backup starts


@dataclass(slots=True)
class _Planned:
    guest: _Guest
    backup_time: int
    day: int
    verify_state: VerifyState | None
    protected: bool


def seed_guests(
    store: Datastore,
    tasks: WorkerTasks,
    rng: random.Random,
    *,
    guests: int,
    snapshots_per_guest: int,
    now: float,
) -> None:
    """Add `snapshots_per_guest` daily snapshots for each of `guests` guests, with tasks."""
    if guests <= 0 or snapshots_per_guest <= 0:
        return
    # The newest backup day is the latest 01:00 UTC at least an hour before now.
    newest = (int(now) - 2 * 3600) // DAY * DAY + 3600
    days = [newest - (snapshots_per_guest - 1 - day) * DAY for day in range(snapshots_per_guest)]
    roster = _fit(store, [_guest(rng, index) for index in range(guests)], snapshots_per_guest)

    plan = [
        _Planned(
            guest=guest,
            backup_time=day_start + guest.offset,
            day=day,
            verify_state=_verify_state(rng),
            protected=rng.random() < PROTECTED_SHARE,
        )
        for guest in roster
        for day, day_start in enumerate(days)
    ]
    job_id = f"v-{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}"
    job_upids, last_gc = _record_daily_tasks(
        store, tasks, rng, days=days, plan=plan, job_id=job_id, now=now
    )

    for planned in plan:
        upid = job_upids.get(planned.day)
        verification = None
        if upid is not None and planned.verify_state is not None:
            verification = Verification(planned.verify_state, upid, days[planned.day] + 2 * 3600)
        store.store(
            planned.guest.backup_type,
            planned.guest.backup_id,
            planned.backup_time,
            round(planned.guest.size * rng.uniform(0.97, 1.03)),
            notes=planned.guest.name,
            protected=planned.protected,
            verification=verification,
            change_rate=planned.guest.change_rate,
        )
    store.collect_garbage(last_gc, now)
    store.gc_job = last_gc


def _guest(rng: random.Random, index: int) -> _Guest:
    backup_type: BackupType = "ct" if rng.random() < CONTAINER_SHARE else "vm"
    low, high = (1 * GIB, 8 * GIB) if backup_type == "ct" else (4 * GIB, 64 * GIB)
    return _Guest(
        backup_type=backup_type,
        backup_id=str(FIRST_VMID + index),
        name=f"{_NAMES[index % len(_NAMES)]}{index // len(_NAMES) + 1:02d}",
        size=rng.randint(low, high),
        change_rate=rng.uniform(0.005, 0.03),
        offset=(index * 73) % 3600,
    )


def _fit(store: Datastore, roster: list[_Guest], snapshots: int) -> list[_Guest]:
    """Shrink guest sizes so the whole history fits in the datastore's free space."""
    needed = sum(guest.size * (1 + (snapshots - 1) * guest.change_rate) for guest in roster)
    budget = SEED_FILL * store.avail
    if needed <= budget:
        return roster
    scale = budget / needed
    return [
        _Guest(g.backup_type, g.backup_id, g.name, int(g.size * scale), g.change_rate, g.offset)
        for g in roster
    ]


def _verify_state(rng: random.Random) -> VerifyState | None:
    roll = rng.random()
    if roll < UNVERIFIED_SHARE:
        return None
    return "failed" if roll < UNVERIFIED_SHARE + FAILED_SHARE else "ok"


def _record_daily_tasks(
    store: Datastore,
    tasks: WorkerTasks,
    rng: random.Random,
    *,
    days: list[int],
    plan: list[_Planned],
    job_id: str,
    now: float,
) -> tuple[dict[int, str], str | None]:
    """Record each day's GC and verification job; return job UPIDs by day and the last GC's."""
    failed_days = {p.day for p in plan if p.verify_state == "failed"}
    job_upids: dict[int, str] = {}
    last_gc: str | None = None
    for day, day_start in enumerate(days):
        gc_start = day_start - 3600
        if gc_start + 600 < now:
            gc = tasks.record(
                "garbage_collection",
                store.name,
                store.owner,
                starttime=gc_start,
                duration=rng.randint(60, 600),
                exitstatus=OK,
            )
            last_gc = str(gc.upid)
        job_start = day_start + 2 * 3600
        if job_start + 1800 < now:
            job = tasks.record(
                "verificationjob",
                f"{store.name}:{job_id}",
                store.owner,
                starttime=job_start,
                duration=rng.randint(300, 1800),
                exitstatus=VERIFY_FAILED if day in failed_days else OK,
            )
            job_upids[day] = str(job.upid)
    return job_upids, last_gc
