"""The network tools of the homelab LLM API through HA's llm helper and over MCP.

Against the Pi-hole, Tailscale, Cloudflare and UniFi simulators, with their tests' fixtures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
import json
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.helpers import llm
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.agent_network import MAX_ZONES
from custom_components.homelab_agents.network.models import Anomaly, AnomalyType
from custom_components.homelab_agents.network.monitor import STORAGE_VERSION, store_key
from simulators.cloudflare import CloudflareSimulator
from simulators.pihole import PiholeSimulator
from simulators.tailscale import Pattern, TailscaleSimulator
from simulators.unifi import UnifiSimulator

from ..network.cloudflare import conftest as cloudflare_fixtures
from ..network.pihole import conftest as pihole_fixtures
from ..network.tailscale import conftest as tailscale_fixtures
from ..network.unifi import conftest as unifi_fixtures

pihole = pihole_fixtures.pihole
tailscale_sim = tailscale_fixtures.tailscale_sim
tailscale_options = tailscale_fixtures.tailscale_options
tailscale_credentials = tailscale_fixtures.tailscale_credentials
tailscale_entry = tailscale_fixtures.tailscale_entry
setup_tailscale = tailscale_fixtures.setup_tailscale
cloudflare = cloudflare_fixtures.cloudflare
unifi = unifi_fixtures.unifi
certificate_before_frozen_time = unifi_fixtures.certificate_before_frozen_time

SPIKING = "192.168.1.20"
NETWORK_TOOLS = {
    "network_status",
    "pihole_statistics",
    "disable_pihole_blocking",
    "authorize_tailscale_device",
    "request_tailscale_device_delete",
    "confirm_action",
    "cancel_action",
}


async def _api(hass: HomeAssistant, user: User | None, device_id: str | None = None) -> Any:
    context = llm.LLMContext(
        platform="test",
        context=Context(user_id=user.id if user else None),
        language="en",
        assistant="conversation",
        device_id=device_id,
    )
    return await llm.async_get_api(hass, "homelab_agents", context)


async def _call(instance: Any, tool: str, **args: Any) -> llm.ToolResult:
    return await instance.async_call_tool(llm.ToolInput(tool_name=tool, tool_args=args))


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _store_spikes(
    hass_storage: dict[str, Any], entry: MockConfigEntry, clients: list[str]
) -> list[Anomaly]:
    """Query spikes the entry's monitor flagged before Home Assistant restarted, oldest first."""
    anomalies = [
        Anomaly(
            source="pihole",
            anomaly=AnomalyType.QUERY_RATE_SPIKE,
            key=f"client:{client}:queries",
            label=f"Queries from {client} (per 10 minutes)",
            observed=900.0,
            expected_low=20.0,
            expected_high=80.0,
            unit="queries",
            detected_at=dt_util.utcnow() - timedelta(minutes=30 - number),
        )
        for number, client in enumerate(clients)
    ]
    hass_storage[store_key(entry.entry_id)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": store_key(entry.entry_id),
        "data": {
            "metrics": {},
            "devices": {},
            "presence_since": None,
            "presence_polls": 0,
            "active": [anomaly.as_dict() for anomaly in anomalies],
        },
    }
    return anomalies


