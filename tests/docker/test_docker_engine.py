"""The Docker kind against a real Docker Engine (a private dockerd), not only Podman.

What differs from Podman and is only unit-tested elsewhere: the persisted engine `ID` in
`/info` (the entry's unique id), health in the list's status text (`Up 3 seconds (healthy)`,
so no health-filtered lists), Docker running health checks itself on their interval, stats
without a pre-sample in one-shot mode with page cache in the memory figures, 304 for a start of
a running (or a stop of a stopped) container, 409 for a paused one, restart policies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.docker_engine import (
    DockerDaemon,
    DockerEngine,
    alive,
    processes_mentioning,
    purge_stale,
)

from .helpers import COMPOSE_WEB, entity_id, refresh, setup_entry

MIB = 1024 * 1024


async def _call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


def _state(hass: HomeAssistant, entry: MockConfigEntry, key: str, what: str) -> str:
    state = hass.states.get(entity_id(hass, entry, key, what))
    assert state is not None
    return state.state


async def test_flow_takes_the_persisted_engine_id_as_unique_id(
    hass: HomeAssistant, docker_daemon: DockerDaemon, docker_engine_id: str
) -> None:
    """The flow reads Docker's `/info` ID (stable, unlike Podman's); a second flow aborts."""
    # Docker's engine ID: twelve colon-separated groups of four (a key fingerprint).
    assert len(docker_engine_id.split(":")) == 12
    for attempt in range(2):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "docker"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"url": docker_daemon.url, "verify_ssl": True}
        )
        if attempt == 0:
            assert result["type"] is FlowResultType.CREATE_ENTRY
            entry = result["result"]
            assert entry.unique_id == f"docker:{docker_engine_id}"
            await hass.async_block_till_done()
            assert entry.state is ConfigEntryState.LOADED
        else:
            assert result["type"] is FlowResultType.ABORT
            assert result["reason"] == "already_configured"
    engine = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"docker:{docker_engine_id}/engine"), entry.entry_id
    )
    assert engine is not None
    assert engine.model == "Docker Engine"
    assert engine.sw_version is not None
    assert engine.sw_version[:1].isdigit()
    assert entry.runtime_data.coordinator.engine_id == docker_engine_id


async def test_state_exit_code_and_health_from_the_status_text(
    hass: HomeAssistant, docker_engine: DockerEngine, real_docker_entry: MockConfigEntry
) -> None:
    """States, exit codes and Docker's own health probes, without health-filtered lists."""
    engine = docker_engine
    await engine.create("shop-web-1", labels=COMPOSE_WEB)
    await engine.create("ok", healthcheck=True)
    await engine.create("sick", healthcheck=True, healthy=False)
    await engine.create("slow", healthcheck=True, interval=3600)  # first probe in an hour
    await engine.create("job", ["sh", "-c", "exit 3"])
    await engine.create("spare", start=False)
    assert await engine.wait_exited("job") == 3
    assert await engine.wait_health("ok") == "healthy"
    assert await engine.wait_health("sick") == "unhealthy"
    listed = {
        c["Names"][0]: c["Status"] for c in await engine.call("GET", "/containers/json", all="1")
    }
    assert listed["/ok"].endswith("(healthy)")
    assert listed["/sick"].endswith("(unhealthy)")
    assert listed["/slow"].endswith("(health: starting)")
    assert listed["/job"].startswith("Exited (3) ")
    real_docker_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(real_docker_entry, options={"stats_interval": 0})
    await setup_entry(hass, real_docker_entry)

    entry = real_docker_entry
    web = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.unique_id}/container/compose:shop/web/1"), entry.entry_id
    )
    assert web is not None
    assert web.name == "shop-web-1"
    assert web.model == "localhost/busybox:latest"
    assert _state(hass, entry, "compose:shop/web/1", "running") == "on"
    job = hass.states.get(entity_id(hass, entry, "name:job", "container_state"))
    assert job is not None
    assert (job.state, job.attributes["exit_code"]) == ("exited", 3)
    assert _state(hass, entry, "name:spare", "container_state") == "created"
    health = {
        name: _state(hass, entry, f"name:{name}", "container_health")
        for name in ("ok", "sick", "slow")
    }
    assert health == {"ok": "healthy", "sick": "unhealthy", "slow": "starting"}
    counts = {
        what: _state(hass, entry, "engine", what)
        for what in ("containers_running", "containers_stopped", "containers_unhealthy")
    }
    assert counts == {
        "containers_running": "4",
        "containers_stopped": "2",
        "containers_unhealthy": "1",
    }

    # An unchanged poll is the list alone: Docker's status text carries the health.
    await refresh(hass, entry)
    assert entry.runtime_data.coordinator.data.requests == 1

    # A stopped container has no health (Docker keeps the last one in its inspect answer).
    await engine.call("POST", "/containers/ok/stop", t="1")
    await refresh(hass, entry)
    assert _state(hass, entry, "name:ok", "container_health") == "unknown"
    ok = hass.states.get(entity_id(hass, entry, "name:ok", "container_state"))
    assert ok is not None
    assert (ok.state, ok.attributes["exit_code"]) == ("exited", 0)


