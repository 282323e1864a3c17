"""The Alertmanager webhook payload (version 4): schema and parsing.

Reference: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
Unknown keys are accepted and ignored so newer Alertmanager releases keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import re
from typing import Any, Final

from homeassistant.util import dt as dt_util
import probatio

from .models import AlertStatus, IncomingAlert, occurrence_time

# Alertmanager writes a zero time for "no end" while an alert fires.
_ZERO_TIME_YEAR: Final = 1
MAX_LABELS: Final = 64
MAX_LABEL_VALUE: Final = 4096
MAX_ANNOTATION_VALUE: Final = 65536
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")


def _timestamp(value: Any) -> datetime:
    """Validate an RFC 3339 timestamp with a time zone."""
    if not isinstance(value, str):
        raise probatio.Invalid("expected an RFC 3339 timestamp")
    parsed = dt_util.parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise probatio.Invalid("expected an RFC 3339 timestamp")
    return parsed


def _string_map(max_value: int) -> Callable[[Any], dict[str, str]]:
    def check(value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise probatio.Invalid("expected an object of strings")
        if len(value) > MAX_LABELS:
            raise probatio.Invalid(f"more than {MAX_LABELS} entries")
        for key, item in value.items():
            if not _LABEL_NAME.match(key):
                raise probatio.Invalid(f"invalid name {key[:64]!r}")
            if not isinstance(item, str) or len(item) > max_value:
                raise probatio.Invalid(f"value of {key!r} is not a string of at most {max_value}")
        return value

    return check


def _fingerprint(value: Any) -> str:
    if not isinstance(value, str) or not _FINGERPRINT.match(value):
        raise probatio.Invalid("expected a 16-digit hexadecimal fingerprint")
    return value


def _count(value: Any) -> int:
    # bool is an int in Python but never a count in JSON.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise probatio.Invalid("expected a non-negative integer")
    return value


_STRICT_STR = probatio.All(str)

ALERT_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required("status"): probatio.In([s.value for s in AlertStatus]),
        probatio.Required("labels"): _string_map(MAX_LABEL_VALUE),
        probatio.Optional("annotations", default={}): _string_map(MAX_ANNOTATION_VALUE),
        probatio.Required("startsAt"): _timestamp,
        probatio.Optional("endsAt"): probatio.Any(None, _timestamp),
        probatio.Optional("generatorURL", default=""): _STRICT_STR,
        probatio.Required("fingerprint"): _fingerprint,
    },
    extra=probatio.ALLOW_EXTRA,
)

PAYLOAD_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required("version"): "4",
        probatio.Required("status"): probatio.In([s.value for s in AlertStatus]),
        probatio.Optional("groupKey", default=""): _STRICT_STR,
        probatio.Optional("receiver", default=""): _STRICT_STR,
        probatio.Optional("truncatedAlerts", default=0): _count,
        probatio.Required("alerts"): [dict],
    },
    extra=probatio.ALLOW_EXTRA,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookPayload:
    """A validated webhook delivery."""

    group_key: str
    receiver: str
    truncated_alerts: int
    alerts: list[IncomingAlert]


class InvalidPayloadError(ValueError):
    """The body is not a valid version-4 Alertmanager webhook payload."""


def parse_payload(body: Any) -> WebhookPayload:
    """Validate a decoded JSON body; raises InvalidPayloadError naming the first problem."""
    if not isinstance(body, dict):
        raise InvalidPayloadError("payload is not a JSON object")
    try:
        payload = PAYLOAD_SCHEMA(body)
        alerts = [_incoming(ALERT_SCHEMA(alert)) for alert in payload["alerts"]]
    except probatio.Invalid as err:
        raise InvalidPayloadError(str(err)) from err
    return WebhookPayload(
        group_key=payload["groupKey"],
        receiver=payload["receiver"],
        truncated_alerts=payload["truncatedAlerts"],
        alerts=alerts,
    )


def end_time(value: datetime | None) -> datetime | None:
    """Alertmanager's zero time (year 1) means the alert has no end yet."""
    if value is None or value.year == _ZERO_TIME_YEAR:
        return None
    return value


def _incoming(alert: dict[str, Any]) -> IncomingAlert:
    return IncomingAlert(
        fingerprint=alert["fingerprint"],
        status=AlertStatus(alert["status"]),
        starts_at=occurrence_time(alert["startsAt"]),
        ends_at=end_time(alert.get("endsAt")),
        labels=alert["labels"],
        annotations=alert["annotations"],
        generator_url=alert["generatorURL"],
    )
