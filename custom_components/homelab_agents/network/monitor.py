"""The anomaly monitor a network source owns: detector, stored baselines, entities, alerts.

A source's runtime creates one `AnomalyMonitor` per entry, awaits `async_load` before its first
poll, hands every successful poll's samples to `async_process`, adds `entities(platform)` for
BINARY_SENSOR and EVENT, and awaits `async_unload` when the entry unloads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Final

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, UnsupportedStorageVersionError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import probatio

from ..const import CONF_KIND, DOMAIN, LOGGER
from ..runtime import HomelabAgentsConfigEntry
from .alerting import REPOST_INTERVAL, AnomalyAlerter
from .anomaly import AnomalyDetector, Changes, Sensitivity, StoredDetector
from .entities import AnomalyEventEntity, AnomalyProblemSensor
from .models import Anomaly, MetricSample, PresenceSample

CONF_SENSITIVITY: Final = "sensitivity"  # "low" | "medium" | "high"
CONF_ANOMALY_ALERTS: Final = "anomaly_alerts"  # post anomalies to Alertmanager
DEFAULT_SENSITIVITY: Final = Sensitivity.MEDIUM.value
DEFAULT_ANOMALY_ALERTS: Final = True

STORAGE_VERSION: Final = 1
# Baselines change at most once per metric every ten minutes; losing a few minutes of them in
# a crash costs nothing, and Home Assistant's final write flushes them on a clean stop.
SAVE_DELAY: Final = 300  # seconds
HOUSEKEEPING_INTERVAL: Final = REPOST_INTERVAL
MAX_DIAGNOSTIC_KEYS: Final = 20


class _OptionFields(dict[Any, Any]):
    """Schema fields a source merges into its options schema (`.schema` reads like a Schema)."""

    @property
    def schema(self) -> dict[Any, Any]:
        """The fields themselves, as `probatio.Schema(...).schema` would return them."""
        return self


MONITOR_OPTIONS_SCHEMA: Final = _OptionFields(
    {
        probatio.Required(CONF_SENSITIVITY, default=DEFAULT_SENSITIVITY): SelectSelector(
            SelectSelectorConfig(
                options=[sensitivity.value for sensitivity in Sensitivity],
                translation_key=CONF_SENSITIVITY,
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        probatio.Required(CONF_ANOMALY_ALERTS, default=DEFAULT_ANOMALY_ALERTS): bool,
    }
)

type ChangeListener = Callable[[Changes], None]


def store_key(entry_id: str) -> str:
    """The storage key of one entry's baselines."""
    return f"{DOMAIN}.network_baselines.{entry_id}"


def unreadable_issue_id(entry_id: str) -> str:
    """The repair issue raised when an entry's stored baselines could not be read."""
    return f"network_baselines_unreadable_{entry_id}"


def _storage(hass: HomeAssistant, entry_id: str) -> Store[StoredDetector]:
    # Serialized in the event loop: the detector changes there, never under a writer thread.
    return Store(hass, STORAGE_VERSION, store_key(entry_id), serialize_in_event_loop=True)


def sensitivity_of(entry: HomelabAgentsConfigEntry) -> Sensitivity:
    """The entry's sensitivity option (medium when unset or unknown)."""
    try:
        return Sensitivity(entry.options.get(CONF_SENSITIVITY, DEFAULT_SENSITIVITY))
    except ValueError:
        return Sensitivity.MEDIUM


