"""A simulated Pi-hole v6 and entries that point at it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.pihole import DEFAULT_APP_PASSWORD, PiholeSimulator


@pytest.fixture
async def pihole() -> AsyncGenerator[PiholeSimulator]:
    """A Pi-hole named `pihole` with a password, an app password and the default clients."""
    async with PiholeSimulator(hostname="pihole", seed=1) as sim:
        yield sim


@pytest.fixture
def pihole_options() -> dict[str, Any]:
    """Options of the Pi-hole entry: no Alertmanager to post anomalies to."""
    return {"sensitivity": "medium", "anomaly_alerts": False}


def pihole_entry_for(
    sim: PiholeSimulator,
    options: dict[str, Any] | None = None,
    password: str | None = DEFAULT_APP_PASSWORD,
) -> MockConfigEntry:
    """An entry of the simulated Pi-hole (app password, no TLS check)."""
    data: dict[str, Any] = {"kind": "pihole", "url": sim.url, "verify_ssl": False}
    if password is not None:
        data["password"] = password
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Pi-hole {sim.hostname}",
        unique_id=f"pihole:{sim.hostname}",
        data=data,
        options=options if options is not None else {"anomaly_alerts": False},
    )


@pytest.fixture
def pihole_entry(pihole: PiholeSimulator, pihole_options: dict[str, Any]) -> MockConfigEntry:
    """The Pi-hole entry."""
    return pihole_entry_for(pihole, pihole_options)


@pytest.fixture
async def setup_pihole(hass: HomeAssistant, pihole_entry: MockConfigEntry) -> MockConfigEntry:
    """The Pi-hole entry, set up."""
    pihole_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(pihole_entry.entry_id)
    await hass.async_block_till_done()
    return pihole_entry


def entity_id(hass: HomeAssistant, entry: MockConfigEntry, key: str, platform: str) -> str:
    """The entity id of one of the entry's entities, by its description key."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{entry.unique_id}_{key}")
    assert found is not None, key
    return found
