"""Fault injection the simulators share: which requests a fault hits, and how many of them.

Each simulator defines its own fault kinds and what they do to a request; what they have in
common is a queue of faults, matched by an fnmatch pattern on the API path (below `/api2/json`)
and optionally an HTTP method, each running out after a number of requests.
"""

from __future__ import annotations

from dataclasses import dataclass
import fnmatch


@dataclass(slots=True, kw_only=True)
class FaultRule:
    """Which requests a fault hits; `remaining` is how many more (None: every one)."""

    pattern: str
    method: str | None
    remaining: int | None

    def matches(self, method: str, path: str) -> bool:
        """Whether a request (path below `/api2/json`) is affected."""
        if self.method is not None and self.method.upper() != method:
            return False
        return fnmatch.fnmatchcase(path, self.pattern)


class FaultQueue[F: FaultRule]:
    """Injected faults, consulted in the order they were injected."""

    def __init__(self) -> None:
        """Start with no faults."""
        self._faults: list[F] = []

    def _add(self, fault: F) -> F:
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        self._faults.clear()

    def take(self, method: str, path: str) -> F | None:
        """The first fault matching a request, counting it down (and removing it when used up)."""
        for fault in self._faults:
            if fault.matches(method, path):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    # Below zero too: a fault injected with a count under 1 still hits once.
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return fault
        return None
