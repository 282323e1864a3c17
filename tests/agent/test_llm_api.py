"""The homelab LLM API through HA's llm helper, against the simulator and the alert store."""

from __future__ import annotations

from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.helpers import llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.pve import PveSimulator

from ..alertmanager.payloads import alert, payload
from ..conftest import WebhookPoster


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


@pytest.fixture
def audit(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Every homelab_agents_agent_action event."""
    events: list[dict[str, Any]] = []

    @callback
    def record(event: Event) -> None:
        events.append(dict(event.data))

    hass.bus.async_listen("homelab_agents_agent_action", record)
    return events


async def test_tools_prompt_and_status(
    hass: HomeAssistant,
    *,
    init_integration: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
    post_webhook: WebhookPoster,
    hass_admin_user: User,
    pve: PveSimulator,
    audit: list[dict[str, Any]],
) -> None:
    """The API lists precise tools; the prompt and status describe the homelab now."""
    await post_webhook(payload(alert()))
    instance = await _api(hass, hass_admin_user)
    names = {tool.name for tool in instance.tools}
    assert names == {
        "homelab_status",
        "list_alerts",
        "acknowledge_alert",
        "silence_alert",
        "list_guests",
        "start_guest",
        "shutdown_guest",
        "reboot_guest",
        "request_destructive_action",
        "confirm_action",
        "cancel_action",
        "generate_report",
    }
    assert all(tool.description for tool in instance.tools)
    running = sum(g.status == "running" for g in pve.cluster.guests.values())
    assert f"{running}/{len(pve.cluster.guests)} guests running" in instance.api_prompt
    assert "Alerts firing: 1" in instance.api_prompt
    status = await _call(instance, "homelab_status")
    assert status.data["alerts_firing"] == 1
    assert status.data["clusters"][0]["guests"] == len(pve.cluster.guests)
    await hass.async_block_till_done()
    assert audit[-1]["tool"] == "homelab_status"


async def test_alert_tools(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    hass_admin_user: User,
    audit: list[dict[str, Any]],
) -> None:
    """List and acknowledge; an unknown fingerprint is an error result, not an exception."""
    await post_webhook(payload(alert(annotations={"summary": "x" * 5000})))
    instance = await _api(hass, hass_admin_user)
    listed = await _call(instance, "list_alerts")
    assert listed.data["total"] == 1
    assert len(listed.data["alerts"][0]["summary"]) == 200
    acked = await _call(instance, "acknowledge_alert", fingerprint="a1b2c3d4e5f60718")
    assert acked.data["by"] == hass_admin_user.name
    missing = await _call(instance, "acknowledge_alert", fingerprint="ffffffffffffffff")
    assert missing.error
    assert "ffffffffffffffff" in missing.data["error"]
    # The llm helper passes the model's arguments unchecked: the tool's schema checks them.
    bad = await _call(instance, "silence_alert", fingerprint="a1b2c3d4e5f60718")
    assert bad.error
    assert "minutes" in bad.data["error"]
    await hass.async_block_till_done()
    assert [e["error"] for e in audit[-3:]] == [False, True, True]


async def test_confirmation_round_trip(
    hass: HomeAssistant,
    setup_proxmox: MockConfigEntry,
    hass_admin_user: User,
    pve: PveSimulator,
) -> None:
    """A hard stop is requested, read back, and runs only on the same user's confirmation."""
    guest = next(g for g in pve.cluster.guests.values() if g.status == "running")
    instance = await _api(hass, hass_admin_user)
    request = await _call(instance, "request_destructive_action", action="stop", name=guest.name)
    assert not request.error
    assert guest.name in request.data["summary"]
    assert "confirm_action" in request.data["next_step"]
    assert pve.cluster.guest(guest.vmid).status == "running"
    other = await _api(hass, None, device_id="satellite-1")
    refused = await _call(other, "confirm_action", action_id=request.data["action_id"])
    assert refused.error
    assert pve.cluster.guest(guest.vmid).status == "running"
    done = await _call(instance, "confirm_action", action_id=request.data["action_id"])
    assert done.data["state"] == "done"
    assert pve.cluster.guest(guest.vmid).status == "stopped"


async def test_voice_satellite_is_its_own_requester(
    hass: HomeAssistant, setup_proxmox: MockConfigEntry, pve: PveSimulator
) -> None:
    """Without a user the request belongs to the conversation's device."""
    guest = next(g for g in pve.cluster.guests.values() if g.status == "running")
    kitchen = await _api(hass, None, device_id="kitchen")
    request = await _call(kitchen, "request_destructive_action", action="stop", vmid=guest.vmid)
    cancelled = await _call(kitchen, "cancel_action", action_id=request.data["action_id"])
    assert cancelled.data["state"] == "cancelled"


async def test_non_admin_control_is_refused_unless_allowed(
    hass: HomeAssistant,
    setup_proxmox: MockConfigEntry,
    hass_read_only_user: User,
    pve: PveSimulator,
) -> None:
    """Control tools refuse non-admin users; reading works; the option allows control."""
    stopped = next(g for g in pve.cluster.guests.values() if g.status == "stopped")
    instance = await _api(hass, hass_read_only_user)
    refused = await _call(instance, "start_guest", vmid=stopped.vmid)
    assert refused.error
    assert "administrators" in refused.data["error"]
    assert pve.cluster.guest(stopped.vmid).status == "stopped"
    assert not (await _call(instance, "list_guests")).error
    hass.config_entries.async_update_entry(
        setup_proxmox, options={**setup_proxmox.options, "agent_control_for_users": True}
    )
    started = await _call(instance, "start_guest", vmid=stopped.vmid)
    assert started.data["status"] == "ok"


async def test_ambiguous_and_unknown_guests(
    hass: HomeAssistant, setup_proxmox: MockConfigEntry, hass_admin_user: User, pve: PveSimulator
) -> None:
    """Errors name the candidates so the agent can ask."""
    pve.cluster.add_guest(node="pve1", name="twin", vmid=801)
    pve.cluster.add_guest(node="pve2", name="twin", vmid=802)
    await setup_proxmox.runtime_data.coordinator.async_refresh()
    instance = await _api(hass, hass_admin_user)
    ambiguous = await _call(instance, "reboot_guest", name="twin")
    assert ambiguous.error
    assert "801" in ambiguous.data["error"]
    assert "802" in ambiguous.data["error"]
    unknown = await _call(instance, "start_guest", name="nothing")
    assert unknown.error


@pytest.mark.parametrize("simulator_size", [{"nodes": 4, "guests_per_node": 250}])
async def test_output_is_bounded_for_a_large_cluster(
    hass: HomeAssistant, setup_proxmox: MockConfigEntry, hass_admin_user: User
) -> None:
    """1,000 guests: at most 50 listed, with the total."""
    instance = await _api(hass, hass_admin_user)
    listed = await _call(instance, "list_guests")
    assert listed.data["total"] == 1000
    assert listed.data["shown"] == 50
    assert len(listed.data["guests"]) == 50


async def test_report_tool(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
    hass_admin_user: User,
    post_webhook: WebhookPoster,
) -> None:
    """The agent gets the daily report as plain text."""
    await post_webhook(payload(alert()))
    instance = await _api(hass, hass_admin_user)
    report = await _call(instance, "generate_report", kind="daily")
    assert not report.error
    assert report.data["kind"] == "daily"
    assert "HostDown" in report.data["text"]
    assert "<b>" not in report.data["text"]
