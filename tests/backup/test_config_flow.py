"""Config flow for Proxmox Backup Server: steps, errors and recovery, reauth, reconfigure."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.backup.client import server_identity
from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.flows.backup import _can_audit_datastores
from custom_components.homelab_agents.proxmox.client import ProxmoxPermissionError
from simulators.pbs import FaultKind, PbsSimulator

from .conftest import pbs_entry_for

OTHER_FINGERPRINT = ":".join(["AB"] * 32)


def _input(pbs: PbsSimulator, **changes: Any) -> dict[str, Any]:
    return {
        "host": pbs.host,
        "port": pbs.port,
        "username": pbs.token.user,
        "token_id": pbs.token.token_name,
        "token_secret": pbs.token.secret,
        "verify_ssl": False,
        "fingerprint": pbs.certificate.fingerprint_sha256,
        **changes,
    }


async def _pbs_step(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "proxmox_backup" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "proxmox_backup"}
    )
    assert result["step_id"] == "proxmox_backup"
    return result["flow_id"]


async def test_token_flow_creates_entry_unique_per_certificate(
    hass: HomeAssistant, pbs: PbsSimulator
) -> None:
    """The token is checked; the certificate fingerprint, not the host, identifies the server."""
    fingerprint = pbs.certificate.fingerprint_sha256
    flow_id = await _pbs_step(hass)
    # Any spelling of the fingerprint is accepted and stored as PBS shows it.
    result = await hass.config_entries.flow.async_configure(
        flow_id, _input(pbs, fingerprint=fingerprint.replace(":", "").lower())
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Proxmox Backup Server {pbs.host}"
    assert result["result"].unique_id == server_identity(fingerprint)
    assert result["data"]["kind"] == "proxmox_backup"
    assert result["data"]["fingerprint"] == fingerprint
    assert result["data"]["fingerprints"] == [fingerprint]
    await hass.async_block_till_done()

    flow_id = await _pbs_step(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, _input(pbs, fingerprint=""))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_renewed_certificate_of_a_configured_server_is_known(
    hass: HomeAssistant, pbs: PbsSimulator
) -> None:
    """An entry that accepted the server's renewed certificate still counts as that server."""
    entry = pbs_entry_for(pbs)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        unique_id=server_identity(OTHER_FINGERPRINT),
        data={
            **entry.data,
            "fingerprints": [OTHER_FINGERPRINT, pbs.certificate.fingerprint_sha256],
        },
    )
    flow_id = await _pbs_step(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, _input(pbs))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"username": "root"}, {"username": "invalid_username"}),
        ({"fingerprint": "12:34"}, {"fingerprint": "invalid_fingerprint"}),
        ({"fingerprint": OTHER_FINGERPRINT}, {"base": "fingerprint_mismatch"}),
        ({"token_secret": "wrong"}, {"base": "invalid_auth"}),
        ({"port": 9}, {"base": "cannot_connect"}),
        ({"verify_ssl": True, "fingerprint": ""}, {"base": "ssl_error"}),
    ],
    ids=["username", "fingerprint-format", "fingerprint-other", "secret", "refused", "tls"],
)
async def test_errors_then_recovery(
    hass: HomeAssistant, pbs: PbsSimulator, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    """Each problem is a form error; correcting it creates the entry."""
    flow_id = await _pbs_step(hass)
    # In debug mode asyncio reports the server side of a refused TLS handshake as a loop
    # error, which the harness would count against the test; production runs without it.
    hass.loop.set_debug(False)
    result = await hass.config_entries.flow.async_configure(flow_id, _input(pbs, **changes))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    if errors == {"base": "fingerprint_mismatch"}:
        # The form tells which certificate the server presents.
        placeholders = result["description_placeholders"]
        assert placeholders["fingerprint"] == pbs.certificate.fingerprint_sha256
    result = await hass.config_entries.flow.async_configure(flow_id, _input(pbs))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_unexpected_answers_and_missing_privileges(
    hass: HomeAssistant, pbs: PbsSimulator
) -> None:
    """Server errors, dropped connections, missing Datastore.Audit, refusals and bugs."""
    flow_id = await _pbs_step(hass)
    pbs.faults.inject("/version", FaultKind.SERVER_ERROR, count=1)
    result = await hass.config_entries.flow.async_configure(flow_id, _input(pbs))
    assert result["errors"] == {"base": "not_pbs"}

    pbs.faults.inject("/version", FaultKind.DROP, count=2)  # a GET is retried once
    result = await hass.config_entries.flow.async_configure(flow_id, _input(pbs))
    assert result["errors"] == {"base": "cannot_connect"}

    backup_only = pbs.add_token("backup@pbs", "ha", {"Datastore.Backup"})
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        _input(pbs, username="backup@pbs", token_id="ha", token_secret=backup_only.secret),
    )
    assert result["errors"] == {"base": "missing_privilege"}
    assert "Datastore.Audit" in result["description_placeholders"]["privilege"]

    with patch(
        "custom_components.homelab_agents.flows.backup.ProxmoxClient.call",
        side_effect=ProxmoxPermissionError("permission check failed"),
    ):
        result = await hass.config_entries.flow.async_configure(flow_id, _input(pbs))
    assert result["errors"] == {"base": "missing_privilege"}
    with patch(
        "custom_components.homelab_agents.flows.backup.ProxmoxClient.call",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(flow_id, _input(pbs))
    assert result["errors"] == {"base": "unknown"}

    # A token with Datastore.Audit on one datastore only is enough to start with.
    scoped = pbs.add_token("monitor@pbs", "ha", {"/datastore/store1": {"Datastore.Audit"}})
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        _input(
            pbs,
            username="monitor@pbs",
            token_id="ha",
            token_secret=scoped.secret,
            fingerprint="",
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "fingerprint" not in result["data"]
    assert not _can_audit_datastores(None)
    await hass.async_block_till_done()


async def test_reauth(hass: HomeAssistant, pbs: PbsSimulator) -> None:
    """Reauth asks for the token's new secret and refuses another server's certificate."""
    entry = pbs_entry_for(pbs)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_proxmox_backup"
    assert result["description_placeholders"]["token"] == pbs.token.auth_id
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token_secret": "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    pbs.add_token(pbs.token.user, pbs.token.token_name, secret="rotated-secret")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token_secret": "rotated-secret"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["token_secret"] == "rotated-secret"
    await hass.async_block_till_done()

    data = {k: v for k, v in entry.data.items() if k != "fingerprint"}
    hass.config_entries.async_update_entry(
        entry, data={**data, "fingerprints": [OTHER_FINGERPRINT]}
    )
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token_secret": "rotated-secret"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_server"


async def test_reconfigure_pins_a_renewed_certificate(
    hass: HomeAssistant, pbs: PbsSimulator
) -> None:
    """A certificate the entry has not seen is accepted only when the user pins it."""
    fingerprint = pbs.certificate.fingerprint_sha256
    entry = pbs_entry_for(pbs)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "fingerprints": [OTHER_FINGERPRINT]}
    )
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_proxmox_backup"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(pbs, port=9))
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _input(pbs, fingerprint="")
    )
    assert result["errors"] == {"base": "certificate_changed"}
    assert result["description_placeholders"]["fingerprint"] == fingerprint
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(pbs))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["fingerprints"] == [OTHER_FINGERPRINT, fingerprint]
    assert entry.unique_id == server_identity(fingerprint)  # unchanged: entities keep their ids
    await hass.async_block_till_done()

    # A known certificate needs no pin: verification can be dropped altogether.
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _input(pbs, fingerprint="")
    )
    assert result["reason"] == "reconfigure_successful"
    assert "fingerprint" not in entry.data
    await hass.async_block_till_done()


async def test_reconfigure_refuses_a_server_another_entry_has(
    hass: HomeAssistant, pbs: PbsSimulator
) -> None:
    """Pinning the certificate of a server configured elsewhere is refused."""
    configured = pbs_entry_for(pbs)
    configured.add_to_hass(hass)
    other = MockConfigEntry(
        domain=DOMAIN,
        unique_id=server_identity(OTHER_FINGERPRINT),
        data={**configured.data, "fingerprints": [OTHER_FINGERPRINT]},
    )
    other.add_to_hass(hass)
    result = await other.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(pbs))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_options(hass: HomeAssistant, setup_pbs: MockConfigEntry) -> None:
    """Freshness threshold and task wait are options; saving them reloads the entry."""
    result = await hass.config_entries.options.async_init(setup_pbs.entry_id)
    assert result["step_id"] == "pbs_options"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"freshness_hours": 30, "backup_timeout": 60}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert setup_pbs.runtime_data.freshness.total_seconds() == 30 * 3600
    assert setup_pbs.runtime_data.task_wait.total_seconds() == 3600
