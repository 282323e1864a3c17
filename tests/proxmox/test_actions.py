"""Guest power actions: tasks and their outcomes, errors, targets and concurrency."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.proxmox.client import ProxmoxClient
from simulators.pve import FaultKind, PveSimulator, TaskOutcome


def _vmid(pve: PveSimulator, status: str, guest_type: str = "qemu") -> int:
    return next(
        g.vmid
        for g in pve.cluster.guests.values()
        if g.status == status and g.guest_type == guest_type
    )


async def _call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


@pytest.fixture
async def other_entry(hass: HomeAssistant) -> MockConfigEntry:
    """A loaded entry of another kind (Alertmanager, unreachable)."""
    await async_setup_component(hass, "http", {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="am",
        data={"kind": "alertmanager", "url": "http://127.0.0.1:9", "webhook_id": "c" * 64},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
def finished(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Every homelab_agents_task_finished event."""
    events: list[dict[str, Any]] = []

    @callback
    def record(event: Event) -> None:
        events.append(dict(event.data))

    hass.bus.async_listen(f"{DOMAIN}_task_finished", record)
    return events


async def test_start_waits_for_task_and_reports(
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    finished: list[dict[str, Any]],
) -> None:
    """P8: start returns the task result, the guest runs, an event announces it."""
    vmid = _vmid(pve, "stopped")
    result = await _call(hass, "start_guest", vmid=vmid)
    assert result["status"] == "ok"
    assert result["exitstatus"] == "OK"
    assert result["upid"].startswith("UPID:")
    assert result["duration"] >= 0
    assert pve.cluster.guest(vmid).status == "running"
    await hass.async_block_till_done()
    assert finished[-1]["vmid"] == vmid
    assert finished[-1]["action"] == "start"
    assert finished[-1]["status"] == "ok"


async def test_warnings_are_success_with_warning(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """P8: WARNINGS: 2 is a success that says so."""
    vmid = _vmid(pve, "running")
    pve.cluster.script_next_task(vmid, TaskOutcome.with_warnings(2))
    result = await _call(hass, "reboot_guest", vmid=vmid)
    assert result["status"] == "warning"
    assert result["exitstatus"] == "WARNINGS: 2"


async def test_failed_task_raises_with_proxmox_message(
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    finished: list[dict[str, Any]],
) -> None:
    """P8: a failed task raises a translated error carrying Proxmox's message."""
    vmid = _vmid(pve, "running")
    pve.cluster.script_next_task(vmid, TaskOutcome.failing("VM quit/powerdown failed"))
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "shutdown_guest", vmid=vmid)
    assert err.value.translation_key == "task_failed"
    assert "VM quit/powerdown failed" in str(err.value)
    assert finished[-1]["status"] == "error"


