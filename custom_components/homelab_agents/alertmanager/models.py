"""The alert and silence records the store keeps, and their serialised form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from homeassistant.util import dt as dt_util


class AlertStatus(StrEnum):
    """Whether an alert occurrence is still firing."""

    FIRING = "firing"
    RESOLVED = "resolved"


class AlertEventType(StrEnum):
    """What happened to an alert; the event entity's event types."""

    FIRING = "firing"
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"
    SILENCED = "silenced"
    UNSILENCED = "unsilenced"


def occurrence_time(value: datetime) -> datetime:
    """StartsAt at millisecond precision, the precision Alertmanager's API answers with.

    Webhooks carry nanoseconds while `GET /api/v2/alerts` rounds to milliseconds; without this
    the same occurrence read both ways would look like two.
    """
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingAlert:
    """One alert as Alertmanager reports it, from a webhook or its API."""

    fingerprint: str
    status: AlertStatus
    starts_at: datetime
    ends_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    silenced_by: tuple[str, ...] | None = None  # None: the source does not say (webhooks)
    inhibited_by: tuple[str, ...] | None = None


class AlertDict(TypedDict):
    """An alert occurrence as stored and as returned by `list_alerts`."""

    fingerprint: str
    status: str
    alertname: str
    severity: str | None
    starts_at: str
    ends_at: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    first_seen: str
    resolved_at: str | None
    acknowledged_by: str | None
    acknowledged_at: str | None
    silenced_by: list[str]
    inhibited_by: list[str]


@dataclass(slots=True, kw_only=True)
class Alert:
    """One occurrence of an alert (a fingerprint and its startsAt) as Home Assistant knows it."""

    fingerprint: str
    status: AlertStatus
    starts_at: datetime
    ends_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    first_seen: datetime
    resolved_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    silenced_by: list[str] = field(default_factory=list)
    inhibited_by: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, datetime]:
        """Identity of the occurrence: a re-fire after resolution has a new startsAt."""
        return (self.fingerprint, self.starts_at)

    @property
    def alertname(self) -> str:
        """The alert's name label."""
        return self.labels.get("alertname", "")

    @property
    def severity(self) -> str | None:
        """The alert's severity label, if it has one."""
        return self.labels.get("severity")

    @property
    def silenced(self) -> bool:
        """Whether an Alertmanager silence mutes the alert."""
        return bool(self.silenced_by)

    @classmethod
    def from_incoming(cls, incoming: IncomingAlert, received_at: datetime) -> Alert:
        """Start tracking a new occurrence."""
        return cls(
            fingerprint=incoming.fingerprint,
            status=incoming.status,
            starts_at=incoming.starts_at,
            ends_at=incoming.ends_at,
            labels=dict(incoming.labels),
            annotations=dict(incoming.annotations),
            generator_url=incoming.generator_url,
            first_seen=received_at,
            silenced_by=list(incoming.silenced_by or ()),
            inhibited_by=list(incoming.inhibited_by or ()),
        )

    def as_dict(self) -> AlertDict:
        """Serialise for storage and for service responses."""
        return {
            "fingerprint": self.fingerprint,
            "status": self.status.value,
            "alertname": self.alertname,
            "severity": self.severity,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": _iso(self.ends_at),
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "generator_url": self.generator_url,
            "first_seen": self.first_seen.isoformat(),
            "resolved_at": _iso(self.resolved_at),
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": _iso(self.acknowledged_at),
            "silenced_by": list(self.silenced_by),
            "inhibited_by": list(self.inhibited_by),
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Alert:
        """Rebuild from storage; raises KeyError/ValueError/TypeError when the record is bad."""
        return cls(
            fingerprint=str(stored["fingerprint"]),
            status=AlertStatus(stored["status"]),
            starts_at=_parse(stored["starts_at"]),
            ends_at=_parse_optional(stored["ends_at"]),
            labels=_str_dict(stored["labels"]),
            annotations=_str_dict(stored["annotations"]),
            generator_url=str(stored["generator_url"]),
            first_seen=_parse(stored["first_seen"]),
            resolved_at=_parse_optional(stored["resolved_at"]),
            acknowledged_by=stored["acknowledged_by"],
            acknowledged_at=_parse_optional(stored["acknowledged_at"]),
            silenced_by=[str(s) for s in stored["silenced_by"]],
            inhibited_by=[str(s) for s in stored["inhibited_by"]],
        )


class SilenceDict(TypedDict):
    """A silence as stored and returned by the services."""

    id: str
    state: str
    matchers: list[dict[str, Any]]
    starts_at: str
    ends_at: str
    created_by: str
    comment: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Silence:
    """An Alertmanager silence that is active or pending."""

    id: str
    state: str
    matchers: list[dict[str, Any]]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def as_dict(self) -> SilenceDict:
        """Serialise for storage and for service responses."""
        return {
            "id": self.id,
            "state": self.state,
            "matchers": [dict(m) for m in self.matchers],
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "created_by": self.created_by,
            "comment": self.comment,
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Silence:
        """Rebuild from storage or from Alertmanager's API shape converted by the client."""
        return cls(
            id=str(stored["id"]),
            state=str(stored["state"]),
            matchers=[dict(m) for m in stored["matchers"]],
            starts_at=_parse(stored["starts_at"]),
            ends_at=_parse(stored["ends_at"]),
            created_by=str(stored["created_by"]),
            comment=str(stored["comment"]),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: Any) -> datetime:
    parsed = dt_util.parse_datetime(str(value))
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(f"not a timestamp with a time zone: {value!r}")
    return parsed


def _parse_optional(value: Any) -> datetime | None:
    return None if value is None else _parse(value)


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TypeError("expected an object")
    return {str(k): str(v) for k, v in value.items()}