@pytest.fixture
def audit(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Every homelab_agents_agent_action event."""
    events: list[dict[str, Any]] = []

    @callback
    def record(event: Event) -> None:
        events.append(dict(event.data))

    hass.bus.async_listen("homelab_agents_agent_action", record)
    return events


def _source(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(source for source in status["sources"] if source["kind"] == kind)


async def test_status_of_all_four_kinds_with_anomalies(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    *,
    hass_storage: dict[str, Any],
    hass_admin_user: User,
    pihole: PiholeSimulator,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
    cloudflare: CloudflareSimulator,
    unifi: UnifiSimulator,
    audit: list[dict[str, Any]],
) -> None:
    """network_status reads every kind's figures and anomalies; the summary and prompt too."""
    pihole_entry = pihole_fixtures.pihole_entry_for(pihole)
    [spike] = _store_spikes(hass_storage, pihole_entry, [SPIKING])
    await _setup(hass, pihole_entry)
    account = next(iter(cloudflare.accounts.values()))
    cloudflare.set_tunnel_status(
        next(t for t in cloudflare.tunnels.values() if t.name == "lab"), "degraded"
    )
    cloudflare_entry = await _setup(hass, cloudflare_fixtures.entry_for(cloudflare))
    unifi_entry = await _setup(
        hass, unifi_fixtures.unifi_entry_for(unifi, {"anomaly_alerts": False})
    )
    tailscale_sim.join("build-server", pattern=Pattern.ALWAYS_ON)
    await setup_tailscale.runtime_data.coordinator.async_refresh()

    instance = await _api(hass, hass_admin_user)
    names = {tool.name for tool in instance.tools}
    assert names >= NETWORK_TOOLS
    assert "list_guests" not in names
    assert "Pi-hole pihole (reachable, 1 active anomalies)" in instance.api_prompt
    assert "Cloudflare Homelab (reachable)" in instance.api_prompt

    status = (await _call(instance, "network_status")).data
    assert status["sources_total"] == 4
    assert audit[-1] == {
        "tool": "network_status",
        "arguments": {},
        "user_id": hass_admin_user.id,
        "assistant": "conversation",
        "device_id": None,
        "error": False,
    }

    hole = _source(status, "pihole")
    summary = pihole_entry.runtime_data.coordinator.data.summary
    assert hole["title"] == "Pi-hole pihole"
    assert hole["entry_id"] == pihole_entry.entry_id
    assert hole["reachable"] is True
    assert hole["queries_24h"] == summary.queries_total > 0
    assert hole["blocked_24h"] == summary.queries_blocked
    assert hole["blocked_percent"] == summary.percent_blocked
    assert hole["blocking"] == "enabled"
    assert hole["anomalies_total"] == 1
    assert hole["anomalies"] == [
        {
            "type": "query_rate_spike",
            "label": spike.label,
            "explanation": (
                f"Queries from {SPIKING} (per 10 minutes): observed 900 queries, "
                "expected 20 to 80 queries"
            ),
            "detected_at": spike.detected_at.isoformat(),
        }
    ]

    tailnet = _source(status, "tailscale")
    devices = setup_tailscale.runtime_data.coordinator.data.devices
    assert tailnet["devices"] == len(devices) == 10
    assert 0 < tailnet["devices_online"] < tailnet["devices"]
    assert tailnet["awaiting_authorization"] == 1
    assert tailnet["awaiting_authorization_names"] == ["build-server"]
    assert tailnet["anomalies"] == []

    flare = _source(status, "cloudflare")
    data = cloudflare_entry.runtime_data.coordinator.data
    assert [zone["zone"] for zone in flare["zones"]] == ["example.com", "homelab.example"]
    busy = next(zone_id for zone_id, zone in data.zones.items() if zone.name == "example.com")
    assert flare["zones"][0]["requests_24h"] == data.totals(busy).requests > 0
    assert flare["zones"][0]["threats_24h"] == data.totals(busy).threats
    assert flare["tunnel_states"] == {"degraded": 1, "healthy": 1}
    assert [tunnel["name"] for tunnel in flare["tunnels"]] == ["lab", "home"]
    assert account.name in flare["title"]

    site = _source(status, "unifi")
    wan = unifi_entry.runtime_data.coordinator.data.wan
    assert site["wan"] == "up"
    assert site["download_mbit_s"] == round(wan.download * 8 / 1_000_000, 2)
    assert site["latency_ms"] == round(wan.latency, 1)
    assert site["clients"] == len(unifi_entry.runtime_data.coordinator.data.clients) > 0

    homelab = (await _call(instance, "homelab_status")).data
    assert {source["kind"]: source["anomalies"] for source in homelab["network_sources"]} == {
        "pihole": 1,
        "tailscale": 0,
        "cloudflare": 0,
        "unifi": 0,
    }
    # Bounded: about 1 KB per source.
    assert len(json.dumps(status)) < 6000


async def test_unreachable_sources_and_bounded_zones(
    hass: HomeAssistant, hass_admin_user: User, cloudflare: CloudflareSimulator
) -> None:
    """A source that fails its poll or its setup is unreachable; zones are bounded."""
    account = next(iter(cloudflare.accounts.values()))
    for number in range(MAX_ZONES + 2):
        cloudflare.add_zone(account, f"site{number:02}.example", requests_per_hour=10)
    entry = await _setup(hass, cloudflare_fixtures.entry_for(cloudflare))
    down = MockConfigEntry(
        domain="homelab_agents",
        title="Pi-hole gone",
        unique_id="pihole:gone",
        data={"kind": "pihole", "url": "http://127.0.0.1:9", "verify_ssl": False},
        options={"anomaly_alerts": False},
    )
    await _setup(hass, down)
    assert down.state is ConfigEntryState.SETUP_RETRY

    cloudflare.fail("tunnels", status=500, count=None)
    await entry.runtime_data.coordinator.async_refresh()
    instance = await _api(hass, hass_admin_user)
    names = {tool.name for tool in instance.tools}
    assert "network_status" in names
    assert not names & {"pihole_statistics", "authorize_tailscale_device", "confirm_action"}
    assert "Pi-hole gone (UNREACHABLE)" in instance.api_prompt

    status = (await _call(instance, "network_status")).data
    flare = _source(status, "cloudflare")
    assert flare["reachable"] is False
    assert flare["zones_total"] == MAX_ZONES + 4
    assert len(flare["zones"]) == MAX_ZONES
    assert flare["zones"][0]["zone"] == "example.com"  # the busiest first
    assert _source(status, "pihole") == {
        "kind": "pihole",
        "title": "Pi-hole gone",
        "entry_id": down.entry_id,
        "reachable": False,
        "state": "setup_retry",
    }


async def test_pihole_statistics_and_blocking(
    hass: HomeAssistant,
    *,
    hass_admin_user: User,
    hass_read_only_user: User,
    pihole: PiholeSimulator,
    cloudflare: CloudflareSimulator,
    audit: list[dict[str, Any]],
) -> None:
    """Statistics for anyone; blocking only paused by administrators; errors are results."""
    entry = await _setup(hass, pihole_fixtures.pihole_entry_for(pihole))
    flare = await _setup(hass, cloudflare_fixtures.entry_for(cloudflare))
    admin = await _api(hass, hass_admin_user)
    names = {tool.name for tool in admin.tools}
    assert {"pihole_statistics", "disable_pihole_blocking"} <= names
    assert not names & {"authorize_tailscale_device", "confirm_action"}

    statistics = await _call(admin, "pihole_statistics", count=3)
    assert not statistics.error
    assert 0 < len(statistics.data["top_clients"]) <= 3
    assert len(statistics.data["top_permitted_domains"]) == 3
    assert statistics.data["queries_total"] > 0

    user = await _api(hass, hass_read_only_user)
    denied = await _call(user, "disable_pihole_blocking", minutes=5)
    assert denied.error
    assert "administrators" in denied.data["error"]
    assert pihole.blocking
    assert audit[-1]["error"] is True
    assert audit[-1]["user_id"] == hass_read_only_user.id
    also_read = await _call(user, "pihole_statistics", entry_id=entry.entry_id)
    assert not also_read.error

    paused = await _call(admin, "disable_pihole_blocking", minutes=5, entry_id=entry.entry_id)
    assert paused.data == {"blocking": "disabled", "enabled_again_in_seconds": 300}
    assert not pihole.blocking
    status = (await _call(admin, "network_status")).data
    assert _source(status, "pihole")["blocking"] == "disabled"
    assert _source(status, "pihole")["blocking_timer_seconds"] == 300

    for bad in ({}, {"minutes": 0}, {"minutes": "soon"}, {"minutes": 2000}):
        invalid = await _call(admin, "disable_pihole_blocking", **bad)
        assert invalid.error
        assert "minutes" in invalid.data["error"]
    assert not pihole.blocking  # still paused from before, nothing else changed
    too_many = await _call(admin, "pihole_statistics", count=500)
    assert too_many.error

    wrong = await _call(admin, "pihole_statistics", entry_id=flare.entry_id)
    assert wrong.error
    assert "Cloudflare Homelab" in wrong.data["error"]
    assert audit[-1] == {
        "tool": "pihole_statistics",
        "arguments": {"count": 10, "entry_id": flare.entry_id},
        "user_id": hass_admin_user.id,
        "assistant": "conversation",
        "device_id": None,
        "error": True,
    }


async def test_tailscale_authorize_and_confirmed_delete(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    *,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
    hass_admin_user: User,
    hass_read_only_user: User,
) -> None:
    """With only a tailnet, authorize by name; delete only after the requester confirms."""
    newcomer = tailscale_sim.join("build-server", pattern=Pattern.ALWAYS_ON)
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    admin = await _api(hass, hass_admin_user)
    names = {tool.name for tool in admin.tools}
    assert names >= NETWORK_TOOLS - {"pihole_statistics", "disable_pihole_blocking"}
    assert "pihole_statistics" not in names

    user = await _api(hass, hass_read_only_user)
    denied = await _call(user, "authorize_tailscale_device", name="build-server")
    assert denied.error
    assert not newcomer.authorized
    refused = await _call(user, "request_tailscale_device_delete", name="build-server")
    assert refused.error

    authorized = await _call(admin, "authorize_tailscale_device", name="Build-Server")
    assert authorized.data == {
        "node_id": newcomer.node_id,
        "name": "build-server",
        "authorized": True,
    }
    assert newcomer.authorized
    status = (await _call(admin, "network_status")).data
    assert _source(status, "tailscale")["awaiting_authorization"] == 0

    unknown = await _call(admin, "authorize_tailscale_device", name="nothing")
    assert unknown.error
    assert "nothing" in unknown.data["error"]

    phone = tailscale_sim.device("bob-phone")
    request = await _call(admin, "request_tailscale_device_delete", node_id=phone.node_id)
    assert "bob-phone" in request.data["summary"]
    assert "confirm_action" in request.data["next_step"]
    assert phone.node_id in tailscale_sim.tailnet.devices
    other = await _call(user, "confirm_action", action_id=request.data["action_id"])
    assert other.error
    assert phone.node_id in tailscale_sim.tailnet.devices
    done = await _call(admin, "confirm_action", action_id=request.data["action_id"])
    assert done.data["state"] == "done"
    assert done.data["result"]["deleted"] is True
    assert phone.node_id not in tailscale_sim.tailnet.devices

    again = await _call(admin, "request_tailscale_device_delete", name="build-server")
    cancelled = await _call(admin, "cancel_action", action_id=again.data["action_id"])
    assert cancelled.data["state"] == "cancelled"
    assert newcomer.node_id in tailscale_sim.tailnet.devices


async def test_voice_delete_is_bound_to_the_satellite(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
) -> None:
    """Without a user the request is the satellite's: another one cannot confirm it."""
    laptop = tailscale_sim.device("work-laptop")
    kitchen = await _api(hass, None, device_id="kitchen")
    request = await _call(kitchen, "request_tailscale_device_delete", node_id=laptop.node_id)
    assert not request.error
    bedroom = await _api(hass, None, device_id="bedroom")
    refused = await _call(bedroom, "confirm_action", action_id=request.data["action_id"])
    assert refused.error
    assert laptop.node_id in tailscale_sim.tailnet.devices
    done = await _call(kitchen, "confirm_action", action_id=request.data["action_id"])
    assert done.data["state"] == "done"
    assert laptop.node_id not in tailscale_sim.tailnet.devices


async def test_network_tools_over_mcp(
    hass: HomeAssistant,
    hass_client: Callable[[], Awaitable[TestClient]],
    hass_access_token: str,
    pihole: PiholeSimulator,
) -> None:
    """HA's MCP server offers the network tools; an MCP client reads and pauses Pi-hole."""
    await _setup(hass, pihole_fixtures.pihole_entry_for(pihole))
    assert await async_setup_component(hass, "homeassistant", {})
    server = MockConfigEntry(domain="mcp_server", data={CONF_LLM_HASS_API: ["homelab_agents"]})
    server.add_to_hass(hass)
    await hass.config_entries.async_setup(server.entry_id)
    await hass.async_block_till_done()
    client = await hass_client()
    url = f"http://127.0.0.1:{client.port}/api/mcp"
    headers = {"Authorization": f"Bearer {hass_access_token}"}
    async with (
        streamablehttp_client(url, headers=headers) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = {tool.name for tool in (await session.list_tools()).tools}
        assert {"network_status", "pihole_statistics", "disable_pihole_blocking"} <= tools

        result = await session.call_tool("network_status", {})
        assert not result.isError
        status = json.loads(result.content[0].text)
        assert status["sources"][0]["blocking"] == "enabled"

        result = await session.call_tool("disable_pihole_blocking", {"minutes": 1})
        assert not result.isError, result.content
        assert json.loads(result.content[0].text)["blocking"] == "disabled"
        assert not pihole.blocking


@pytest.mark.parametrize("proxmox_options", [{"agent_control_for_users": True}])
async def test_proxmox_option_does_not_extend_to_network_control(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    *,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
    hass_read_only_user: User,
) -> None:
    """Users may start guests (the Proxmox option) but not control the tailnet; one confirm."""
    newcomer = tailscale_sim.join("build-server", pattern=Pattern.ALWAYS_ON)
    await setup_tailscale.runtime_data.coordinator.async_refresh()
    user = await _api(hass, hass_read_only_user)
    names = [tool.name for tool in user.tools]
    assert names.count("confirm_action") == names.count("cancel_action") == 1
    assert {"start_guest", "network_status", "authorize_tailscale_device"} <= set(names)
    denied = await _call(user, "authorize_tailscale_device", node_id=newcomer.node_id)
    assert denied.error
    assert "administrators" in denied.data["error"]
    assert not newcomer.authorized
    assert "Tailscale tail4e2a.ts.net (reachable)" in user.api_prompt


async def test_anomalies_are_bounded_newest_first(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    hass_admin_user: User,
    pihole: PiholeSimulator,
) -> None:
    """Of seven active anomalies the five newest are shown, with the total."""
    entry = pihole_fixtures.pihole_entry_for(pihole)
    clients = [f"192.168.1.{number}" for number in range(30, 37)]
    anomalies = _store_spikes(hass_storage, entry, clients)
    await _setup(hass, entry)
    instance = await _api(hass, hass_admin_user)
    hole = _source((await _call(instance, "network_status")).data, "pihole")
    assert hole["anomalies_total"] == 7
    assert [a["label"] for a in hole["anomalies"]] == [a.label for a in anomalies[:1:-1]]
