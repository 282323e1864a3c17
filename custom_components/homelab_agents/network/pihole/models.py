"""What one poll of a Pi-hole holds, parsed from its v6 API answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

SLOT_SECONDS: Final = 600  # Pi-hole's history buckets
OTHER_CLIENTS: Final = "0.0.0.0"  # noqa: S104 - FTL's bucket for the clients beyond N


@dataclass(frozen=True, slots=True)
class Summary:
    """`/api/stats/summary`: the last 24 hours (Pi-hole's "today")."""

    queries_total: int
    queries_blocked: int
    percent_blocked: float
    clients_active: int
    clients_total: int
    gravity_domains: int | None


@dataclass(frozen=True, slots=True)
class Blocking:
    """`/api/dns/blocking`: whether Pi-hole blocks, and seconds until a timer flips it back."""

    state: str  # enabled, disabled, failed, unknown
    timer: float | None

    @property
    def enabled(self) -> bool | None:
        """On, off, or unknown (`failed`/`unknown`)."""
        return {"enabled": True, "disabled": False}.get(self.state)


@dataclass(frozen=True, slots=True)
class ClientQueries:
    """One client's queries in a slot."""

    ip: str
    name: str
    queries: int


@dataclass(frozen=True, slots=True)
class TrafficSlot:
    """The newest complete 10-minute slot of `/api/history` and `/api/history/clients`."""

    start: int  # the slot's timestamp as Pi-hole reports it
    total: int
    blocked: int
    clients: tuple[ClientQueries, ...]


@dataclass(frozen=True, slots=True)
class PiholeData:
    """One poll."""

    polled_at: datetime
    summary: Summary
    blocking: Blocking
    slot: TrafficSlot | None


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _object(answer: Any, key: str) -> dict[str, Any]:
    value = answer.get(key) if isinstance(answer, dict) else None
    return value if isinstance(value, dict) else {}


def _list(answer: Any, key: str) -> list[Any]:
    value = answer.get(key) if isinstance(answer, dict) else None
    return value if isinstance(value, list) else []


def parse_summary(answer: dict[str, Any]) -> Summary:
    """The figures the sensors show; missing fields read as zero (gravity as unknown)."""
    queries = _object(answer, "queries")
    clients = _object(answer, "clients")
    gravity = _object(answer, "gravity").get("domains_being_blocked")
    percent = queries.get("percent_blocked")
    return Summary(
        queries_total=_int(queries.get("total")),
        queries_blocked=_int(queries.get("blocked")),
        percent_blocked=round(float(percent), 2) if isinstance(percent, int | float) else 0.0,
        clients_active=_int(clients.get("active")),
        clients_total=_int(clients.get("total")),
        gravity_domains=_int(gravity) if isinstance(gravity, int) and gravity >= 0 else None,
    )


def parse_blocking(answer: dict[str, Any]) -> Blocking:
    """The blocking state and its timer."""
    state = answer.get("blocking")
    timer = answer.get("timer")
    return Blocking(
        state=state if isinstance(state, str) else "unknown",
        timer=float(timer) if isinstance(timer, int | float) and timer > 0 else None,
    )


def _complete(rows: list[Any], now: float) -> dict[int, dict[str, Any]]:
    """History rows of slots over by `now` (whether timestamps mark a slot's start or middle)."""
    return {
        int(row["timestamp"]): row
        for row in rows
        if isinstance(row, dict)
        and isinstance(row.get("timestamp"), int | float)
        and row["timestamp"] + SLOT_SECONDS <= now
    }


def parse_slot(history: dict[str, Any], clients: dict[str, Any], now: float) -> TrafficSlot | None:
    """The newest slot complete at `now`, with the per-client counts of the same slot."""
    totals = _complete(_list(history, "history"), now)
    if not totals:
        return None
    start = max(totals)
    row = totals[start]
    per_client = _complete(_list(clients, "history"), now).get(start, {})
    counts = _object(per_client, "data")
    known = _object(clients, "clients")
    listed = tuple(
        ClientQueries(
            ip=ip,
            name=str(info.get("name") or ip) if isinstance(info, dict) else ip,
            queries=_int(counts.get(ip)),
        )
        for ip, info in known.items()
        if ip != OTHER_CLIENTS
    )
    return TrafficSlot(
        start=start,
        total=_int(row.get("total")),
        blocked=_int(row.get("blocked")),
        clients=listed,
    )


def host_identity(answer: dict[str, Any]) -> str | None:
    """The unique id of a Pi-hole: its host name (`/api/info/host`), never the URL."""
    nodename = _object(_object(answer, "host"), "uname").get("nodename")
    return f"pihole:{nodename.casefold()}" if isinstance(nodename, str) and nodename else None


def host_name(answer: dict[str, Any]) -> str:
    """The Pi-hole's host name as it reports it."""
    return str(_object(_object(answer, "host"), "uname").get("nodename"))
