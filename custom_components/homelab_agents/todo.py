"""To-do list platform: each source kind adds its own entities."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .runtime import HomelabAgentsConfigEntry

# Coordinators and pushes update these entities; they never poll on their own.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HomelabAgentsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the entry's to-do lists."""
    entry.runtime_data.async_setup_platform(Platform.TODO, async_add_entities)
