"""A running PVE simulator and an entry pointing at it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.pve import PveSimulator


@pytest.fixture
def simulator_size() -> dict[str, int]:
    """Nodes and guests per node of the simulated cluster."""
    return {"nodes": 3, "guests_per_node": 2}


@pytest.fixture
async def pve(simulator_size: dict[str, int]) -> AsyncGenerator[PveSimulator]:
    """A Proxmox VE cluster on 127.0.0.1 with quick tasks and frozen figures."""
    async with PveSimulator(
        **simulator_size, storages=1, task_duration=0.05, freeze_figures=True, seed=2
    ) as simulator:
        yield simulator


@pytest.fixture
def proxmox_options() -> dict[str, Any]:
    """Options of the Proxmox entry."""
    return {"task_timeout": 5}


@pytest.fixture
def proxmox_entry(pve: PveSimulator, proxmox_options: dict[str, Any]) -> MockConfigEntry:
    """An entry with the simulator's API token."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Proxmox VE homelab",
        unique_id="cluster:homelab",
        data={
            "kind": "proxmox_ve",
            "host": pve.host,
            "port": pve.port,
            "username": pve.token.user,
            "token_id": pve.token.token_id,
            "token_secret": pve.token.secret,
            "verify_ssl": False,
        },
        options=proxmox_options,
    )


@pytest.fixture
async def setup_proxmox(hass: HomeAssistant, proxmox_entry: MockConfigEntry) -> MockConfigEntry:
    """The integration set up with the Proxmox entry."""
    proxmox_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(proxmox_entry.entry_id)
    await hass.async_block_till_done()
    return proxmox_entry
