"""Faults between Home Assistant and the engine, injected by a stand-in proxying to Podman."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.podman import Engine, PodmanService

from .helpers import entity_id, refresh, setup_entry
from .standin import EngineStandIn


@pytest.fixture
async def proxy(podman: PodmanService) -> AsyncGenerator[EngineStandIn]:
    """The engine on tcp://, through a stand-in that can answer otherwise."""
    standin = EngineStandIn(podman.socket_path, tls=False)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
def proxy_entry(proxy: EngineStandIn, engine_id: str) -> MockConfigEntry:
    """An entry reaching the engine through the stand-in."""
    return MockConfigEntry(
        domain="homelab_agents",
        title="Docker proxied",
        unique_id=f"docker:{engine_id}",
        data={"kind": "docker", "url": proxy.url, "verify_ssl": True},
        options={"stats_interval": 30},
    )


async def _call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        "homelab_agents", service, data, blocking=True, return_response=True
    )


@pytest.mark.parametrize(
    ("status", "key"),
    [(409, "container_conflict"), (500, "container_action_failed")],
)
async def test_engine_conflict_and_server_error_on_actions(
    hass: HomeAssistant,
    *,
    engine: Engine,
    proxy: EngineStandIn,
    proxy_entry: MockConfigEntry,
    status: int,
    key: str,
) -> None:
    """409 (Docker's answer for a paused or removing container) and 500: the engine's reason."""
    await engine.create("app", start=False)
    await setup_entry(hass, proxy_entry)
    proxy.answer = (status, {"message": "container is marked for removal"})
    with pytest.raises(HomeAssistantError, match="marked for removal") as raised:
        await _call(hass, "start_container", container="app")
    assert raised.value.translation_key == key


async def test_odd_answers_during_polls(
    hass: HomeAssistant, engine: Engine, proxy: EngineStandIn, proxy_entry: MockConfigEntry
) -> None:
    """Inspect or stats failing for one container costs only its figures.

    A broken list or a non-JSON answer fails the poll (entities unavailable) until the engine
    answers again.
    """
    app = await engine.create("app")
    await setup_entry(hass, proxy_entry)
    await refresh(hass, proxy_entry)
    memory = entity_id(hass, proxy_entry, "name:app", "memory_used")
    assert hass.states.get(memory).state != "unknown"

    other = await engine.create("other")
    proxy.overrides = {
        f"/containers/{other}/json": (404, {"message": "no such container"}),
        f"/containers/{app}/stats": (500, {"message": "cgroup gone"}),
    }
    await refresh(hass, proxy_entry)
    data = proxy_entry.runtime_data.coordinator.data
    assert data.containers["name:other"].details is None
    assert data.containers["name:app"].stats is None
    assert hass.states.get(memory).state == "unknown"

    proxy.overrides = {"/containers/json": {"not": "a list"}}
    await refresh(hass, proxy_entry)
    assert hass.states.get(memory).state == "unavailable"
    proxy.overrides = {"/containers/json": "<html>maintenance</html>"}
    await refresh(hass, proxy_entry)
    assert not proxy_entry.runtime_data.coordinator.last_update_success
    proxy.overrides = {}
    await refresh(hass, proxy_entry)
    assert hass.states.get(entity_id(hass, proxy_entry, "name:app", "running")).state == "on"


async def test_targets_several_and_ambiguous(
    hass: HomeAssistant,
    engine: Engine,
    docker_entry: MockConfigEntry,
    proxy_entry: MockConfigEntry,
) -> None:
    """Targets: two entities, a name two hosts know, a removed container's device.

    Two switches give two stop requests and two restarts; the shared name is ambiguous; the
    removed container is unknown.
    """
    await engine.create("one")
    await engine.create("two")
    await setup_entry(hass, docker_entry)
    switches = [entity_id(hass, docker_entry, f"name:{n}", "running") for n in ("one", "two")]
    requested = await _call(hass, "stop_container", entity_id=switches)
    assert len(requested["actions"]) == 2
    restarted = await _call(hass, "restart_container", entity_id=switches)
    assert [r["container"] for r in restarted["results"]] == ["one", "two"]

    proxy_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(proxy_entry, unique_id="docker:proxied")
    await setup_entry(hass, proxy_entry)
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, "start_container", container="one")
    assert raised.value.translation_key == "ambiguous_container"

    device = dr.async_get(hass).async_get_device_by_identifier(
        ("homelab_agents", f"{docker_entry.unique_id}/container/name:two"),
        docker_entry.entry_id,
    )
    assert device is not None
    await engine.call("DELETE", "/containers/two", force="true", t="0")
    await refresh(hass, docker_entry)
    for service in ("restart_container", "stop_container"):
        with pytest.raises(ServiceValidationError) as raised:
            await _call(hass, service, device_id=device.id)
        assert raised.value.translation_key == "unknown_container"


async def test_unreadable_certificate_at_start(hass: HomeAssistant, proxy: EngineStandIn) -> None:
    """A client certificate file gone from disk: the entry fails with a clear error."""
    entry = MockConfigEntry(
        domain="homelab_agents",
        unique_id="docker:tls",
        data={
            "kind": "docker",
            "url": "https://127.0.0.1:2376",
            "verify_ssl": True,
            "client_cert": "/nonexistent/cert.pem",
            "client_key": "/nonexistent/key.pem",
        },
    )
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_ERROR


async def test_dedicated_session_closes_with_home_assistant(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """The socket's own session is closed at Home Assistant's close; unloading stays clean."""
    await setup_entry(hass, docker_entry)
    client = docker_entry.runtime_data.client
    hass.bus.async_fire(EVENT_HOMEASSISTANT_CLOSE)
    await hass.async_block_till_done()
    assert client._session.closed
    assert await hass.config_entries.async_unload(docker_entry.entry_id)
