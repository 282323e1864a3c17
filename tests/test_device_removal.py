"""Which devices a user may delete: only those whose object the source no longer has."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents import async_remove_config_entry_device


async def test_a_service_device_of_a_running_entry_stays(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The Alertmanager's own device cannot be deleted while its entry runs; unloaded, it can."""
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), init_integration.entry_id)
    assert not await async_remove_config_entry_device(hass, init_integration, device)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert await async_remove_config_entry_device(hass, init_integration, device)
