"""A stateful Proxmox Backup Server REST API for tests and the demo.

HTTPS on 127.0.0.1 with a certificate generated at start, `/api2/json/...`, `{"data": ...}`
answers and PBS's plain-text errors (proxmoxer raises `ResourceException` with `status_code` and
the message in `errors["errors"]`). Parameters are checked, and answers shaped, per the official
API schema: `simulators/schemas/pbs-api-subset.json`, checked by `simulators.pbs.schema`.

    sim = PbsSimulator(
        datastores={"store1": 2_000_000_000_000},  # name -> total bytes, or DatastoreConfig(
                                                   #   total=, used=, comment=, seed_guests=)
        guests=50, snapshots_per_guest=100, seed=1, task_duration=0.05,
    )                                   # also node="pbs", port=0, unauthorized_delay=0.0, clock=
    await sim.start()                   # or: async with PbsSimulator(...) as sim:
    sim.url, sim.host, sim.port         # https://127.0.0.1:PORT (API under /api2/json)
    sim.certificate.fingerprint_sha256  # "AA:BB:..." as the PBS GUI shows it; .cert_path
    sim.token                           # ApiToken: .user "root@pam", .token_name "homelab",
                                        #   .secret, .auth_id "root@pam!homelab", .header
    sim.user, sim.password              # ticket login (POST /access/ticket)
    auditor = sim.add_token("monitor@pbs", "ha", AUDIT)   # privileges on "/": no Verify
    scoped = sim.add_token("ops@pbs", "ha", {"/datastore/store1": ADMIN})  # ACL path -> privs
    sim.add_user("ops@pbs", "secret", {"/": DATASTORE_AUDIT})

    store = sim.datastore("store1")     # Datastore; also a backup_link.BackupTarget for
                                        #   PveSimulator(backup_targets={"pbs-store": store})
    store.add_snapshot(BackupSnapshot(backup_type="vm", backup_id="100",
                                      backup_time=..., size=...))  # any time: stale backups
    store.set_verify_outcome("vm", "100", "failed")   # later verifications of vm/100 fail
    store.fill(free=0)                  # a full datastore: has_room_for() is False
    store.used, store.avail, store.gc_status, store.groups(), store.stored_snapshots()

    sim.tasks.script("verify", TaskOutcome.warnings(2))   # the next `verify` task's ending
    sim.tasks.script("garbage_collection", TaskOutcome.error("disk I/O error"),
                     TaskOutcome.never(), TaskOutcome.ok(duration=2.0))
    await sim.wait_for_task(upid)       # until it ends (wrap in asyncio.timeout for never())

    sim.faults.inject("/status/datastore-usage", FaultKind.SERVER_ERROR, count=2)
    sim.faults.inject("/admin/datastore/*/snapshots", FaultKind.TIMEOUT, method="GET")
    sim.faults.inject("/version", FaultKind.SLOW, delay=0.5, count=None)   # every request
    sim.requests[("GET", "/status/datastore-usage")]    # Counter by (method, route template)
    sim.requests.total(); sim.requests.clear()
    await sim.stop()

Faults (`FaultKind`): SERVER_ERROR (500), UNAUTHORIZED (401), SLOW (normal answer after
`delay`), TIMEOUT (no answer until the client gives up or the simulator stops), DROP (connection
closed without an answer). A pattern is fnmatch over the path without /api2/json; `count` is how
many matching requests fail (None: all); `method` limits it to one HTTP method.

Worker types the API starts: `verify`, `verify_group`, `verify_snapshot` (POST .../verify by
scope) and `garbage_collection`; seeding adds history of `verificationjob` and
`garbage_collection` tasks. Scripted outcomes: `ok`/`warnings` still do the task's work, `error`
aborts it, `never` keeps it running; unscripted tasks end with the status their work earns
(verify: an error when a snapshot fails). Tasks end lazily, checked on every request and
datastore read, so a simulator leaves no timers or background tasks; `clock` can move time.
Use the simulator from the event loop it serves on.

Stand-alone: `python -m simulators.pbs --guests 50 --snapshots 100 [--port 8007]` prints the URL,
token, login, fingerprint and certificate path, and serves until Ctrl-C.
"""

from .access import ADMIN, AUDIT, DATASTORE_AUDIT, PRIVILEGES, ApiToken
from .datastore import (
    Datastore,
    DatastoreConfig,
    DatastoreFullError,
    SnapshotError,
    StoredSnapshot,
)
from .faults import Fault, FaultKind, Faults
from .schema import ApiSchema, SchemaViolationError, load_subset
from .simulator import PbsSimulator
from .tasks import Task, TaskOutcome, Upid

__all__ = [
    "ADMIN",
    "AUDIT",
    "DATASTORE_AUDIT",
    "PRIVILEGES",
    "ApiSchema",
    "ApiToken",
    "Datastore",
    "DatastoreConfig",
    "DatastoreFullError",
    "Fault",
    "FaultKind",
    "Faults",
    "PbsSimulator",
    "SchemaViolationError",
    "SnapshotError",
    "StoredSnapshot",
    "Task",
    "TaskOutcome",
    "Upid",
    "load_subset",
]
