"""Config flow for UniFi Network: every step, error and recovery, reauth, reconfigure, options."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from unittest.mock import patch

from aiohttp import web
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.https_server import HttpsServer
from simulators.unifi import UnifiSimulator

from .conftest import unifi_data, unifi_entry_for, unifi_in_thread


async def _unifi_step(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "unifi" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "unifi"}
    )
    assert result["step_id"] == "unifi"
    return str(result["flow_id"])


@pytest.fixture
async def not_unifi() -> AsyncGenerator[HttpsServer]:
    """A web server that answers 200 to everything, without a session cookie."""

    async def anything(request: web.Request) -> web.Response:
        return web.json_response({})

    def application(_: Any) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", anything)
        return app

    server = HttpsServer()
    await server.start(application, host="127.0.0.1", port=0)
    yield server
    await server.stop()


async def test_flow_creates_entry_and_logs_out(hass: HomeAssistant, unifi: UnifiSimulator) -> None:
    """The test login finds the site, names the entry and ends its session again."""
    flow_id = await _unifi_step(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, unifi_data(unifi))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "UniFi udm-pro (Default)"
    assert result["result"].unique_id == f"{unifi.controller_id}/{unifi.site_id()}"
    assert result["data"]["kind"] == "unifi"
    assert result["data"]["site"] == "default"
    assert result["data"]["controller_id"] == unifi.controller_id
    await hass.async_block_till_done()
    # The flow's session ended; the entry (set up right away) holds one of its own.
    assert unifi.counters["logins"] == 2
    assert unifi.counters["logouts"] == 1

    flow_id = await _unifi_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, unifi_data(unifi, site="Default")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_flow_connects_classic_controller(hass: HomeAssistant) -> None:
    """A self-hosted Network application (login at /api/login, API without /proxy/network)."""
    async with UnifiSimulator(unifi_os=False, sites=("default", "branch")) as classic:
        flow_id = await _unifi_step(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, unifi_data(classic, site="Branch")
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["site"] == "branch"
        assert result["title"] == "UniFi unifi-controller (Branch)"
        assert result["result"].unique_id == f"{classic.controller_id}/{classic.site_id('branch')}"
        assert classic.counters["logouts"] == 1
        await hass.async_block_till_done()
        entry = result["result"]
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"password": "wrong"}, {"base": "unifi_invalid_auth"}),
        ({"site": "nowhere"}, {"site": "unifi_unknown_site"}),
        ({"port": 9}, {"base": "unifi_cannot_connect"}),
    ],
)
async def test_flow_errors_then_recovers(
    hass: HomeAssistant, unifi: UnifiSimulator, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    """Each problem shows its error; corrected input creates the entry."""
    flow_id = await _unifi_step(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, unifi_data(unifi, **changes))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    result = await hass.config_entries.flow.async_configure(flow_id, unifi_data(unifi))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_flow_tls_error_until_verification_off(hass: HomeAssistant) -> None:
    """The console's self-signed certificate is refused while verification is on."""
    async with unifi_in_thread() as sim:
        flow_id = await _unifi_step(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, unifi_data(sim, verify_ssl=True)
        )
        assert result["errors"] == {"base": "ssl_error"}
        result = await hass.config_entries.flow.async_configure(flow_id, unifi_data(sim))
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_flow_rate_limited(hass: HomeAssistant) -> None:
    """A console refusing logins (429) gets its own error, and only one attempt is made."""
    async with UnifiSimulator(login_limit=0) as limited:
        flow_id = await _unifi_step(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, unifi_data(limited))
        assert result["errors"] == {"base": "unifi_rate_limited"}
        assert limited.counters["login_attempts"] == 1


async def test_flow_not_unifi(hass: HomeAssistant, not_unifi: HttpsServer) -> None:
    """A web server that is no UniFi Network application."""
    flow_id = await _unifi_step(hass)
    data = {
        "host": not_unifi.host,
        "port": not_unifi.port,
        "username": "admin",
        "password": "secret",
        "site": "default",
        "verify_ssl": False,
    }
    result = await hass.config_entries.flow.async_configure(flow_id, data)
    assert result["errors"] == {"base": "unifi_not_network"}


async def test_flow_unexpected_error(hass: HomeAssistant, unifi: UnifiSimulator) -> None:
    """Anything unexpected is logged and shown as unknown."""
    flow_id = await _unifi_step(hass)
    with patch(
        "custom_components.homelab_agents.flows.unifi.UnifiClient.sites",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(flow_id, unifi_data(unifi))
    assert result["errors"] == {"base": "unknown"}


async def test_reauth_with_new_password(
    hass: HomeAssistant, unifi: UnifiSimulator, setup_unifi: MockConfigEntry
) -> None:
    """After a password change the entry asks for the new one and reloads with it."""
    unifi.change_password("new-password")
    result = await setup_unifi.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_unifi"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"username": unifi.username, "password": "old"}
    )
    assert result["errors"] == {"base": "unifi_invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"username": unifi.username, "password": "new-password"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert setup_unifi.data["password"] == "new-password"
    await hass.async_block_till_done()


async def test_reauth_refuses_other_controller(
    hass: HomeAssistant, unifi: UnifiSimulator, other_unifi: UnifiSimulator
) -> None:
    """Credentials that reach another controller do not replace the entry's."""
    entry = unifi_entry_for(unifi)
    entry.add_to_hass(hass)
    # The entry's host now answers as the other console (e.g. DHCP moved it).
    hass.config_entries.async_update_entry(entry, data={**entry.data, "port": other_unifi.port})
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"username": other_unifi.username, "password": other_unifi.password}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_controller"


async def test_reconfigure_keeps_password_and_changes_port(
    hass: HomeAssistant, unifi: UnifiSimulator, setup_unifi: MockConfigEntry
) -> None:
    """Reconfigure checks the new settings; an empty password keeps the stored one."""
    result = await setup_unifi.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_unifi"
    data = unifi_data(unifi)
    data.pop("password")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {**data, "port": 9})
    assert result["errors"] == {"base": "unifi_cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**data, "site": "Default"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert setup_unifi.data["password"] == unifi.password
    assert setup_unifi.data["site"] == "default"
    await hass.async_block_till_done()


async def test_reconfigure_refuses_other_controller(
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    other_unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """Another console is a new entry, not a reconfiguration."""
    result = await setup_unifi.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], unifi_data(other_unifi)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_controller"
    assert setup_unifi.data["port"] == unifi.port


async def test_options_flow(hass: HomeAssistant, setup_unifi: MockConfigEntry) -> None:
    """Client watching, sensitivity and alerts are options; saving reloads the entry."""
    result = await hass.config_entries.options.async_init(setup_unifi.entry_id)
    assert result["step_id"] == "unifi_options"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"track_clients": False, "sensitivity": "low", "anomaly_alerts": False},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert setup_unifi.options == {
        "track_clients": False,
        "sensitivity": "low",
        "anomaly_alerts": False,
    }
    runtime = setup_unifi.runtime_data
    assert runtime.history.track_clients is False  # type: ignore[attr-defined]
