"""The PBS simulator, driven through proxmoxer over real HTTPS as the integration will use it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator, Callable
import functools
import itertools
from pathlib import Path
import re
import signal
import subprocess
import sys
import time
from typing import Any

from proxmoxer import ProxmoxAPI
from proxmoxer.core import AuthenticationError, ResourceException
import pytest
import requests

from scripts.pbs_schema_subset import REFERENCE_PATH, generate
from simulators.backup_link import BackupSnapshot, BackupTarget, BackupType
from simulators.pbs import (
    ADMIN,
    AUDIT,
    DATASTORE_AUDIT,
    ApiToken,
    DatastoreConfig,
    DatastoreFullError,
    FaultKind,
    PbsSimulator,
    SchemaViolationError,
    TaskOutcome,
    Upid,
    load_subset,
)
from simulators.pbs.operations import SERVED_OPERATIONS
from simulators.pbs.schema import SUBSET_PATH, Json, JsonObject, as_object
from simulators.pbs.usage import UsageLedger, estimate_full_date

GB = 10**9
TB = 10**12
DAY = 86400
REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA = load_subset()
VERIFY_FAILED = "verification failed - please check the log for details"


@pytest.fixture
async def pbs() -> AsyncGenerator[PbsSimulator]:
    """A small seeded PBS plus an empty second datastore, with fast tasks."""
    sim = PbsSimulator(
        datastores={
            "store1": 2 * TB,
            "offsite": DatastoreConfig(total=500 * GB, seed_guests=False),
        },
        guests=4,
        snapshots_per_guest=10,
        seed=1,
        task_duration=0.05,
    )
    await sim.start()
    yield sim
    await sim.stop()


def client(sim: PbsSimulator, token: ApiToken | None = None, **options: Any) -> ProxmoxAPI:
    """A proxmoxer PBS client authenticating with an API token."""
    token = token or sim.token
    return ProxmoxAPI(
        sim.host,
        port=sim.port,
        user=token.user,
        token_name=token.token_name,
        token_value=token.secret,
        verify_ssl=str(sim.certificate.cert_path),
        service="PBS",
        **options,
    )


async def call[T](function: Callable[[], T]) -> T:
    """Run a blocking proxmoxer call off the loop the simulator serves on."""
    return await asyncio.to_thread(function)


async def wait_stopped(api: ProxmoxAPI, upid: str) -> dict[str, Any]:
    """Poll a task's status over the API until it has stopped."""
    async with asyncio.timeout(5):
        while True:
            status: dict[str, Any] = await call(api.nodes("localhost").tasks(upid).status.get)
            if status["status"] == "stopped":
                return status
            await asyncio.sleep(0.02)


def dig(document: Json, *keys: str | int) -> JsonObject:
    """The object at a path of keys and list indexes inside a JSON document."""
    for key in keys:
        if isinstance(key, int):
            assert isinstance(document, list)
            document = document[key]
        else:
            document = as_object(document, key)[key]
    return as_object(document, "end of path")


def error_of(caught: pytest.ExceptionInfo[ResourceException]) -> tuple[int, bytes]:
    """Status and PBS's plain-text message, as proxmoxer hands them over."""
    return caught.value.status_code, caught.value.errors["errors"]


# Authentication and privileges


async def test_api_token_reads_version(pbs: PbsSimulator) -> None:
    version = await call(client(pbs).version.get)

    assert version["version"] == "4.0"
    assert version["release"]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (ApiToken("root@pam", "homelab", "wrong-secret", {}), b"invalid credentials"),
        (ApiToken("root@pam", "unknown", "secret", {}), b"token disabled or expired."),
    ],
)
async def test_wrong_token_is_rejected_with_401(
    pbs: PbsSimulator, token: ApiToken, message: bytes
) -> None:
    with pytest.raises(ResourceException) as caught:
        await call(client(pbs, token).admin.datastore.get)

    status, text = error_of(caught)
    assert status == 401
    assert text.startswith(b"authentication failed - ")
    assert text.endswith(message)


async def test_request_without_credentials_is_401(pbs: PbsSimulator) -> None:
    response = await call(
        lambda: requests.get(
            f"{pbs.url}/api2/json/version", verify=str(pbs.certificate.cert_path), timeout=5
        )
    )

    assert response.status_code == 401
    assert response.text == "authentication failed - no authentication credentials provided."


