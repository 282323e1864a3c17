"""A real Podman engine (session), per-test containers, and a Docker host entry on it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import pytest_socket

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.docker.models import engine_identity
from simulators.docker_engine import (
    SHARED as SHARED_DOCKER,
    DockerDaemon,
    DockerEngine,
    DockerStartError,
)
from simulators.podman import SHARED, Engine, PodmanService, engine_get


def _allow_unix_sockets() -> None:
    # Home Assistant's test plugin allows TCP to 127.0.0.1 only; the engine is on a socket.
    pytest_socket.socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)


@pytest.fixture(autouse=True)
def allow_unix_sockets(socket_enabled: None) -> None:
    """Let the test (and Home Assistant in it) reach the engine's unix socket."""
    _allow_unix_sockets()


@pytest.fixture(scope="session")
def podman() -> Iterator[PodmanService]:
    """Podman's Docker-compatible API on a private unix socket, with the busybox image."""
    _allow_unix_sockets()
    yield SHARED.acquire()
    SHARED.release()


@pytest.fixture(scope="session")
def engine_id(podman: PodmanService) -> str:
    """The engine's stable identity (Podman: host name and storage root)."""
    _allow_unix_sockets()
    version = engine_get(podman.socket_path, "/version")
    identity = engine_identity(version, engine_get(podman.socket_path, "/info"))
    assert identity is not None
    assert identity.startswith("podman:")
    return identity


@pytest.fixture
async def engine(podman: PodmanService) -> AsyncGenerator[Engine]:
    """Direct access to the engine; the test's containers are removed after it."""
    async with Engine(podman) as direct:
        yield direct


@pytest.fixture
def docker_options() -> dict[str, Any]:
    """Options of the Docker entry: stats at every poll, quick stops."""
    return {"stats_interval": 30, "stop_timeout": 1}


@pytest.fixture
def docker_entry(
    podman: PodmanService, engine_id: str, docker_options: dict[str, Any]
) -> MockConfigEntry:
    """An entry for the Podman engine's socket."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Docker podman-host",
        unique_id=f"docker:{engine_id}",
        data={"kind": "docker", "url": podman.url, "verify_ssl": True},
        options=docker_options,
    )


@pytest.fixture
async def setup_docker(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> MockConfigEntry:
    """The integration set up with the Docker entry (after the test's containers exist)."""
    docker_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(docker_entry.entry_id)
    await hass.async_block_till_done()
    return docker_entry


@pytest.fixture(scope="session")
def docker_daemon() -> Iterator[DockerDaemon]:
    """A real Docker Engine: a private dockerd on a unix socket, with the busybox image.

    Fails (never skips) when it cannot run, with the reason and the daemon's log.
    """
    _allow_unix_sockets()
    try:
        daemon = SHARED_DOCKER.acquire()
    except DockerStartError as err:
        pytest.fail(f"the Docker Engine could not start: {err}", pytrace=False)
    yield daemon
    SHARED_DOCKER.release()


@pytest.fixture(scope="session")
def docker_engine_id(docker_daemon: DockerDaemon) -> str:
    """The Docker Engine's persisted ID (`/info` `ID`), as the integration derives it."""
    _allow_unix_sockets()
    version = engine_get(docker_daemon.socket_path, "/version")
    info = engine_get(docker_daemon.socket_path, "/info")
    identity = engine_identity(version, info)
    assert identity == info["ID"]
    return identity


@pytest.fixture
async def docker_engine(docker_daemon: DockerDaemon) -> AsyncGenerator[DockerEngine]:
    """Direct access to Docker; the test's containers are removed after it."""
    async with DockerEngine(docker_daemon) as direct:
        yield direct


@pytest.fixture
def real_docker_entry(
    docker_daemon: DockerDaemon, docker_engine_id: str, docker_options: dict[str, Any]
) -> MockConfigEntry:
    """An entry for the Docker Engine's socket."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Docker docker-host",
        unique_id=f"docker:{docker_engine_id}",
        data={"kind": "docker", "url": docker_daemon.url, "verify_ssl": True},
        options=docker_options,
    )
