"""The voice blueprint for Docker containers and network anomalies, through Assist's default agent.

A real Podman engine and the Cloudflare simulator; no Proxmox entry, so the guest sentences fall
back to containers.
"""

from __future__ import annotations

from datetime import timedelta
import random

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.cloudflare import CloudflareSimulator
from simulators.podman import Engine

from ..docker import conftest as docker_fixtures
from ..docker.helpers import setup_entry
from ..network.cloudflare import conftest as cloudflare_fixtures
from ..network.conftest import polls, query_sample, seasonal

# The engine and the simulator, as their own tests use them.
allow_unix_sockets = docker_fixtures.allow_unix_sockets
podman = docker_fixtures.podman
engine_id = docker_fixtures.engine_id
engine = docker_fixtures.engine
docker_options = docker_fixtures.docker_options
docker_entry = docker_fixtures.docker_entry
cloudflare = cloudflare_fixtures.cloudflare
cloudflare_options = cloudflare_fixtures.cloudflare_options
cloudflare_entry = cloudflare_fixtures.cloudflare_entry


async def _say(hass: HomeAssistant, text: str) -> str:
    result = await hass.services.async_call(
        "conversation",
        "process",
        {"text": text, "language": "en"},
        blocking=True,
        return_response=True,
    )
    return str(result["response"]["speech"]["plain"]["speech"])


async def _voice(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "homelab_agents", {})  # installs the blueprints
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(
        hass,
        "automation",
        {"automation": {"use_blueprint": {"path": "homelab_agents/voice_homelab.yaml"}}},
    )
    await hass.async_block_till_done()


async def test_containers_by_voice(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """Restart and start a container by name; stop only after "confirm" from the same speaker."""
    await engine.create("web")
    await engine.create("spare", start=False)
    await setup_entry(hass, docker_entry)
    await _voice(hass)

    before = (await engine.state("web"))["StartedAt"]
    assert await _say(hass, "restart web") == "web restarted."
    assert (await engine.state("web"))["StartedAt"] != before
    assert await _say(hass, "start the container spare") == "spare started."
    assert (await engine.state("spare"))["Running"]

    answer = await _say(hass, "stop web")
    assert (
        answer
        == "Stop container web on Docker podman-host is ready. Say confirm to do it, or cancel."
    )
    assert (await engine.state("web"))["Running"]
    assert await _say(hass, "confirm") == "Done: Stop container web on Docker podman-host."
    assert not (await engine.state("web"))["Running"]
    assert await _say(hass, "stop nothing-here") == (
        "I could not find a guest or container called nothing-here."
    )
    assert await _say(hass, "restart nothing-here") == (
        "I could not find a guest or container called nothing-here, or it refused."
    )


async def test_network_anomalies_by_voice(
    hass: HomeAssistant, cloudflare: CloudflareSimulator, cloudflare_entry: MockConfigEntry
) -> None:
    """None, then the explanation of a flagged spike; an unreachable source is named."""
    await _voice(hass)
    assert await _say(hass, "are there any network anomalies") == "No network source is set up."

    cloudflare_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(cloudflare_entry.entry_id)
    await hass.async_block_till_done()
    assert await _say(hass, "how is the network") == "No network anomalies."

    monitor = cloudflare_entry.runtime_data.monitor
    rng = random.Random(5)
    start = dt_util.utcnow() - timedelta(hours=50)
    for moment in polls(start, timedelta(hours=50)):
        monitor.async_process([query_sample("probe", seasonal(rng, moment, 200))], [], moment)
    (raised,) = monitor.async_process([query_sample("probe", 5_000)], [], dt_util.utcnow())
    assert await _say(hass, "are there network anomalies") == (
        f"1 network anomaly: {raised.explanation}."
    )

    cloudflare.force_rate_limit(600)
    await cloudflare_entry.runtime_data.coordinator.async_refresh()
    assert (await _say(hass, "how is the network")).endswith(" Unreachable: Cloudflare Homelab.")
