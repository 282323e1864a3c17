"""Fixtures shared by every test: a real Alertmanager, entries and a set-up integration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.const import CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import (
    CONF_CLUSTER_PEERS,
    CONF_KIND,
    CONF_REQUIRE_TOKEN,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_TOKEN,
    DOMAIN,
)

from .alertmanager_process import AlertmanagerProcess, WebhookTarget

WEBHOOK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
WEBHOOK_TOKEN = "test-token-6f0b1c2d3e4f"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load this repository's custom integration in every test."""


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A config folder per test: setup installs blueprints into it."""
    return hass_tmp_config_dir


@pytest.fixture(autouse=True)
def auto_socket_enabled(socket_enabled: None) -> None:
    """Tests talk to real local peers; pytest-socket still allows only 127.0.0.1."""


@pytest.fixture
async def alertmanager(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[AlertmanagerProcess]:
    """A real Alertmanager on 127.0.0.1, not yet delivering anywhere."""
    process = AlertmanagerProcess(tmp_path / "alertmanager")
    process.workdir.mkdir()
    await process.start()
    yield process
    process.stop()


@pytest.fixture
def alertmanager_url() -> str:
    """URL the entry points at; a closed port unless a test uses the real process."""
    return "http://127.0.0.1:9"


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Options of the mock entry."""
    return {}


@pytest.fixture
def mock_config_entry(alertmanager_url: str, entry_options: dict[str, Any]) -> MockConfigEntry:
    """An Alertmanager entry with a known webhook id and token."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Alertmanager 127.0.0.1",
        unique_id="http://127.0.0.1:9093",
        data={
            CONF_KIND: "alertmanager",
            CONF_URL: alertmanager_url,
            CONF_VERIFY_SSL: True,
            CONF_REQUIRE_TOKEN: True,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
            CONF_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
            CONF_CLUSTER_PEERS: [],
        },
        options=entry_options,
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration with the mock entry."""
    await async_setup_component(hass, "http", {})
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


type WebhookPoster = Callable[..., Awaitable[tuple[int, str]]]


@pytest.fixture
async def webhook_client(
    hass: HomeAssistant,
    hass_client_no_auth: Callable[[], Awaitable[TestClient]],
    init_integration: MockConfigEntry,
) -> TestClient:
    """An HTTP client for Home Assistant's real HTTP server."""
    return await hass_client_no_auth()


@pytest.fixture
def post_webhook(webhook_client: TestClient) -> WebhookPoster:
    """POST a body to the entry's webhook through HA's HTTP stack; returns status and text."""

    async def post(
        body: Any = None,
        *,
        raw: bytes | None = None,
        token: str | None = WEBHOOK_TOKEN,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        request_headers = dict(headers or {})
        if token is not None:
            request_headers["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": request_headers}
        if raw is not None:
            kwargs["data"] = raw
        else:
            kwargs["json"] = body
        response = await webhook_client.post(f"/api/webhook/{WEBHOOK_ID}", **kwargs)
        return response.status, await response.text()

    return post


def webhook_target_for(client: TestClient, receiver: str = "home-assistant") -> WebhookTarget:
    """Where a real Alertmanager must deliver to reach the test's HA server."""
    return WebhookTarget(
        url=f"http://127.0.0.1:{client.port}/api/webhook/{WEBHOOK_ID}",
        token=WEBHOOK_TOKEN,
        receiver=receiver,
    )


async def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Let the loop run (real peers deliver into it) until `predicate` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
