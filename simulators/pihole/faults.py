"""Faults injected into the simulated Pi-hole API, per path pattern and request count."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from simulators.faults import FaultQueue, FaultRule


class FaultKind(StrEnum):
    """What a faulty request gets instead of its normal answer."""

    SERVER_ERROR = "500"
    """HTTP 500 with FTL's JSON error object."""
    RATE_LIMITED = "429"
    """HTTP 429 `rate_limiting` with a `Retry-After` header of `retry_after` seconds."""
    UNAUTHORIZED = "401"
    """HTTP 401 `unauthorized`, as for an expired session."""
    TIMEOUT = "timeout"
    """No answer: the request hangs until the client gives up (or the simulator stops)."""
    NOT_JSON = "html"
    """HTTP 200 with an HTML page, as a proxy or another web server would answer."""


@dataclass(slots=True, kw_only=True)
class Fault(FaultRule):
    """One injected fault; `remaining` None means every matching request."""

    kind: FaultKind
    retry_after: int
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
        retry_after: int = 60,
    ) -> Fault:
        """Make the next `count` requests matching `pattern` fail (`count=None`: all of them).

        `pattern` is an fnmatch pattern over the path below `/api`, e.g. `/stats/summary`,
        `/auth` or `*` (every request).
        """
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None for every request)")
        return self._add(
            Fault(
                pattern=pattern,
                kind=FaultKind(kind),
                method=method.upper() if method else None,
                remaining=count,
                retry_after=retry_after,
            )
        )

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request triggers, counting it against the fault's budget."""
        fault = super().take(method, path)
        if fault is not None:
            fault.hits += 1
        return fault
