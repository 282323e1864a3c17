"""PBS worker tasks: UPIDs, a configurable run time, and an exit status that can be scripted.

Tasks finish lazily: nothing runs in the background. Every observation (an API request, a
datastore read) first calls `WorkerTasks.settle(now)`, which ends the tasks that are due and
applies their effects in the order they end. So a simulator leaves no timers or asyncio tasks
behind, and a task that never finishes costs nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
import re
from typing import Final, Literal

type TaskWork = Callable[[Task], str]
"""A task's effect, applied when it ends; returns the exit status it earned on its own."""

type TaskStateType = Literal["ok", "warning", "error", "unknown"]

OK: Final = "OK"
_WARNINGS_PREFIX: Final = "WARNINGS: "

# pbs-api-types' UPID regex: node, pid, pstart, task id, start time, type, id, auth id.
_UPID_RE: Final = re.compile(
    r"^UPID:(?P<node>[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):(?P<pid>[0-9A-Fa-f]{8}):"
    r"(?P<pstart>[0-9A-Fa-f]{8,9}):(?P<task_id>[0-9A-Fa-f]{8,16}):(?P<starttime>[0-9A-Fa-f]{8}):"
    r"(?P<worker_type>[^:\s]+):(?P<worker_id>[^:\s]*):(?P<auth_id>[^:\s]+):$"
)
_ESCAPE_RE: Final = re.compile(r"\\x([0-9a-fA-F]{2})|-")


def escape_worker_id(worker_id: str) -> str:
    """Escape a worker id like systemd unit names, as PBS does inside UPIDs (`/` → `-`)."""
    escaped = []
    for index, byte in enumerate(worker_id.encode()):
        char = chr(byte)
        if char == "/":
            escaped.append("-")
        elif (index == 0 and char == ".") or not (
            char.isascii() and (char.isalnum() or char in "_.")
        ):
            escaped.append(f"\\x{byte:02x}")
        else:
            escaped.append(char)
    return "".join(escaped)


def unescape_worker_id(escaped: str) -> str:
    """Undo `escape_worker_id`."""

    def replace(match: re.Match[str]) -> str:
        return "/" if match.group(0) == "-" else chr(int(match.group(1), 16))

    return _ESCAPE_RE.sub(replace, escaped)


@dataclass(frozen=True, slots=True, kw_only=True)
class Upid:
    """The parts of a PBS unique task id."""

    node: str
    pid: int
    pstart: int
    task_id: int
    starttime: int
    worker_type: str
    worker_id: str | None
    auth_id: str

    def __str__(self) -> str:
        """`UPID:node:PID:PSTART:TASKID:STARTTIME:type:escaped-id:auth@id:`, hex upper-case."""
        worker_id = escape_worker_id(self.worker_id) if self.worker_id is not None else ""
        return (
            f"UPID:{self.node}:{self.pid:08X}:{self.pstart:08X}:{self.task_id:08X}:"
            f"{self.starttime:08X}:{self.worker_type}:{worker_id}:{self.auth_id}:"
        )

    @classmethod
    def parse(cls, text: str) -> Upid:
        """Parse a UPID string; ValueError with PBS's message when it is not one."""
        match = _UPID_RE.match(text)
        if match is None:
            raise ValueError(f"unable to parse UPID '{text}'")
        worker_id = match["worker_id"]
        return cls(
            node=match["node"],
            pid=int(match["pid"], 16),
            pstart=int(match["pstart"], 16),
            task_id=int(match["task_id"], 16),
            starttime=int(match["starttime"], 16),
            worker_type=match["worker_type"],
            worker_id=unescape_worker_id(worker_id) if worker_id else None,
            auth_id=match["auth_id"],
        )


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How a scripted task ends: an exit status after `duration` seconds, or never."""

    exitstatus: str | None
    duration: float | None = None

    @classmethod
    def ok(cls, duration: float | None = None) -> TaskOutcome:
        """End with `OK`."""
        return cls(OK, duration)

    @classmethod
    def warnings(cls, count: int, duration: float | None = None) -> TaskOutcome:
        """End with `WARNINGS: count`; the task's work is still done."""
        return cls(f"{_WARNINGS_PREFIX}{count}", duration)

    @classmethod
    def error(cls, message: str, duration: float | None = None) -> TaskOutcome:
        """End with an error message; the task's work is not done (it aborted)."""
        if message == OK or message.startswith(_WARNINGS_PREFIX):
            raise ValueError(f"not an error message: {message!r}")
        return cls(message, duration)

    @classmethod
    def never(cls) -> TaskOutcome:
        """Keep running forever (until the simulator stops)."""
        return cls(None)


