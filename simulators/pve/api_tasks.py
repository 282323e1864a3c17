"""Handlers for worker tasks: node task lists, task status and log, and the cluster task list."""

from __future__ import annotations

import re
from typing import Final

from .calls import ApiCall, Handler
from .errors import parameter_error
from .schema import JsonValue
from .tasks import Task

_UPID: Final = re.compile(
    r"UPID:[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:"
    r"[0-9A-Fa-f]{8}:[^:\s]+:[^:\s]*:[^:\s]+:"
)
_STATUS_CLASSES: Final = frozenset({"ok", "warning", "error", "unknown"})
# PVE's cluster task list holds the recent tasks each node broadcasts, not its whole archive.
_CLUSTER_TASKS_PER_NODE: Final = 50


def node_tasks(call: ApiCall) -> JsonValue:
    """GET /nodes/{node}/tasks with PVE's filters; running tasks only with source active|all."""
    node = call.text("node")
    source = call.optional_text("source") or "archive"
    statuses = set(_STATUS_CLASSES)
    status_filter = call.optional_text("statusfilter")
    if call.flag("errors"):
        statuses.discard("ok")
    elif status_filter is not None:
        statuses = {word.lower() for word in re.split(r"[,;\s]+", status_filter) if word}
    auditor = call.allows(f"/nodes/{node}", "Sys.Audit")
    type_filter = call.optional_text("typefilter")
    user_filter = (call.optional_text("userfilter") or "").lower()
    vmid = call.optional_integer("vmid")
    since = call.optional_integer("since")
    until = call.optional_integer("until")

    def listed(task: Task) -> bool:
        entry_user = task.user.partition("!")[0]
        return (
            (not user_filter or user_filter in entry_user.lower())
            and (auditor or task.owned_by(call.auth_id))
            and (not type_filter or task.task_type == type_filter)
            and (vmid is None or task.task_id == str(vmid))
            and (since is None or task.starttime >= since)
            and (until is None or task.starttime <= until)
            and task.status_class in statuses
        )

    tasks = call.cluster.tasks.on_node(node)
    chosen: list[Task] = []
    if source in ("active", "all"):
        chosen.extend(task for task in tasks if task.running)
    if source != "active":
        chosen.extend(task for task in tasks if not task.running)
    rows: list[dict[str, str | int]] = []
    for task in filter(listed, chosen):
        entry = task.list_entry()
        if task.running:
            entry["status"] = "RUNNING"
        rows.append(entry)
    start = call.optional_integer("start") or 0
    limit = call.optional_integer("limit")
    return rows[start : start + (50 if limit is None else limit)]


def _task(call: ApiCall) -> Task | None:
    """The task named by the path, after PVE's UPID check and owner check."""
    upid = call.text("upid")
    if not _UPID.fullmatch(upid):
        raise parameter_error({"upid": "unable to parse worker upid"})
    task = call.cluster.tasks.get(upid)
    if task is None or task.node != call.text("node"):
        return None
    if not task.owned_by(call.auth_id):
        call.require(f"/nodes/{task.node}", "Sys.Audit")
    return task


def task_status(call: ApiCall) -> JsonValue:
    """GET /nodes/{node}/tasks/{upid}/status."""
    task = _task(call)
    if task is None:
        raise parameter_error({"upid": "no such task"})
    return task.status_entry()


def task_log(call: ApiCall) -> JsonValue:
    """GET /nodes/{node}/tasks/{upid}/log: numbered lines (`n`, `t`), `start`/`limit` paged."""
    task = _task(call)
    if task is None:
        return [{"n": 1, "t": "unable to open file - No such file or directory"}]
    if not task.log:
        # PVE's own hack: an empty log reads as one line, for the GUI's paging store.
        return [{"n": 1, "t": "no content"}]
    start = call.optional_integer("start") or 0
    limit = call.optional_integer("limit")
    chosen = task.log[start : start + (50 if limit is None else limit)]
    return [{"n": start + index + 1, "t": text} for index, text in enumerate(chosen)]


def cluster_tasks(call: ApiCall) -> JsonValue:
    """GET /cluster/tasks: the recent tasks of every node, newest first."""
    everyone = call.allows("/", "Sys.Audit")
    per_node: dict[str, int] = {}
    rows: list[dict[str, str | int]] = []
    for task in call.cluster.tasks.everywhere():
        seen = per_node.get(task.node, 0)
        if seen >= _CLUSTER_TASKS_PER_NODE:
            continue
        per_node[task.node] = seen + 1
        entry = task.list_entry()
        # PVE compares the split-off user with the caller, so tokens without Sys.Audit on `/`
        # do not even see their own tasks here.
        if everyone or entry["user"] == call.auth_id:
            rows.append(entry)
    return rows


HANDLERS: Final[dict[tuple[str, str], Handler]] = {
    ("GET", "/nodes/{node}/tasks"): node_tasks,
    ("GET", "/nodes/{node}/tasks/{upid}/status"): task_status,
    ("GET", "/nodes/{node}/tasks/{upid}/log"): task_log,
    ("GET", "/cluster/tasks"): cluster_tasks,
}
