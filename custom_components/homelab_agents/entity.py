"""Base entity shared by every source kind."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription


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