def state_type(exitstatus: str | None) -> TaskStateType:
    """Classify an exit status the way the task list's `statusfilter` does."""
    if exitstatus is None or exitstatus == "unknown":
        return "unknown"
    if exitstatus == OK:
        return "ok"
    if exitstatus.startswith(_WARNINGS_PREFIX):
        return "warning"
    return "error"


@dataclass(slots=True, kw_only=True)
class Task:
    """One worker task, running or finished."""

    upid: Upid
    ends_at: float | None  # None: never ends
    work: TaskWork | None = None
    scripted: TaskOutcome | None = None
    exitstatus: str | None = None
    endtime: int | None = None

    @property
    def running(self) -> bool:
        """Whether the task has not ended yet."""
        return self.exitstatus is None

    def finish(self) -> None:
        """End the task now: apply its work (unless scripted to abort) and set its status."""
        natural = self.work(self) if self.work and not self._aborts else OK
        self.exitstatus = self.scripted.exitstatus if self.scripted else natural
        self.work = None
        if self.ends_at is not None:
            self.endtime = int(self.ends_at)

    @property
    def _aborts(self) -> bool:
        return self.scripted is not None and state_type(self.scripted.exitstatus) == "error"


class WorkerTasks:
    """Every task the simulated PBS started, with scripted outcomes per worker type."""

    def __init__(self, *, node: str, pid: int, pstart: int, duration: float) -> None:
        """Tasks run on `node` in process `pid` and take `duration` seconds unless scripted."""
        self.node = node
        self.pid = pid
        self.pstart = pstart
        self.duration = duration
        self._tasks: dict[str, Task] = {}
        self._scripts: dict[str, deque[TaskOutcome]] = {}
        self._next_task_id = 1

    def script(self, worker_type: str, *outcomes: TaskOutcome) -> None:
        """Queue outcomes for the next tasks of a worker type (`verify`, `garbage_collection`)."""
        self._scripts.setdefault(worker_type, deque()).extend(outcomes)

    def start(
        self, worker_type: str, worker_id: str | None, auth_id: str, work: TaskWork, now: float
    ) -> Task:
        """Start a task now; it ends after the scripted or default duration."""
        queue = self._scripts.get(worker_type)
        scripted = queue.popleft() if queue else None
        if scripted is not None and scripted.exitstatus is None:
            ends_at = None
        else:
            duration = self.duration
            if scripted is not None and scripted.duration is not None:
                duration = scripted.duration
            ends_at = now + duration
        task = Task(
            upid=self._new_upid(worker_type, worker_id, auth_id, int(now)),
            ends_at=ends_at,
            work=work,
            scripted=scripted,
        )
        self._tasks[str(task.upid)] = task
        return task

    def record(
        self,
        worker_type: str,
        worker_id: str | None,
        auth_id: str,
        *,
        starttime: int,
        duration: int,
        exitstatus: str,
    ) -> Task:
        """Add a task that already finished (history, seeded snapshots' verifications)."""
        task = Task(
            upid=self._new_upid(worker_type, worker_id, auth_id, starttime),
            ends_at=starttime + duration,
            exitstatus=exitstatus,
            endtime=starttime + duration,
        )
        self._tasks[str(task.upid)] = task
        return task

    def settle(self, now: float) -> None:
        """Finish every task that is due by `now`, in the order they end."""
        due = [
            task
            for task in self._tasks.values()
            if task.running and task.ends_at is not None and task.ends_at <= now
        ]
        for task in sorted(due, key=lambda task: task.ends_at or 0.0):
            task.finish()

    def get(self, upid: str) -> Task | None:
        """The task with this UPID, if this simulator started it."""
        return self._tasks.get(upid)

    def newest_first(self) -> list[Task]:
        """Every task, newest start first (the order PBS lists them)."""
        return sorted(
            self._tasks.values(),
            key=lambda task: (task.upid.starttime, task.upid.task_id),
            reverse=True,
        )

    def running_task(self, worker_type: str, worker_id: str) -> Task | None:
        """A running task of this type and id (PBS allows one GC per datastore)."""
        for task in self._tasks.values():
            if (
                task.running
                and task.upid.worker_type == worker_type
                and task.upid.worker_id == worker_id
            ):
                return task
        return None

    def _new_upid(
        self, worker_type: str, worker_id: str | None, auth_id: str, starttime: int
    ) -> Upid:
        task_id = self._next_task_id
        self._next_task_id += 1
        return Upid(
            node=self.node,
            pid=self.pid,
            pstart=self.pstart,
            task_id=task_id,
            starttime=starttime,
            worker_type=worker_type,
            worker_id=worker_id,
            auth_id=auth_id,
        )
