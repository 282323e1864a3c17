"""Config flow: the kind menu, the Alertmanager steps, reauth, reconfigure and options."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import (
    CONF_CLUSTER_PEERS,
    CONF_HEARTBEAT_TIMEOUT,
    CONF_HISTORY_DAYS,
    CONF_KIND,
    CONF_RECEIVER,
    CONF_RECONCILE_INTERVAL,
    CONF_REQUIRE_TOKEN,
    CONF_WATCHDOG_ALERT,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_TOKEN,
    DOMAIN,
)
from simulators.tls import generate_self_signed

from .alertmanager_process import AlertmanagerProcess
from .fake_alertmanager import FakeAlertmanager, serve, serve_in_thread


@pytest.fixture
async def fake() -> AsyncGenerator[FakeAlertmanager]:
    """A scriptable Alertmanager API."""
    async with serve(FakeAlertmanager()) as running:
        yield running


@pytest.fixture(autouse=True)
async def setup_http(hass: HomeAssistant) -> None:
    """The webhook component needs HA's HTTP server configured."""
    await async_setup_component(hass, "http", {})


async def _start_alertmanager_step(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    # Every implemented kind follows the first three (each kind's tests check its own).
    assert result["menu_options"][:3] == ["alertmanager", "proxmox_ve", "proxmox_backup"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "alertmanager"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "alertmanager"
    return result["flow_id"]


async def test_user_flow_creates_entry_against_real_alertmanager(
    hass: HomeAssistant, alertmanager: AlertmanagerProcess
) -> None:
    """The flow tests the API, generates webhook id and token, and shows the snippet."""
    flow_id = await _start_alertmanager_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: alertmanager.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Alertmanager 127.0.0.1"
    data = result["data"]
    assert data[CONF_KIND] == "alertmanager"
    assert len(data[CONF_WEBHOOK_ID]) == 64
    assert len(data[CONF_WEBHOOK_TOKEN]) >= 32
    assert data[CONF_CLUSTER_PEERS] == []
    assert CONF_USERNAME not in data
    assert result["result"].unique_id == alertmanager.url
    snippet = result["description_placeholders"]["snippet"]
    assert f"/api/webhook/{data[CONF_WEBHOOK_ID]}" in snippet
    assert f'credentials: "{data[CONF_WEBHOOK_TOKEN]}"' in snippet
    assert "send_resolved: true" in snippet
    assert "max_alerts: 500" in snippet
    assert result["description"] == "alertmanager"


async def test_user_flow_without_token(hass: HomeAssistant, fake: FakeAlertmanager) -> None:
    """A webhook without a bearer token stores none and the snippet has no authorization."""
    flow_id = await _start_alertmanager_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_WEBHOOK_TOKEN not in result["data"]
    assert "authorization" not in result["description_placeholders"]["snippet"]


@pytest.mark.parametrize(
    ("setup", "url", "error"),
    [
        ({}, "ftp://127.0.0.1", {CONF_URL: "invalid_url"}),
        ({}, "http://", {CONF_URL: "invalid_url"}),
        ({}, "http://127.0.0.1:9", {"base": "cannot_connect"}),
        ({"credentials": ("am", "secret")}, None, {"base": "invalid_auth"}),
        ({"status_code": 404}, None, {"base": "not_alertmanager"}),
        ({"status_body": {"hello": "world"}}, None, {"base": "not_alertmanager"}),
        ({"status_code": 502}, None, {"base": "cannot_connect"}),
    ],
    ids=["scheme", "no-host", "refused", "auth", "404", "not-am", "bad-gateway"],
)
async def test_user_flow_errors_then_recovers(
    hass: HomeAssistant,
    fake: FakeAlertmanager,
    setup: dict[str, object],
    url: str | None,
    error: dict[str, str],
) -> None:
    """Each problem shows its form error; fixing it creates the entry."""
    for key, value in setup.items():
        setattr(fake, key, value)
    flow_id = await _start_alertmanager_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: url or fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == error
    fake.credentials, fake.status_code, fake.status_body = None, 200, None
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_with_basic_auth(hass: HomeAssistant, fake: FakeAlertmanager) -> None:
    """Credentials for a proxy in front of Alertmanager are used and stored."""
    fake.credentials = ("am", "secret")
    flow_id = await _start_alertmanager_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_URL: fake.url,
            CONF_VERIFY_SSL: True,
            CONF_REQUIRE_TOKEN: True,
            CONF_USERNAME: "am",
            CONF_PASSWORD: "secret",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_USERNAME] == "am"


async def test_user_flow_tls_error_and_unverified_tls(hass: HomeAssistant) -> None:
    """A self-signed certificate is an ssl_error until verification is turned off."""
    certificate = generate_self_signed()
    async with serve_in_thread(FakeAlertmanager(), certificate.server_context()) as fake:
        flow_id = await _start_alertmanager_step(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
        )
        assert result["errors"] == {"base": "ssl_error"}
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_URL: fake.url, CONF_VERIFY_SSL: False, CONF_REQUIRE_TOKEN: True}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_VERIFY_SSL] is False