async def test_restart_policy_counts_restarts(
    hass: HomeAssistant, docker_engine: DockerEngine, real_docker_entry: MockConfigEntry
) -> None:
    """Docker's restart policy: the restart count and the last exit code once it gives up."""
    engine = docker_engine
    await engine.create("flaky", ["sh", "-c", "exit 1"], start=False)
    policy = {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}
    await engine.call("POST", "/containers/flaky/update", policy)
    await engine.call("POST", "/containers/flaky/start")
    # Three exits: the first run and two restarts; then the engine gives up.
    assert await engine.events("flaky", "die", count=3) == ["die"] * 3
    assert (await engine.state("flaky"))["Status"] == "exited"
    await setup_entry(hass, real_docker_entry)
    container = real_docker_entry.runtime_data.coordinator.data.containers["name:flaky"]
    assert (container.state, container.exit_code) == ("exited", 1)
    assert container.details is not None
    assert container.details.restart_count == 2


async def test_stats_cpu_and_memory_without_page_cache(
    hass: HomeAssistant, docker_engine: DockerEngine, real_docker_entry: MockConfigEntry
) -> None:
    """CPU from two one-shot samples (Docker sends no pre-sample); page cache not counted."""
    engine = docker_engine
    await engine.create("busy", ["sh", "-c", "while true; do :; done"])
    # 48 MiB written to the container's file system: page cache in the cgroup's usage.
    fill = "dd if=/dev/zero of=/tmp/fill bs=1M count=48 2>/dev/null; echo done; sleep 100000"
    await engine.create("cache", ["sh", "-c", fill])
    await engine.logs_until("cache", b"done")
    raw = await engine.stats("cache")
    assert raw["precpu_stats"].get("system_cpu_usage") is None  # one-shot: no pre-sample
    memory = raw["memory_stats"]
    cache = memory["stats"].get("total_inactive_file", memory["stats"].get("inactive_file"))
    assert cache >= 40 * MIB
    assert memory["usage"] >= 40 * MIB

    await setup_entry(hass, real_docker_entry)
    entry = real_docker_entry
    coordinator = entry.runtime_data.coordinator
    assert _state(hass, entry, "name:busy", "cpu") == "unknown"
    await refresh(hass, entry)  # first samples: memory
    cached = coordinator.data.containers["name:cache"].stats
    assert cached is not None
    assert cached.memory_used is not None
    assert cached.memory_used < 16 * MIB  # a shell and sleep, not the 48 MiB file
    assert cached.memory_limit is not None
    assert cached.memory_limit > 64 * MIB
    assert float(_state(hass, entry, "name:cache", "memory_used")) < 16
    await refresh(hass, entry)  # second samples: CPU over the time between them
    cpu = float(_state(hass, entry, "name:busy", "cpu"))
    assert 5 < cpu <= 100 * 2  # a busy loop, on a shared 2-core machine
    assert float(_state(hass, entry, "name:cache", "cpu")) < 5