async def test_unauthorized_answers_are_delayed_like_pbs() -> None:
    async with PbsSimulator(guests=0, unauthorized_delay=0.2) as sim:
        wrong = ApiToken(sim.token.user, sim.token.token_name, "wrong", {})
        started = time.perf_counter()
        with pytest.raises(ResourceException):
            await call(client(sim, wrong).version.get)

    assert time.perf_counter() - started >= 0.2


async def test_token_without_verify_privilege_gets_403(pbs: PbsSimulator) -> None:
    api = client(pbs, pbs.add_token("monitor@pbs", "ha", AUDIT))

    snapshots = await call(api.admin.datastore("store1").snapshots.get)
    with pytest.raises(ResourceException) as verify:
        await call(api.admin.datastore("store1").verify.post)
    with pytest.raises(ResourceException) as gc:
        await call(api.admin.datastore("store1").gc.post)

    assert len(snapshots) == 40
    assert error_of(verify) == (403, b"permission check failed")
    assert error_of(gc) == (403, b"permission check failed")


async def test_token_scoped_to_one_datastore_sees_only_it(pbs: PbsSimulator) -> None:
    token = pbs.add_token("ops@pbs", "ha", {"/datastore/store1": DATASTORE_AUDIT})
    api = client(pbs, token)

    datastores = await call(api.admin.datastore.get)
    usage = await call(lambda: api.status("datastore-usage").get())
    permissions = await call(api.access.permissions.get)
    with pytest.raises(ResourceException) as other:
        await call(api.admin.datastore("offsite").status.get)

    assert [item["store"] for item in datastores] == ["store1"]
    assert [item["store"] for item in usage] == ["store1"]
    assert permissions == {"/datastore/store1": {"Datastore.Audit": True}}
    assert error_of(other) == (403, b"permission check failed")


async def test_password_login_uses_ticket_cookie_and_csrf_token(pbs: PbsSimulator) -> None:
    api = await call(
        lambda: ProxmoxAPI(
            pbs.host,
            port=pbs.port,
            user=pbs.user,
            password=pbs.password,
            verify_ssl=str(pbs.certificate.cert_path),
            service="PBS",
        )
    )
    ticket, _csrf = api.get_tokens()

    datastores = await call(api.admin.datastore.get)
    upid = await call(api.admin.datastore("offsite").gc.post)
    without_csrf = await call(
        lambda: requests.post(
            f"{pbs.url}/api2/json/admin/datastore/store1/gc",
            cookies={"PBSAuthCookie": ticket},
            verify=str(pbs.certificate.cert_path),
            timeout=5,
        )
    )

    renewed = await call(
        lambda: requests.post(
            f"{pbs.url}/api2/json/access/ticket",
            data={"username": pbs.user, "password": ticket},
            verify=str(pbs.certificate.cert_path),
            timeout=5,
        )
    )

    assert ticket.startswith("PBS:root@pam:")
    assert renewed.json()["data"]["username"] == "root@pam"
    assert {item["store"] for item in datastores} == {"store1", "offsite"}
    assert Upid.parse(upid).auth_id == "root@pam"
    assert without_csrf.status_code == 401
    assert without_csrf.text == "authentication failed - missing CSRF prevention token"


async def test_wrong_password_fails_login(pbs: PbsSimulator) -> None:
    with pytest.raises(AuthenticationError, match="code: 401"):
        await call(
            lambda: ProxmoxAPI(
                pbs.host,
                port=pbs.port,
                user=pbs.user,
                password="wrong",
                verify_ssl=str(pbs.certificate.cert_path),
                service="PBS",
            )
        )


# Datastores and usage


async def test_datastore_usage_reports_every_datastore_in_one_request(pbs: PbsSimulator) -> None:
    pbs.requests.clear()

    usage = await call(lambda: client(pbs).status("datastore-usage").get())

    assert pbs.requests == Counter({("GET", "/status/datastore-usage"): 1})
    by_store = {item["store"]: item for item in usage}
    seeded, empty = by_store["store1"], by_store["offsite"]
    assert seeded["total"] == 2 * TB
    assert seeded["used"] == pbs.datastore("store1").used > 0
    assert seeded["used"] + seeded["avail"] == seeded["total"]
    assert seeded["history-delta"] == 1800
    assert len(seeded["history"]) >= 10 * 48  # half-hourly since the store was created
    assert seeded["history"] == sorted(seeded["history"])  # backups only add data
    assert seeded["history"][-1] == pytest.approx(seeded["used"] / seeded["total"])
    assert seeded["estimated-full-date"] > time.time()
    assert seeded["gc-status"]["upid"].startswith("UPID:pbs:")
    assert empty["used"] == 0
    assert "estimated-full-date" not in empty  # not enough history yet