class AnomalyMonitor:
    """Learns a source's baselines, flags anomalies, shows and reports them."""

    def __init__(
        self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry, device_info: DeviceInfo
    ) -> None:
        """Prepare for `entry`; its entities attach to `device_info` (the source's device)."""
        self.hass = hass
        self.entry = entry
        self.device_info = device_info
        self.source = str(entry.data[CONF_KIND])
        self.sensitivity = sensitivity_of(entry)
        self.alerts_enabled = bool(entry.options.get(CONF_ANOMALY_ALERTS, DEFAULT_ANOMALY_ALERTS))
        self.detector = AnomalyDetector(self.source, self.sensitivity)
        self.alerter = AnomalyAlerter(hass, entry, lambda: self.active)
        self._storage = _storage(hass, entry.entry_id)
        self._save_scheduled = False
        self._listeners: list[ChangeListener] = []
        self._unsub_housekeeping: CALLBACK_TYPE | None = None
        self.loaded = False

    async def async_load(self) -> None:
        """Load stored baselines; unreadable ones start empty with a repair issue.

        Raises ConfigEntryError when the file was written by a newer version (left untouched).
        """
        try:
            stored = await self._storage.async_load()
        except UnsupportedStorageVersionError as err:
            raise ConfigEntryError(
                translation_domain=DOMAIN, translation_key="network_baselines_too_new"
            ) from err
        if stored is not None:
            try:
                self.detector.restore(stored)
            except (KeyError, ValueError, TypeError, AttributeError) as err:
                LOGGER.error(
                    "Stored network baselines of %s could not be read (%s); learning anew",
                    self.entry.title,
                    err,
                )
                ir.async_create_issue(
                    self.hass,
                    DOMAIN,
                    unreadable_issue_id(self.entry.entry_id),
                    is_fixable=False,
                    severity=ir.IssueSeverity.WARNING,
                    translation_key="network_baselines_unreadable",
                    translation_placeholders={
                        "title": self.entry.title,
                        "path": self._storage.path,
                    },
                )
            else:
                # Restored from a backup after the file was unreadable: nothing to repair.
                ir.async_delete_issue(self.hass, DOMAIN, unreadable_issue_id(self.entry.entry_id))
        self._unsub_housekeeping = async_track_time_interval(
            self.hass,
            self._housekeeping,
            HOUSEKEEPING_INTERVAL,
            name=f"{DOMAIN} network anomaly housekeeping",
            cancel_on_shutdown=True,
        )
        # Also when the source's setup fails after this (Home Assistant then runs on-unload
        # callbacks but never calls the runtime's async_unload).
        self.entry.async_on_unload(self._stop_housekeeping)
        self.loaded = True
        if self.alerts_enabled and self.detector.active:
            # Anomalies active before a restart go on firing in Alertmanager without a gap.
            self.alerter.async_post_soon()

    @callback
    def async_process(
        self,
        metrics: Iterable[MetricSample],
        presence: Iterable[PresenceSample],
        now: datetime | None = None,
    ) -> list[Anomaly]:
        """Judge and learn one successful poll; returns the anomalies it raised."""
        changes = self.detector.observe(metrics, presence, now or dt_util.utcnow())
        self._publish(changes, now)
        return changes.raised

    @callback
    def _housekeeping(self, now: datetime) -> None:
        changes = self.detector.expire(now)
        self._publish(changes, now)
        if (
            self.alerts_enabled
            and not changes
            and (self.detector.active or self.alerter.pending_resolutions)
        ):
            self.alerter.async_post_soon()

    @callback
    def _publish(self, changes: Changes, now: datetime | None) -> None:
        if self.detector.changed and not self._save_scheduled:
            self._save_scheduled = True
            self._storage.async_delay_save(self._stored, SAVE_DELAY)
        if not changes:
            return
        for listener in list(self._listeners):
            listener(changes)
        if self.alerts_enabled:
            self.alerter.async_resolved(changes.cleared, now or dt_util.utcnow())
            self.alerter.async_post_soon()

    def _stored(self) -> StoredDetector:
        self._save_scheduled = False
        return self.detector.stored()

    @callback
    def async_add_listener(self, listener: ChangeListener) -> CALLBACK_TYPE:
        """Call `listener` with every raise and clear; returns the remover."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    @property
    def active(self) -> list[Anomaly]:
        """The anomalies active now, oldest first."""
        return sorted(self.detector.active.values(), key=lambda anomaly: anomaly.detected_at)

    def entities(self, platform: Platform) -> list[Entity]:
        """The monitor's entities of one platform (problem sensor, event entity)."""
        if platform is Platform.BINARY_SENSOR:
            return [AnomalyProblemSensor(self)]
        if platform is Platform.EVENT:
            return [AnomalyEventEntity(self)]
        return []

    @callback
    def _stop_housekeeping(self) -> None:
        if self._unsub_housekeeping is not None:
            self._unsub_housekeeping()
            self._unsub_housekeeping = None

    async def async_unload(self) -> None:
        """Stop timers and posting, write what was learned; active anomalies stay as they are."""
        self._stop_housekeeping()
        await self.alerter.async_stop()
        if self.loaded and (self.detector.changed or self._save_scheduled):
            await self._storage.async_save(self._stored())

    def diagnostics(self) -> dict[str, Any]:
        """Options, what was learned (counts and a few keys), active anomalies, alerting."""
        detector = self.detector
        now = dt_util.utcnow().timestamp()
        return {
            "sensitivity": self.sensitivity.value,
            "anomaly_alerts": self.alerts_enabled,
            "loaded": self.loaded,
            "metrics": len(detector.metrics),
            "metrics_warm": sum(1 for m in detector.metrics.values() if m.warm(now)),
            "learned_values": sum(m.count for m in detector.metrics.values()),
            "devices": len(detector.devices),
            "presence_warm": detector.presence_warm(now),
            "metric_keys": sorted(detector.metrics)[:MAX_DIAGNOSTIC_KEYS],
            "active_count": len(detector.active),
            "active": [anomaly.as_dict() for anomaly in self.active[-MAX_DIAGNOSTIC_KEYS:]],
            "alerting": self.alerter.diagnostics() if self.alerts_enabled else None,
        }


async def async_remove_monitor_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete an entry's stored baselines (the entry was removed) and its repair issue."""
    await _storage(hass, entry_id).async_remove()
    ir.async_delete_issue(hass, DOMAIN, unreadable_issue_id(entry_id))


__all__ = [
    "CONF_ANOMALY_ALERTS",
    "CONF_SENSITIVITY",
    "MONITOR_OPTIONS_SCHEMA",
    "AnomalyMonitor",
    "async_remove_monitor_store",
]
