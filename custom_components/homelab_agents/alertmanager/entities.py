"""Alertmanager entities: alert counts, pipeline health, and the alert event entity.

Counts are written only when they change, so duplicate deliveries cause no state writes.
Alert lists stay out of attributes (the recorder drops attributes over 16 KiB); the
`list_alerts` service returns them instead.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.todo.const import TodoItemStatus, TodoListEntityFeature
from homeassistant.components.todo.entity import TodoItem, TodoListEntity
from homeassistant.const import CONF_URL, EntityCategory, Platform
from homeassistant.core import callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
from yarl import URL

from ..const import DOMAIN
from ..entity import HomelabEntity
from .models import Alert, AlertEventType
from .store import AlertStore, AlertTransition

if TYPE_CHECKING:
    from .runtime import AlertmanagerRuntime

_SUMMARY_MAX = 255
EVENT_SLICE = 25  # events written per turn of the event loop
PIPELINE_CHECK_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, kw_only=True)
class AlertCountDescription(SensorEntityDescription):
    """A count of firing alerts."""

    value_fn: Callable[[AlertStore], int]


def _count(predicate: Callable[[Alert], bool]) -> Callable[[AlertStore], int]:
    return lambda store: sum(1 for alert in store.active.values() if predicate(alert))


def _severity_count(severity: str) -> Callable[[AlertStore], int]:
    return _count(lambda alert: alert.severity == severity)


COUNT_SENSORS: tuple[AlertCountDescription, ...] = (
    AlertCountDescription(
        key="firing",
        translation_key="firing",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda store: len(store.active),
    ),
    *(
        AlertCountDescription(
            key=severity,
            translation_key=severity,
            state_class=SensorStateClass.MEASUREMENT,
            value_fn=_severity_count(severity),
        )
        for severity in ("critical", "warning", "info")
    ),
    AlertCountDescription(
        key="silenced",
        translation_key="silenced",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_count(lambda alert: alert.silenced),
    ),
    AlertCountDescription(
        key="acknowledged",
        translation_key="acknowledged",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_count(lambda alert: alert.acknowledged_by is not None),
    ),
    AlertCountDescription(
        key="truncated_alerts",
        translation_key="truncated_alerts",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda store: store.truncated_alerts,
    ),
)

PIPELINE = BinarySensorEntityDescription(
    key="pipeline",
    translation_key="pipeline",
    device_class=BinarySensorDeviceClass.PROBLEM,
    entity_category=EntityCategory.DIAGNOSTIC,
)

ALERT_EVENTS = EventEntityDescription(
    key="alert",
    translation_key="alert",
    event_types=[event_type.value for event_type in AlertEventType],
)


ALERT_LIST = EntityDescription(key="alerts", translation_key="alerts")


def build_entities(runtime: AlertmanagerRuntime, platform: Platform) -> list[Entity]:
    """The entry's entities of one platform."""
    if platform is Platform.TODO:
        return [AlertTodoList(runtime)]
    if platform is Platform.SENSOR:
        return [AlertCountSensor(runtime, description) for description in COUNT_SENSORS]
    if platform is Platform.BINARY_SENSOR:
        return [PipelineProblemSensor(runtime)]
    if platform is Platform.EVENT:
        return [AlertEventEntity(runtime)]
    return []


def _device_info(runtime: AlertmanagerRuntime) -> DeviceInfo:
    url = URL(runtime.entry.data[CONF_URL])
    return DeviceInfo(
        identifiers={(DOMAIN, runtime.entry.entry_id)},
        name=runtime.entry.title,
        manufacturer="Prometheus",
        model="Alertmanager",
        entry_type=DeviceEntryType.SERVICE,
        # Never show credentials embedded in the URL.
        configuration_url=str(url.with_user(None)),
    )


class AlertmanagerEntity(HomelabEntity):
    """An entity of an Alertmanager entry."""

    def __init__(self, runtime: AlertmanagerRuntime, description: Any) -> None:
        """Attach to the entry's Alertmanager device."""
        super().__init__(description, runtime.entry.entry_id, _device_info(runtime))
        self.runtime = runtime


class AlertCountSensor(AlertmanagerEntity, SensorEntity):
    """A count of firing alerts, written only when it changes."""

    entity_description: AlertCountDescription
    _attr_should_poll = False

    def __init__(self, runtime: AlertmanagerRuntime, description: AlertCountDescription) -> None:
        """Count from the entry's store."""
        super().__init__(runtime, description)
        self._attr_native_value = description.value_fn(runtime.store)

    async def async_added_to_hass(self) -> None:
        """Follow the store."""
        await super().async_added_to_hass()
        self.async_on_remove(self.runtime.store.async_add_listener(self._store_changed))

    @callback
    def _store_changed(self, transitions: list[AlertTransition]) -> None:
        value = self.entity_description.value_fn(self.runtime.store)
        if value != self._attr_native_value:
            self._attr_native_value = value
            self.async_write_ha_state()


class PipelineProblemSensor(AlertmanagerEntity, BinarySensorEntity):
    """On when alerts may not be reaching Home Assistant."""

    _attr_should_poll = False

    def __init__(self, runtime: AlertmanagerRuntime) -> None:
        """Judge from the store's heartbeat and the reconciliation coordinator."""
        super().__init__(runtime, PIPELINE)
        self._evaluate()

    async def async_added_to_hass(self) -> None:
        """Re-evaluate on changes and every minute (silence is what this sensor detects)."""
        await super().async_added_to_hass()
        self.async_on_remove(self.runtime.store.async_add_listener(self._changed))
        self.async_on_remove(self.runtime.coordinator.async_add_listener(self._changed))
        self.async_on_remove(
            async_track_time_interval(self.hass, self._changed, PIPELINE_CHECK_INTERVAL)
        )

    def _evaluate(self) -> bool:
        health = self.runtime.pipeline_health(dt_util.utcnow())
        attributes = {"reason": health.reason}
        if self._attr_is_on == health.problem and self._attr_extra_state_attributes == attributes:
            return False
        self._attr_is_on = health.problem
        self._attr_extra_state_attributes = attributes
        return True

    @callback
    def _changed(self, *_: Any) -> None:
        if self._evaluate():
            self.async_write_ha_state()


