"""Config flow of a Docker host: every branch, against Podman and local stand-ins."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import os
from pathlib import Path
import socket
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.homelab_agents.const import DOMAIN
from simulators.podman import PodmanService

from .helpers import setup_entry
from .standin import EngineStandIn


async def _docker_step(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "docker" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "docker"}
    )
    assert result["step_id"] == "docker"
    return str(result["flow_id"])


async def _submit(hass: HomeAssistant, flow_id: str, **data: Any) -> Any:
    return await hass.config_entries.flow.async_configure(flow_id, {"verify_ssl": True, **data})


@pytest.fixture
async def mutual_tls(podman: PodmanService) -> AsyncGenerator[EngineStandIn]:
    """The engine behind TLS that requires a client certificate (Docker's --tlsverify)."""
    standin = EngineStandIn(podman.socket_path, client_certificate=True)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
async def plain_tcp(podman: PodmanService) -> AsyncGenerator[EngineStandIn]:
    """The engine on tcp:// (no TLS), through the stand-in."""
    standin = EngineStandIn(podman.socket_path, tls=False)
    await standin.start()
    yield standin
    await standin.stop()


async def test_socket_flow_creates_entry_unique_per_engine(
    hass: HomeAssistant, podman: PodmanService, engine_id: str
) -> None:
    """A socket endpoint is checked with /version and /info; the engine ID makes it unique."""
    flow_id = await _docker_step(hass)
    result = await _submit(hass, flow_id, url=podman.url, ca_cert="")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == f"docker:{engine_id}"
    assert result["title"].startswith("Docker ")
    assert result["data"] == {"kind": "docker", "url": podman.url, "verify_ssl": True}
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED
    issue_id = f"docker_insecure_{result['result'].entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None

    flow_id = await _docker_step(hass)
    result = await _submit(hass, flow_id, url=podman.url)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


BAD_ENDPOINTS = [
    ("ftp://host", {"url": "invalid_url"}),
    ("unix://relative.sock", {"url": "invalid_url"}),
    ("http://", {"url": "invalid_url"}),
    ("http://[::1", {"url": "invalid_url"}),
    ("unix:///nonexistent/docker.sock", {"base": "cannot_connect"}),
    ("tcp://127.0.0.1:9", {"base": "cannot_connect"}),
]


async def test_endpoint_errors_then_recover(hass: HomeAssistant, podman: PodmanService) -> None:
    """Bad or unreachable endpoints show a form error; the right one creates the entry."""
    flow_id = await _docker_step(hass)
    for url, error in BAD_ENDPOINTS:
        result = await _submit(hass, flow_id, url=url)
        assert result["type"] is FlowResultType.FORM
        assert (url, result["errors"]) == (url, error)
    result = await _submit(hass, flow_id, url=podman.url)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_socket_permission_denied(
    hass: HomeAssistant, podman: PodmanService, tmp_path: Path
) -> None:
    """EACCES on the socket (as Home Assistant's user without the docker group) is named.

    As root (how these tests run), file permissions do not stop the process: for the flow's
    one connection its effective user is `nobody` (the saved user stays root, so it switches
    back) and the kernel refuses the root-only socket with EACCES. As another user, a socket
    with mode 000 does the same.
    """
    flow_id = await _docker_step(hass)
    if os.geteuid() == 0:
        os.seteuid(65534)
        try:
            result = await _submit(hass, flow_id, url=podman.url)
        finally:
            os.seteuid(0)
    else:
        locked = tmp_path / "locked.sock"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(locked))
            server.listen()
            locked.chmod(0)
            result = await _submit(hass, flow_id, url=f"unix://{locked}")
    assert result["errors"] == {"base": "permission_denied"}


async def test_tls_verification_failure_then_trusted_ca(
    hass: HomeAssistant, podman: PodmanService
) -> None:
    """A self-signed engine certificate fails verification; its CA pasted, it is accepted."""
    standin = EngineStandIn(podman.socket_path)
    await standin.start()
    try:
        assert standin.server_cert is not None
        flow_id = await _docker_step(hass)
        result = await _submit(hass, flow_id, url=standin.url)
        assert result["errors"] == {"base": "ssl_error"}
        ca_pem = standin.server_cert.cert_path.read_text()
        result = await _submit(hass, flow_id, url=standin.url, ca_cert=ca_pem)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["ca_cert"] == ca_pem
        await hass.async_block_till_done()
        assert result["result"].state is ConfigEntryState.LOADED
        assert "/containers/json" in standin.requests
        assert await hass.config_entries.async_unload(result["result"].entry_id)
    finally:
        await standin.stop()