def test_estimated_full_date_follows_pbs_regression() -> None:
    now = 1_700_000_000
    growing = UsageLedger(created=now - 20 * DAY, used=0)
    for day in range(20):
        growing.record(now - (20 - day) * DAY, 10 * GB)
    flat = UsageLedger(created=now - 20 * DAY, used=100 * GB)

    growing_history = growing.history(now, 1 * TB)
    flat_history = flat.history(now, 1 * TB)

    # 10 GB a day on a 1 TB disk 20% full: about 80 more days.
    assert growing_history.estimated_full_date == pytest.approx(now + 80 * DAY, rel=0.01)
    assert flat_history.estimated_full_date == 0  # PBS's "never" marker
    assert estimate_full_date([1, 2, 3], [0.1, 0.2, 0.3]) is None  # fewer than 7 points
    falling = estimate_full_date(list(range(7)), [0.9 - i / 10 for i in range(7)])
    assert falling is not None
    assert falling < 0  # usage shrinks: an estimate in the past


async def test_full_datastore_has_no_room_for_backups(pbs: PbsSimulator) -> None:
    store = pbs.datastore("offsite")

    store.fill()
    status = await call(client(pbs).admin.datastore("offsite").status.get)

    assert not store.has_room_for(1)
    with pytest.raises(DatastoreFullError):
        store.add_snapshot(
            BackupSnapshot(backup_type="vm", backup_id="900", backup_time=1, size=GB)
        )
    assert status["avail"] == 0
    assert status["used"] == status["total"] == 500 * GB


async def test_datastore_status_counts_groups_and_snapshots(pbs: PbsSimulator) -> None:
    status = await call(lambda: client(pbs).admin.datastore("store1").status.get(verbose=1))
    plain = await call(client(pbs).admin.datastore("store1").status.get)

    counts = status["counts"]
    assert sum(kind["groups"] for kind in counts.values()) == 4
    assert sum(kind["snapshots"] for kind in counts.values()) == 40
    assert status["gc-status"]["index-data-bytes"] > status["gc-status"]["disk-bytes"]
    assert "counts" not in plain
    assert "gc-status" not in plain


async def test_unknown_datastore_is_a_400(pbs: PbsSimulator) -> None:
    with pytest.raises(ResourceException) as caught:
        await call(client(pbs).admin.datastore("nope").snapshots.get)

    assert error_of(caught) == (400, b"no such datastore 'nope'")


# Snapshots and groups


async def test_snapshot_added_through_backup_target_is_listed(pbs: PbsSimulator) -> None:
    target: BackupTarget = pbs.datastore("offsite")
    now = int(time.time())
    target.add_snapshot(
        BackupSnapshot(
            backup_type="vm",
            backup_id="900",
            backup_time=now - 10 * DAY,
            size=10 * GB,
            notes="web01\nbefore the upgrade",
        )
    )
    target.add_snapshot(
        BackupSnapshot(
            backup_type="vm",
            backup_id="900",
            backup_time=now - 3600,
            size=10 * GB,
            verify_state="ok",
        )
    )
    api = client(pbs).admin.datastore("offsite")

    snapshots = await call(api.snapshots.get)
    groups = await call(api.groups.get)
    status = await call(api.status.get)

    assert [s["backup-time"] for s in snapshots] == [now - 10 * DAY, now - 3600]
    assert snapshots[0]["comment"] == "web01"
    assert "verification" not in snapshots[0]
    assert snapshots[1]["verification"]["state"] == "ok"
    assert snapshots[1]["files"] == [
        "drive-scsi0.img.fidx",
        "index.json.blob",
        "qemu-server.conf.blob",
    ]
    assert groups[0]["backup-count"] == 2
    assert groups[0]["last-backup"] == now - 3600
    assert groups[0]["owner"] == "root@pam"
    # The first snapshot writes everything, the next only what changed.
    assert status["used"] == 10 * GB + round(10 * GB * 0.02)
    assert [s.backup_time for s in target.snapshots()] == [now - 3600, now - 10 * DAY]


async def test_snapshots_filter_by_type_and_guest(pbs: PbsSimulator) -> None:
    api = client(pbs).admin.datastore("store1")

    everything = await call(api.snapshots.get)
    one_type = await call(lambda: api.snapshots.get(**{"backup-type": "vm"}))
    one_guest = await call(lambda: api.snapshots.get(**{"backup-id": "100"}))

    assert len(everything) == 40
    assert one_type
    assert {s["backup-type"] for s in one_type} == {"vm"}
    assert len(one_type) < 40
    assert len(one_guest) == 10
    assert {s["backup-id"] for s in one_guest} == {"100"}


