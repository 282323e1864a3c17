"""Faults injected into the simulated PBS API, per path pattern and request count."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from simulators.faults import FaultQueue, FaultRule


class FaultKind(StrEnum):
    """What a faulty request gets instead of its normal answer."""

    SERVER_ERROR = "500"
    """HTTP 500 with a PBS-style plain-text message."""
    UNAUTHORIZED = "401"
    """HTTP 401 `authentication failed - ...`, whatever the credentials."""
    SLOW = "slow"
    """The normal answer, after `delay` seconds."""
    TIMEOUT = "timeout"
    """No answer at all: the request hangs until the client gives up (or the simulator stops)."""
    DROP = "drop"
    """The connection closes without an answer."""


@dataclass(slots=True, kw_only=True)
class Fault(FaultRule):
    """One injected fault; `remaining` None means every matching request."""

    kind: FaultKind
    delay: float
    hits: int = 0


class Faults(FaultQueue[Fault]):
    """The faults waiting for requests, consumed in the order they were injected."""

    def inject(
        self,
        pattern: str,
        kind: FaultKind | str,
        *,
        count: int | None = 1,
        method: str | None = None,
        delay: float = 1.0,
    ) -> Fault:
        """Make the next `count` requests matching `pattern` fail (`count=None`: all of them).

        `pattern` is an fnmatch pattern over the API path without `/api2/json`, for example
        `/status/datastore-usage` or `/admin/datastore/*/snapshots` (`*` also spans `/`).
        """
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None for every request)")
        return self._add(
            Fault(
                pattern=pattern,
                kind=FaultKind(kind),
                method=method.upper() if method else None,
                remaining=count,
                delay=delay,
            )
        )

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request triggers, counting it against the fault's budget."""
        fault = super().take(method, path)
        if fault is not None:
            fault.hits += 1
        return fault

    @property
    def active(self) -> list[Fault]:
        """Faults that will still trigger."""
        return list(self._faults)
