"""Network anomalies as Alertmanager alerts, posted the way Prometheus posts its alerts.

Posting to `/api/v2/alerts` of every loaded Alertmanager entry sends the anomalies down the same
path as every other alert: Alertmanager groups, routes and delivers them to Home Assistant's
webhook, where they are stored, notified, acknowledged and silenced like the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..alertmanager.client import AlertmanagerClient, AlertmanagerError, PostableAlert
from ..const import CONF_KIND, DOMAIN, LOGGER, SourceKind
from ..runtime import HomelabAgentsConfigEntry
from .models import Anomaly

if TYPE_CHECKING:
    from ..alertmanager.runtime import AlertmanagerRuntime

ALERTNAME = "HomelabNetworkAnomaly"
SEVERITY = "warning"
REPOST_INTERVAL = timedelta(seconds=60)
# A firing anomaly's endsAt: Alertmanager resolves it by itself when Home Assistant stops
# re-posting (stopped, crashed, option turned off), as it does for a vanished Prometheus.
ALERT_VALIDITY = timedelta(minutes=5)
MAX_PENDING_RESOLUTIONS = 500


def alert_labels(anomaly: Anomaly, instance: str) -> dict[str, str]:
    """The labels that identify an anomaly's alert in Alertmanager."""
    labels = {
        "alertname": ALERTNAME,
        "severity": SEVERITY,
        "source": anomaly.source,
        "anomaly": anomaly.anomaly.value,
        "key": anomaly.key,
    }
    if instance:
        labels["instance"] = instance
    return labels


def postable(anomaly: Anomaly, instance: str, ends_at: datetime) -> PostableAlert:
    """An anomaly as Alertmanager takes it; `ends_at` in the past resolves it."""
    return {
        "labels": alert_labels(anomaly, instance),
        "annotations": {
            "summary": anomaly.explanation,
            "description": (
                f"{anomaly.explanation}. Detected by {instance or anomaly.source} at "
                f"{dt_util.as_local(anomaly.detected_at).isoformat(timespec='seconds')} "
                f"({anomaly.anomaly.value}, key {anomaly.key})."
            ),
        },
        "startsAt": anomaly.detected_at.isoformat(),
        "endsAt": ends_at.isoformat(),
    }


class AnomalyAlerter:
    """Posts active anomalies (and resolutions) to every loaded Alertmanager entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: HomelabAgentsConfigEntry,
        active: Callable[[], Iterable[Anomaly]],
    ) -> None:
        """Post for `entry`; `active` returns the anomalies firing now."""
        self._hass = hass
        self._entry = entry
        self._active = active
        self._resolutions: dict[tuple[str, str], PostableAlert] = {}
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._failing: set[str] = set()  # Alertmanager entries whose last post failed
        self.last_post_at: datetime | None = None
        self.last_error: str | None = None

    @property
    def pending_resolutions(self) -> int:
        """Resolutions not yet accepted by every Alertmanager."""
        return len(self._resolutions)

    @callback
    def async_resolved(self, anomalies: Iterable[Anomaly], now: datetime) -> None:
        """Queue resolutions; they are posted until every Alertmanager took them."""
        for anomaly in anomalies:
            alert = postable(anomaly, self._entry.title, now)
            self._resolutions[(anomaly.anomaly.value, anomaly.key)] = alert
        while len(self._resolutions) > MAX_PENDING_RESOLUTIONS:
            del self._resolutions[next(iter(self._resolutions))]

    @callback
    def async_post_soon(self) -> None:
        """Post now in the background (once more after the post in flight, if any)."""
        if self._task is not None:
            self._again = True
            return
        task = self._entry.async_create_background_task(
            self._hass, self._post_until_done(), f"{DOMAIN} network anomaly alerts"
        )
        # The task starts eagerly and may already be done (nothing to post, nowhere to post).
        self._task = None if task.done() else task

    async def _post_until_done(self) -> None:
        try:
            while True:
                self._again = False
                await self._post()
                if not self._again:
                    return
        finally:
            self._task = None

    def _targets(self) -> list[tuple[str, str, AlertmanagerClient]]:
        targets = []
        for entry in self._hass.config_entries.async_loaded_entries(DOMAIN):
            if entry.data.get(CONF_KIND) == SourceKind.ALERTMANAGER:
                runtime = cast("AlertmanagerRuntime", entry.runtime_data)
                targets.append((entry.entry_id, entry.title, runtime.client))
        return targets

    async def _post(self) -> None:
        targets = self._targets()
        now = dt_util.utcnow()
        ends_at = now + ALERT_VALIDITY
        title = self._entry.title
        active = list(self._active())
        # Raised again before its resolution was posted: one alert that goes on firing.
        for anomaly in active:
            self._resolutions.pop((anomaly.anomaly.value, anomaly.key), None)
        resolutions = dict(self._resolutions)
        alerts = [postable(a, title, ends_at) for a in active]
        alerts += resolutions.values()
        if not targets or not alerts:
            return
        delivered = True
        for entry_id, am_title, client in targets:
            try:
                await client.post_alerts(alerts)
            except AlertmanagerError as err:
                delivered = False
                self.last_error = f"{am_title}: {err}"
                if entry_id not in self._failing:
                    self._failing.add(entry_id)
                    LOGGER.warning(
                        "Could not post network anomalies of %s to Alertmanager %s (%s); "
                        "retrying every %d seconds",
                        title,
                        am_title,
                        err,
                        REPOST_INTERVAL.total_seconds(),
                    )
                continue
            if entry_id in self._failing:
                self._failing.discard(entry_id)
                LOGGER.info("Posting network anomalies to Alertmanager %s works again", am_title)
        self.last_post_at = now
        if delivered:
            self.last_error = None
            for key, alert in resolutions.items():
                if self._resolutions.get(key) is alert:
                    del self._resolutions[key]

    async def async_stop(self) -> None:
        """Stop posting; what Alertmanager holds ends by itself (`ALERT_VALIDITY`)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def diagnostics(self) -> dict[str, Any]:
        """Posting state, without URLs or credentials."""
        return {
            "targets": [title for _, title, _ in self._targets()],
            "last_post_at": self.last_post_at,
            "last_error": self.last_error,
            "pending_resolutions": self.pending_resolutions,
        }