async def test_unknown_or_invalid_parameters_are_rejected(pbs: PbsSimulator) -> None:
    api = client(pbs).admin.datastore("store1")

    with pytest.raises(ResourceException) as unknown:
        await call(lambda: api.snapshots.get(verbose=1))
    with pytest.raises(ResourceException) as wrong_enum:
        await call(lambda: api.snapshots.get(**{"backup-type": "qemu"}))

    assert error_of(unknown) == (
        400,
        b"parameter verification failed - 'verbose': schema does not allow additional properties.",
    )
    assert error_of(wrong_enum)[1].startswith(b"parameter verification failed - 'backup-type'")


async def test_delete_snapshot_frees_space_only_after_gc(pbs: PbsSimulator) -> None:
    api = client(pbs).admin.datastore("store1")
    store = pbs.datastore("store1")
    oldest = (await call(lambda: api.snapshots.get(**{"backup-id": "101"})))[0]
    used_before = store.used
    gc_before = await call(api.gc.get)

    deleted = await call(
        lambda: api.snapshots.delete(
            **{key: oldest[key] for key in ("backup-type", "backup-id", "backup-time")}
        )
    )
    remaining = await call(lambda: api.snapshots.get(**{"backup-id": "101"}))
    used_after_delete = store.used
    upid = await call(api.gc.post)
    status = await wait_stopped(client(pbs), upid)
    gc_after = await call(api.gc.get)

    assert deleted == {}
    assert len(remaining) == 9
    assert used_after_delete == used_before
    assert status["exitstatus"] == "OK"
    assert gc_after["upid"] == upid
    assert gc_after["last-run-state"] == "OK"
    assert gc_after["removed-bytes"] > 0
    assert gc_after["removed-chunks"] == gc_after["removed-bytes"] // (4 * 1024 * 1024)
    assert gc_after["index-data-bytes"] < gc_before["index-data-bytes"]
    assert store.used == used_before - gc_after["removed-bytes"]
    # Deduplication: far more data referenced than stored.
    assert gc_after["index-data-bytes"] / gc_after["disk-bytes"] > 2


async def test_gc_keeps_recently_written_garbage_pending(pbs: PbsSimulator) -> None:
    store = pbs.datastore("offsite")
    recent = int(time.time()) - 3600
    store.add_snapshot(
        BackupSnapshot(backup_type="ct", backup_id="901", backup_time=recent, size=5 * GB)
    )
    api = client(pbs).admin.datastore("offsite")

    await call(
        lambda: api.snapshots.delete(
            **{"backup-type": "ct", "backup-id": "901", "backup-time": recent}
        )
    )
    upid = await call(api.gc.post)
    await wait_stopped(client(pbs), upid)
    gc = await call(api.gc.get)

    assert gc["removed-bytes"] == 0
    assert gc["pending-bytes"] == 5 * GB
    assert store.used == 5 * GB


async def test_protected_snapshot_cannot_be_deleted(pbs: PbsSimulator) -> None:
    pbs.datastore("offsite").add_snapshot(
        BackupSnapshot(
            backup_type="vm", backup_id="902", backup_time=1_700_000_000, size=GB, protected=True
        )
    )
    api = client(pbs).admin.datastore("offsite")

    with pytest.raises(ResourceException) as caught:
        await call(
            lambda: api.snapshots.delete(
                **{"backup-type": "vm", "backup-id": "902", "backup-time": 1_700_000_000}
            )
        )

    status, message = error_of(caught)
    assert status == 400
    assert message.startswith(b"cannot remove protected snapshot vm/902/2023-11-14T22:13:20Z")


async def test_second_gc_while_one_runs_is_refused(pbs: PbsSimulator) -> None:
    pbs.tasks.script("garbage_collection", TaskOutcome.never())
    api = client(pbs).admin.datastore("store1")

    upid = await call(api.gc.post)
    with pytest.raises(ResourceException) as caught:
        await call(api.gc.post)
    status = await call(api.gc.get)

    assert error_of(caught) == (400, b"garbage collection already running")
    assert pbs.datastore("store1").gc_job == upid
    assert "last-run-state" not in status  # the job is running


# Verification


