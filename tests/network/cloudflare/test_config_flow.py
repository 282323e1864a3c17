"""Cloudflare config flow: token checks, account choice, reauth, reconfigure and options."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.network.cloudflare.client import CloudflareClient
from simulators.cloudflare import (
    ACCOUNT_READ,
    ANALYTICS_READ,
    TUNNEL_READ,
    ZONE_READ,
    CloudflareSimulator,
)

from .conftest import entry_for, token_of


async def _cloudflare_form(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "cloudflare" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "cloudflare"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "cloudflare"
    return result["flow_id"]


async def _submit(hass: HomeAssistant, flow_id: str, data: dict[str, Any]) -> Any:
    return await hass.config_entries.flow.async_configure(flow_id, data)


async def test_token_of_one_account_creates_its_entry(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """Verify, accounts, zones, one hour of analytics and tunnels are read before creating."""
    flow_id = await _cloudflare_form(hass)
    token = token_of(cloudflare)
    result = await _submit(hass, flow_id, {"api_token": token.value, "api_url": cloudflare.api_url})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    account = next(iter(cloudflare.accounts.values()))
    assert result["title"] == "Cloudflare Homelab"
    assert result["result"].unique_id == account.id
    assert result["data"] == {
        "kind": "cloudflare",
        "api_token": token.value,
        "api_url": cloudflare.api_url,
        "account_id": account.id,
    }
    await hass.async_block_till_done()
    # The flow: verify, accounts, zones, one hour of analytics, tunnels; then the entry's
    # first poll: zones, tunnels and one analytics query.
    assert cloudflare.requests == {
        "verify": 1,
        "accounts": 1,
        "zones": 2,
        "graphql": 2,
        "tunnels": 2,
    }


async def test_token_of_several_accounts_asks_which(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """The account step lists the token's accounts; the entry follows the one chosen."""
    other = cloudflare.add_account("Work")
    cloudflare.add_zone(other, "work.example")
    token = cloudflare.add_token()
    flow_id = await _cloudflare_form(hass)
    result = await _submit(hass, flow_id, {"api_token": token.value, "api_url": cloudflare.api_url})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "cloudflare_account"
    result = await _submit(hass, flow_id, {"account_id": other.id})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Cloudflare Work"
    assert result["data"]["account_id"] == other.id
    await hass.async_block_till_done()