async def test_user_flow_unexpected_error(hass: HomeAssistant, fake: FakeAlertmanager) -> None:
    """A bug while probing shows 'unknown' rather than a broken flow."""
    flow_id = await _start_alertmanager_step(hass)
    with patch(
        "custom_components.homelab_agents.alertmanager.client.AlertmanagerClient.status",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
        )
    assert result["errors"] == {"base": "unknown"}


async def test_same_alertmanager_aborts(hass: HomeAssistant, fake: FakeAlertmanager) -> None:
    """The same stand-alone Alertmanager cannot be added twice."""
    for expected in (FlowResultType.CREATE_ENTRY, FlowResultType.ABORT):
        flow_id = await _start_alertmanager_step(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_URL: fake.url + "/", CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
        )
        assert result["type"] is expected
    assert result["reason"] == "already_configured"


async def test_peer_of_configured_cluster_aborts(
    hass: HomeAssistant, fake: FakeAlertmanager
) -> None:
    """Another peer of an already configured cluster is the same Alertmanager cluster."""
    fake.cluster_status, fake.peer_name, fake.peers = "ready", "peer-a", ["peer-a", "peer-b"]
    flow_id = await _start_alertmanager_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "peer-a"
    assert result["data"][CONF_CLUSTER_PEERS] == ["peer-a", "peer-b"]

    fake.peer_name = "peer-b"
    flow_id = await _start_alertmanager_step(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


def _entry(url: str, **data: object) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Alertmanager 127.0.0.1",
        unique_id=url,
        data={
            CONF_KIND: "alertmanager",
            CONF_URL: url,
            CONF_VERIFY_SSL: True,
            CONF_REQUIRE_TOKEN: True,
            CONF_WEBHOOK_ID: "a" * 64,
            CONF_WEBHOOK_TOKEN: "token",
            CONF_CLUSTER_PEERS: [],
            **data,
        },
    )


async def test_reauth_updates_credentials(hass: HomeAssistant, fake: FakeAlertmanager) -> None:
    """Reauth asks for new credentials, shows errors, and reloads with the working ones."""
    fake.credentials = ("am", "new-secret")
    entry = _entry(fake.url, username="am", password="old")
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "am", CONF_PASSWORD: "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "am", CONF_PASSWORD: "new-secret"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_PASSWORD] == "new-secret"
    await hass.async_block_till_done()


async def test_reconfigure_changes_url_and_token(
    hass: HomeAssistant, fake: FakeAlertmanager
) -> None:
    """Reconfigure moves to a new URL, drops the token when turned off, errors recover."""
    entry = _entry("http://old.example:9093", username="am", password="pw")
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_URL: "http://127.0.0.1:9", CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: False},
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: False}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_URL] == fake.url
    assert entry.unique_id == fake.url
    assert CONF_WEBHOOK_TOKEN not in entry.data
    assert CONF_USERNAME not in entry.data
    assert entry.data[CONF_WEBHOOK_ID] == "a" * 64
    await hass.async_block_till_done()

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
    )
    assert result["reason"] == "reconfigure_successful"
    assert len(entry.data[CONF_WEBHOOK_TOKEN]) >= 32
    await hass.async_block_till_done()


async def test_reconfigure_keeps_existing_token(
    hass: HomeAssistant, fake: FakeAlertmanager
) -> None:
    """Keeping the token on does not rotate it (Alertmanager's config stays valid)."""
    entry = _entry(fake.url)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_WEBHOOK_TOKEN] == "token"
    await hass.async_block_till_done()


async def test_reconfigure_to_other_cluster_aborts(
    hass: HomeAssistant, fake: FakeAlertmanager
) -> None:
    """A URL of a different Alertmanager cluster is refused."""
    entry = _entry(fake.url, cluster_peers=["peer-a", "peer-b"])
    entry.add_to_hass(hass)
    fake.cluster_status, fake.peer_name, fake.peers = "ready", "peer-x", ["peer-x"]
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_alertmanager"


async def test_reconfigure_to_url_of_other_entry_aborts(
    hass: HomeAssistant, fake: FakeAlertmanager
) -> None:
    """Reconfiguring onto an Alertmanager another entry already has is refused."""
    _entry(fake.url).add_to_hass(hass)
    entry = _entry("http://other.example:9093")
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fake.url, CONF_VERIFY_SSL: True, CONF_REQUIRE_TOKEN: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_options_flow_shows_snippet_and_saves(
    hass: HomeAssistant, fake: FakeAlertmanager
) -> None:
    """Options show the receiver snippet and store the settings (the entry reloads)."""
    entry = _entry(fake.url)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    snippet = result["description_placeholders"]["snippet"]
    assert "/api/webhook/" + "a" * 64 in snippet
    assert 'credentials: "token"' in snippet
    options = {
        CONF_RECEIVER: "ha",
        CONF_RECONCILE_INTERVAL: 30,
        CONF_HEARTBEAT_TIMEOUT: 5,
        CONF_WATCHDOG_ALERT: "Watchdog",
        CONF_HISTORY_DAYS: 3,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], options)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == options
    assert entry.runtime_data.options.watchdog_alert == "Watchdog"