async def test_verify_marks_snapshots_ok_or_failed(pbs: PbsSimulator) -> None:
    store = pbs.datastore("offsite")
    now = int(time.time())
    guests: list[tuple[str, BackupType]] = [("901", "vm"), ("902", "ct")]
    for day in range(3):
        for guest, kind in guests:
            store.add_snapshot(
                BackupSnapshot(
                    backup_type=kind, backup_id=guest, backup_time=now - day * DAY, size=GB
                )
            )
    store.set_verify_outcome("ct", "902", "failed")
    api = client(pbs)

    upid = await call(api.admin.datastore("offsite").verify.post)
    status = await wait_stopped(api, upid)
    snapshots = await call(api.admin.datastore("offsite").snapshots.get)

    assert status["type"] == "verify"
    assert status["id"] == "offsite"
    assert status["exitstatus"] == VERIFY_FAILED
    states = {(s["backup-id"], s["verification"]["state"]) for s in snapshots}
    assert states == {("901", "ok"), ("902", "failed")}
    assert {s["verification"]["upid"] for s in snapshots} == {upid}


async def test_verify_skips_verified_snapshots_unless_asked(pbs: PbsSimulator) -> None:
    store = pbs.datastore("offsite")
    five_days_ago = int(time.time()) - 5 * DAY
    store.add_snapshot(
        BackupSnapshot(
            backup_type="vm", backup_id="903", backup_time=five_days_ago, size=GB, verify_state="ok"
        )
    )
    api = client(pbs)
    verify = api.admin.datastore("offsite").verify
    first_upid = store.find("vm", "903", five_days_ago).verification.upid  # type: ignore[union-attr]

    async def verified_by(**options: Any) -> str:
        upid = await call(lambda: verify.post(**options))
        await wait_stopped(api, upid)
        return store.find("vm", "903", five_days_ago).verification.upid  # type: ignore[union-attr]

    assert await verified_by() == first_upid
    assert await verified_by(**{"outdated-after": 10}) == first_upid
    recent = await verified_by(**{"outdated-after": 3})
    assert recent != first_upid
    assert await verified_by(**{"ignore-verified": 0}) != recent


async def test_verify_of_one_snapshot_and_of_a_group(pbs: PbsSimulator) -> None:
    api = client(pbs)
    verify = api.admin.datastore("store1").verify
    newest = (
        await call(lambda: api.admin.datastore("store1").snapshots.get(**{"backup-id": "100"}))
    )[-1]
    scope = {"backup-type": newest["backup-type"], "backup-id": "100"}

    one = await call(lambda: verify.post(**scope, **{"backup-time": newest["backup-time"]}))
    group = await call(lambda: verify.post(**scope, **{"ignore-verified": 0}))
    with pytest.raises(ResourceException) as partial:
        await call(lambda: verify.post(**{"backup-type": "vm"}))
    one_status = await wait_stopped(api, one)
    group_status = await wait_stopped(api, group)

    assert one_status["type"] == "verify_snapshot"
    assert one_status["id"] == f"store1:/{scope['backup-type']}/100/{newest['backup-time']:08X}"
    assert group_status["type"] == "verify_group"
    assert error_of(partial) == (400, b"parameters do not specify a backup group or snapshot")


# Tasks


async def test_tasks_end_ok_with_warnings_with_an_error_or_never(pbs: PbsSimulator) -> None:
    pbs.tasks.script(
        "verify",
        TaskOutcome.ok(),
        TaskOutcome.warnings(2),
        TaskOutcome.error("datastore is locked"),
        TaskOutcome.never(),
    )
    api = client(pbs)
    verify = api.admin.datastore("offsite").verify

    upids = [await call(verify.post) for _ in range(4)]
    finished = [await wait_stopped(api, upid) for upid in upids[:3]]
    await asyncio.sleep(0.1)
    never = await call(api.nodes("localhost").tasks(upids[3]).status.get)

    assert [status["exitstatus"] for status in finished] == [
        "OK",
        "WARNINGS: 2",
        "datastore is locked",
    ]
    assert never["status"] == "running"
    assert "exitstatus" not in never


