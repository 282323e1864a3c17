"""Small helpers for the Docker tests."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

COMPOSE_WEB = {
    "com.docker.compose.project": "shop",
    "com.docker.compose.service": "web",
    "com.docker.compose.container-number": "1",
}


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and set up the entry."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """One poll now, as the 30 s timer would make it."""
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


def entity_id(hass: HomeAssistant, entry: MockConfigEntry, key: str, what: str) -> str:
    """The entity id of a container's (or, with key "engine", the engine's) entity."""
    identity = entry.unique_id
    unique_id = (
        f"{identity}_engine_{what}" if key == "engine" else f"{identity}_container_{key}_{what}"
    )
    platform = "switch" if what == "running" else "sensor"
    found = er.async_get(hass).async_get_entity_id(platform, "homelab_agents", unique_id)
    assert found is not None, unique_id
    return found
