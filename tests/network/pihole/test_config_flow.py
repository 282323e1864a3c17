"""Config flow for Pi-hole: steps, errors and recovery, duplicates, reauth, reconfigure, options."""

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
from simulators.pihole import DEFAULT_APP_PASSWORD, DEFAULT_PASSWORD, FaultKind, PiholeSimulator

from .conftest import pihole_entry_for


def _input(sim: PiholeSimulator, **changes: Any) -> dict[str, Any]:
    return {"url": sim.url, "password": DEFAULT_APP_PASSWORD, "verify_ssl": False, **changes}


async def _pihole_step(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "pihole" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "pihole"}
    )
    assert result["step_id"] == "pihole"
    return result["flow_id"]


@pytest.fixture
async def not_pihole() -> AsyncGenerator[str]:
    """A web server that is no Pi-hole: every path is 404."""
    runner = web.AppRunner(web.Application(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.mark.parametrize("password", [DEFAULT_APP_PASSWORD, DEFAULT_PASSWORD])
async def test_flow_creates_entry_identified_by_host_name(
    hass: HomeAssistant, pihole: PiholeSimulator, password: str
) -> None:
    """The password is checked, the host name identifies the Pi-hole, the seat is given back."""
    flow_id = await _pihole_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, _input(pihole, url=f"{pihole.url}/admin/", password=password)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Pi-hole pihole"
    assert result["result"].unique_id == "pihole:pihole"
    assert result["data"] == {
        "kind": "pihole",
        "url": f"{pihole.url}/admin/",
        "password": password,
        "verify_ssl": False,
    }
    await hass.async_block_till_done()
    # The flow's own session was logged out; the entry's session is the only seat taken.
    assert pihole.logouts == 1
    assert pihole.active_sessions == 1


async def test_same_pihole_at_another_address_is_already_configured(
    hass: HomeAssistant, pihole: PiholeSimulator
) -> None:
    """Another URL of a configured Pi-hole (same host name) is refused."""
    pihole_entry_for(pihole).add_to_hass(hass)
    flow_id = await _pihole_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, _input(pihole, url=f"{pihole.url}/admin")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert pihole.active_sessions == 0


async def test_pihole_without_password(hass: HomeAssistant) -> None:
    """A Pi-hole without a password needs none; the entry stores none."""
    async with PiholeSimulator(password=None, hostname="open") as sim:
        flow_id = await _pihole_step(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, {"url": sim.url, "verify_ssl": True}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {"kind": "pihole", "url": sim.url, "verify_ssl": True}
        await hass.async_block_till_done()
        assert sim.logins == 0
        state = hass.states.get("sensor.pi_hole_open_queries_today")
        assert state is not None
        assert int(state.state) > 0


async def test_https_pihole_with_self_signed_certificate(hass: HomeAssistant) -> None:
    """Over HTTPS with the certificate check off (Pi-hole's own self-signed certificate)."""
    async with PiholeSimulator(https=True, hostname="secure") as sim:
        assert sim.url.startswith("https://")
        flow_id = await _pihole_step(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, _input(sim))
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["result"].unique_id == "pihole:secure"
        await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("changes", "prepare", "errors"),
    [
        ({"url": "pi.hole"}, None, {"url": "invalid_url"}),
        ({"password": "wrong"}, None, {"base": "pihole_invalid_auth"}),
        ({"password": ""}, None, {"base": "pihole_invalid_auth"}),
        ({"url": "http://127.0.0.1:9"}, None, {"base": "pihole_cannot_connect"}),
        ({}, "seats", {"base": "pihole_seats_exceeded"}),
        ({}, "429", {"base": "pihole_rate_limited"}),
        ({}, "html", {"base": "not_pihole"}),
        ({}, "hostless", {"base": "not_pihole"}),
        ({}, "500", {"base": "pihole_cannot_connect"}),
    ],
    ids=[
        "url",
        "password",
        "password-needed",
        "refused",
        "seats",
        "rate-limited",
        "html",
        "no-host-name",
        "server-error",
    ],
)
async def test_errors_then_recovery(
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    changes: dict[str, Any],
    prepare: str | None,
    errors: dict[str, str],
) -> None:
    """Each problem is a form error; once it is gone the entry is created."""
    if prepare == "seats":
        pihole.max_sessions = 0
    elif prepare == "hostless":
        pihole.hostname = ""
    elif prepare == "429":
        pihole.faults.inject("/auth", FaultKind.RATE_LIMITED, retry_after=1)
    elif prepare == "html":
        pihole.faults.inject("/auth", FaultKind.NOT_JSON)
    elif prepare == "500":
        pihole.faults.inject("/auth", FaultKind.SERVER_ERROR)
    flow_id = await _pihole_step(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, _input(pihole, **changes))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    pihole.max_sessions = 16
    pihole.hostname = "pihole"
    result = await hass.config_entries.flow.async_configure(flow_id, _input(pihole))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_a_web_server_that_is_no_pihole(hass: HomeAssistant, not_pihole: str) -> None:
    """A URL without Pi-hole's API is not mistaken for a connection problem."""
    flow_id = await _pihole_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"url": not_pihole, "password": "x", "verify_ssl": False}
    )
    assert result["errors"] == {"base": "not_pihole"}


