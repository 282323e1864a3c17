"""PVE worker tasks: UPIDs, scripted outcomes, and finishing after a configurable duration."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
import itertools
from typing import Final, Literal

type OutcomeKind = Literal["ok", "warnings", "error", "never"]
type TaskWork = Callable[[Task], None]
"""What a task does when it finishes well; it may log, and raise `TaskError` to fail."""
type TaskCleanup = Callable[[Task], None]
"""What a task undoes however it ends (a guest lock, say)."""

# PVE keeps far more, but the GUI and the API callers only look at recent ones.
_TASKS_KEPT_PER_NODE: Final = 1000


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How the next task of a guest ends: OK, with warnings, with an error, or never."""

    kind: OutcomeKind = "ok"
    warnings: int = 0
    error: str = ""

    @classmethod
    def ok(cls) -> TaskOutcome:
        """Exit status `OK`."""
        return cls()

    @classmethod
    def with_warnings(cls, count: int) -> TaskOutcome:
        """Exit status `WARNINGS: <count>`; the action still takes effect."""
        return cls("warnings", warnings=count)

    @classmethod
    def failing(cls, message: str) -> TaskOutcome:
        """Exit status `<message>`; the action does not take effect."""
        return cls("error", error=message)

    @classmethod
    def never(cls) -> TaskOutcome:
        """The task keeps running until the simulator stops."""
        return cls("never")


class TaskError(Exception):
    """Raised by task work to end the task with its message as the exit status."""


@dataclass(slots=True, kw_only=True)
class Task:
    """One worker task as PVE lists it."""

    node: str
    pid: int
    pstart: int
    starttime: int
    task_type: str
    task_id: str
    user: str  # the full auth id, with the token id for tokens (`root@pam!homelab`)
    endtime: int | None = None
    exitstatus: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def upid(self) -> str:
        """The task's UPID, e.g. `UPID:pve1:0001A2B3:004C4B40:6566F0A1:qmstart:101:root@pam:`."""
        return (
            f"UPID:{self.node}:{self.pid:08X}:{self.pstart:08X}:{self.starttime:08X}:"
            f"{self.task_type}:{self.task_id}:{self.user}:"
        )

    @property
    def running(self) -> bool:
        """Whether the task has not finished yet."""
        return self.exitstatus is None

    def owned_by(self, auth_id: str) -> bool:
        """Whether a caller owns the task: a token its own tasks, a user also its tokens'."""
        return auth_id in (self.user, self.user.partition("!")[0])

    @property
    def status_class(self) -> Literal["ok", "warning", "error", "unknown"]:
        """The status class PVE's task filters use (`statusfilter`)."""
        if self.exitstatus is None:
            return "unknown"
        if self.exitstatus == "OK":
            return "ok"
        if self.exitstatus.startswith("WARNINGS:"):
            return "warning"
        return "error"

    def status_entry(self) -> dict[str, str | int]:
        """The body of `GET /nodes/{node}/tasks/{upid}/status`."""
        entry: dict[str, str | int] = {
            **self._identity(),
            "status": "running" if self.running else "stopped",
        }
        if self.exitstatus is not None:
            entry["exitstatus"] = self.exitstatus
        return entry

    def list_entry(self) -> dict[str, str | int]:
        """One row of the node and cluster task lists (running ones have no status yet)."""
        entry = self._identity()
        if self.exitstatus is not None and self.endtime is not None:
            entry["status"] = self.exitstatus
            entry["endtime"] = self.endtime
        return entry

    def _identity(self) -> dict[str, str | int]:
        # PVE splits a token's id off the user (`user` root@pam, `tokenid` homelab).
        user, _, token_id = self.user.partition("!")
        entry: dict[str, str | int] = {
            "upid": self.upid,
            "node": self.node,
            "pid": self.pid,
            "pstart": self.pstart,
            "starttime": self.starttime,
            "type": self.task_type,
            "id": self.task_id,
            "user": user,
        }
        if token_id:
            entry["tokenid"] = token_id
        return entry


class TaskBoard:
    """All tasks of the cluster; finishes them on the running event loop after `duration`."""

    def __init__(self, duration: float, wall_clock: Callable[[], float]) -> None:
        """Tasks take `duration` seconds; `wall_clock` gives epoch seconds for timestamps."""
        self.duration = duration
        self._wall_clock = wall_clock
        self._by_upid: dict[str, Task] = {}
        self._by_node: dict[str, list[Task]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._pids = itertools.count(0x1A2B0)

    def start(
        self,
        *,
        node: str,
        task_type: str,
        task_id: str,
        user: str,
        outcome: TaskOutcome,
        work: TaskWork,
        cleanup: TaskCleanup | None = None,
        log: list[str] | None = None,
    ) -> Task:
        """Start a task that applies `work` when it finishes (unless the outcome says otherwise).

        `cleanup` runs when the task ends, whatever the outcome.
        """
        pid = next(self._pids)
        task = Task(
            node=node,
            pid=pid,
            pstart=0x4C4B40 + pid,
            starttime=int(self._wall_clock()),
            task_type=task_type,
            task_id=task_id,
            user=user,
            log=list(log or []),
        )
        self._by_upid[task.upid] = task
        node_tasks = self._by_node.setdefault(node, [])
        node_tasks.append(task)
        if len(node_tasks) > _TASKS_KEPT_PER_NODE:
            dropped = node_tasks.pop(0)
            self._by_upid.pop(dropped.upid, None)
        if outcome.kind != "never":
            loop = asyncio.get_running_loop()
            self._timers[task.upid] = loop.call_later(
                self.duration, self._finish, task, outcome, work, cleanup
            )
        return task

    def _finish(
        self, task: Task, outcome: TaskOutcome, work: TaskWork, cleanup: TaskCleanup | None
    ) -> None:
        self._timers.pop(task.upid, None)
        try:
            if outcome.kind == "error":
                self._end(task, outcome.error)
                return
            try:
                work(task)
            except TaskError as failure:
                self._end(task, str(failure))
                return
            for number in range(1, outcome.warnings + 1):
                task.log.append(f"WARN: simulated warning {number}")
            self._end(task, f"WARNINGS: {outcome.warnings}" if outcome.warnings else "OK")
        finally:
            if cleanup is not None:
                cleanup(task)

    def _end(self, task: Task, exitstatus: str) -> None:
        task.exitstatus = exitstatus
        task.endtime = max(task.starttime, int(self._wall_clock()))
        succeeded = exitstatus == "OK" or exitstatus.startswith("WARNINGS:")
        task.log.append(f"TASK {exitstatus}" if succeeded else f"TASK ERROR: {exitstatus}")

    def get(self, upid: str) -> Task | None:
        """The task with this UPID, if the board knows it."""
        return self._by_upid.get(upid)

    def on_node(self, node: str) -> list[Task]:
        """The node's tasks, newest first."""
        return list(reversed(self._by_node.get(node, [])))

    def everywhere(self) -> list[Task]:
        """All tasks of all nodes, newest first."""
        tasks = [task for node_tasks in self._by_node.values() for task in node_tasks]
        return sorted(tasks, key=lambda task: (task.starttime, task.pid), reverse=True)

    def cancel_pending(self) -> None:
        """Drop the timers of unfinished tasks (the simulator is stopping)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
