"""Destructive actions behind confirmations: requester, expiry, replay, cancel, concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.const import DOMAIN
from simulators.pve import PveSimulator

from ..alertmanager_process import AlertmanagerProcess


def _running_vm(pve: PveSimulator) -> int:
    return next(
        g.vmid
        for g in pve.cluster.guests.values()
        if g.status == "running" and g.guest_type == "qemu"
    )


async def _call(
    hass: HomeAssistant, service: str, context: Context | None = None, **data: Any
) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True, context=context
    )


def _stops(pve: PveSimulator) -> int:
    return sum(n for key, n in pve.requests.items() if key.endswith("/status/stop"))


@pytest.fixture
def requested(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Every confirmation request event."""
    events: list[dict[str, Any]] = []

    @callback
    def record(event: Event) -> None:
        events.append(dict(event.data))

    hass.bus.async_listen(f"{DOMAIN}_confirmation_requested", record)
    return events


async def test_hard_stop_waits_for_confirmation(
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    hass_admin_user: User,
    requested: list[dict[str, Any]],
) -> None:
    """The request only records; the requester's confirmation runs it once."""
    vmid = _running_vm(pve)
    context = Context(user_id=hass_admin_user.id)
    request = await _call(hass, "stop_guest", context, vmid=vmid)
    assert set(request) == {"action_id", "summary", "expires_at"}
    assert f"VM ID {vmid}" in request["summary"]
    assert len(f"hla:confirm:{request['action_id']}".encode()) <= 64
    expires = dt_util.parse_datetime(request["expires_at"])
    assert timedelta(minutes=4) < expires - dt_util.utcnow() <= timedelta(minutes=5)
    await hass.async_block_till_done()
    assert requested[-1]["action_id"] == request["action_id"]
    assert requested[-1]["requester"] == f"user:{hass_admin_user.id}"
    assert pve.cluster.guest(vmid).status == "running"
    assert _stops(pve) == 0
    assert hass.states.get("sensor.proxmox_ve_homelab_pending_confirmations").state == "1"
    pending = await _call(hass, "list_pending_actions", context)
    assert [a["action_id"] for a in pending["actions"]] == [request["action_id"]]

    done = await _call(hass, "confirm_action", context, action_id=request["action_id"])
    assert done["state"] == "done"
    assert done["result"]["status"] == "ok"
    assert pve.cluster.guest(vmid).status == "stopped"
    assert hass.states.get("sensor.proxmox_ve_homelab_pending_confirmations").state == "0"

    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "confirm_action", context, action_id=request["action_id"])
    assert err.value.translation_key == "action_not_pending"
    assert _stops(pve) == 1


async def test_only_the_requester_can_confirm(
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    hass_admin_user: User,
    hass_read_only_user: User,
) -> None:
    """Confirming as anyone else fails and changes nothing."""
    vmid = _running_vm(pve)
    request = await _call(hass, "stop_guest", Context(user_id=hass_admin_user.id), vmid=vmid)
    for context, data in (
        (Context(user_id=hass_read_only_user.id), {}),
        (None, {}),
        (None, {"requester": "telegram:1"}),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "confirm_action", context, action_id=request["action_id"], **data)
        assert err.value.translation_key == "wrong_requester"
    assert _stops(pve) == 0


async def test_chat_requester_and_who_may_name_one(
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    hass_read_only_user: User,
) -> None:
    """Automations name chat requesters; a non-admin user may not speak for someone else."""
    vmid = _running_vm(pve)
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "stop_guest",
            Context(user_id=hass_read_only_user.id),
            vmid=vmid,
            requester="telegram:42",
        )
    assert err.value.translation_key == "requester_not_allowed"
    request = await _call(hass, "stop_guest", vmid=vmid, requester="telegram:42")
    listed = await _call(hass, "list_pending_actions", requester="telegram:42")
    assert [a["action_id"] for a in listed["actions"]] == [request["action_id"]]
    assert (await _call(hass, "list_pending_actions", requester="telegram:7"))["actions"] == []
    done = await _call(
        hass, "confirm_action", action_id=request["action_id"], requester="telegram:42"
    )
    assert done["result"]["vmid"] == vmid