async def test_unexpected_error_is_logged(
    hass: HomeAssistant, pihole: PiholeSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug shows `unknown` and a traceback in the log, never the password."""
    flow_id = await _pihole_step(hass)
    with patch(
        "custom_components.homelab_agents.network.pihole.client.PiholeClient.async_check",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(flow_id, _input(pihole))
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while checking Pi-hole" in caplog.text
    assert DEFAULT_APP_PASSWORD not in caplog.text


async def test_reauth_with_new_app_password(hass: HomeAssistant, pihole: PiholeSimulator) -> None:
    """Reauth asks for the password only; a wrong one is an error, the right one reloads."""
    entry = pihole_entry_for(pihole, password="old-password")
    entry.add_to_hass(hass)
    pihole.app_password = "new-app-password"
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_pihole"
    assert result["description_placeholders"]["title"] == "Pi-hole pihole"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"password": "still-wrong"}
    )
    assert result["errors"] == {"base": "pihole_invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"password": "new-app-password"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["password"] == "new-app-password"
    assert entry.data["url"] == pihole.url


async def test_reauth_reaching_another_pihole_aborts(
    hass: HomeAssistant, pihole: PiholeSimulator
) -> None:
    """The entry's URL now reaches another Pi-hole: refused, entry unchanged."""
    entry = pihole_entry_for(pihole)
    entry.add_to_hass(hass)
    pihole.hostname = "other"
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"password": DEFAULT_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_pihole"
    assert entry.data["password"] == DEFAULT_APP_PASSWORD


async def test_reconfigure_moves_to_a_new_address_keeping_the_password(
    hass: HomeAssistant, pihole: PiholeSimulator
) -> None:
    """The same Pi-hole (host name) at a new address; an empty password keeps the stored one."""
    entry = pihole_entry_for(pihole)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_pihole"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": "http://127.0.0.1:9", "verify_ssl": False}
    )
    assert result["errors"] == {"base": "pihole_cannot_connect"}
    async with PiholeSimulator(hostname="pihole") as moved:
        new_url = moved.url
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"url": new_url, "password": "", "verify_ssl": False}
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        "kind": "pihole",
        "url": new_url,
        "password": DEFAULT_APP_PASSWORD,
        "verify_ssl": False,
    }


async def test_reconfigure_to_another_pihole_aborts(
    hass: HomeAssistant, pihole: PiholeSimulator
) -> None:
    """A URL that reaches a different Pi-hole is refused; add it as a new entry instead."""
    entry = pihole_entry_for(pihole)
    entry.add_to_hass(hass)
    async with PiholeSimulator(hostname="upstairs") as other:
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(other))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_pihole"
    assert entry.data["url"] == pihole.url


async def test_reconfigure_of_pihole_without_password(hass: HomeAssistant) -> None:
    """Without a stored password there is nothing to keep."""
    async with PiholeSimulator(password=None) as sim:
        entry = pihole_entry_for(sim, password=None)
        entry.add_to_hass(hass)
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"url": sim.url, "verify_ssl": False}
        )
        assert result["reason"] == "reconfigure_successful"
        assert "password" not in entry.data


async def test_options_set_sensitivity_and_alerts(
    hass: HomeAssistant, setup_pihole: MockConfigEntry
) -> None:
    """The options form shows the monitor's fields under the Pi-hole's own step."""
    result = await hass.config_entries.options.async_init(setup_pihole.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pihole_options"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"sensitivity": "high", "anomaly_alerts": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert setup_pihole.options == {"sensitivity": "high", "anomaly_alerts": False}