@pytest.mark.parametrize("proxmox_options", [{"task_timeout": 1}])
async def test_task_that_never_finishes_is_unknown_and_not_retried(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """P9: the wait ends with an unknown outcome; the action is not sent again."""
    vmid = _vmid(pve, "stopped")
    pve.cluster.script_next_task(vmid, TaskOutcome.never())
    result = await _call(hass, "start_guest", vmid=vmid)
    assert result["status"] == "unknown"
    assert result["exitstatus"] is None
    starts = [k for k in pve.requests if k.startswith("POST") and k.endswith("/status/start")]
    assert sum(pve.requests[k] for k in starts) == 1


async def test_switch_and_buttons(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """The switch starts and shuts down gracefully; the reboot button reboots."""
    vmid = _vmid(pve, "running")
    registry = er.async_get(hass)
    switch = registry.async_get_entity_id("switch", DOMAIN, f"cluster:homelab_guest_{vmid}_power")
    button = registry.async_get_entity_id("button", DOMAIN, f"cluster:homelab_guest_{vmid}_reboot")
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert pve.cluster.guest(vmid).status == "stopped"
    assert hass.states.get(switch).state == "off"
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(switch).state == "on"
    registry.async_update_entity(button, disabled_by=None)
    await hass.config_entries.async_reload(setup_proxmox.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
    reboots = [k for k in pve.requests if k.endswith("/status/reboot")]
    assert reboots


async def test_suspend_and_resume_by_device_target(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """Services accept a device target instead of a VM ID."""
    vmid = _vmid(pve, "running")
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"cluster:homelab/guest/{vmid}"), setup_proxmox.entry_id
    )
    result = await _call(hass, "suspend_guest", device_id=device.id)
    assert result["status"] == "ok"
    result = await _call(hass, "resume_guest", device_id=device.id)
    assert result["status"] == "ok"


async def test_several_targets_return_every_result(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """Targeting several guests' entities runs each and returns all results."""
    registry = er.async_get(hass)
    stopped = [g.vmid for g in pve.cluster.guests.values() if g.status == "stopped"][:2]
    entities = [
        registry.async_get_entity_id("switch", DOMAIN, f"cluster:homelab_guest_{v}_power")
        for v in stopped
    ]
    result = await _call(hass, "start_guest", entity_id=entities)
    assert sorted(r["vmid"] for r in result["results"]) == sorted(stopped)


@pytest.mark.parametrize(
    ("data", "key"),
    [({"vmid": 4242}, "unknown_guest"), ({}, "guest_target_missing")],
)
async def test_bad_targets(
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    data: dict[str, Any],
    key: str,
) -> None:
    """Unknown guests and missing targets are translated validation errors."""
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "start_guest", **data)
    assert err.value.translation_key == key


async def test_missing_privilege_names_it_and_raises_repair(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """P6: 403 names privilege and path; the repair clears after a successful action."""
    auditor = pve.add_token(token_id="audit", privileges={"Sys.Audit", "VM.Audit"})
    hass.config_entries.async_update_entry(
        setup_proxmox,
        data={**setup_proxmox.data, "token_id": auditor.token_id, "token_secret": auditor.secret},
    )
    await hass.config_entries.async_reload(setup_proxmox.entry_id)
    await hass.async_block_till_done()
    vmid = _vmid(pve, "stopped")
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "start_guest", vmid=vmid)
    assert err.value.translation_key == "missing_privilege"
    assert "VM.PowerMgmt" in str(err.value)
    issue_id = f"missing_privilege_{setup_proxmox.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    hass.config_entries.async_update_entry(
        setup_proxmox,
        data={
            **setup_proxmox.data,
            "token_id": pve.token.token_id,
            "token_secret": pve.token.secret,
        },
    )
    await hass.config_entries.async_reload(setup_proxmox.entry_id)
    await hass.async_block_till_done()
    await _call(hass, "start_guest", vmid=vmid)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_no_quorum_is_a_clear_error_and_polling_continues(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """P12: POST answering 500 'no quorum' is an action error; the poll still works."""
    pve.cluster.set_quorate(False)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "start_guest", vmid=_vmid(pve, "stopped"))
    assert err.value.translation_key == "action_failed"
    assert "quorum" in str(err.value)
    await setup_proxmox.runtime_data.coordinator.async_refresh()
    assert setup_proxmox.runtime_data.coordinator.last_update_success
    assert hass.states.get("binary_sensor.proxmox_ve_homelab_quorate").state == "off"


async def test_401_on_action_starts_reauth(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """A refused token on an action starts reauthentication."""
    pve.faults.inject("/nodes/*/status/start", FaultKind.HTTP_401, count=1)
    with pytest.raises(HomeAssistantError):
        await _call(hass, "start_guest", vmid=_vmid(pve, "stopped"))
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_connection_failure_on_action(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """A 595 on the action is reported as a failed action, never as bad credentials."""
    pve.faults.inject("/nodes/*/status/start", FaultKind.HTTP_595, count=1)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "start_guest", vmid=_vmid(pve, "stopped"))
    assert err.value.translation_key == "action_failed"
    assert not hass.config_entries.flow.async_progress()


async def test_concurrent_actions_never_overlap_on_the_client(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """P10: five actions while a poll runs: every call on the client runs alone."""
    in_flight = 0
    most = 0
    guard = threading.Lock()
    original = ProxmoxClient._request

    def counted(self: ProxmoxClient, *args: Any) -> Any:
        nonlocal in_flight, most
        with guard:
            in_flight += 1
            most = max(most, in_flight)
        try:
            return original(self, *args)
        finally:
            with guard:
                in_flight -= 1

    stopped = [g.vmid for g in pve.cluster.guests.values() if g.status == "stopped"]
    running = [g.vmid for g in pve.cluster.guests.values() if g.status == "running"]
    calls = [_call(hass, "start_guest", vmid=v) for v in stopped]
    calls += [_call(hass, "reboot_guest", vmid=v) for v in running[: 5 - len(calls)]]
    pve.faults.inject("/cluster/resources", FaultKind.SLOW, count=1, delay=0.3)
    ProxmoxClient._request = counted  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(
            setup_proxmox.runtime_data.coordinator.async_refresh(), *calls
        )
    finally:
        ProxmoxClient._request = original  # type: ignore[method-assign]
    assert [r["status"] for r in results[1:]] == ["ok"] * len(calls)
    assert len(calls) == 5
    assert most == 1


async def test_entry_selection_errors(
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    other_entry: MockConfigEntry,
) -> None:
    """A named entry must be a Proxmox one; a VM ID in two clusters needs the entry."""
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "start_guest", vmid=100, config_entry_id=other_entry.entry_id)
    assert err.value.translation_key == "not_proxmox_entry"
    result = await _call(
        hass, "start_guest", vmid=_vmid(pve, "stopped"), config_entry_id=setup_proxmox.entry_id
    )
    assert result["status"] == "ok"


async def test_vmid_in_two_clusters_is_ambiguous(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """The same VM ID in two configured clusters must name the entry."""
    async with PveSimulator(nodes=1, guests_per_node=1, cluster_name="other", seed=2) as other:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id="cluster:other",
            title="Proxmox VE other",
            data={
                **setup_proxmox.data,
                "host": other.host,
                "port": other.port,
                "token_id": other.token.token_id,
                "token_secret": other.token.secret,
            },
        )
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "start_guest", vmid=100)
        assert err.value.translation_key == "ambiguous_guest"
        await hass.config_entries.async_unload(entry.entry_id)


async def test_no_proxmox_entry(hass: HomeAssistant) -> None:
    """Without a loaded Proxmox entry the services say so."""
    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "start_guest", vmid=100)
    assert err.value.translation_key == "no_proxmox_entry"
