"""S2 across kinds: Pi-hole, Tailscale, Cloudflare and UniFi at once; one down, the rest update."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from simulators.pihole import PiholeSimulator
from simulators.tailscale import TailscaleSimulator


def _states(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """The polled entities' states (the anomaly monitor's own entities keep what they know)."""
    registry = er.async_get(hass)
    return {
        entity.entity_id: hass.states.get(entity.entity_id).state
        for entity in er.async_entries_for_config_entry(registry, entry.entry_id)
        if not entity.disabled
        and "network_anomaly" not in entity.entity_id
        and hass.states.get(entity.entity_id) is not None
    }


async def test_one_source_down_leaves_the_others_updating(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    *,
    pihole: PiholeSimulator,
    pihole_entry: MockConfigEntry,
    tailscale_sim: TailscaleSimulator,
    tailscale_entry: MockConfigEntry,
    cloudflare_entry: MockConfigEntry,
    unifi_entry: MockConfigEntry,
) -> None:
    """The Pi-hole goes away: only its entities go unavailable; a tailnet change still shows."""
    entries = [pihole_entry, tailscale_entry, cloudflare_entry, unifi_entry]
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert all(entry.state is ConfigEntryState.LOADED for entry in entries)
    others = entries[1:]

    await pihole.stop()
    tailscale_sim.take_offline("nas")
    freezer.tick(timedelta(minutes=10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert not pihole_entry.runtime_data.coordinator.last_update_success
    assert set(_states(hass, pihole_entry).values()) == {STATE_UNAVAILABLE}
    for entry in others:
        assert entry.runtime_data.coordinator.last_update_success, entry.title
        states = _states(hass, entry)
        assert states, entry.title
        assert STATE_UNAVAILABLE not in states.values(), (entry.title, states)
    assert hass.states.get("binary_sensor.nas_online").state == "off"
