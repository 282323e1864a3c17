"""Config flow for Proxmox VE: every step, error and recovery, reauth, reconfigure, options."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.flows.proxmox import _has_privilege, _proxmox_identity
from simulators.pve import FaultKind, PveSimulator


def _token_input(pve: PveSimulator, **changes: Any) -> dict[str, Any]:
    return {
        "host": pve.host,
        "port": pve.port,
        "username": pve.token.user,
        "token_id": pve.token.token_id,
        "token_secret": pve.token.secret,
        "verify_ssl": False,
        **changes,
    }


async def _proxmox_step(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "proxmox_ve"}
    )
    assert result["step_id"] == "proxmox_ve"
    return result["flow_id"]


@pytest.fixture
async def other_cluster() -> AsyncGenerator[PveSimulator]:
    """A second, different cluster."""
    async with PveSimulator(nodes=1, guests_per_node=1, cluster_name="other") as simulator:
        yield simulator


async def test_token_flow_creates_entry(hass: HomeAssistant, pve: PveSimulator) -> None:
    """An API token is checked and the entry is unique per cluster name."""
    flow_id = await _proxmox_step(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, _token_input(pve))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Proxmox VE homelab"
    assert result["result"].unique_id == "cluster:homelab"
    assert result["data"]["kind"] == "proxmox_ve"
    assert "password" not in result["data"]
    await hass.async_block_till_done()

    flow_id = await _proxmox_step(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, _token_input(pve))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_password_flow_creates_entry(hass: HomeAssistant, pve: PveSimulator) -> None:
    """Password (ticket) login is the alternative to a token."""
    flow_id = await _proxmox_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        _token_input(
            pve, username="root@pam", token_id="", token_secret="", password=pve.root_password
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "token_id" not in result["data"]
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"username": "root"}, {"username": "invalid_username"}),
        ({"token_id": "", "token_secret": ""}, {"base": "missing_credentials"}),
        ({"token_secret": "wrong"}, {"base": "invalid_auth"}),
        ({"port": 9}, {"base": "cannot_connect"}),
        ({"verify_ssl": True}, {"base": "ssl_error"}),
        (
            {"username": "root@pam", "token_id": "", "token_secret": "", "password": "x"},
            {"base": "invalid_auth"},
        ),
    ],
    ids=["username", "no-credentials", "secret", "refused", "tls", "password"],
)
async def test_errors_then_recovery(
    hass: HomeAssistant, pve: PveSimulator, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    """Each problem is a form error; correcting it creates the entry."""
    flow_id = await _proxmox_step(hass)
    # In debug mode asyncio reports the server side of a refused TLS handshake as a loop
    # error, which the harness would count against the test; production runs without it.
    hass.loop.set_debug(False)
    result = await hass.config_entries.flow.async_configure(flow_id, _token_input(pve, **changes))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    result = await hass.config_entries.flow.async_configure(flow_id, _token_input(pve))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("privileges", "named"),
    [
        ({"/": {"VM.Audit"}}, "Sys.Audit"),
        ({"/": {"Sys.Audit"}}, "VM.Audit on /vms"),
    ],
)
async def test_missing_privileges_are_named(
    hass: HomeAssistant, pve: PveSimulator, privileges: dict[str, set[str]], named: str
) -> None:
    """A token without the privileges to read the cluster is refused, naming the privilege."""
    weak = pve.add_token(token_id="weak", privileges=privileges)
    flow_id = await _proxmox_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, _token_input(pve, token_id=weak.token_id, token_secret=weak.secret)
    )
    assert result["errors"] == {"base": "missing_privilege"}
    assert named in result["description_placeholders"]["privilege"]


async def test_unexpected_answers(hass: HomeAssistant, pve: PveSimulator) -> None:
    """A server error reads as not Proxmox; a bug reads as unknown."""
    flow_id = await _proxmox_step(hass)
    pve.faults.inject("/cluster/status", FaultKind.HTTP_500, count=1)
    result = await hass.config_entries.flow.async_configure(flow_id, _token_input(pve))
    assert result["errors"] == {"base": "not_proxmox"}
    with patch(
        "custom_components.homelab_agents.flows.proxmox.ProxmoxClient.call",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(flow_id, _token_input(pve))
    assert result["errors"] == {"base": "unknown"}


def test_identity_of_stand_alone_nodes() -> None:
    """Without a cluster entry the local node names the entry, never the host."""
    assert _proxmox_identity([{"type": "cluster", "name": "lab"}]) == "cluster:lab"
    assert (
        _proxmox_identity(
            [{"type": "node", "name": "b", "local": 0}, {"type": "node", "name": "a", "local": 1}]
        )
        == "node:a"
    )
    assert _proxmox_identity([{"type": "node", "name": "solo", "local": 0}]) == "node:solo"
    assert _proxmox_identity(None) == "node:unknown"
    assert not _has_privilege(None, "/", "Sys.Audit")
    assert _has_privilege({"/": {"VM.Audit": 1}}, "/vms", "VM.Audit")


async def test_reauth(
    hass: HomeAssistant,
    pve: PveSimulator,
    proxmox_entry: MockConfigEntry,
    other_cluster: PveSimulator,
) -> None:
    """Reauth asks for a new secret, refuses wrong ones and other clusters' credentials."""
    proxmox_entry.add_to_hass(hass)
    result = await proxmox_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_proxmox"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token_secret": "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    new = pve.add_token(token_id=pve.token.token_id, secret="rotated-secret")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token_secret": new.secret}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert proxmox_entry.data["token_secret"] == "rotated-secret"
    await hass.async_block_till_done()

    hass.config_entries.async_update_entry(
        proxmox_entry,
        data={
            **proxmox_entry.data,
            "host": other_cluster.host,
            "port": other_cluster.port,
            "token_id": other_cluster.token.token_id,
        },
    )
    result = await proxmox_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token_secret": other_cluster.token.secret}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_cluster"


async def test_reconfigure(
    hass: HomeAssistant,
    pve: PveSimulator,
    proxmox_entry: MockConfigEntry,
    other_cluster: PveSimulator,
) -> None:
    """Reconfigure changes how the same cluster is reached; another cluster is refused."""
    proxmox_entry.add_to_hass(hass)
    result = await proxmox_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_proxmox"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _token_input(pve, port=9)
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        _token_input(
            pve, username="root@pam", token_id="", token_secret="", password=pve.root_password
        ),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert proxmox_entry.data["password"] == pve.root_password
    assert "token_id" not in proxmox_entry.data
    await hass.async_block_till_done()

    result = await proxmox_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "host": other_cluster.host,
            "port": other_cluster.port,
            "username": other_cluster.token.user,
            "token_id": other_cluster.token.token_id,
            "token_secret": other_cluster.token.secret,
            "verify_ssl": False,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_cluster"


async def test_options(hass: HomeAssistant, setup_proxmox: MockConfigEntry) -> None:
    """The task wait is an option; saving it reloads the entry."""
    result = await hass.config_entries.options.async_init(setup_proxmox.entry_id)
    assert result["step_id"] == "proxmox_options"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"task_timeout": 120, "agent_control_for_users": True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert setup_proxmox.runtime_data.task_timeout.total_seconds() == 120
    assert setup_proxmox.options["agent_control_for_users"] is True
