"""A simulated UniFi console and an entry for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
import contextlib
import shutil
import threading
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.tls import generate_self_signed
from simulators.unifi import UnifiSimulator


@pytest.fixture(autouse=True, scope="session")
def certificate_before_frozen_time() -> None:
    """Make the process's first certificate with real time.

    cryptography remembers the datetime class it first sees; were that frozen time's fake
    class, certificates made later with real time would be refused.
    """
    certificate = generate_self_signed()
    shutil.rmtree(certificate.cert_path.parent, ignore_errors=True)


@pytest.fixture
async def unifi() -> AsyncGenerator[UnifiSimulator]:
    """A UniFi OS console with one site and sixteen clients."""
    async with UnifiSimulator(seed=1) as sim:
        yield sim


@contextlib.asynccontextmanager
async def unifi_in_thread(**options: Any) -> AsyncIterator[UnifiSimulator]:
    """A simulator on its own loop: a refused TLS handshake then resets there, not in HA's."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    sim = UnifiSimulator(**options)
    try:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(sim.start(), loop))
        yield sim
    finally:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(sim.stop(), loop))
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@pytest.fixture
async def other_unifi() -> AsyncGenerator[UnifiSimulator]:
    """A second console: another controller id and site id."""
    async with UnifiSimulator(seed=7) as sim:
        yield sim


@pytest.fixture
async def limited_unifi() -> AsyncGenerator[UnifiSimulator]:
    """A console that allows one login a minute and then blocks logins for two minutes."""
    async with UnifiSimulator(seed=1, login_limit=1, login_retry_after=120) as sim:
        yield sim


def unifi_data(sim: UnifiSimulator, **changes: Any) -> dict[str, Any]:
    """What the user enters for the simulator."""
    return {
        "host": sim.host,
        "port": sim.port,
        "username": sim.username,
        "password": sim.password,
        "site": "default",
        "verify_ssl": False,
        **changes,
    }


def unifi_entry_for(
    sim: UnifiSimulator,
    options: dict[str, Any] | None = None,
    title: str = "UniFi udm-pro (Default)",
) -> MockConfigEntry:
    """An entry as the config flow makes it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=f"{sim.controller_id}/{sim.site_id()}",
        data={"kind": "unifi", "controller_id": sim.controller_id, **unifi_data(sim)},
        options=options or {},
    )


@pytest.fixture
def unifi_options() -> dict[str, Any]:
    """Options of the UniFi entry (alerts off: no Alertmanager entry in these tests)."""
    return {"anomaly_alerts": False}


@pytest.fixture
def unifi_entry(unifi: UnifiSimulator, unifi_options: dict[str, Any]) -> MockConfigEntry:
    """The entry of the simulated console."""
    return unifi_entry_for(unifi, unifi_options)


@pytest.fixture
async def setup_unifi(hass: HomeAssistant, unifi_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry, set up."""
    unifi_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(unifi_entry.entry_id)
    await hass.async_block_till_done()
    return unifi_entry
