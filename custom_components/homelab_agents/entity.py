"""Base entity shared by every source kind."""

from __future__ import annotations

from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import DOMAIN


class HomelabEntity(Entity):
    """An entity of a homelab system; names come from translation keys."""

    _attr_has_entity_name = True

    def __init__(
        self, description: EntityDescription, unique_prefix: str, device_info: DeviceInfo
    ) -> None:
        """Identify the entity by a stable prefix and its description's key."""
        self.entity_description = description
        self._attr_unique_id = f"{unique_prefix}_{description.key}"
        self._attr_device_info = device_info


def device_ref(identifier: str) -> DeviceInfo:
    """Link an entity to a device its runtime registered (parents before children)."""
    return DeviceInfo(identifiers={(DOMAIN, identifier)})


class ChangeOnlyCoordinatorEntity[CoordinatorT: DataUpdateCoordinator[Any]](
    CoordinatorEntity[CoordinatorT]
):
    """A polled entity that writes its state only when what it shows changed.

    A poll of an unchanged cluster or server then writes nothing to the state machine (and
    nothing to the recorder), whatever the number of entities.
    """

    _attr_has_entity_name = True
    _written: tuple[Any, ...] | None = None

    @callback
    def _handle_coordinator_update(self) -> None:
        shown = (self.available, self.state, self.extra_state_attributes)
        if shown != self._written:
            self._written = shown
            self.async_write_ha_state()

    async def async_added_to_hass(self) -> None:
        """Remember what the first write shows."""
        await super().async_added_to_hass()
        self._written = (self.available, self.state, self.extra_state_attributes)
