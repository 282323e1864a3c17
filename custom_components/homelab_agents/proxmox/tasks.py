"""Proxmox tasks: start one, wait for its end, report the outcome exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
import time
from typing import Any

from .client import ProxmoxClient, ProxmoxError

# Quick tasks (most starts) finish within a second; long ones are asked less often.
FIRST_POLL = 0.2
MAX_POLL = 2.0


class TaskOutcome(StrEnum):
    """How a task ended, as a user reads it."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    UNKNOWN = "unknown"  # did not finish within the wait; never retried


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskResult:
    """The end of one task."""

    upid: str
    node: str
    outcome: TaskOutcome
    exitstatus: str | None
    duration: float

    def as_dict(self) -> dict[str, Any]:
        """Service response and event data."""
        return {
            "upid": self.upid,
            "node": self.node,
            "status": self.outcome.value,
            "exitstatus": self.exitstatus,
            "duration": round(self.duration, 2),
        }


def outcome_of(exitstatus: str | None) -> TaskOutcome:
    """Proxmox's exit status: "OK", "WARNINGS: n", or an error message."""
    if exitstatus == "OK":
        return TaskOutcome.OK
    if exitstatus and exitstatus.startswith("WARNINGS"):
        return TaskOutcome.WARNING
    return TaskOutcome.ERROR


async def wait_for_task(
    client: ProxmoxClient,
    node: str,
    upid: str,
    wait: timedelta,
) -> TaskResult:
    """Poll the task's status until it stops or `wait` passes (then UNKNOWN)."""
    started = time.monotonic()
    deadline = started + wait.total_seconds()
    poll_interval = FIRST_POLL
    while True:
        try:
            status = await client.call("get", f"nodes/{node}/tasks/{upid}/status")
        except ProxmoxError:
            # A failed status read says nothing about the task itself; keep asking.
            status = None
        if isinstance(status, dict) and status.get("status") == "stopped":
            exitstatus = status.get("exitstatus")
            return TaskResult(
                upid=upid,
                node=node,
                outcome=outcome_of(exitstatus),
                exitstatus=exitstatus,
                duration=time.monotonic() - started,
            )
        if time.monotonic() >= deadline:
            return TaskResult(
                upid=upid,
                node=node,
                outcome=TaskOutcome.UNKNOWN,
                exitstatus=None,
                duration=time.monotonic() - started,
            )
        await asyncio.sleep(min(poll_interval, max(deadline - time.monotonic(), 0)))
        poll_interval = min(poll_interval * 2, MAX_POLL)