class AlertEventEntity(AlertmanagerEntity, EventEntity):
    """Fires firing, resolved, acknowledged, silenced and unsilenced with the alert's key fields."""

    _attr_should_poll = False

    def __init__(self, runtime: AlertmanagerRuntime) -> None:
        """Announce the entry's alert transitions."""
        super().__init__(runtime, ALERT_EVENTS)
        self._pending: deque[AlertTransition] = deque()
        self._drain: asyncio.Task[None] | None = None

    async def async_added_to_hass(self) -> None:
        """Follow the store."""
        await super().async_added_to_hass()
        self.async_on_remove(self.runtime.store.async_add_listener(self._store_changed))
        self.async_on_remove(self._cancel_drain)

    @callback
    def _store_changed(self, transitions: list[AlertTransition]) -> None:
        if not self._pending and len(transitions) <= EVENT_SLICE:
            for transition in transitions:
                self._announce(transition)
            return
        # A storm: announce in slices so one delivery never holds the event loop.
        self._pending.extend(transitions)
        if self._drain is None:
            self._drain = self.hass.async_create_task(self._announce_pending())

    async def _announce_pending(self) -> None:
        try:
            while self._pending:
                for _ in range(min(EVENT_SLICE, len(self._pending))):
                    self._announce(self._pending.popleft())
                await asyncio.sleep(0)
        finally:
            self._drain = None

    @callback
    def _cancel_drain(self) -> None:
        if self._drain is not None:
            self._drain.cancel()

    @callback
    def _announce(self, transition: AlertTransition) -> None:
        self._trigger_event(transition.event_type.value, event_attributes(transition.alert))
        self.async_write_ha_state()


def event_attributes(alert: Alert) -> dict[str, Any]:
    """The small, bounded set of alert fields an automation or notification needs."""
    annotations = alert.annotations
    summary = annotations.get("summary") or annotations.get("description") or ""
    return {
        "fingerprint": alert.fingerprint,
        "alertname": alert.alertname,
        "severity": alert.severity,
        "status": alert.status.value,
        "instance": alert.labels.get("instance"),
        "summary": summary[:_SUMMARY_MAX],
        "starts_at": alert.starts_at.isoformat(),
        "acknowledged_by": alert.acknowledged_by,
        "silenced_by": list(alert.silenced_by),
    }


_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


class AlertTodoList(AlertmanagerEntity, TodoListEntity):
    """Firing alerts as a to-do list: checking one off acknowledges it.

    Dashboards get a live list with a checkbox per alert from Home Assistant's own to-do card;
    the state is the number of unacknowledged alerts.
    """

    _attr_should_poll = False
    _attr_supported_features = TodoListEntityFeature.UPDATE_TODO_ITEM

    def __init__(self, runtime: AlertmanagerRuntime) -> None:
        """List the entry's firing alerts."""
        super().__init__(runtime, ALERT_LIST)
        self._shown = self._items_key()

    async def async_added_to_hass(self) -> None:
        """Follow the store."""
        await super().async_added_to_hass()
        self.async_on_remove(self.runtime.store.async_add_listener(self._store_changed))

    def _items_key(self) -> tuple[tuple[str, bool, str], ...]:
        return tuple(
            (a.fingerprint, a.acknowledged_by is not None, a.alertname) for a in self._alerts()
        )

    def _alerts(self) -> list[Alert]:
        return sorted(
            self.runtime.store.active.values(),
            key=lambda a: (_SEVERITY_ORDER.get(a.severity or "", 3), a.starts_at),
        )

    @property
    def todo_items(self) -> list[TodoItem]:
        """One item per firing alert, most severe first."""
        items = []
        for alert in self._alerts():
            where = alert.labels.get("instance")
            summary = f"{alert.severity or 'none'} {alert.alertname}"
            items.append(
                TodoItem(
                    uid=alert.fingerprint,
                    summary=f"{summary} · {where}" if where else summary,
                    description=alert.annotations.get("summary") or None,
                    status=(
                        TodoItemStatus.COMPLETED
                        if alert.acknowledged_by
                        else TodoItemStatus.NEEDS_ACTION
                    ),
                    completed=alert.acknowledged_at,
                )
            )
        return items

    async def async_update_todo_item(self, item: TodoItem) -> None:
        """Checking an alert off acknowledges it; acknowledgements cannot be undone here."""
        alert = self.runtime.store.active.get(item.uid or "")
        if alert is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_alert",
                translation_placeholders={"fingerprint": str(item.uid)},
            )
        if item.status == TodoItemStatus.NEEDS_ACTION and alert.acknowledged_by:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="unacknowledge_not_supported"
            )
        if item.status == TodoItemStatus.COMPLETED and not alert.acknowledged_by:
            by = "Home Assistant"
            if self._context and self._context.user_id:
                user = await self.hass.auth.async_get_user(self._context.user_id)
                by = user.name if user and user.name else by
            self.runtime.store.async_acknowledge(alert.fingerprint, by, dt_util.utcnow())

    @callback
    def _store_changed(self, transitions: list[AlertTransition]) -> None:
        shown = self._items_key()
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()