async def test_start_restart_stop_and_the_engine_refusals(
    hass: HomeAssistant, docker_engine: DockerEngine, real_docker_entry: MockConfigEntry
) -> None:
    """Actions on Docker; 304 for a start when running and a stop when stopped; 409 paused."""
    engine = docker_engine
    await engine.create("app", start=False)
    await engine.create("frozen")
    await engine.call("POST", "/containers/frozen/pause")
    await setup_entry(hass, real_docker_entry)
    started = await _call(hass, "start_container", container="app")
    assert (started["status"], started["state"]) == ("ok", "running")
    assert (await engine.state("app"))["Running"]
    with pytest.raises(HomeAssistantError, match="already running") as raised:
        await _call(hass, "start_container", container="app")
    assert raised.value.translation_key == "container_already"

    before = (await engine.state("app"))["StartedAt"]
    restarted = await _call(hass, "restart_container", container="app")
    assert restarted["state"] == "running"
    assert (await engine.state("app"))["StartedAt"] != before

    request = await _call(hass, "stop_container", container="app")
    assert request["summary"] == "Stop container app on Docker docker-host"
    assert (await engine.state("app"))["Running"]
    outcome = await _call(hass, "confirm_action", action_id=request["action_id"])
    assert outcome["result"]["state"] == "exited"
    assert not (await engine.state("app"))["Running"]
    assert _state(hass, real_docker_entry, "name:app", "running") == "off"
    # Stopped since the request was made (from outside): the engine's 304, translated.
    request = await _call(hass, "stop_container", container="frozen")
    await engine.call("POST", "/containers/frozen/stop", t="0")
    with pytest.raises(HomeAssistantError, match="already stopped") as raised:
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert raised.value.translation_key == "container_already"

    await engine.call("POST", "/containers/frozen/start")
    await engine.call("POST", "/containers/frozen/pause")
    await refresh(hass, real_docker_entry)
    assert _state(hass, real_docker_entry, "name:frozen", "container_state") == "paused"
    with pytest.raises(HomeAssistantError, match="frozen") as raised:
        await _call(hass, "start_container", container="frozen")
    assert raised.value.translation_key == "container_conflict"
    assert "unpause" in str(raised.value)


async def test_compose_recreation_keeps_the_device(
    hass: HomeAssistant, docker_engine: DockerEngine, real_docker_entry: MockConfigEntry
) -> None:
    """Compose re-creates a container (new ID, old one renamed, then removed): same device."""
    engine = docker_engine
    entry = real_docker_entry
    old = await engine.create("shop-web-1", labels=COMPOSE_WEB)
    await setup_entry(hass, entry)
    key = "compose:shop/web/1"
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.unique_id}/container/{key}"), entry.entry_id
    )
    assert device is not None
    await engine.call("POST", "/containers/shop-web-1/rename", name=f"{old[:12]}_shop-web-1")
    await engine.call("POST", f"/containers/{old}/stop", t="1")
    new = await engine.create("shop-web-1", labels=COMPOSE_WEB, healthcheck=True)
    assert await engine.wait_health("shop-web-1") == "healthy"
    await refresh(hass, entry)
    assert entry.runtime_data.coordinator.data.containers[key].listed.id == new
    assert _state(hass, entry, key, "running") == "on"
    assert _state(hass, entry, key, "container_health") == "healthy"
    await engine.call("DELETE", f"/containers/{old}", force="true")
    await refresh(hass, entry)
    assert len(entry.runtime_data.coordinator.data.containers) == 1
    again = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.unique_id}/container/{key}"), entry.entry_id
    )
    assert again is not None
    assert again.id == device.id


async def test_disabled_figures_once_enabled(
    hass: HomeAssistant, docker_engine: DockerEngine, real_docker_entry: MockConfigEntry
) -> None:
    """Start time (Docker's nanoseconds), image, restarts and memory limit, once enabled."""
    engine = docker_engine
    await engine.create("app", memory=64 * MIB)
    await engine.create("idle", start=False)
    await setup_entry(hass, real_docker_entry)
    entry = real_docker_entry
    registry = er.async_get(hass)
    wanted = ("memory", "memory_limit", "restart_count", "image", "started")
    for key in ("name:app", "name:idle"):
        for what in wanted:
            registry.async_update_entity(entity_id(hass, entry, key, what), disabled_by=None)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await refresh(hass, entry)
    shown = {what: _state(hass, entry, "name:app", what) for what in wanted}
    started = (await engine.state("app"))["StartedAt"]  # 2026-11-27T14:53:49.658963518Z
    assert len(started.split(".")[1]) > 7
    assert shown["started"] == f"{started[:19]}+00:00"
    assert shown["image"] == "localhost/busybox:latest"
    assert shown["restart_count"] == "0"
    assert float(shown["memory_limit"]) == 64  # MiB
    stats = entry.runtime_data.coordinator.data.containers["name:app"].stats
    assert stats is not None
    assert stats.memory_used is not None
    assert float(shown["memory"]) == round(stats.memory_used / (64 * MIB) * 100, 1) > 0
    assert _state(hass, entry, "name:idle", "started") == "unknown"