async def test_task_list_filters_like_pbs(pbs: PbsSimulator) -> None:
    pbs.tasks.script("verify", TaskOutcome.warnings(1), TaskOutcome.never())
    api = client(pbs)
    tasks = api.nodes("localhost").tasks
    warned = await call(api.admin.datastore("offsite").verify.post)
    running = await call(api.admin.datastore("offsite").verify.post)
    await wait_stopped(api, warned)

    newest = await call(lambda: tasks.get(limit=2))
    only_running = await call(lambda: tasks.get(running=1))
    warnings = await call(lambda: tasks.get(statusfilter=["warning"]))
    errors = await call(lambda: tasks.get(errors=1, limit=0))
    gcs = await call(lambda: tasks.get(typefilter="garbage", store="store1", limit=0))
    mine = await call(lambda: tasks.get(userfilter="!homelab"))
    since = await call(lambda: tasks.get(since=Upid.parse(warned).starttime))

    assert [t["upid"] for t in newest] == [running, warned]
    assert [t["upid"] for t in only_running] == [running]
    assert "status" not in only_running[0]
    assert [t["upid"] for t in warnings] == [warned]
    assert warnings[0]["status"] == "WARNINGS: 1"
    assert all(t.get("status") != "OK" for t in errors)
    assert len(gcs) == 10
    assert {t["worker_type"] for t in gcs} == {"garbage_collection"}
    assert {t["upid"] for t in mine} == {running, warned}
    assert {t["upid"] for t in since} == {running, warned}


async def test_task_list_total_marks_more_pages(pbs: PbsSimulator) -> None:
    response = await call(
        lambda: requests.get(
            f"{pbs.url}/api2/json/nodes/localhost/tasks",
            params={"limit": 3, "start": 2},
            headers={"Authorization": pbs.token.header},
            verify=str(pbs.certificate.cert_path),
            timeout=5,
        )
    )

    body = response.json()
    assert len(body["data"]) == 3
    assert body["total"] == 2 + 3 + 1


async def test_token_without_sys_audit_sees_only_its_own_tasks(pbs: PbsSimulator) -> None:
    token = pbs.add_token("verifier@pbs", "ha", {"Datastore.Audit", "Datastore.Verify"})
    api = client(pbs, token)
    own = await call(api.admin.datastore("store1").verify.post)
    seeded = pbs.tasks.newest_first()
    gc_upid = next(str(t.upid) for t in seeded if t.upid.worker_type == "garbage_collection")
    job_upid = next(str(t.upid) for t in seeded if t.upid.worker_type == "verificationjob")

    listed = await call(lambda: api.nodes("localhost").tasks.get(limit=0))
    job = await call(api.nodes("localhost").tasks(job_upid).status.get)
    with pytest.raises(ResourceException) as gc:
        await call(api.nodes("localhost").tasks(gc_upid).status.get)

    assert own in {t["upid"] for t in listed}
    assert {t["worker_type"] for t in listed} == {"verify", "verificationjob"}
    assert job["type"] == "verificationjob"
    assert error_of(gc) == (400, b"task access not allowed")


async def test_unknown_and_malformed_upids(pbs: PbsSimulator) -> None:
    tasks = client(pbs).nodes("localhost").tasks
    unknown = "UPID:pbs:00000001:00000002:00000003:65000000:verify:store1:root@pam:"

    status = await call(tasks(unknown).status.get)
    with pytest.raises(ResourceException) as caught:
        await call(tasks("not-a-upid").status.get)

    assert (status["status"], status["exitstatus"]) == ("stopped", "unknown")
    assert error_of(caught) == (400, b"unable to parse UPID 'not-a-upid'")


async def test_upids_have_the_pbs_format(pbs: PbsSimulator) -> None:
    upid = await call(
        lambda: (
            client(pbs)
            .admin.datastore("store1")
            .verify.post(**{"backup-type": "vm", "backup-id": "100"})
        )
    )

    assert re.fullmatch(
        r"UPID:pbs:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:verify_group:"
        r"store1\\x3a-vm-100:root@pam!homelab:",
        upid,
    )
    parsed = Upid.parse(upid)
    assert parsed.worker_id == "store1:/vm/100"
    assert str(parsed) == upid


# Faults and counters


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (FaultKind.SERVER_ERROR, 500),
        (FaultKind.UNAUTHORIZED, 401),
        (FaultKind.TIMEOUT, requests.exceptions.Timeout),
        (FaultKind.DROP, requests.exceptions.ConnectionError),
    ],
)
async def test_injected_fault_hits_only_the_counted_requests(
    pbs: PbsSimulator, kind: FaultKind, expected: int | type[Exception]
) -> None:
    api = client(pbs, timeout=0.5)
    pbs.faults.inject("/admin/datastore/*/snapshots", kind, method="GET")

    with pytest.raises(ResourceException if isinstance(expected, int) else expected) as caught:
        await call(api.admin.datastore("store1").snapshots.get)
    after = await call(api.admin.datastore("store1").snapshots.get)

    if isinstance(expected, int):
        assert caught.value.status_code == expected
    assert len(after) == 40
    assert pbs.faults.active == []


