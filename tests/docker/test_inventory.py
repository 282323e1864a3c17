"""Containers of a real Podman engine as devices and entities: state, exit code, health, stats."""

from __future__ import annotations

import asyncio

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from simulators.podman import Engine

from .helpers import COMPOSE_WEB, entity_id, refresh, setup_entry


async def test_containers_become_devices_with_state_exit_code_and_health(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """Each container is a device; state, exit code, health and counts follow the engine."""
    await engine.create("shop-web-1", labels=COMPOSE_WEB)
    await engine.create("db", healthcheck=True)
    await engine.create("job", ["sh", "-c", "exit 3"])
    await engine.create("spare", start=False)
    assert await engine.wait_exited("job") == 3
    await setup_entry(hass, docker_entry)

    devices = dr.async_get(hass)
    web = devices.async_get_device_by_identifier(
        ("homelab_agents", f"{docker_entry.unique_id}/container/compose:shop/web/1"),
        docker_entry.entry_id,
    )
    assert web is not None
    assert web.name == "shop-web-1"
    assert web.model == "localhost/busybox:latest"

    web_key, job_key = "compose:shop/web/1", "name:job"
    assert hass.states.get(entity_id(hass, docker_entry, web_key, "running")).state == "on"
    state = hass.states.get(entity_id(hass, docker_entry, web_key, "container_state"))
    assert state.state == "running"
    assert state.attributes["exit_code"] is None
    job = hass.states.get(entity_id(hass, docker_entry, job_key, "container_state"))
    assert job.state == "exited"
    assert job.attributes["exit_code"] == 3
    assert hass.states.get(entity_id(hass, docker_entry, job_key, "running")).state == "off"
    spare = hass.states.get(entity_id(hass, docker_entry, "name:spare", "container_state"))
    assert spare.state == "created"

    # Health exists only for the container with a health check; Podman runs it on demand.
    health_id = entity_id(hass, docker_entry, "name:db", "container_health")
    assert hass.states.get(health_id).state == "starting"
    registry = er.async_get(hass)
    assert (
        registry.async_get_entity_id(
            "sensor", "homelab_agents", f"{docker_entry.unique_id}_container_{web_key}_health"
        )
        is None
    )
    assert await engine.run_healthcheck("db") == 0
    await refresh(hass, docker_entry)
    assert hass.states.get(health_id).state == "healthy"

    counts = {
        what: hass.states.get(entity_id(hass, docker_entry, "engine", what)).state
        for what in ("containers_running", "containers_stopped", "containers")
    }
    assert counts == {"containers_running": "2", "containers_stopped": "2", "containers": "4"}

    # A container started from outside Home Assistant changes state at the next poll.
    await engine.call("POST", "/containers/job/start")
    await engine.wait_exited("job")
    await engine.call("POST", "/containers/spare/start")
    await refresh(hass, docker_entry)
    assert hass.states.get(entity_id(hass, docker_entry, "name:spare", "running")).state == "on"


async def test_enabled_entities_per_container_stay_few(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """Four entities per container are enabled (five with a health check); the rest disabled."""
    await engine.create("plain")
    await engine.create("checked", healthcheck=True)
    await setup_entry(hass, docker_entry)
    registry = er.async_get(hass)
    for key, enabled in (("name:plain", 4), ("name:checked", 5)):
        device = dr.async_get(hass).async_get_device_by_identifier(
            ("homelab_agents", f"{docker_entry.unique_id}/container/{key}"), docker_entry.entry_id
        )
        assert device is not None
        entries = er.async_entries_for_device(registry, device.id, include_disabled_entities=True)
        assert sum(e.disabled_by is None for e in entries) == enabled
        assert len(entries) == enabled + 5


async def test_stats_cpu_and_memory_of_running_containers(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """Memory appears at the first stats read, CPU once a second sample exists."""
    await engine.create("busy", ["sh", "-c", "while true; do :; done"])
    await engine.create("stopped", start=False)
    await setup_entry(hass, docker_entry)
    coordinator = docker_entry.runtime_data.coordinator
    cpu_id = entity_id(hass, docker_entry, "name:busy", "cpu")
    memory_id = entity_id(hass, docker_entry, "name:busy", "memory_used")
    assert hass.states.get(cpu_id).state == "unknown"

    await refresh(hass, docker_entry)  # first sample: memory
    assert float(hass.states.get(memory_id).state) > 0
    # CPU is the share of the time between two samples: give the busy loop a real second of it
    # (back-to-back samples on a loaded machine can fall within one scheduler tick).
    await asyncio.sleep(1)
    await refresh(hass, docker_entry)  # second sample: CPU over the time between them
    cpu = float(hass.states.get(cpu_id).state)
    assert 5 < cpu <= 100 * 2  # a busy loop, on a shared 2-core machine
    assert coordinator.data.containers["name:stopped"].stats is None


async def test_stats_cost_follows_the_interval_and_enabled_entities(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """One list request per poll; stats only when due and only for enabled figures."""
    for index in range(3):
        await engine.create(f"c{index}")
    docker_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(docker_entry, options={"stats_interval": 3600})
    await setup_entry(hass, docker_entry)
    coordinator = docker_entry.runtime_data.coordinator
    await refresh(hass, docker_entry)  # first samples (3 stats)
    assert coordinator.data.requests == 1 + 3
    await refresh(hass, docker_entry)  # second samples, for CPU (3 stats)
    assert coordinator.data.requests == 1 + 3
    await refresh(hass, docker_entry)  # nothing due: the list only
    assert coordinator.data.requests == 1

    # Disabling a container's CPU and memory entities stops its stats reads.
    registry = er.async_get(hass)
    for what in ("cpu", "memory_used"):
        registry.async_update_entity(
            entity_id(hass, docker_entry, "name:c0", what),
            disabled_by=er.RegistryEntryDisabler.USER,
        )
    await hass.async_block_till_done()
    coordinator.stats_interval = None  # off: no stats at all
    await refresh(hass, docker_entry)
    assert coordinator.data.requests == 1
    assert all(c.stats is None for c in coordinator.data.containers.values())


async def test_removed_container_goes_unavailable_and_its_device_can_be_deleted(
    hass: HomeAssistant,
    engine: Engine,
    docker_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A removed container's entities are unavailable; its device may be deleted, others not."""
    await engine.create("keep")
    await engine.create("gone")
    await setup_entry(hass, docker_entry)
    await engine.call("DELETE", "/containers/gone", force="true", t="0")
    await refresh(hass, docker_entry)
    assert (
        hass.states.get(entity_id(hass, docker_entry, "name:gone", "running")).state
        == STATE_UNAVAILABLE
    )
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    devices = dr.async_get(hass)
    identity = docker_entry.unique_id

    async def remove(identifier: str) -> bool:
        device = devices.async_get_device_by_identifier(
            ("homelab_agents", identifier), docker_entry.entry_id
        )
        assert device is not None
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": docker_entry.entry_id,
                "device_id": device.id,
            }
        )
        return bool((await client.receive_json())["success"])

    assert not await remove(f"{identity}/container/name:keep")
    assert not await remove(f"{identity}/engine")
    assert await remove(f"{identity}/container/name:gone")


async def test_compose_recreation_keeps_the_device(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """Compose re-creates a container (new ID): same device and entities, running one wins.

    The new one has a health check: its health sensor joins the existing device.
    """
    old = await engine.create("shop-web-1", labels=COMPOSE_WEB)
    await setup_entry(hass, docker_entry)
    key = "compose:shop/web/1"
    switch_id = entity_id(hass, docker_entry, key, "running")
    # As compose does: rename the old one, create the new one, then remove the old one.
    await engine.call("POST", "/containers/shop-web-1/rename", name=f"{old[:12]}_shop-web-1")
    await engine.call("POST", f"/containers/{old}/stop", t="0")
    new = await engine.create("shop-web-1", labels=COMPOSE_WEB, healthcheck=True)
    await refresh(hass, docker_entry)
    data = docker_entry.runtime_data.coordinator.data
    assert data.containers[key].listed.id == new
    assert hass.states.get(switch_id).state == "on"
    assert hass.states.get(entity_id(hass, docker_entry, key, "container_health")).state == (
        "starting"
    )
    await engine.call("DELETE", f"/containers/{old}", force="true")
    await refresh(hass, docker_entry)
    assert hass.states.get(switch_id).state == "on"
    assert len(docker_entry.runtime_data.coordinator.data.containers) == 1

    # Renamed (compose's container_name changed): the same device, with the new name.
    await engine.call("POST", "/containers/shop-web-1/rename", name="shop-frontend")
    await refresh(hass, docker_entry)
    device = dr.async_get(hass).async_get_device_by_identifier(
        ("homelab_agents", f"{docker_entry.unique_id}/container/{key}"), docker_entry.entry_id
    )
    assert device is not None
    assert device.name == "shop-frontend"


async def test_new_containers_appear_without_reload(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """A container created after setup gets its device and entities at the next poll."""
    await setup_entry(hass, docker_entry)
    await engine.create("late", healthcheck=True, healthy=False)
    await refresh(hass, docker_entry)
    assert hass.states.get(entity_id(hass, docker_entry, "name:late", "running")).state == "on"
    health_id = entity_id(hass, docker_entry, "name:late", "container_health")
    assert await engine.run_healthcheck("late") != 0
    await refresh(hass, docker_entry)
    assert hass.states.get(health_id).state == "unhealthy"
    unhealthy = entity_id(hass, docker_entry, "engine", "containers_unhealthy")
    assert hass.states.get(unhealthy).state == "1"
    # A stopped container has no health.
    await engine.call("POST", "/containers/late/stop", t="0")
    await refresh(hass, docker_entry)
    assert hass.states.get(health_id).state == "unknown"


async def test_disabled_figures_once_enabled(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """Memory usage %, limit, restarts, image and start time, after enabling them."""
    await engine.create("app")
    await engine.create("idle", start=False)
    await setup_entry(hass, docker_entry)
    registry = er.async_get(hass)
    wanted = ("memory", "memory_limit", "restart_count", "image", "started")
    for key in ("name:app", "name:idle"):
        for what in wanted:
            registry.async_update_entity(entity_id(hass, docker_entry, key, what), disabled_by=None)
    await hass.config_entries.async_reload(docker_entry.entry_id)
    await hass.async_block_till_done()
    await refresh(hass, docker_entry)
    shown = {
        what: hass.states.get(entity_id(hass, docker_entry, "name:app", what)).state
        for what in wanted
    }
    stats = docker_entry.runtime_data.coordinator.data.containers["name:app"].stats
    assert float(shown["memory"]) == round(stats.memory_used / stats.memory_limit * 100, 1)
    assert float(shown["memory_limit"]) > 0
    assert shown["restart_count"] == "0"
    assert shown["image"] == "localhost/busybox:latest"
    started = (await engine.state("app"))["StartedAt"]
    assert shown["started"][:19] == started[:19]
    idle = hass.states.get(entity_id(hass, docker_entry, "name:idle", "started"))
    assert idle.state == "unknown"


async def test_unchanged_poll_writes_no_state(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """A poll of an unchanged host writes nothing (stats off)."""
    await engine.create("quiet")
    docker_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(docker_entry, options={"stats_interval": 0})
    await setup_entry(hass, docker_entry)
    writes: list[str] = []
    hass.bus.async_listen("state_changed", lambda event: writes.append(event.data["entity_id"]))
    await refresh(hass, docker_entry)
    await refresh(hass, docker_entry)
    assert writes == []