async def test_a_crashed_run_is_purged_by_the_next(docker_daemon: DockerDaemon) -> None:
    """A daemon whose test process died (kill -9) leaves nothing once the next run starts."""
    crashed = DockerDaemon()
    crashed.start()
    async with DockerEngine(crashed, remove_on_exit=False) as engine:
        await engine.create("orphan")
        pid = (await engine.state("orphan"))["Pid"]
    # Its owner is gone: a pid above the kernel's limit never belongs to a process.
    gone = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    (crashed.folder / "owner").write_text(str(gone))
    cgroups = [p for p in Path("/sys/fs/cgroup").glob(f"*/{crashed.folder.name}") if p.is_dir()]
    assert cgroups
    assert any(str(crashed.folder) in m for m in Path("/proc/mounts").read_text().split())

    purge_stale()  # what the next run's start does first
    assert crashed._process is not None
    assert crashed._process.wait(10) == -9  # dockerd, killed
    assert not crashed.folder.exists()
    assert not alive(pid)  # the container's process (at most a zombie until reaped)
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{crashed.folder.name}"))
    assert str(crashed.folder) not in Path("/proc/mounts").read_text()
    assert not [p for p in processes_mentioning(str(crashed.folder)) if alive(p)]
    # The shared daemon (whose owner lives) was left alone.
    assert docker_daemon.socket_path.exists()


def _memory_cgroup(pid: int) -> Path:
    """The memory cgroup of a process (cgroup v1's memory controller, or v2's hierarchy)."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return Path("/sys/fs/cgroup/memory") / path.lstrip("/")
    path = next(line.split(":", 2)[2] for line in lines if line.startswith("0::"))
    return Path("/sys/fs/cgroup") / path.lstrip("/")


async def test_page_cache_of_nested_cgroups_is_not_counted(
    hass: HomeAssistant, docker_engine: DockerEngine, real_docker_entry: MockConfigEntry
) -> None:
    """Page cache written from a cgroup inside the container's is not "used" either.

    As in Docker-in-Docker or a systemd container: under cgroup v1 the container's
    `inactive_file` leaves that cache out while `usage` includes it; `docker stats` (and the
    integration) subtract the hierarchical `total_inactive_file`.
    """
    engine = docker_engine
    fill = "dd if=/dev/zero of=/tmp/fill bs=1M count=48 2>/dev/null; echo done"
    await engine.create(
        "nested", ["sh", "-c", f"trap '{fill}' USR1; while true; do sleep 100000 & wait; done"]
    )
    inner = _memory_cgroup((await engine.state("nested"))["Pid"]) / "inner"
    inner.mkdir()
    (inner / "cgroup.procs").write_text(str((await engine.state("nested"))["Pid"]))
    await engine.call("POST", "/containers/nested/kill", signal="USR1")
    await engine.logs_until("nested", b"done")
    memory = (await engine.stats("nested"))["memory_stats"]
    assert memory["usage"] >= 40 * MIB
    if "total_inactive_file" in memory["stats"]:  # cgroup v1: the two counters differ
        assert memory["stats"]["total_inactive_file"] >= 40 * MIB
        assert memory["stats"]["inactive_file"] < 8 * MIB

    await setup_entry(hass, real_docker_entry)
    await refresh(hass, real_docker_entry)
    stats = real_docker_entry.runtime_data.coordinator.data.containers["name:nested"].stats
    assert stats is not None
    assert stats.memory_used is not None
    assert stats.memory_used < 16 * MIB


async def test_mutual_tls_on_the_real_daemon(
    hass: HomeAssistant, docker_daemon: DockerDaemon, docker_engine_id: str
) -> None:
    """The daemon's own `--tlsverify`: refused without a client certificate, pasted PEM works.

    The same engine ID as on its socket: one engine, one entry, whichever endpoint.
    """
    server, client = docker_daemon.server_cert, docker_daemon.client_cert
    assert server is not None
    assert client is not None
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "docker"}
    )
    flow_id = result["flow_id"]
    base = {"url": docker_daemon.tls_url, "verify_ssl": True, "ca_cert": str(server.cert_path)}
    result = await hass.config_entries.flow.async_configure(flow_id, base)
    assert result["errors"] in ({"base": "ssl_error"}, {"base": "cannot_connect"})
    wrong_ca = {**base, "ca_cert": client.cert_path.read_text()}
    wrong_ca |= {"client_cert": str(client.cert_path), "client_key": str(client.key_path)}
    result = await hass.config_entries.flow.async_configure(flow_id, wrong_ca)
    assert result["errors"] == {"base": "ssl_error"}  # the server's certificate is not trusted
    pasted = {
        **base,
        "client_cert": client.cert_path.read_text(),
        "client_key": client.key_path.read_text(),
    }
    result = await hass.config_entries.flow.async_configure(flow_id, pasted)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == f"docker:{docker_engine_id}"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator.data.engine_id == docker_engine_id
