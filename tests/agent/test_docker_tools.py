"""The container tools of the homelab LLM API, against a real Podman engine."""

from __future__ import annotations

from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import llm
from pytest_homeassistant_custom_component.common import MockConfigEntry

from ..docker import conftest as docker_fixtures
from ..docker.helpers import setup_entry
from ..docker.podman import Engine

allow_unix_sockets = docker_fixtures.allow_unix_sockets
podman = docker_fixtures.podman
engine_id = docker_fixtures.engine_id
engine = docker_fixtures.engine
docker_options = docker_fixtures.docker_options
docker_entry = docker_fixtures.docker_entry


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


async def test_list_restart_and_confirmed_stop_through_the_llm_api(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry, hass_admin_user: User
) -> None:
    """With a Docker host the API lists, starts, restarts, and stops only on confirmation."""
    await engine.create("web")
    await engine.create("worker", start=False)
    await setup_entry(hass, docker_entry)
    instance = await _api(hass, hass_admin_user)
    names = {tool.name for tool in instance.tools}
    assert {
        "list_containers",
        "start_container",
        "restart_container",
        "request_container_stop",
        "confirm_action",
        "cancel_action",
    } <= names
    assert "list_guests" not in names

    listed = await _call(instance, "list_containers", state="running")
    assert [c["name"] for c in listed.data["containers"]] == ["web"]
    assert listed.data["total"] == 1
    started = await _call(instance, "start_container", container="worker")
    assert not started.error
    assert started.data["state"] == "running"
    restarted = await _call(instance, "restart_container", container="web")
    assert restarted.data["state"] == "running"

    request = await _call(instance, "request_container_stop", container="web")
    assert "confirm_action" in request.data["next_step"]
    assert (await engine.state("web"))["Running"]
    outcome = await _call(instance, "confirm_action", action_id=request.data["action_id"])
    assert outcome.data["state"] == "done"
    assert not (await engine.state("web"))["Running"]

    unknown = await _call(instance, "restart_container", container="nothing")
    assert unknown.error
    assert "nothing" in unknown.data["error"]


async def test_voice_stop_is_bound_to_the_satellite_and_users_need_permission(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry, hass_read_only_user: User
) -> None:
    """A satellite's stop can only be confirmed by it; non-admins may not control by default."""
    await engine.create("web")
    await setup_entry(hass, docker_entry)
    satellite = await _api(hass, None, device_id="kitchen")
    request = await _call(satellite, "request_container_stop", container="web")
    other = await _api(hass, None, device_id="bedroom")
    refused = await _call(other, "confirm_action", action_id=request.data["action_id"])
    assert refused.error
    assert (await engine.state("web"))["Running"]
    done = await _call(satellite, "confirm_action", action_id=request.data["action_id"])
    assert done.data["state"] == "done"

    user = await _api(hass, hass_read_only_user)
    denied = await _call(user, "start_container", container="web")
    assert denied.error
    assert not (await engine.state("web"))["Running"]
