"""Builders of Alertmanager webhook payloads (version 4) for tests."""

from __future__ import annotations

from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"


def alert(
    fingerprint: str = "a1b2c3d4e5f60718",
    *,
    status: str = "firing",
    name: str = "HostDown",
    severity: str | None = "critical",
    starts_at: str = "2026-11-27T10:00:00.123456789Z",
    ends_at: str = ZERO_TIME,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One alert of a webhook payload."""
    all_labels = {"alertname": name, "instance": "pve1:9100", **(labels or {})}
    if severity is not None:
        all_labels["severity"] = severity
    return {
        "status": status,
        "labels": all_labels,
        "annotations": annotations or {"summary": f"{name} on pve1"},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus.lan:9090/graph?g0.expr=up+%3D%3D+0",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any], truncated: int = 0, **extra: Any) -> dict[str, Any]:
    """A version-4 webhook payload carrying these alerts."""
    statuses = {a["status"] for a in alerts}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HostDown"}',
        "truncatedAlerts": truncated,
        "status": "firing" if "firing" in statuses else "resolved",
        "receiver": "home-assistant",
        "groupLabels": {"alertname": "HostDown"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.lan:9093",
        "alerts": list(alerts),
        **extra,
    }
