"""A simulated Cloudflare account: two zones with traffic, two tunnels, a full-permission token."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.cloudflare import CloudflareSimulator, Token


@pytest.fixture
async def cloudflare() -> AsyncGenerator[CloudflareSimulator]:
    """Account "Homelab" with example.com (busy), homelab.example (quiet), tunnels home, lab."""
    sim = CloudflareSimulator(seed=7)
    account = sim.add_account("Homelab")
    sim.add_zone(account, "example.com", requests_per_hour=2_000)
    sim.add_zone(account, "homelab.example", requests_per_hour=300)
    sim.add_tunnel(account, "home")
    sim.add_tunnel(account, "lab")
    sim.add_token()
    async with sim:
        yield sim


def token_of(sim: CloudflareSimulator) -> Token:
    """The first token made (every permission, every account)."""
    return next(iter(sim.tokens.values()))


def entry_for(
    sim: CloudflareSimulator,
    options: dict[str, Any] | None = None,
    account_name: str = "Homelab",
    token: Token | None = None,
) -> MockConfigEntry:
    """An entry for one of the simulator's accounts."""
    account = next(a for a in sim.accounts.values() if a.name == account_name)
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Cloudflare {account_name}",
        unique_id=account.id,
        data={
            "kind": "cloudflare",
            "api_token": (token or token_of(sim)).value,
            "api_url": sim.api_url,
            "account_id": account.id,
        },
        options=options or {},
    )


@pytest.fixture
def cloudflare_options() -> dict[str, Any]:
    """Options of the Cloudflare entry."""
    return {}


@pytest.fixture
def cloudflare_entry(
    cloudflare: CloudflareSimulator, cloudflare_options: dict[str, Any]
) -> MockConfigEntry:
    """The entry of the account "Homelab"."""
    return entry_for(cloudflare, cloudflare_options)


@pytest.fixture
async def setup_cloudflare(
    hass: HomeAssistant, cloudflare_entry: MockConfigEntry
) -> MockConfigEntry:
    """The Cloudflare entry, set up."""
    cloudflare_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(cloudflare_entry.entry_id)
    await hass.async_block_till_done()
    return cloudflare_entry