async def test_expired_action_does_nothing(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
) -> None:
    """After five minutes the action is gone: confirming it fails, nothing runs."""
    request = await _call(hass, "stop_guest", vmid=_running_vm(pve))
    freezer.tick(timedelta(minutes=5, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert err.value.translation_key == "action_expired"
    assert _stops(pve) == 0
    assert hass.states.get("sensor.proxmox_ve_homelab_pending_confirmations").state == "0"


async def test_confirm_just_past_expiry_before_timer(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
) -> None:
    """The deadline holds even if the expiry timer has not run yet."""
    request = await _call(hass, "stop_guest", vmid=_running_vm(pve))
    freezer.tick(timedelta(minutes=5, seconds=1))
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert err.value.translation_key == "action_expired"
    assert _stops(pve) == 0


async def test_cancel_then_confirm(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """A cancelled action never runs; unknown ids are refused."""
    request = await _call(hass, "stop_guest", vmid=_running_vm(pve))
    cancelled = await _call(hass, "cancel_action", action_id=request["action_id"])
    assert cancelled["state"] == "cancelled"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert err.value.translation_key == "action_not_pending"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "cancel_action", action_id="nope")
    assert err.value.translation_key == "unknown_action"
    assert _stops(pve) == 0


async def test_concurrent_confirms_execute_once(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """Two confirms at once: exactly one execution."""
    request = await _call(hass, "stop_guest", vmid=_running_vm(pve))
    outcomes = await asyncio.gather(
        *(_call(hass, "confirm_action", action_id=request["action_id"]) for _ in range(3)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert sum(isinstance(o, ServiceValidationError) for o in outcomes) == 2
    assert _stops(pve) == 1


async def test_pending_actions_do_not_survive_a_reload(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """Unloading the entry cancels its pending actions; they never run afterwards."""
    request = await _call(hass, "stop_guest", vmid=_running_vm(pve))
    await hass.config_entries.async_reload(setup_proxmox.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError):
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert _stops(pve) == 0


async def test_reset_only_for_virtual_machines(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """A container cannot be reset: refused when confirmed, nothing sent."""
    container = next(g.vmid for g in pve.cluster.guests.values() if g.guest_type == "lxc")
    request = await _call(hass, "reset_guest", vmid=container)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert err.value.translation_key == "reset_needs_vm"
    vm = _running_vm(pve)
    request = await _call(hass, "reset_guest", vmid=vm)
    done = await _call(hass, "confirm_action", action_id=request["action_id"])
    assert done["result"]["status"] == "ok"


async def test_several_targets_get_one_action_each(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """A device target of two guests returns two separately confirmable actions."""
    registry = dr.async_get(hass)
    vmids = [g.vmid for g in pve.cluster.guests.values() if g.status == "running"][:2]
    devices = [
        registry.async_get_device_by_identifier(
            (DOMAIN, f"cluster:homelab/guest/{v}"), setup_proxmox.entry_id
        ).id
        for v in vmids
    ]
    result = await _call(hass, "stop_guest", device_id=devices)
    assert len(result["actions"]) == 2
    assert len({a["action_id"] for a in result["actions"]}) == 2


async def test_unknown_node(hass: HomeAssistant, setup_proxmox: MockConfigEntry) -> None:
    """Node actions need a known node."""
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "reboot_node", node="nope")
    assert err.value.translation_key == "unknown_node"


@pytest.fixture
async def alertmanager_entry(
    hass: HomeAssistant, alertmanager: AlertmanagerProcess
) -> MockConfigEntry:
    """A loaded Alertmanager entry beside the cluster."""
    await async_setup_component(hass, "http", {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=alertmanager.url,
        data={"kind": "alertmanager", "url": alertmanager.url, "webhook_id": "d" * 64},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_planned_action_silences_alerts_about_the_guest(
    hass: HomeAssistant,
    pve: PveSimulator,
    alertmanager: AlertmanagerProcess,
    alertmanager_entry: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
) -> None:
    """A reboot silences the guest's alerts in Alertmanager and expires them afterwards."""
    vmid = _running_vm(pve)
    name = pve.cluster.guest(vmid).name
    await _call(hass, "reboot_guest", vmid=vmid)
    silences = [s for s in await alertmanager.api("silences") if s["status"]["state"] == "active"]
    matchers = sorted((m["name"], m["value"]) for s in silences for m in s["matchers"])
    assert ("vmid", str(vmid)) in matchers
    assert any(n == "instance" and v.startswith(name) for n, v in matchers)
    # The instance matcher catches the usual ways exporters name a host.
    await alertmanager.post_alerts(
        [{"labels": {"alertname": "HostDown", "instance": f"{name}.lan:9100"}}]
    )
    alerts = await alertmanager.api("alerts")
    assert alerts[0]["status"]["state"] == "suppressed"

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=3))
    await hass.async_block_till_done()
    active = [s for s in await alertmanager.api("silences") if s["status"]["state"] == "active"]
    assert active == []


@pytest.mark.parametrize("proxmox_options", [{"task_timeout": 5, "planned_silences": False}])
async def test_planned_silences_can_be_turned_off(
    hass: HomeAssistant,
    pve: PveSimulator,
    alertmanager: AlertmanagerProcess,
    alertmanager_entry: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
) -> None:
    """With the option off, actions create no silences."""
    await _call(hass, "reboot_guest", vmid=_running_vm(pve))
    assert await alertmanager.api("silences") == []


async def test_node_reboot_after_confirmation(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """A node reboot runs only once confirmed, and the node goes down."""
    request = await _call(hass, "reboot_node", node="pve2")
    assert "pve2" in request["summary"]
    assert pve.cluster.node_power_log == []
    done = await _call(hass, "confirm_action", action_id=request["action_id"])
    assert done["result"] == {"node": "pve2", "command": "reboot", "status": "ok"}
    assert [(c.node, c.command) for c in pve.cluster.node_power_log] == [("pve2", "reboot")]


async def test_node_shutdown_without_privilege(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """Sys.PowerMgmt missing: a translated error naming it, and a repair."""
    auditor = pve.add_token(token_id="audit2", privileges={"Sys.Audit", "VM.Audit"})
    hass.config_entries.async_update_entry(
        setup_proxmox,
        data={**setup_proxmox.data, "token_id": auditor.token_id, "token_secret": auditor.secret},
    )
    await hass.config_entries.async_reload(setup_proxmox.entry_id)
    await hass.async_block_till_done()
    request = await _call(hass, "shutdown_node", node="pve1")
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert err.value.translation_key == "missing_privilege"
    assert "Sys.PowerMgmt" in str(err.value)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"missing_privilege_{setup_proxmox.entry_id}")
    listed = await _call(hass, "list_pending_actions")
    assert listed["actions"] == []


async def test_node_action_failure_is_reported(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """An offline node cannot be rebooted: a translated failure."""
    request = await _call(hass, "reboot_node", node="pve3")
    pve.cluster.set_node_online("pve3", False)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert err.value.translation_key == "node_action_failed"


async def test_guest_by_name_and_confirm_without_id(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """Voice and chat say names; "confirm" alone confirms the requester's only action."""
    vmid = _running_vm(pve)
    name = pve.cluster.guest(vmid).name
    request = await _call(hass, "stop_guest", name=f"  {name.upper()} ", requester="voice:kitchen")
    assert f"VM ID {vmid}" in request["summary"]
    done = await _call(hass, "confirm_action", requester="voice:kitchen")
    assert done["action_id"] == request["action_id"]
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "cancel_action", requester="voice:kitchen")
    assert err.value.translation_key == "action_id_needed"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "start_guest", name="no such guest")
    assert err.value.translation_key == "unknown_guest_name"


async def test_ambiguous_guest_name(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """Two guests with one name: the error lists their VM IDs."""
    pve.cluster.add_guest(node="pve1", name="twin", vmid=801)
    pve.cluster.add_guest(node="pve2", name="twin", vmid=802)
    await setup_proxmox.runtime_data.coordinator.async_refresh()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "reboot_guest", name="twin")
    assert err.value.translation_key == "ambiguous_guest_name"
    assert "801" in str(err.value)


async def test_ask_first_for_an_ordinary_action(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """`confirm: true` turns a reboot into a request (Telegram's Restart guest button)."""
    vmid = _running_vm(pve)
    request = await _call(hass, "reboot_guest", vmid=vmid, confirm=True, requester="telegram:5")
    assert request["summary"].startswith("Restart of ")
    reboots = sum(n for key, n in pve.requests.items() if key.endswith("/status/reboot"))
    assert reboots == 0
    done = await _call(
        hass, "confirm_action", action_id=request["action_id"], requester="telegram:5"
    )
    assert done["result"]["status"] == "ok"


async def test_list_guests(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """Guests with filters, sorted by VM ID, bounded by limit."""
    everything = await _call(hass, "list_guests")
    assert everything["total"] == len(pve.cluster.guests)
    assert [g["vmid"] for g in everything["guests"]] == sorted(pve.cluster.guests)
    running = await _call(hass, "list_guests", status="running", node="pve1")
    assert all(g["status"] == "running" and g["node"] == "pve1" for g in running["guests"])
    first = everything["guests"][0]
    named = await _call(hass, "list_guests", name=first["name"][:3].upper())
    assert first["vmid"] in [g["vmid"] for g in named["guests"]]
    limited = await _call(hass, "list_guests", limit=1)
    assert (limited["count"], limited["total"]) == (1, len(pve.cluster.guests))
