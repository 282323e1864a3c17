"""Errors the simulated API answers with, shaped as PVE shapes them."""

from __future__ import annotations

from collections.abc import Mapping


class PveError(Exception):
    """An API error: the HTTP status, the message PVE puts in the status line, and any errors."""

    def __init__(self, status: int, message: str, errors: Mapping[str, str] | None = None) -> None:
        """Keep what the response needs: status, reason text and per-parameter errors."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors) if errors else None


def permission_denied(path: str, privilege: str) -> PveError:
    """403 as PVE's permission checks raise it, e.g. `(/vms/101, VM.PowerMgmt)`."""
    return PveError(403, f"Permission check failed ({path}, {privilege})")


def server_error(message: str) -> PveError:
    """500 with PVE's message (the handler died)."""
    return PveError(500, message)


def parameter_error(errors: Mapping[str, str]) -> PveError:
    """400 `Parameter verification failed.` with the per-parameter messages."""
    return PveError(400, "Parameter verification failed.", errors)
