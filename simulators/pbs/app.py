"""The simulated PBS REST API over aiohttp: routing, faults, authentication, PBS-shaped answers.

Successful calls answer `{"data": ...}`. Errors are PBS's: the HTTP status and the message as a
plain-text body (content type still JSON), which proxmoxer raises as `ResourceException` with
`status_code` and the message in `errors`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
import contextlib
from dataclasses import dataclass
import json
from typing import Final

from aiohttp import web

from .access import Access, AuthenticationError, Caller
from .datastore import Datastore, DatastoreBusyError, GcStatus, SnapshotError
from .faults import Fault, FaultKind, Faults
from .operations import API_PREFIX, SERVED_OPERATIONS, HttpMethod, Operation
from .parameters import ParameterError, Parameters, parse_parameters
from .schema import ApiSchema, Json, JsonObject
from .tasks import OK, Task, Upid, WorkerTasks, state_type

TICKET_COOKIE: Final = "PBSAuthCookie"
PUBLIC_OPERATIONS: Final[frozenset[Operation]] = frozenset({("POST", "/access/ticket")})
PERMISSION_DENIED: Final = "permission check failed"
ANONYMOUS: Final = Caller("", {})
DAY: Final = 86400

# Datastore privileges PBS checks, by what a call needs.
READ_STORE: Final = frozenset({"Datastore.Audit", "Datastore.Backup"})
AUDIT: Final = frozenset({"Datastore.Audit"})
MODIFY: Final = frozenset({"Datastore.Modify"})
PRUNE: Final = frozenset({"Datastore.Prune"})
VERIFY: Final = frozenset({"Datastore.Verify"})
SYS_AUDIT: Final = frozenset({"Sys.Audit"})


class ApiError(Exception):
    """A PBS error answer: HTTP status and plain-text message."""

    def __init__(self, status: int, message: str) -> None:
        """Answer `status` with `message` as the body."""
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> web.Response:
    """PBS's JSON formatter error: the message as the body, JSON content type regardless."""
    return web.Response(
        status=status, body=message.encode(), content_type="application/json", charset="UTF-8"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PbsVersion:
    """What GET /version reports."""

    version: str = "4.0"
    release: str = "14"
    repoid: str = "d0e6a4d9f6a5c1b3"


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One authenticated call: who makes it and its checked parameters."""

    caller: Caller
    params: Parameters


@dataclass(frozen=True, slots=True)
class Answer:
    """Data with the result attributes PBS puts beside it (`total` for task lists)."""

    data: Json
    attributes: JsonObject


type Handler = Callable[[ApiCall], Json | Answer]


class PbsApi:
    """The API's handlers over the simulator's state."""

    def __init__(
        self,
        *,
        access: Access,
        tasks: WorkerTasks,
        datastores: Mapping[str, Datastore],
        faults: Faults,
        requests: Counter[tuple[str, str]],
        schema: ApiSchema,
        clock: Callable[[], float],
        stopping: asyncio.Event,
        version: PbsVersion,
        unauthorized_delay: float = 0.0,
    ) -> None:
        """Serve the given state; `stopping` releases requests held by faults."""
        self.access = access
        self.tasks = tasks
        self.datastores = datastores
        self.faults = faults
        self.requests = requests
        self.schema = schema
        self.clock = clock
        self.stopping = stopping
        self.version = version
        self.unauthorized_delay = unauthorized_delay
        self._handlers: dict[Operation, Handler] = {
            ("GET", "/version"): self._get_version,
            ("POST", "/access/ticket"): self._create_ticket,
            ("GET", "/access/permissions"): self._get_permissions,
            ("GET", "/admin/datastore"): self._list_datastores,
            ("GET", "/status/datastore-usage"): self._datastore_usage,
            ("GET", "/admin/datastore/{store}/status"): self._datastore_status,
            ("GET", "/admin/datastore/{store}/groups"): self._list_groups,
            ("GET", "/admin/datastore/{store}/snapshots"): self._list_snapshots,
            ("DELETE", "/admin/datastore/{store}/snapshots"): self._delete_snapshot,
            ("POST", "/admin/datastore/{store}/verify"): self._start_verify,
            ("GET", "/admin/datastore/{store}/gc"): self._gc_status,
            ("POST", "/admin/datastore/{store}/gc"): self._start_gc,
            ("GET", "/nodes/{node}/tasks"): self._list_tasks,
            ("GET", "/nodes/{node}/tasks/{upid}/status"): self._task_status,
        }
        if set(self._handlers) != set(SERVED_OPERATIONS):
            raise RuntimeError("handlers and SERVED_OPERATIONS disagree")

    def application(self) -> web.Application:
        """The aiohttp application serving /api2/json."""
        app = web.Application(middlewares=[self._middleware])
        for method, template in SERVED_OPERATIONS:
            app.router.add_route(method, API_PREFIX + template, self._endpoint(method, template))
        return app

    async def pause(self, seconds: float | None) -> None:
        """Wait `seconds` (None: forever), but no longer than until the simulator stops."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.stopping.wait()

    # HTTP plumbing

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        api_path = request.path.removeprefix(API_PREFIX)
        resource = request.match_info.route.resource
        route = resource.canonical.removeprefix(API_PREFIX) if resource else api_path
        self.requests[(request.method, route)] += 1
        fault = self.faults.take(request.method, api_path)
        if fault is not None:
            answer = await self._apply_fault(request, fault)
            if answer is not None:
                return answer
        try:
            return await handler(request)
        except ApiError as error:
            if error.status == 401:
                await self.pause(self.unauthorized_delay)
            return error_response(error.status, error.message)
        except web.HTTPNotFound, web.HTTPMethodNotAllowed:
            # PBS's router does not tell a missing path from a missing method.
            return error_response(404, f"Path '{request.path}' not found.")

    async def _apply_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        """Answer a faulty request, or return None to answer it normally after all."""
        match fault.kind:
            case FaultKind.SERVER_ERROR:
                return error_response(500, "simulated internal server error")
            case FaultKind.UNAUTHORIZED:
                return error_response(401, "authentication failed - simulated fault")
            case FaultKind.SLOW:
                await self.pause(fault.delay)
                return None
            case FaultKind.TIMEOUT:
                await self.pause(None)
        if request.transport is not None:
            request.transport.abort()
        # The connection is gone; aiohttp discards whatever is returned.
        return web.Response(status=499)

    def _endpoint(
        self, method: HttpMethod, template: str
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        handler = self._handlers[(method, template)]
        public = (method, template) in PUBLIC_OPERATIONS

        async def endpoint(request: web.Request) -> web.Response:
            now = self.clock()
            self.tasks.settle(now)
            given = await self._given_parameters(request)
            caller = ANONYMOUS if public else self._authenticate(request, now)
            try:
                params = parse_parameters(self.schema, method, template, given)
            except ParameterError as error:
                raise ApiError(400, str(error)) from None
            answer = handler(ApiCall(caller, params))
            envelope: JsonObject = (
                {"data": answer.data, **answer.attributes}
                if isinstance(answer, Answer)
                else {"data": answer}
            )
            return web.Response(
                body=json.dumps(envelope, separators=(",", ":")).encode(),
                content_type="application/json",
                charset="UTF-8",
            )

        return endpoint

    async def _given_parameters(self, request: web.Request) -> dict[str, list[Json]]:
        """Path, query and body parameters (form or JSON), name to values."""
        given: dict[str, list[Json]] = {name: [value] for name, value in request.match_info.items()}
        for name, value in request.query.items():
            given.setdefault(name, []).append(value)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise ApiError(400, "unable to parse parameters - expected a JSON object")
                for name, value in body.items():
                    given[name] = value if isinstance(value, list) else [value]
            else:
                form = await request.post()
                for name, field in form.items():
                    if isinstance(field, str):
                        given.setdefault(name, []).append(field)
        return given

    def _authenticate(self, request: web.Request, now: float) -> Caller:
        try:
            return self.access.authenticate(
                request.headers.get("Authorization"),
                request.cookies.get(TICKET_COOKIE),
                request.headers.get("CSRFPreventionToken"),
                request.method,
                now,
            )
        except AuthenticationError as failure:
            raise ApiError(401, f"authentication failed - {failure}") from None

    def _store(self, name: str | None) -> Datastore:
        store = self.datastores.get(name or "")
        if store is None:
            raise ApiError(400, f"no such datastore '{name}'")
        return store

    @staticmethod
    def _require(caller: Caller, path: str, privileges: frozenset[str]) -> None:
        if not caller.has_any(path, privileges):
            raise ApiError(403, PERMISSION_DENIED)

    # /version and /access

    def _get_version(self, call: ApiCall) -> Json:
        return {
            "version": self.version.version,
            "release": self.version.release,
            "repoid": self.version.repoid,
        }

    def _create_ticket(self, call: ApiCall) -> Json:
        username = call.params.string("username") or ""
        try:
            ticket, csrf = self.access.login(
                username, call.params.string("password") or "", self.clock()
            )
        except AuthenticationError as failure:
            raise ApiError(401, str(failure)) from None
        return {"username": username, "ticket": ticket, "CSRFPreventionToken": csrf}

    def _get_permissions(self, call: ApiCall) -> Json:
        caller = call.caller
        auth_id = call.params.string("auth-id") or caller.auth_id
        if not caller.owns(auth_id) and not caller.has_any("/access", SYS_AUDIT):
            raise ApiError(403, PERMISSION_DENIED)
        acl = caller.acl if auth_id == caller.auth_id else self.access.acl_of(auth_id)
        permissions = self.access.permissions(
            acl, list(self.datastores), call.params.string("path")
        )
        return {path: dict(privileges) for path, privileges in permissions.items()}

    # Datastores

    def _list_datastores(self, call: ApiCall) -> Json:
        listed: list[Json] = []
        for name, store in self.datastores.items():
            if not call.caller.has_any(f"/datastore/{name}", READ_STORE):
                continue
            item: JsonObject = {
                "store": name,
                "mount-status": "nonremovable",
                "backend-type": "filesystem",
            }
            if store.comment:
                item["comment"] = store.comment
            listed.append(item)
        return listed

    def _datastore_usage(self, call: ApiCall) -> Json:
        now = self.clock()
        usage: list[Json] = []
        for name, store in self.datastores.items():
            if not call.caller.has_any(f"/datastore/{name}", READ_STORE):
                continue
            history = store.usage_history(now)
            item: JsonObject = {
                "store": name,
                "total": store.total,
                "used": store.used,
                "avail": store.avail,
                "history": list[Json](history.usage),
                "history-start": history.start,
                "history-delta": history.resolution,
                "gc-status": _gc_status(store.gc_status),
                "mount-status": "nonremovable",
                "backend-type": "filesystem",
            }
            if history.estimated_full_date is not None:
                item["estimated-full-date"] = history.estimated_full_date
            usage.append(item)
        return usage

    def _datastore_status(self, call: ApiCall) -> Json:
        name = call.params.string("store")
        privileges = call.caller.privileges(f"/datastore/{name}")
        full = not privileges.isdisjoint(READ_STORE)
        if not full and "Datastore.Read" not in privileges:
            raise ApiError(403, PERMISSION_DENIED)
        store = self._store(name)
        status: JsonObject = {
            "total": store.total if full else 0,
            "used": store.used if full else 0,
            "avail": store.avail if full else 0,
            "backend-type": "filesystem",
        }
        if call.params.boolean("verbose", default=False):
            # PBS counts only the backup types that have groups.
            counts: dict[str, tuple[int, int]] = {}
            for group in store.groups():
                groups, snapshots = counts.get(group.backup_type, (0, 0))
                counts[group.backup_type] = (groups + 1, snapshots + len(group.snapshots))
            status["counts"] = {
                kind: {"groups": groups, "snapshots": snapshots}
                for kind, (groups, snapshots) in counts.items()
            }
            if full:
                status["gc-status"] = _gc_status(store.gc_status)
        return status

    def _list_groups(self, call: ApiCall) -> Json:
        store, list_all = self._readable_store(call)
        _root_namespace_only(call.params)
        groups: list[Json] = []
        for group in store.groups():
            if not list_all and not call.caller.owns(group.owner):
                continue
            last = group.snapshots[-1]
            item: JsonObject = {
                "backup-type": group.backup_type,
                "backup-id": group.backup_id,
                "last-backup": last.backup_time,
                "backup-count": len(group.snapshots),
                "files": list[Json](last.files),
                "owner": group.owner,
            }
            groups.append(item)
        return groups

    def _list_snapshots(self, call: ApiCall) -> Json:
        store, list_all = self._readable_store(call)
        _root_namespace_only(call.params)
        snapshots: list[Json] = []
        for group in store.groups(
            call.params.string("backup-type"), call.params.string("backup-id")
        ):
            if not list_all and not call.caller.owns(group.owner):
                continue
            for snapshot in group.snapshots:
                item: JsonObject = {
                    "backup-type": snapshot.backup_type,
                    "backup-id": snapshot.backup_id,
                    "backup-time": snapshot.backup_time,
                    "files": list[Json](snapshot.files),
                    "size": snapshot.size,
                    "owner": group.owner,
                    "protected": snapshot.protected,
                }
                if snapshot.notes:
                    item["comment"] = snapshot.notes.splitlines()[0]
                if snapshot.verification is not None:
                    item["verification"] = {
                        "state": snapshot.verification.state,
                        "upid": snapshot.verification.upid,
                    }
                snapshots.append(item)
        return snapshots

    def _readable_store(self, call: ApiCall) -> tuple[Datastore, bool]:
        """The datastore and whether the caller sees every group (Audit) or only its own."""
        name = call.params.string("store")
        privileges = call.caller.privileges(f"/datastore/{name}")
        if privileges.isdisjoint(READ_STORE):
            raise ApiError(403, PERMISSION_DENIED)
        return self._store(name), "Datastore.Audit" in privileges

    def _delete_snapshot(self, call: ApiCall) -> Json:
        name = call.params.string("store")
        privileges = call.caller.privileges(f"/datastore/{name}")
        if privileges.isdisjoint(MODIFY | PRUNE):
            raise ApiError(403, PERMISSION_DENIED)
        _root_namespace_only(call.params)
        store = self._store(name)
        backup_type = call.params.string("backup-type") or ""
        backup_id = call.params.string("backup-id") or ""
        backup_time = call.params.integer("backup-time") or 0
        group = store.group(backup_type, backup_id)
        if privileges.isdisjoint(MODIFY) and group and not call.caller.owns(group.owner):
            raise ApiError(
                400, f"backup owner check failed ({call.caller.auth_id} != {group.owner})"
            )
        try:
            store.delete(backup_type, backup_id, backup_time)
        except SnapshotError as error:
            raise ApiError(400, str(error)) from None
        # Real PBS answers `null`; the published schema says an empty object.
        return {}

    def _start_verify(self, call: ApiCall) -> Json:
        name = call.params.string("store")
        self._require(call.caller, f"/datastore/{name}", VERIFY)
        _root_namespace_only(call.params)
        store = self._store(name)
        backup_type = call.params.string("backup-type")
        backup_id = call.params.string("backup-id")
        backup_time = call.params.integer("backup-time")
        given = (backup_type is not None, backup_id is not None, backup_time is not None)
        if given not in ((True, True, True), (True, True, False), (False, False, False)):
            raise ApiError(400, "parameters do not specify a backup group or snapshot")
        try:
            task = store.start_verify(
                call.caller.auth_id,
                self.clock(),
                backup_type=backup_type,
                backup_id=backup_id,
                backup_time=backup_time,
                ignore_verified=call.params.boolean("ignore-verified", default=True),
                outdated_after=call.params.integer("outdated-after"),
            )
        except SnapshotError as error:
            raise ApiError(400, str(error)) from None
        return str(task.upid)

    def _gc_status(self, call: ApiCall) -> Json:
        name = call.params.string("store")
        self._require(call.caller, f"/datastore/{name}", AUDIT)
        store = self._store(name)
        status: JsonObject = {"store": store.name, "schedule": store.gc_schedule}
        status.update(_gc_status(store.gc_status))
        last = self.clock()
        job = self.tasks.get(store.gc_job) if store.gc_job else None
        # Figures come from the last successful GC, the run state from the last GC task.
        if store.gc_status.upid and job and job.endtime is not None:
            status["last-run-state"] = job.exitstatus
            status["last-run-endtime"] = job.endtime
            status["duration"] = job.endtime - job.upid.starttime
            last = job.endtime
        if store.gc_schedule == "daily":
            status["next-run"] = (int(last) // DAY + 1) * DAY
        return status

    def _start_gc(self, call: ApiCall) -> Json:
        name = call.params.string("store")
        self._require(call.caller, f"/datastore/{name}", MODIFY)
        store = self._store(name)
        try:
            task = store.start_gc(call.caller.auth_id, self.clock())
        except DatastoreBusyError as error:
            raise ApiError(400, str(error)) from None
        return str(task.upid)

    # Tasks

    def _may_read(self, caller: Caller, upid: Upid) -> bool:
        """PBS's task access: own tasks, Sys.Audit on /system/tasks, or the job's privilege."""
        if caller.owns(upid.auth_id) or caller.has_any("/system/tasks", SYS_AUDIT):
            return True
        store = (upid.worker_id or "").split(":", 1)[0]
        if upid.worker_type == "verificationjob":
            return caller.has_any(f"/datastore/{store}", VERIFY)
        if upid.worker_type == "garbage_collection":
            return caller.has_any(f"/datastore/{store}", MODIFY)
        return False

    def _list_tasks(self, call: ApiCall) -> Answer:
        params = call.params
        start = params.integer("start") or 0
        limit = params.integer("limit")
        limit = 50 if limit is None else limit
        since, until = params.integer("since"), params.integer("until")
        running_only = params.boolean("running", default=False)
        errors_only = params.boolean("errors", default=False)
        statuses = params.strings("statusfilter")
        store = params.string("store")
        typefilter = params.string("typefilter")
        userfilter = params.string("userfilter")
        list_all = call.caller.has_any("/system/tasks", SYS_AUDIT)
        listed: list[Json] = []
        skipped = 0
        for task in self.tasks.newest_first():
            upid = task.upid
            if running_only and not task.running:
                continue
            if until is not None and upid.starttime > until:
                continue
            if since is not None:
                if task.endtime is not None and task.endtime < since:
                    break  # PBS stops at the first task that ended before `since`
                if upid.starttime < since:
                    continue
            if not list_all and not self._may_read(call.caller, upid):
                continue
            if userfilter is not None and userfilter not in upid.auth_id:
                continue
            if store is not None and not _task_of_store(upid, store):
                continue
            if typefilter is not None and typefilter not in upid.worker_type:
                continue
            if not task.running:
                if errors_only and task.exitstatus == OK:
                    continue
                if statuses and state_type(task.exitstatus) not in statuses:
                    continue
            elif statuses:
                continue
            if skipped < start:
                skipped += 1
                continue
            listed.append(_task_list_item(task))
            if limit and len(listed) >= limit:
                break
        total = len(listed) + start
        if listed and limit and len(listed) >= limit:
            total += 1  # PBS's "there is more" marker
        return Answer(listed, {"total": total})

    def _task_status(self, call: ApiCall) -> Json:
        text = call.params.string("upid") or ""
        try:
            upid = Upid.parse(text)
        except ValueError as error:
            raise ApiError(400, str(error)) from None
        if not self._may_read(call.caller, upid):
            # PBS raises a plain error here, which its formatter turns into 400, not 403.
            raise ApiError(400, "task access not allowed")
        user, _, token = upid.auth_id.partition("!")
        status: JsonObject = {
            "upid": text,
            "node": upid.node,
            "pid": upid.pid,
            "pstart": upid.pstart,
            "starttime": upid.starttime,
            "type": upid.worker_type,
            "user": user,
        }
        if upid.worker_id is not None:
            status["id"] = upid.worker_id
        if token:
            status["tokenid"] = token
        task = self.tasks.get(text)
        if task is not None and task.running:
            status["status"] = "running"
        else:
            status["status"] = "stopped"
            status["exitstatus"] = task.exitstatus if task and task.exitstatus else "unknown"
        return status


def _gc_status(gc: GcStatus) -> JsonObject:
    """PBS's GarbageCollectionStatus as JSON."""
    status: JsonObject = {
        "index-file-count": gc.index_file_count,
        "index-data-bytes": gc.index_data_bytes,
        "disk-bytes": gc.disk_bytes,
        "disk-chunks": gc.disk_chunks,
        "removed-bytes": gc.removed_bytes,
        "removed-chunks": gc.removed_chunks,
        "pending-bytes": gc.pending_bytes,
        "pending-chunks": gc.pending_chunks,
        "removed-bad": gc.removed_bad,
        "still-bad": gc.still_bad,
        "cache-stats": {"hits": gc.cache_hits, "misses": gc.cache_misses},
    }
    if gc.upid is not None:
        status["upid"] = gc.upid
    return status


def _task_list_item(task: Task) -> JsonObject:
    """A task as GET /nodes/{node}/tasks lists it (PBS always says node `localhost`)."""
    upid = task.upid
    item: JsonObject = {
        "upid": str(upid),
        "node": "localhost",
        "pid": upid.pid,
        "pstart": upid.pstart,
        "starttime": upid.starttime,
        "worker_type": upid.worker_type,
        "user": upid.auth_id,
    }
    if upid.worker_id is not None:
        item["worker_id"] = upid.worker_id
    if task.endtime is not None and task.exitstatus is not None:
        item["endtime"] = task.endtime
        item["status"] = task.exitstatus
    return item


def _task_of_store(upid: Upid, store: str) -> bool:
    """PBS's check_job_store: whether a task worked on `store`."""
    worker_id = upid.worker_id
    if worker_id is None:
        return False
    if upid.worker_type.startswith("verif"):
        return worker_id.split(":", 1)[0] == store
    if upid.worker_type in ("prune", "prunejob", "backup", "garbage_collection"):
        return worker_id == store or worker_id.startswith(f"{store}:")
    return False


def _root_namespace_only(params: Parameters) -> None:
    if params.string("ns"):
        raise ApiError(400, f"namespace '{params.string('ns')}' does not exist")