async def test_slow_fault_delays_every_matching_request(pbs: PbsSimulator) -> None:
    api = client(pbs)
    fault = pbs.faults.inject("/version", FaultKind.SLOW, delay=0.2, count=None)

    started = time.perf_counter()
    for _ in range(2):
        await call(api.version.get)
    elapsed = time.perf_counter() - started
    datastores = await call(api.admin.datastore.get)

    assert elapsed >= 0.4
    assert fault.hits == 2
    assert datastores


async def test_request_counters_by_method_and_route(pbs: PbsSimulator) -> None:
    api = client(pbs)
    pbs.requests.clear()

    await call(lambda: api.status("datastore-usage").get())
    await call(api.admin.datastore("store1").snapshots.get)
    await call(api.admin.datastore("offsite").snapshots.get)
    await call(api.admin.datastore("offsite").gc.post)

    assert pbs.requests == Counter(
        {
            ("GET", "/status/datastore-usage"): 1,
            ("GET", "/admin/datastore/{store}/snapshots"): 2,
            ("POST", "/admin/datastore/{store}/gc"): 1,
        }
    )
    assert pbs.requests.total() == 4


# Schema faithfulness


async def test_every_served_endpoint_answers_per_the_schema(pbs: PbsSimulator) -> None:
    api = client(pbs)
    store = api.admin.datastore("store1")
    tasks = api.nodes("localhost").tasks
    checked: set[tuple[str, str]] = set()

    async def check(method: str, template: str, fetch: Callable[[], Any]) -> Any:
        data = await call(fetch)
        SCHEMA.validate_response(method, template, data)
        checked.add((method, template))
        return data

    def login() -> Any:
        response = requests.post(
            f"{pbs.url}/api2/json/access/ticket",
            data={"username": pbs.user, "password": pbs.password},
            verify=str(pbs.certificate.cert_path),
            timeout=5,
        )
        return response.json()["data"]

    await check("GET", "/version", api.version.get)
    await check("POST", "/access/ticket", login)
    await check("GET", "/access/permissions", api.access.permissions.get)
    await check("GET", "/admin/datastore", api.admin.datastore.get)
    await check("GET", "/status/datastore-usage", api.status("datastore-usage").get)
    await check("GET", "/admin/datastore/{store}/status", lambda: store.status.get(verbose=1))
    await check("GET", "/admin/datastore/{store}/groups", store.groups.get)
    snapshots = await check("GET", "/admin/datastore/{store}/snapshots", store.snapshots.get)
    oldest = {key: snapshots[0][key] for key in ("backup-type", "backup-id", "backup-time")}
    await check(
        "DELETE", "/admin/datastore/{store}/snapshots", lambda: store.snapshots.delete(**oldest)
    )
    verify = await check("POST", "/admin/datastore/{store}/verify", store.verify.post)
    gc = await check("POST", "/admin/datastore/{store}/gc", store.gc.post)
    await check("GET", "/nodes/{node}/tasks/{upid}/status", tasks(gc).status.get)
    await wait_stopped(api, verify)
    await wait_stopped(api, gc)
    await check("GET", "/nodes/{node}/tasks/{upid}/status", tasks(verify).status.get)
    await check("GET", "/admin/datastore/{store}/gc", store.gc.get)
    await check("GET", "/nodes/{node}/tasks", lambda: tasks.get(limit=0))

    assert checked == set(SERVED_OPERATIONS)


def test_schema_check_rejects_answers_that_break_the_schema() -> None:
    snapshots = "/admin/datastore/{store}/snapshots"
    good: JsonObject = {"backup-type": "vm", "backup-id": "100", "backup-time": 1, "size": 1}
    cases: list[tuple[JsonObject, str]] = [
        ({**good, "backup-time": "yesterday"}, r"data\[0\]\.backup-time: expected integer"),
        ({**good, "size": None}, r"data\[0\]\.size: null"),
        ({**good, "protected": 1}, r"data\[0\]\.protected: expected boolean"),
        ({**good, "verification": []}, r"data\[0\]\.verification: expected object"),
        ({**good, "made-up": 1}, r"property 'made-up' is not in the schema"),
    ]

    SCHEMA.validate_response("GET", snapshots, [good])
    for bad, where in cases:
        with pytest.raises(SchemaViolationError, match=where):
            SCHEMA.validate_response("GET", snapshots, [bad])
    with pytest.raises(SchemaViolationError, match="expected array"):
        SCHEMA.validate_response("GET", snapshots, good)