async def test_invalid_token_then_valid_one(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """An unknown or disabled token is an error on the form; a good one then succeeds."""
    flow_id = await _cloudflare_form(hass)
    result = await _submit(hass, flow_id, {"api_token": "nope", "api_url": cloudflare.api_url})
    assert result["errors"] == {"base": "cloudflare_invalid_token"}
    disabled = cloudflare.add_token(status="disabled")
    result = await _submit(
        hass, flow_id, {"api_token": disabled.value, "api_url": cloudflare.api_url}
    )
    assert result["errors"] == {"base": "cloudflare_invalid_token"}
    result = await _submit(
        hass, flow_id, {"api_token": token_of(cloudflare).value, "api_url": cloudflare.api_url}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("permissions", "missing"),
    [
        ({ZONE_READ, TUNNEL_READ, ACCOUNT_READ}, "Zone → Analytics → Read"),
        ({ANALYTICS_READ, TUNNEL_READ, ACCOUNT_READ}, "Zone → Zone → Read"),
        ({ZONE_READ, ANALYTICS_READ, ACCOUNT_READ}, "Account → Cloudflare Tunnel → Read"),
        ({ZONE_READ, ANALYTICS_READ}, "Account → Account Settings → Read"),
    ],
)
async def test_token_without_a_permission_names_it(
    hass: HomeAssistant, cloudflare: CloudflareSimulator, permissions: set[str], missing: str
) -> None:
    """Each least-privilege permission is checked, and the form says which one is missing."""
    token = cloudflare.add_token(permissions)
    flow_id = await _cloudflare_form(hass)
    result = await _submit(hass, flow_id, {"api_token": token.value, "api_url": cloudflare.api_url})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "cloudflare"
    assert result["errors"] == {"base": "cloudflare_missing_permission"}
    assert result["description_placeholders"]["permission"] == missing


async def test_cannot_connect_bad_url_and_foreign_answers(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """A closed port, a URL that is no URL, and a server that is not Cloudflare's API."""
    token = token_of(cloudflare).value
    flow_id = await _cloudflare_form(hass)
    result = await _submit(
        hass, flow_id, {"api_token": token, "api_url": "http://127.0.0.1:9/client/v4"}
    )
    assert result["errors"] == {"base": "cloudflare_cannot_connect"}
    result = await _submit(hass, flow_id, {"api_token": token, "api_url": "ftp:/nowhere"})
    assert result["errors"] == {"base": "cloudflare_invalid_url"}
    result = await _submit(
        hass, flow_id, {"api_token": token, "api_url": f"{cloudflare.api_url}/elsewhere"}
    )
    assert result["errors"] == {"base": "cloudflare_unexpected_answer"}
    cloudflare.fail("verify", status=502)
    result = await _submit(hass, flow_id, {"api_token": token, "api_url": cloudflare.api_url})
    assert result["errors"] == {"base": "cloudflare_cannot_connect"}


async def test_rate_limit_and_unexpected_errors(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """A 429 says how long to wait; an unexpected exception is `unknown` and logged."""
    token = token_of(cloudflare).value
    flow_id = await _cloudflare_form(hass)
    cloudflare.force_rate_limit(30)
    result = await _submit(hass, flow_id, {"api_token": token, "api_url": cloudflare.api_url})
    assert result["errors"] == {"base": "cloudflare_rate_limited"}
    assert result["description_placeholders"]["seconds"] == "30"
    cloudflare.force_rate_limit(0)
    with patch.object(CloudflareClient, "verify_token", side_effect=RuntimeError("boom")):
        result = await _submit(hass, flow_id, {"api_token": token, "api_url": cloudflare.api_url})
    assert result["errors"] == {"base": "unknown"}


async def test_token_without_accounts(hass: HomeAssistant, cloudflare: CloudflareSimulator) -> None:
    """A token made for no account cannot be used."""
    token = cloudflare.add_token(accounts=[])
    flow_id = await _cloudflare_form(hass)
    result = await _submit(hass, flow_id, {"api_token": token.value, "api_url": cloudflare.api_url})
    assert result["errors"] == {"base": "cloudflare_no_account"}


async def test_account_already_configured(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """Another token of a configured account is refused, in the one- and several-account path."""
    entry_for(cloudflare).add_to_hass(hass)
    flow_id = await _cloudflare_form(hass)
    other = cloudflare.add_token()
    result = await _submit(hass, flow_id, {"api_token": other.value, "api_url": cloudflare.api_url})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    cloudflare.add_account("Work")
    flow_id = await _cloudflare_form(hass)
    both = cloudflare.add_token()
    result = await _submit(hass, flow_id, {"api_token": both.value, "api_url": cloudflare.api_url})
    homelab = next(a for a in cloudflare.accounts.values() if a.name == "Homelab")
    result = await _submit(hass, flow_id, {"account_id": homelab.id})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reauth_takes_a_new_token_of_the_same_account(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """A wrong token is an error, a token of another account aborts, a new one is saved."""
    entry = entry_for(cloudflare)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_cloudflare"
    assert result["description_placeholders"]["title"] == "Cloudflare Homelab"
    result = await _submit(hass, result["flow_id"], {"api_token": "expired"})
    assert result["errors"] == {"base": "cloudflare_invalid_token"}
    new_token = cloudflare.add_token()
    result = await _submit(hass, result["flow_id"], {"api_token": new_token.value})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["api_token"] == new_token.value
    await hass.async_block_till_done()

    work = cloudflare.add_account("Work")
    foreign = cloudflare.add_token(accounts=[work])
    result = await entry.start_reauth_flow(hass)
    result = await _submit(hass, result["flow_id"], {"api_token": foreign.value})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["api_token"] == new_token.value
    await hass.async_block_till_done()


async def test_reconfigure_changes_url_or_token_of_the_same_account(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """An empty token keeps the stored one; a token of another account aborts."""
    entry = entry_for(cloudflare)
    entry.add_to_hass(hass)
    stored = entry.data["api_token"]
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_cloudflare"
    result = await _submit(hass, result["flow_id"], {"api_url": "http://127.0.0.1:9/client/v4"})
    assert result["errors"] == {"base": "cloudflare_cannot_connect"}
    result = await _submit(hass, result["flow_id"], {"api_url": cloudflare.api_url + "/"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["api_token"] == stored
    assert entry.data["api_url"] == cloudflare.api_url + "/"
    assert entry.data["kind"] == "cloudflare"
    await hass.async_block_till_done()

    limited = cloudflare.add_token({ZONE_READ, ACCOUNT_READ, TUNNEL_READ})
    result = await entry.start_reconfigure_flow(hass)
    result = await _submit(
        hass, result["flow_id"], {"api_token": limited.value, "api_url": cloudflare.api_url}
    )
    assert result["errors"] == {"base": "cloudflare_missing_permission"}
    assert result["description_placeholders"]["permission"] == "Zone → Analytics → Read"

    work = cloudflare.add_account("Work")
    foreign = cloudflare.add_token(accounts=[work])
    result = await _submit(
        hass, result["flow_id"], {"api_token": foreign.value, "api_url": cloudflare.api_url}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["api_token"] == stored
    await hass.async_block_till_done()


async def test_options_offer_the_account_zones_and_monitor_settings(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """Zones come from the running entry (or the saved choice while it is not loaded)."""
    entry = entry_for(cloudflare)
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "cloudflare_options"
    assert result["data_schema"]({}) == {
        "zones": [],
        "poll_interval": 5,
        "sensitivity": "medium",
        "anomaly_alerts": True,
    }
    hass.config_entries.options.async_abort(result["flow_id"])

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    zone = next(z for z in cloudflare.zones.values() if z.name == "homelab.example")
    result = await hass.config_entries.options.async_init(entry.entry_id)
    selector = result["data_schema"].schema["zones"]
    assert [o["label"] for o in selector.config["options"]] == ["example.com", "homelab.example"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"zones": [zone.id], "poll_interval": 10, "sensitivity": "high", "anomaly_alerts": False},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["zones"] == [zone.id]
    runtime = entry.runtime_data
    assert set(runtime.coordinator.data.zones) == {zone.id}  # type: ignore[attr-defined]
    # The zone left out loses its device and entities.
    excluded = next(z for z in cloudflare.zones.values() if z.name == "example.com")
    devices = dr.async_get(hass)
    identifier = (DOMAIN, f"cloudflare/{excluded.account.id}/zone/{excluded.id}")
    assert devices.async_get_device_by_identifier(identifier, entry.entry_id) is None
    assert hass.states.get("sensor.example_com_requests_24_h") is None
    assert hass.states.get("sensor.homelab_example_requests_24_h") is not None

    assert await hass.config_entries.async_unload(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    options = result["data_schema"].schema["zones"].config["options"]
    assert options == [{"value": zone.id, "label": zone.id}]
    hass.config_entries.options.async_abort(result["flow_id"])


async def test_menu_step_after_a_failed_account_check(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """A token of several accounts lacking tunnel access fails on the chosen account."""
    cloudflare.add_account("Work")
    token = cloudflare.add_token({ZONE_READ, ANALYTICS_READ, ACCOUNT_READ})
    flow_id = await _cloudflare_form(hass)
    result = await _submit(hass, flow_id, {"api_token": token.value, "api_url": cloudflare.api_url})
    assert result["step_id"] == "cloudflare_account"
    homelab = next(a for a in cloudflare.accounts.values() if a.name == "Homelab")
    result = await _submit(hass, flow_id, {"account_id": homelab.id})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "cloudflare"
    assert result["errors"] == {"base": "cloudflare_missing_permission"}


async def test_account_with_tunnels_only(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """An account without zones needs no analytics query; its tunnels are enough."""
    tunnels_only = cloudflare.add_account("Tunnels")
    cloudflare.add_tunnel(tunnels_only, "office")
    token = cloudflare.add_token(accounts=[tunnels_only])
    flow_id = await _cloudflare_form(hass)
    result = await _submit(hass, flow_id, {"api_token": token.value, "api_url": cloudflare.api_url})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert cloudflare.requests["graphql"] == 0
    await hass.async_block_till_done()
    assert hass.states.get("sensor.office_tunnel_status").state == "healthy"
