"""The homelab tools over MCP: HA's mcp_server and the real `mcp` client over HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.pve import PveSimulator


@pytest.fixture
async def mcp_url(
    hass: HomeAssistant,
    setup_proxmox: MockConfigEntry,
    hass_client: Callable[[], Awaitable[TestClient]],
) -> str:
    """HA's MCP server offering the homelab API, on HA's real HTTP server."""
    assert await async_setup_component(hass, "homeassistant", {})
    entry = MockConfigEntry(domain="mcp_server", data={CONF_LLM_HASS_API: ["homelab_agents"]})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client()
    return f"http://127.0.0.1:{client.port}/api/mcp"


def _json(result: Any) -> dict[str, Any]:
    assert not result.isError, result.content
    return dict(json.loads(result.content[0].text))


async def test_tools_over_mcp(
    hass: HomeAssistant, mcp_url: str, hass_access_token: str, pve: PveSimulator
) -> None:
    """List the tools, read the status, start a guest, request and confirm a hard stop."""
    headers = {"Authorization": f"Bearer {hass_access_token}"}
    async with (
        streamablehttp_client(mcp_url, headers=headers) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = {tool.name for tool in (await session.list_tools()).tools}
        assert {"homelab_status", "start_guest", "request_destructive_action"} <= tools

        status = _json(await session.call_tool("homelab_status", {}))
        assert status["clusters"][0]["cluster"] == "homelab"

        stopped = next(g for g in pve.cluster.guests.values() if g.status == "stopped")
        started = _json(await session.call_tool("start_guest", {"vmid": stopped.vmid}))
        assert started["status"] == "ok"
        assert pve.cluster.guest(stopped.vmid).status == "running"

        request = _json(
            await session.call_tool(
                "request_destructive_action", {"action": "stop", "vmid": stopped.vmid}
            )
        )
        assert pve.cluster.guest(stopped.vmid).status == "running"
        done = _json(await session.call_tool("confirm_action", {"action_id": request["action_id"]}))
        assert done["state"] == "done"
        assert pve.cluster.guest(stopped.vmid).status == "stopped"
