"""A running Tailscale API simulator and entries pointing at it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.tailscale import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    TailscaleSimulator,
)

TAILNET_DNS = "tail4e2a.ts.net"
# A Wednesday noon (UTC): servers, laptops and phones online, the evening desktop not.
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
async def tailscale_sim(freezer: FrozenDateTimeFactory) -> AsyncGenerator[TailscaleSimulator]:
    """A seeded tailnet on 127.0.0.1 whose clock is the frozen test clock, from `START`."""
    freezer.move_to(START)
    async with TailscaleSimulator(seed=7, tailnet_dns=TAILNET_DNS) as simulator:
        yield simulator


@pytest.fixture
def tailscale_options() -> dict[str, Any]:
    """Options of the Tailscale entry (alerts off: no Alertmanager entry in these tests)."""
    return {"anomaly_alerts": False}


@pytest.fixture
def tailscale_credentials() -> dict[str, str]:
    """An API key entry unless a test asks for the OAuth client."""
    return {"api_key": DEFAULT_API_KEY}


@pytest.fixture
def oauth_credentials() -> dict[str, str]:
    """The simulator's OAuth client."""
    return {"oauth_client_id": DEFAULT_CLIENT_ID, "oauth_client_secret": DEFAULT_CLIENT_SECRET}


@pytest.fixture
def tailscale_entry(
    tailscale_sim: TailscaleSimulator,
    tailscale_options: dict[str, Any],
    tailscale_credentials: dict[str, str],
) -> MockConfigEntry:
    """An entry for the simulated tailnet."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Tailscale {TAILNET_DNS}",
        unique_id=TAILNET_DNS,
        data={
            "kind": "tailscale",
            "api_url": tailscale_sim.url,
            "tailnet": "-",
            **tailscale_credentials,
        },
        options=tailscale_options,
    )


@pytest.fixture
async def setup_tailscale(hass: HomeAssistant, tailscale_entry: MockConfigEntry) -> MockConfigEntry:
    """The integration set up with the Tailscale entry."""
    tailscale_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(tailscale_entry.entry_id)
    await hass.async_block_till_done()
    return tailscale_entry
