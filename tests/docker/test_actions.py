"""Start, restart and (confirmed) stop on a real engine; the engine's refusals, translated."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from simulators.podman import Engine, PodmanService

from ..conftest import wait_for
from .helpers import entity_id, refresh, setup_entry


async def _call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        "homelab_agents", service, data, blocking=True, return_response=True
    )


async def test_start_restart_and_confirmed_stop(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """Services act on the engine and return the new state; stop waits for its confirmation."""
    await engine.create("app", start=False)
    await setup_entry(hass, docker_entry)
    started = await _call(hass, "start_container", container="app")
    assert started == {
        "container": "app",
        "action": "start",
        "status": "ok",
        "state": "running",
        "exit_code": None,
    }
    assert (await engine.state("app"))["Running"]
    before = (await engine.state("app"))["StartedAt"]
    restarted = await _call(hass, "restart_container", container="app")
    assert restarted["state"] == "running"
    assert (await engine.state("app"))["StartedAt"] != before

    request = await _call(hass, "stop_container", container="app")
    assert request["summary"] == "Stop container app on Docker podman-host"
    assert (await engine.state("app"))["Running"]
    outcome = await _call(hass, "confirm_action", action_id=request["action_id"])
    assert outcome["state"] == "done"
    assert outcome["result"]["state"] == "exited"
    assert not (await engine.state("app"))["Running"]
    switch = entity_id(hass, docker_entry, "name:app", "running")
    assert hass.states.get(switch).state == "off"


async def test_switch_starts_and_asks_before_stopping(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """Turning the switch on starts; off records a stop and says how to confirm it."""
    await engine.create("app", start=False)
    await setup_entry(hass, docker_entry)
    switch = entity_id(hass, docker_entry, "name:app", "running")
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert hass.states.get(switch).state == "on"
    with pytest.raises(HomeAssistantError, match="needs a confirmation") as raised:
        await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert raised.value.translation_key == "container_stop_needs_confirmation"
    action_id = raised.value.translation_placeholders["action_id"]
    assert (await engine.state("app"))["Running"]
    await _call(hass, "confirm_action", action_id=action_id)
    assert hass.states.get(switch).state == "off"


async def test_engine_refusals_are_translated(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """304 (already running), 404 (removed since the poll), unknown names: clear messages."""
    await engine.create("app")
    await engine.create("doomed")
    await setup_entry(hass, docker_entry)
    with pytest.raises(HomeAssistantError, match="already running") as raised:
        await _call(hass, "start_container", container="app")
    assert raised.value.translation_key == "container_already"

    await engine.call("DELETE", "/containers/doomed", force="true", t="0")
    with pytest.raises(HomeAssistantError, match="no longer exists") as raised:
        await _call(hass, "restart_container", container="doomed")
    assert raised.value.translation_key == "container_not_found"
    request = await _call(hass, "stop_container", container="app")
    await engine.call("DELETE", "/containers/app", force="true", t="0")
    with pytest.raises(HomeAssistantError, match="no longer exists"):
        await _call(hass, "confirm_action", action_id=request["action_id"])

    with pytest.raises(ServiceValidationError) as invalid:
        await _call(hass, "start_container", container="nothing")
    assert invalid.value.translation_key == "unknown_container"
    with pytest.raises(ServiceValidationError) as invalid:
        await _call(hass, "start_container")
    assert invalid.value.translation_key == "container_target_missing"


async def test_paused_container_conflict_and_device_target(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """Restarting through a device target works; an engine refusal names its reason."""
    await engine.create("app")
    await engine.create("frozen")
    await engine.call("POST", "/containers/frozen/pause")
    await setup_entry(hass, docker_entry)
    assert (
        hass.states.get(entity_id(hass, docker_entry, "name:frozen", "container_state")).state
        == "paused"
    )
    device = dr.async_get(hass).async_get_device_by_identifier(
        ("homelab_agents", f"{docker_entry.unique_id}/container/name:app"),
        docker_entry.entry_id,
    )
    assert device is not None
    result = await _call(hass, "restart_container", device_id=device.id)
    assert result["container"] == "app"
    with pytest.raises(HomeAssistantError) as raised:
        await _call(hass, "start_container", container="frozen")
    assert raised.value.translation_key in ("container_conflict", "container_action_failed")
    assert "frozen" in str(raised.value)


async def test_list_containers_filters(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """list_containers returns state, exit code and figures, filtered and bounded."""
    await engine.create("alpha")
    await engine.create("beta", ["sh", "-c", "exit 7"])
    await engine.wait_exited("beta")
    await setup_entry(hass, docker_entry)
    listed = await _call(hass, "list_containers")
    assert listed["total"] == 2
    assert [c["name"] for c in listed["containers"]] == ["alpha", "beta"]
    exited = await _call(hass, "list_containers", state="exited")
    assert [(c["name"], c["exit_code"]) for c in exited["containers"]] == [("beta", 7)]
    named = await _call(hass, "list_containers", name="ALP", limit=1)
    assert named["count"] == 1
    assert named["containers"][0]["state"] == "running"
    by_entry = await _call(hass, "list_containers", config_entry_id=docker_entry.entry_id)
    assert by_entry["total"] == 2


async def test_services_need_a_docker_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without a Docker host, or naming another kind's entry: translated validation errors."""
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, "list_containers")
    assert raised.value.translation_key == "no_docker_entry"
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, "list_containers", config_entry_id=init_integration.entry_id)
    assert raised.value.translation_key == "not_docker_entry"


async def test_engine_down_at_start_retries_until_it_answers(
    hass: HomeAssistant, engine: Engine, engine_id: str
) -> None:
    """No engine at start: setup retries (ConfigEntryNotReady) and succeeds once it is up."""
    await engine.create("app", start=False)
    storage = engine.service.storage
    late = PodmanService(storage, storage.folder / "late.sock")
    entry = MockConfigEntry(
        domain="homelab_agents",
        title="Docker late",
        unique_id=f"docker:{engine_id}",
        data={"kind": "docker", "url": late.url, "verify_ssl": True},
    )
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    late.start()
    try:
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
        await wait_for(lambda: entry.state is ConfigEntryState.LOADED)
        assert entry.runtime_data.diagnostics()["containers"] == 1
    finally:
        late.stop()
    # The engine goes away: actions say so, polls fail until it is back.
    with pytest.raises(HomeAssistantError) as raised:
        await _call(hass, "start_container", container="app")
    assert raised.value.translation_key == "docker_action_unreachable"
    await refresh(hass, entry)
    assert not entry.runtime_data.coordinator.last_update_success
    assert hass.states.get(entity_id(hass, entry, "name:app", "running")).state == "unavailable"
