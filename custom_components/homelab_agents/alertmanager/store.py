"""The alert store: every alert occurrence Home Assistant knows, persisted across restarts.

Alerts are keyed by fingerprint (the current occurrence) with resolved occurrences kept in a
bounded history. Applying the same delivery twice changes nothing; a late "firing" never undoes
a newer resolution; a re-fire after resolution (a new startsAt) is a new occurrence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import UnsupportedStorageVersionError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, HISTORY_MAX_OCCURRENCES, LOGGER, STORE_SAVE_DELAY
from .models import (
    Alert,
    AlertDict,
    AlertEventType,
    AlertStatus,
    IncomingAlert,
    Silence,
    SilenceDict,
)

STORAGE_VERSION = 1
STORAGE_MINOR_VERSION = 2


class StoredAlerts(TypedDict):
    """The persisted form of the store."""

    alerts: list[AlertDict]
    history: list[AlertDict]
    silences: list[SilenceDict]
    truncated: dict[str, int]
    last_webhook_at: str | None


@dataclass(frozen=True, slots=True)
class AlertTransition:
    """Something a user would notice happened to an alert."""

    event_type: AlertEventType
    alert: Alert


type TransitionListener = Callable[[list[AlertTransition]], None]


class StoreVersionTooNewError(Exception):
    """The file was written by a newer version of the integration; it is left untouched."""


class _AlertStorage(Store[StoredAlerts]):
    """HA Store with the migrations of the alert store's format."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> StoredAlerts:
        data = dict(old_data)
        if old_minor_version < 2:
            # 1.1 had no record of truncated deliveries.
            data.setdefault("truncated", {})
        return data  # type: ignore[return-value]


