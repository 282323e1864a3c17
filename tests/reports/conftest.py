"""A Proxmox VE simulator, an Alertmanager entry, and a report service caller."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.pve import PveSimulator

type ReportCaller = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def pve() -> AsyncGenerator[PveSimulator]:
    """Two nodes with two guests each and one storage, figures frozen."""
    async with PveSimulator(
        nodes=2, guests_per_node=2, storages=1, task_duration=0.05, freeze_figures=True, seed=2
    ) as simulator:
        yield simulator


@pytest.fixture
def proxmox_entry(pve: PveSimulator) -> MockConfigEntry:
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
        options={"task_timeout": 5},
    )


@pytest.fixture
async def setup_proxmox(hass: HomeAssistant, proxmox_entry: MockConfigEntry) -> MockConfigEntry:
    """The integration set up with the Proxmox entry."""
    proxmox_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(proxmox_entry.entry_id)
    await hass.async_block_till_done()
    return proxmox_entry


@pytest.fixture
def generate_report(hass: HomeAssistant) -> ReportCaller:
    """Call `generate_report` and return its response."""

    async def call(**data: Any) -> dict[str, Any]:
        response = await hass.services.async_call(
            DOMAIN, "generate_report", data, blocking=True, return_response=True
        )
        assert response is not None
        return dict(response)

    return call
