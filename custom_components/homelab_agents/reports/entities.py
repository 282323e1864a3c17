"""The "last report" sensor: when the last report was generated, and which."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.sensor import RestoreSensor, SensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util import dt as dt_util

from ..const import SIGNAL_REPORT_GENERATED


class LastReportSensor(RestoreSensor):
    """Timestamp of the last `generate_report` call; attribute `kind`."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "last_report"

    def __init__(self, identity: str, device_info: DeviceInfo) -> None:
        """Attach to a device (a Proxmox VE cluster)."""
        self._attr_unique_id = f"{identity}_last_report"
        self._attr_device_info = device_info
        self._attr_native_value: datetime | None = None
        self._attr_extra_state_attributes = {"kind": None}

    async def async_added_to_hass(self) -> None:
        """Restore the last report's time, then follow new ones."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_sensor_data()) is not None:
            value = last.native_value
            self._attr_native_value = value if isinstance(value, datetime) else None
        if (state := await self.async_get_last_state()) is not None:
            self._attr_extra_state_attributes = {"kind": state.attributes.get("kind")}
        self.async_on_remove(
            async_dispatcher_connect(self.hass, SIGNAL_REPORT_GENERATED, self._generated)
        )

    @callback
    def _generated(self, report: dict[str, Any]) -> None:
        self._attr_native_value = dt_util.parse_datetime(report["generated_at"])
        self._attr_extra_state_attributes = {"kind": report["kind"]}
        self.async_write_ha_state()