async def test_client_certificate_files_and_pasted_pem(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, mutual_tls: EngineStandIn
) -> None:
    """Without a client certificate the handshake fails; with one (files or PEM) it works."""
    server, client = mutual_tls.server_cert, mutual_tls.client_cert
    assert server is not None
    assert client is not None
    flow_id = await _docker_step(hass)
    result = await _submit(hass, flow_id, url=mutual_tls.url, ca_cert=str(server.cert_path))
    assert result["errors"] in ({"base": "ssl_error"}, {"base": "cannot_connect"})
    result = await _submit(
        hass,
        flow_id,
        url=mutual_tls.url,
        ca_cert=str(server.cert_path),
        client_cert=str(client.cert_path),
        client_key="/nonexistent/key.pem",
    )
    assert result["errors"] == {"base": "invalid_certificate"}
    result = await _submit(
        hass,
        flow_id,
        url=mutual_tls.url,
        ca_cert=str(server.cert_path),
        client_cert=client.cert_path.read_text(),
        client_key=client.key_path.read_text(),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # The key never shows in diagnostics.
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"]["client_key"] == "**REDACTED**"
    assert "PRIVATE KEY" not in str(diagnostics)
    assert diagnostics["source"]["requests_last_refresh"] >= 1

    # Reconfigure to certificate files; an empty key keeps the stored one.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["step_id"] == "reconfigure_docker"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "url": mutual_tls.url,
            "verify_ssl": False,
            "client_cert": client.cert_path.read_text(),
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["verify_ssl"] is False
    assert entry.data["client_key"] == client.key_path.read_text()
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_unverified_tls_uses_the_shared_session(
    hass: HomeAssistant, podman: PodmanService
) -> None:
    """verify_ssl off without certificates: accepted on Home Assistant's shared session."""
    standin = EngineStandIn(podman.socket_path)
    await standin.start()
    try:
        flow_id = await _docker_step(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, {"url": standin.url, "verify_ssl": False}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        issue_id = f"docker_insecure_{result['result'].entry_id}"
        issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
        assert issue is not None
        assert issue.translation_key == "docker_tls_verification_off"
        assert await hass.config_entries.async_unload(result["result"].entry_id)
    finally:
        await standin.stop()


NOT_AN_ENGINE: list[tuple[tuple[int, Any] | None, dict[str, Any], str]] = [
    ((401, {"message": "unauthorized"}), {}, "invalid_auth"),
    ((404, {"message": "page not found"}), {}, "not_docker"),
    ((200, "<html>a web server</html>"), {}, "not_docker"),
    (None, {"/info": {"Name": "nameless"}}, "not_docker"),
    (None, {"/version": ["a", "list"]}, "not_docker"),
    (None, {"/version": {"Version": "27.3.1"}, "/info": {"Name": "no id"}}, "not_docker"),
]


async def test_answers_that_are_not_an_engine(
    hass: HomeAssistant, plain_tcp: EngineStandIn
) -> None:
    """A proxy refusing access, or something that is not a Docker API: named errors."""
    flow_id = await _docker_step(hass)
    for answer, overrides, error in NOT_AN_ENGINE:
        plain_tcp.answer = answer
        plain_tcp.overrides = overrides
        result = await _submit(hass, flow_id, url=plain_tcp.url)
        assert (answer, overrides, result["errors"]) == (answer, overrides, {"base": error})
    plain_tcp.answer = None
    plain_tcp.overrides = {}
    result = await _submit(hass, flow_id, url=plain_tcp.url)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["url"] == plain_tcp.url
    await hass.async_block_till_done()
    issue_id = f"docker_insecure_{result['result'].entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "docker_unencrypted"
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_unexpected_error(hass: HomeAssistant, podman: PodmanService) -> None:
    """Anything unforeseen is logged and shown as unknown."""
    flow_id = await _docker_step(hass)
    with patch(
        "custom_components.homelab_agents.docker.client.DockerClient.info",
        side_effect=RuntimeError("boom"),
    ):
        result = await _submit(hass, flow_id, url=podman.url)
    assert result["errors"] == {"base": "unknown"}


async def test_reconfigure_errors_and_other_engine(
    hass: HomeAssistant,
    docker_entry: MockConfigEntry,
    plain_tcp: EngineStandIn,
    podman: PodmanService,
) -> None:
    """Reconfigure shows errors, refuses another engine, and moves to a new endpoint."""
    await setup_entry(hass, docker_entry)
    result = await docker_entry.start_reconfigure_flow(hass)
    flow_id = result["flow_id"]
    result = await _submit(hass, flow_id, url="unix:///nonexistent.sock")
    assert result["errors"] == {"base": "cannot_connect"}
    plain_tcp.overrides = {
        "/version": {"Version": "27.3.1", "Components": [{"Name": "Engine"}]},
        "/info": {"ID": "another-engine", "Name": "other"},
    }
    result = await _submit(hass, flow_id, url=plain_tcp.url)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_engine"

    plain_tcp.overrides = {}
    result = await docker_entry.start_reconfigure_flow(hass)
    result = await _submit(hass, result["flow_id"], url=plain_tcp.url)
    assert result["reason"] == "reconfigure_successful"
    assert docker_entry.data["url"] == plain_tcp.url
    await hass.async_block_till_done()
    assert docker_entry.state is ConfigEntryState.LOADED


async def test_options(hass: HomeAssistant, docker_entry: MockConfigEntry) -> None:
    """Stats interval, stop timeout, confirmation window and assistant control."""
    await setup_entry(hass, docker_entry)
    result = await hass.config_entries.options.async_init(docker_entry.entry_id)
    assert result["step_id"] == "docker_options"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "stats_interval": 0,
            "stop_timeout": 5,
            "confirmation_minutes": 2,
            "agent_control_for_users": True,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert docker_entry.runtime_data.stats_interval is None
    assert docker_entry.runtime_data.stop_timeout == 5