class AlertStore:
    """In-memory alerts with debounced persistence and change listeners."""

    def __init__(self, hass: HomeAssistant, entry_id: str, history_days: int) -> None:
        """Prepare an empty, not yet loaded store for one Alertmanager entry."""
        self._hass = hass
        self._entry_id = entry_id
        self._storage = _AlertStorage(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.alerts.{entry_id}",
            minor_version=STORAGE_MINOR_VERSION,
            serialize_in_event_loop=False,
        )
        self._history_retention = timedelta(days=history_days)
        self.active: dict[str, Alert] = {}
        self.history: dict[tuple[str, datetime], Alert] = {}
        self.silences: dict[str, Silence] = {}
        self.truncated: dict[str, int] = {}
        self.last_webhook_at: datetime | None = None
        self.loaded = False
        self._listeners: list[TransitionListener] = []
        self._dirty = False

    @property
    def issue_id(self) -> str:
        """Repair issue raised when the stored file could not be read."""
        return f"alert_store_unreadable_{self._entry_id}"

    async def async_load(self) -> None:
        """Load persisted alerts; unreadable content starts empty with a repair issue."""
        try:
            stored = await self._storage.async_load()
        except UnsupportedStorageVersionError as err:
            raise StoreVersionTooNewError(str(err)) from err
        if stored is not None:
            try:
                self._restore(stored)
            except (KeyError, ValueError, TypeError, AttributeError) as err:
                LOGGER.error("Stored alerts could not be read (%s); starting empty", err)
                self._clear()
                ir.async_create_issue(
                    self._hass,
                    DOMAIN,
                    self.issue_id,
                    is_fixable=False,
                    severity=ir.IssueSeverity.WARNING,
                    translation_key="alert_store_unreadable",
                    translation_placeholders={"path": self._storage.path},
                )
        self._prune_history(dt_util.utcnow())
        self.loaded = True

    def _restore(self, stored: StoredAlerts) -> None:
        for record in stored["alerts"]:
            alert = Alert.from_dict(dict(record))
            self.active[alert.fingerprint] = alert
        for record in stored["history"]:
            alert = Alert.from_dict(dict(record))
            self.history[alert.key] = alert
        for silence_record in stored["silences"]:
            silence = Silence.from_dict(dict(silence_record))
            self.silences[silence.id] = silence
        self.truncated = {str(k): int(v) for k, v in stored["truncated"].items()}
        last = stored["last_webhook_at"]
        self.last_webhook_at = dt_util.parse_datetime(last) if last else None

    def _clear(self) -> None:
        self.active.clear()
        self.history.clear()
        self.silences.clear()
        self.truncated.clear()
        self.last_webhook_at = None

    async def async_flush(self) -> None:
        """Write pending changes now (unload); the delayed save covers normal running."""
        if self._dirty:
            await self._storage.async_save(self._stored())
            self._dirty = False

    def _stored(self) -> StoredAlerts:
        self._dirty = False
        return {
            "alerts": [alert.as_dict() for alert in self.active.values()],
            "history": [alert.as_dict() for alert in self.history.values()],
            "silences": [silence.as_dict() for silence in self.silences.values()],
            "truncated": dict(self.truncated),
            "last_webhook_at": (self.last_webhook_at.isoformat() if self.last_webhook_at else None),
        }

    @callback
    def async_add_listener(self, listener: TransitionListener) -> CALLBACK_TYPE:
        """Call `listener` with the transitions of every change; returns the remover."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    @callback
    def _commit(self, transitions: list[AlertTransition], changed: bool) -> None:
        if not changed:
            return
        self._dirty = True
        self._storage.async_delay_save(self._stored, STORE_SAVE_DELAY)
        for listener in list(self._listeners):
            listener(transitions)

    # Applying what Alertmanager says

    @callback
    def async_apply_webhook(
        self, alerts: Iterable[IncomingAlert], group_key: str, truncated: int, now: datetime
    ) -> list[AlertTransition]:
        """Apply one webhook delivery; returns what changed for users."""
        self.last_webhook_at = now
        transitions: list[AlertTransition] = []
        changed = False
        for incoming in alerts:
            changed |= self._apply(incoming, now, transitions)
        if self.truncated.get(group_key, 0) != truncated:
            changed = True
            if truncated:
                self.truncated[group_key] = truncated
            else:
                self.truncated.pop(group_key, None)
        changed |= self._prune_history(now)
        self._commit(transitions, changed)
        return transitions

    @callback
    def async_apply_reconciliation(
        self,
        alerts: list[IncomingAlert],
        silences: list[Silence],
        requested_at: datetime,
        now: datetime,
    ) -> list[AlertTransition]:
        """Make the store match Alertmanager's own view, read at `requested_at`."""
        transitions: list[AlertTransition] = []
        changed = False
        present: set[str] = set()
        for incoming in alerts:
            present.add(incoming.fingerprint)
            changed |= self._apply(incoming, now, transitions)
        for fingerprint, alert in list(self.active.items()):
            # An alert first seen after the request was made is newer than the answer.
            if fingerprint not in present and alert.first_seen < requested_at:
                changed |= self._resolve(alert, alert.ends_at, now, transitions)
        known = {silence.id: silence for silence in silences}
        if known != self.silences:
            self.silences = known
            changed = True
        if self.truncated:
            # Alertmanager's full list has now been read: nothing is missing any more.
            self.truncated.clear()
            changed = True
        changed |= self._prune_history(now)
        self._commit(transitions, changed)
        return transitions

    def _apply(
        self, incoming: IncomingAlert, now: datetime, transitions: list[AlertTransition]
    ) -> bool:
        current = self.active.get(incoming.fingerprint)
        if incoming.status is AlertStatus.FIRING:
            if (incoming.fingerprint, incoming.starts_at) in self.history:
                # A late delivery of an occurrence already resolved: it stays resolved, and
                # an older occurrence we still hold is over too.
                if current is not None and incoming.starts_at > current.starts_at:
                    return self._resolve(current, None, now, transitions)
                return False
            if current is None:
                return self._start(incoming, now, transitions)
            if incoming.starts_at == current.starts_at:
                return self._update(current, incoming, transitions)
            if incoming.starts_at > current.starts_at:
                self._resolve(current, None, now, transitions)
                return self._start(incoming, now, transitions)
            return False  # a stale firing of an older occurrence
        # resolved
        changed = False
        if current is not None:
            if incoming.starts_at == current.starts_at:
                current.labels = dict(incoming.labels)
                current.annotations = dict(incoming.annotations)
                return self._resolve(current, incoming.ends_at, now, transitions)
            if incoming.starts_at > current.starts_at:
                # A newer occurrence has come and gone: the one we hold is over too.
                changed = self._resolve(current, None, now, transitions)
        if (incoming.fingerprint, incoming.starts_at) in self.history:
            return changed
        # An occurrence that fired and resolved while we were not told: history only.
        alert = Alert.from_incoming(incoming, now)
        alert.resolved_at = now
        self.history[alert.key] = alert
        return True

    def _start(
        self, incoming: IncomingAlert, now: datetime, transitions: list[AlertTransition]
    ) -> bool:
        alert = Alert.from_incoming(incoming, now)
        self.active[alert.fingerprint] = alert
        transitions.append(AlertTransition(AlertEventType.FIRING, alert))
        if alert.silenced_by:
            transitions.append(AlertTransition(AlertEventType.SILENCED, alert))
        return True

    def _update(
        self, alert: Alert, incoming: IncomingAlert, transitions: list[AlertTransition]
    ) -> bool:
        changed = False
        if alert.labels != incoming.labels:
            alert.labels = dict(incoming.labels)
            changed = True
        if alert.annotations != incoming.annotations:
            alert.annotations = dict(incoming.annotations)
            changed = True
        if incoming.generator_url and alert.generator_url != incoming.generator_url:
            alert.generator_url = incoming.generator_url
            changed = True
        if incoming.inhibited_by is not None and alert.inhibited_by != list(incoming.inhibited_by):
            alert.inhibited_by = list(incoming.inhibited_by)
            changed = True
        if incoming.silenced_by is not None:
            changed |= self._set_silenced_by(alert, list(incoming.silenced_by), transitions)
        return changed

    def _resolve(
        self,
        alert: Alert,
        ends_at: datetime | None,
        now: datetime,
        transitions: list[AlertTransition],
    ) -> bool:
        del self.active[alert.fingerprint]
        alert.status = AlertStatus.RESOLVED
        alert.ends_at = ends_at or now
        alert.resolved_at = now
        self.history[alert.key] = alert
        transitions.append(AlertTransition(AlertEventType.RESOLVED, alert))
        return True

    def _set_silenced_by(
        self, alert: Alert, silence_ids: list[str], transitions: list[AlertTransition]
    ) -> bool:
        if sorted(alert.silenced_by) == sorted(silence_ids):
            return False
        was_silenced = alert.silenced
        alert.silenced_by = silence_ids
        if alert.silenced and not was_silenced:
            transitions.append(AlertTransition(AlertEventType.SILENCED, alert))
        elif was_silenced and not alert.silenced:
            transitions.append(AlertTransition(AlertEventType.UNSILENCED, alert))
        return True

    def _prune_history(self, now: datetime) -> bool:
        cutoff = now - self._history_retention
        stale = [key for key, alert in self.history.items() if (alert.resolved_at or now) < cutoff]
        for key in stale:
            del self.history[key]
        overflow = len(self.history) - HISTORY_MAX_OCCURRENCES
        if overflow > 0:
            oldest = sorted(self.history, key=lambda k: self.history[k].resolved_at or now)
            for key in oldest[:overflow]:
                del self.history[key]
        return bool(stale) or overflow > 0

    # What users do

    @callback
    def async_acknowledge(self, fingerprint: str, by: str, now: datetime) -> Alert:
        """Mark a firing alert as acknowledged by a person; KeyError when it is not firing."""
        alert = self.active[fingerprint]
        alert.acknowledged_by = by
        alert.acknowledged_at = now
        self._commit([AlertTransition(AlertEventType.ACKNOWLEDGED, alert)], True)
        return alert

    @callback
    def async_add_silence(self, silence: Silence, fingerprint: str | None) -> None:
        """Record a silence just created (for an alert, or by matchers)."""
        self.silences[silence.id] = silence
        transitions: list[AlertTransition] = []
        if fingerprint is not None and (alert := self.active.get(fingerprint)) is not None:
            self._set_silenced_by(alert, [*alert.silenced_by, silence.id], transitions)
        self._commit(transitions, True)

    @callback
    def async_remove_silence(self, silence_id: str) -> None:
        """Forget an expired silence and unmute the alerts it muted."""
        transitions: list[AlertTransition] = []
        changed = self.silences.pop(silence_id, None) is not None
        for alert in self.active.values():
            if silence_id in alert.silenced_by:
                remaining = [s for s in alert.silenced_by if s != silence_id]
                changed |= self._set_silenced_by(alert, remaining, transitions)
        self._commit(transitions, changed)

    @property
    def truncated_alerts(self) -> int:
        """Alerts Alertmanager left out of deliveries since the last full reconciliation."""
        return sum(self.truncated.values())
