"""Alert service actions: list, acknowledge, silence, expire a silence."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, cast

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType
import probatio

from ..const import DOMAIN, SourceKind
from ..service_targets import called_runtimes
from .client import AlertmanagerError, AlertmanagerNotFoundError
from .models import Alert, AlertStatus

if TYPE_CHECKING:
    from .runtime import AlertmanagerRuntime

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_FINGERPRINT: Final = "fingerprint"
ATTR_STATUS: Final = "status"
ATTR_SEVERITY: Final = "severity"
ATTR_LABELS: Final = "labels"
ATTR_ACKNOWLEDGED: Final = "acknowledged"
ATTR_LIMIT: Final = "limit"
ATTR_BY: Final = "by"
ATTR_DURATION: Final = "duration"
ATTR_COMMENT: Final = "comment"
ATTR_SILENCE_ID: Final = "silence_id"

SERVICE_LIST_ALERTS: Final = "list_alerts"
SERVICE_ACKNOWLEDGE_ALERT: Final = "acknowledge_alert"
SERVICE_SILENCE_ALERT: Final = "silence_alert"
SERVICE_EXPIRE_SILENCE: Final = "expire_silence"

MIN_SILENCE: Final = timedelta(minutes=1)
MAX_SILENCE: Final = timedelta(days=365)
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000

_ENTRY = probatio.Optional(ATTR_CONFIG_ENTRY_ID)

LIST_ALERTS_SCHEMA: Final = probatio.Schema(
    {
        _ENTRY: cv.string,
        probatio.Optional(ATTR_STATUS, default="firing"): probatio.In(
            ["firing", "resolved", "all"]
        ),
        probatio.Optional(ATTR_SEVERITY): probatio.All(cv.ensure_list, [cv.string]),
        probatio.Optional(ATTR_LABELS): {cv.string: cv.string},
        probatio.Optional(ATTR_ACKNOWLEDGED): cv.boolean,
        probatio.Optional(ATTR_LIMIT, default=DEFAULT_LIMIT): cv.positive_int,
    }
)
ACKNOWLEDGE_SCHEMA: Final = probatio.Schema(
    {
        _ENTRY: cv.string,
        probatio.Required(ATTR_FINGERPRINT): cv.string,
        probatio.Optional(ATTR_BY): cv.string,
    }
)
SILENCE_SCHEMA: Final = probatio.Schema(
    {
        _ENTRY: cv.string,
        probatio.Required(ATTR_FINGERPRINT): cv.string,
        probatio.Required(ATTR_DURATION): cv.positive_time_period,
        probatio.Optional(ATTR_COMMENT, default="Silenced from Home Assistant"): cv.string,
        probatio.Optional(ATTR_BY): cv.string,
    }
)
EXPIRE_SCHEMA: Final = probatio.Schema(
    {
        _ENTRY: cv.string,
        probatio.Exclusive(ATTR_SILENCE_ID, "target"): cv.string,
        probatio.Exclusive(ATTR_FINGERPRINT, "target"): cv.string,
    }
)


@callback
def async_setup_alertmanager_services(hass: HomeAssistant) -> None:
    """Register the alert service actions."""

    async def list_alerts(call: ServiceCall) -> ServiceResponse:
        return _list_alerts(_runtimes(hass, call), call.data)

    async def acknowledge_alert(call: ServiceCall) -> ServiceResponse:
        runtime, alert = _firing_alert(hass, call)
        by = call.data.get(ATTR_BY) or await _caller_name(hass, call)
        acknowledged = runtime.store.async_acknowledge(alert.fingerprint, by, dt_util.utcnow())
        return {"alert": _alert_json(acknowledged)}

    async def silence_alert(call: ServiceCall) -> ServiceResponse:
        duration: timedelta = call.data[ATTR_DURATION]
        if not MIN_SILENCE <= duration <= MAX_SILENCE:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_duration",
                translation_placeholders={"min": "1 minute", "max": "365 days"},
            )
        runtime, alert = _firing_alert(hass, call)
        by = call.data.get(ATTR_BY) or await _caller_name(hass, call)
        now = dt_util.utcnow()
        try:
            silence = await runtime.client.create_silence(
                alert.labels, now, now + duration, by, call.data[ATTR_COMMENT]
            )
        except AlertmanagerError as err:
            raise _unreachable(err) from err
        runtime.store.async_add_silence(silence, alert.fingerprint)
        return {"silence_id": silence.id, "ends_at": silence.ends_at.isoformat()}

    async def expire_silence(call: ServiceCall) -> ServiceResponse:
        if silence_id := call.data.get(ATTR_SILENCE_ID):
            runtime = _runtime_with_silence(hass, call, silence_id)
            silence_ids = [silence_id]
        elif call.data.get(ATTR_FINGERPRINT):
            runtime, alert = _firing_alert(hass, call)
            silence_ids = list(alert.silenced_by)
            if not silence_ids:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="alert_not_silenced",
                    translation_placeholders={"fingerprint": alert.fingerprint},
                )
        else:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="silence_target_missing"
            )
        for target in silence_ids:
            try:
                await runtime.client.expire_silence(target)
            except AlertmanagerNotFoundError as err:
                if target not in runtime.store.silences:
                    raise ServiceValidationError(
                        translation_domain=DOMAIN,
                        translation_key="unknown_silence",
                        translation_placeholders={"silence_id": target},
                    ) from err
                # Known to us but already gone from Alertmanager: the goal holds.
            except AlertmanagerError as err:
                raise _unreachable(err) from err
            runtime.store.async_remove_silence(target)
        return {"expired": silence_ids}

    for name, handler, schema, supports in (
        (SERVICE_LIST_ALERTS, list_alerts, LIST_ALERTS_SCHEMA, SupportsResponse.ONLY),
        (
            SERVICE_ACKNOWLEDGE_ALERT,
            acknowledge_alert,
            ACKNOWLEDGE_SCHEMA,
            SupportsResponse.OPTIONAL,
        ),
        (SERVICE_SILENCE_ALERT, silence_alert, SILENCE_SCHEMA, SupportsResponse.OPTIONAL),
        (SERVICE_EXPIRE_SILENCE, expire_silence, EXPIRE_SCHEMA, SupportsResponse.OPTIONAL),
    ):
        hass.services.async_register(DOMAIN, name, handler, schema, supports_response=supports)


def _runtimes(hass: HomeAssistant, call: ServiceCall) -> list[AlertmanagerRuntime]:
    """The Alertmanager entries a call addresses: the one named, or every loaded one."""
    return called_runtimes(
        hass,
        call,
        SourceKind.ALERTMANAGER,
        wrong_kind="not_alertmanager_entry",
        missing="no_alertmanager_entry",
    )


def _firing_alert(hass: HomeAssistant, call: ServiceCall) -> tuple[AlertmanagerRuntime, Alert]:
    fingerprint = call.data[ATTR_FINGERPRINT]
    found = [
        (runtime, alert)
        for runtime in _runtimes(hass, call)
        if (alert := runtime.store.active.get(fingerprint)) is not None
    ]
    if not found:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_alert",
            translation_placeholders={"fingerprint": fingerprint},
        )
    if len(found) > 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ambiguous_alert",
            translation_placeholders={"fingerprint": fingerprint},
        )
    return found[0]


def _runtime_with_silence(
    hass: HomeAssistant, call: ServiceCall, silence_id: str
) -> AlertmanagerRuntime:
    runtimes = _runtimes(hass, call)
    for runtime in runtimes:
        if silence_id in runtime.store.silences:
            return runtime
    if len(runtimes) == 1:
        # A silence made elsewhere since the last reconciliation: let Alertmanager judge.
        return runtimes[0]
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_silence",
        translation_placeholders={"silence_id": silence_id},
    )


def _list_alerts(runtimes: list[AlertmanagerRuntime], data: dict[str, Any]) -> ServiceResponse:
    status = data[ATTR_STATUS]
    severities = set(data.get(ATTR_SEVERITY) or ())
    labels: dict[str, str] = data.get(ATTR_LABELS) or {}
    acknowledged = data.get(ATTR_ACKNOWLEDGED)
    limit = min(max(data[ATTR_LIMIT], 1), MAX_LIMIT)
    matches: list[Alert] = []
    for runtime in runtimes:
        store = runtime.store
        candidates: list[Alert] = []
        if status in ("firing", "all"):
            candidates.extend(store.active.values())
        if status in ("resolved", "all"):
            candidates.extend(store.history.values())
        matches.extend(
            alert
            for alert in candidates
            if (not severities or alert.severity in severities)
            and all(alert.labels.get(k) == v for k, v in labels.items())
            and (acknowledged is None or (alert.acknowledged_by is not None) == acknowledged)
        )
    # Firing first, newest first: what a person wants to see at the top.
    matches.sort(key=lambda a: (a.status is AlertStatus.FIRING, a.starts_at), reverse=True)
    return {
        "alerts": [_alert_json(alert) for alert in matches[:limit]],
        "count": min(len(matches), limit),
        "total": len(matches),
        "truncated_alerts": sum(runtime.store.truncated_alerts for runtime in runtimes),
    }


async def _caller_name(hass: HomeAssistant, call: ServiceCall) -> str:
    if call.context.user_id and (user := await hass.auth.async_get_user(call.context.user_id)):
        return user.name or user.id
    return "Home Assistant"


def _alert_json(alert: Alert) -> JsonObjectType:
    return cast("JsonObjectType", alert.as_dict())


def _unreachable(err: AlertmanagerError) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="alertmanager_action_failed",
        translation_placeholders={"error": str(err)},
    )