def test_schema_check_follows_refs_required_enum_and_nullable() -> None:
    datastore_name: JsonObject = {"$ref": "#/components/schemas/ProxmoxDatastoreName"}
    error: JsonObject = {"$ref": "#/components/schemas/ProxmoxError"}
    ticket = dig(
        SCHEMA.operation("POST", "/access/ticket"),
        "requestBody",
        "content",
        "application/json",
        "schema",
    )
    backup_type = dig(
        SCHEMA.operation("GET", "/admin/datastore/{store}/snapshots"), "parameters", 2, "schema"
    )

    SCHEMA.validate(datastore_name, "store1")
    SCHEMA.validate(error, {"data": None, "message": "no such datastore"})
    with pytest.raises(SchemaViolationError, match="does not match"):
        SCHEMA.validate(datastore_name, "bad name!")
    with pytest.raises(SchemaViolationError, match="required property 'username'"):
        SCHEMA.validate(ticket, {"password": "x"})
    with pytest.raises(SchemaViolationError, match=r"'qemu' is not one of \['vm', 'ct', 'host'\]"):
        SCHEMA.validate(backup_type, "qemu")
    with pytest.raises(SchemaViolationError, match="longer than 32"):
        SCHEMA.validate(datastore_name, "s" * 33)


def test_committed_subset_is_the_generators_output() -> None:
    if not REFERENCE_PATH.exists():
        pytest.skip(f"the official PBS OpenAPI document is not at {REFERENCE_PATH}")

    assert SUBSET_PATH.read_text() == generate()
    assert SCHEMA.operations() == sorted(SERVED_OPERATIONS)


# Seeding and stand-alone use


async def test_seeding_is_deterministic_and_lists_5000_snapshots_quickly() -> None:
    started = time.perf_counter()
    sizes = {"store1": 2 * TB}
    sim = PbsSimulator(datastores=sizes, guests=50, snapshots_per_guest=100, seed=1)
    # Off the loop: building 5000 snapshots twice more would stall it.
    twin, other = [
        await asyncio.to_thread(
            functools.partial(
                PbsSimulator, datastores=sizes, guests=50, snapshots_per_guest=100, seed=seed
            )
        )
        for seed in (1, 2)
    ]

    async with sim:
        snapshots = await call(client(sim).admin.datastore("store1").snapshots.get)
    elapsed = time.perf_counter() - started

    assert len(snapshots) == 5000
    assert elapsed < 5
    assert sim.datastore("store1").snapshots() == twin.datastore("store1").snapshots()
    assert sim.datastore("store1").snapshots() != other.datastore("store1").snapshots()
    states = Counter(s.get("verification", {}).get("state", "none") for s in snapshots)
    assert states["ok"] > states["none"] > 0
    assert states["failed"] > 0
    assert {s["backup-type"] for s in snapshots} == {"vm", "ct"}
    times = sorted({s["backup-time"] for s in snapshots if s["backup-id"] == "100"})
    assert all(later - earlier == DAY for earlier, later in itertools.pairwise(times))
    assert sim.datastore("store1").used < 2 * TB


def test_stand_alone_prints_how_to_connect_and_serves() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.pbs",
            "--port",
            "0",
            "--guests",
            "2",
            "--snapshots",
            "3",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(7)]
        api_url = lines[0].split(" at ", 1)[1].strip()
        pairs = (line.split(": ", 1) for line in lines[1:])
        printed = {key.strip(): value.strip() for key, value in pairs}
        response = requests.get(
            f"{api_url}/admin/datastore/store1/snapshots",
            headers={"Authorization": printed["header"].removeprefix("Authorization: ")},
            verify=printed["certificate"],
            timeout=5,
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)

    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", printed["fingerprint"])
    assert len(response.json()["data"]) == 6
    assert process.returncode == 0


async def test_scoped_admin_token_acts_only_on_its_datastore(pbs: PbsSimulator) -> None:
    api = client(pbs, pbs.add_token("ops@pbs", "gc", {"/datastore/offsite": ADMIN}))

    upid = await call(api.admin.datastore("offsite").gc.post)
    with pytest.raises(ResourceException) as caught:
        await call(api.admin.datastore("store1").gc.post)

    assert Upid.parse(upid).auth_id == "ops@pbs!gc"
    assert error_of(caught) == (403, b"permission check failed")
