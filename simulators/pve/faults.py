"""Faults a test injects into the simulated API, by path pattern and count."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from simulators.faults import FaultQueue, FaultRule


class FaultKind(StrEnum):
    """What an injected fault does to a matching request."""

    HTTP_500 = "http_500"  # 500 with a message, as a dying handler answers
    HTTP_595 = "http_595"  # 595, as pveproxy answers when it cannot reach the node
    HTTP_596 = "http_596"  # 596, as pveproxy answers when the proxied call times out
    HTTP_401 = "http_401"  # 401, as an expired ticket or revoked token gets
    SLOW = "slow"  # answers normally after `delay` seconds
    TIMEOUT = "timeout"  # holds the request without answering (for `delay`, default an hour)
    DROP = "drop"  # closes the connection without any response


_STATUS: Final = {
    FaultKind.HTTP_500: 500,
    FaultKind.HTTP_595: 595,
    FaultKind.HTTP_596: 596,
    FaultKind.HTTP_401: 401,
}
_DEFAULT_MESSAGES: Final = {
    FaultKind.HTTP_500: "internal error (injected fault)",
    FaultKind.HTTP_595: "No route to host",
    FaultKind.HTTP_596: "Connection timed out",
    FaultKind.HTTP_401: "authentication failure",
}
_DEFAULT_DELAYS: Final = {FaultKind.SLOW: 1.0, FaultKind.TIMEOUT: 3600.0}


@dataclass(slots=True, kw_only=True)
class Fault(FaultRule):
    """One injected fault; `remaining` is None when it never runs out."""

    kind: FaultKind
    delay: float
    message: str

    @property
    def status(self) -> int | None:
        """The HTTP status the fault answers with, for the HTTP kinds."""
        return _STATUS.get(self.kind)


class FaultInjector(FaultQueue[Fault]):
    """The faults waiting for matching requests."""

    def __init__(self) -> None:
        """Start with no faults."""
        super().__init__()
        self._released = asyncio.Event()

    def inject(
        self,
        pattern: str,
        kind: FaultKind | str,
        *,
        count: int | None = 1,
        delay: float | None = None,
        method: str | None = None,
        message: str | None = None,
    ) -> Fault:
        """Make the next `count` requests whose path matches `pattern` fail (None: all of them).

        `pattern` is an fnmatch pattern on the path below `/api2/json`, e.g. `/cluster/resources`
        or `/nodes/*/qemu/*/status/*` (`*` also matches `/`). `method` limits it to GET or POST.
        `delay` is the wait for `slow` and `timeout`; `message` overrides the status text.
        """
        fault_kind = FaultKind(kind)
        return self._add(
            Fault(
                pattern=pattern,
                kind=fault_kind,
                remaining=count,
                delay=_DEFAULT_DELAYS.get(fault_kind, 0.0) if delay is None else delay,
                method=method,
                message=message or _DEFAULT_MESSAGES.get(fault_kind, ""),
            )
        )

    def clear(self) -> None:
        """Remove every fault and release the requests faults are holding."""
        super().clear()
        self.release()

    def release(self) -> None:
        """Let held requests go now: `slow` ones answer, `timeout` ones drop their connection."""
        self._released.set()
        self._released = asyncio.Event()

    @property
    def pending(self) -> list[Fault]:
        """The faults that still affect requests."""
        return list(self._faults)

    async def hold(self, seconds: float) -> None:
        """Wait `seconds`, or less if the faults are cleared or the simulator stops."""
        released = self._released
        try:
            await asyncio.wait_for(released.wait(), seconds)
        except TimeoutError:
            return
