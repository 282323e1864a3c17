"""The anomaly entities a network source shows on its own device: a problem sensor and events."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import callback

from ..entity import HomelabEntity
from .anomaly import Changes
from .models import Anomaly, AnomalyType

if TYPE_CHECKING:
    from .monitor import AnomalyMonitor

CLEARED: Final = "cleared"
MAX_SHOWN: Final = 20  # anomalies listed in the sensor's attributes (the recorder caps size)
EVENT_SLICE: Final = 25  # events written per turn of the event loop

PROBLEM = BinarySensorEntityDescription(
    key="network_anomaly",
    translation_key="network_anomaly",
    device_class=BinarySensorDeviceClass.PROBLEM,
)

EVENTS = EventEntityDescription(
    key="network_anomaly",
    translation_key="network_anomaly",
    event_types=[*(kind.value for kind in AnomalyType), CLEARED],
)


def shown(anomaly: Anomaly) -> dict[str, Any]:
    """An active anomaly as the problem sensor lists it."""
    return {
        "type": anomaly.anomaly.value,
        "key": anomaly.key,
        "label": anomaly.label,
        "observed": anomaly.observed,
        "expected_low": anomaly.expected_low,
        "expected_high": anomaly.expected_high,
        "unit": anomaly.unit,
        "since": anomaly.detected_at.isoformat(),
    }


def event_data(anomaly: Anomaly) -> dict[str, Any]:
    """What a raised or cleared event carries for automations and notifications."""
    return {
        "anomaly": anomaly.anomaly.value,
        "key": anomaly.key,
        "label": anomaly.label,
        "observed": anomaly.observed,
        "expected_low": anomaly.expected_low,
        "expected_high": anomaly.expected_high,
        "unit": anomaly.unit,
        "explanation": anomaly.explanation,
        "source": anomaly.source,
        "detected_at": anomaly.detected_at.isoformat(),
    }


class AnomalyEntity(HomelabEntity):
    """An entity of a source's anomaly monitor, on the source's device."""

    _attr_should_poll = False

    def __init__(self, monitor: AnomalyMonitor, description: Any) -> None:
        """Attach to the device the monitor was given."""
        super().__init__(description, monitor.entry.entry_id, monitor.device_info)
        self.monitor = monitor


class AnomalyProblemSensor(AnomalyEntity, BinarySensorEntity):
    """On while any anomaly is active; lists the newest of them."""

    def __init__(self, monitor: AnomalyMonitor) -> None:
        """Show the monitor's active anomalies."""
        super().__init__(monitor, PROBLEM)
        self._evaluate()

    async def async_added_to_hass(self) -> None:
        """Follow the monitor (it calls only when an anomaly was raised or cleared)."""
        await super().async_added_to_hass()
        self.async_on_remove(self.monitor.async_add_listener(self._changed))

    def _evaluate(self) -> None:
        active = self.monitor.active[::-1]  # newest first
        self._attr_is_on = bool(active)
        self._attr_extra_state_attributes = {
            "count": len(active),
            "anomalies": [shown(anomaly) for anomaly in active[:MAX_SHOWN]],
        }

    @callback
    def _changed(self, changes: Changes) -> None:
        self._evaluate()
        self.async_write_ha_state()


class AnomalyEventEntity(AnomalyEntity, EventEntity):
    """Fires one event per anomaly raised (its type) and per anomaly cleared (`cleared`)."""

    def __init__(self, monitor: AnomalyMonitor) -> None:
        """Announce the monitor's changes."""
        super().__init__(monitor, EVENTS)
        self._pending: deque[tuple[str, Anomaly]] = deque()
        self._drain: asyncio.Task[None] | None = None

    async def async_added_to_hass(self) -> None:
        """Follow the monitor."""
        await super().async_added_to_hass()
        self.async_on_remove(self.monitor.async_add_listener(self._changed))
        self.async_on_remove(self._cancel_drain)

    @callback
    def _changed(self, changes: Changes) -> None:
        events = [(CLEARED, a) for a in changes.cleared]
        events += [(a.anomaly.value, a) for a in changes.raised]
        if not self._pending and len(events) <= EVENT_SLICE:
            for event_type, anomaly in events:
                self._announce(event_type, anomaly)
            return
        # Many at once (a burst of new devices): announce in slices, never holding the loop.
        self._pending.extend(events)
        if self._drain is None:
            self._drain = self.hass.async_create_task(self._announce_pending())

    async def _announce_pending(self) -> None:
        try:
            while self._pending:
                for _ in range(min(EVENT_SLICE, len(self._pending))):
                    self._announce(*self._pending.popleft())
                await asyncio.sleep(0)
        finally:
            self._drain = None

    @callback
    def _cancel_drain(self) -> None:
        if self._drain is not None:
            self._drain.cancel()

    @callback
    def _announce(self, event_type: str, anomaly: Anomaly) -> None:
        self._trigger_event(event_type, event_data(anomaly))
        self.async_write_ha_state()
