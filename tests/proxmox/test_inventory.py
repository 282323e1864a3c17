"""Inventory: devices and entities from one request per poll, changes, faults, recovery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.homelab_agents import async_remove_config_entry_device
from custom_components.homelab_agents.const import DOMAIN
from simulators.pve import FaultKind, PveSimulator

POLL = timedelta(seconds=31)


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(POLL)
    async_fire_time_changed(hass)
    # Coordinators refresh in background tasks.
    await hass.async_block_till_done(wait_background_tasks=True)


def _guest_entity(hass: HomeAssistant, entry: MockConfigEntry, vmid: int, key: str) -> str:
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id(
        key.split(".", maxsplit=1)[0], DOMAIN, f"cluster:homelab_guest_{vmid}_{key.split('.')[1]}"
    )
    assert entity_id is not None, (vmid, key)
    return entity_id


async def test_devices_and_entities(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """Cluster, nodes, guests and storages become devices; guests sit under their node."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), setup_proxmox.entry_id)
    by_model: dict[str, int] = {}
    for device in devices:
        by_model[device.model or ""] = by_model.get(device.model or "", 0) + 1
    guests = pve.cluster.guests
    assert by_model["Proxmox VE cluster"] == 1
    assert by_model["Proxmox VE node"] == 3
    assert by_model.get("Virtual machine", 0) + by_model.get("Container", 0) == len(guests)
    guest = next(iter(guests.values()))
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier(
        (DOMAIN, f"cluster:homelab/guest/{guest.vmid}"), setup_proxmox.entry_id
    )
    node = registry.async_get_device_by_identifier(
        (DOMAIN, f"cluster:homelab/node/{guest.node}"), setup_proxmox.entry_id
    )
    assert device is not None
    assert node is not None
    assert device.via_device_id == node.id
    assert device.serial_number == str(guest.vmid)

    switch = hass.states.get(_guest_entity(hass, setup_proxmox, guest.vmid, "switch.power"))
    assert switch.state == ("on" if guest.status == "running" else "off")
    status = hass.states.get(_guest_entity(hass, setup_proxmox, guest.vmid, "sensor.status"))
    assert status.state == guest.status
    assert hass.states.get("sensor.proxmox_ve_homelab_guests").state == str(len(guests))
    assert hass.states.get("binary_sensor.proxmox_ve_homelab_quorate").state == "on"


async def test_few_entities_enabled_per_guest(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """A guest has four entities enabled by default (2,000 guests fit in 10,000)."""
    registry = er.async_get(hass)
    vmid = next(iter(pve.cluster.guests))
    entries = [
        e
        for e in er.async_entries_for_config_entry(registry, setup_proxmox.entry_id)
        if e.unique_id.startswith(f"cluster:homelab_guest_{vmid}_")
    ]
    enabled = sorted(e.unique_id.rsplit("_", 1)[-1] for e in entries if not e.disabled)
    assert len(entries) > 5
    assert enabled == ["cpu", "memory", "power", "status"]


async def test_one_poll_is_two_requests_and_unchanged_poll_writes_nothing(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
) -> None:
    """F3: requests per poll are constant; an unchanged cluster causes no state writes."""
    writes: list[str] = []
    hass.bus.async_listen(
        "state_changed", callback(lambda event: writes.append(event.data["entity_id"]))
    )
    before = pve.requests.total()
    await _poll(hass, freezer)
    assert pve.requests.total() - before == 2
    assert writes == []


async def test_guests_appear_move_and_disappear(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
) -> None:
    """New guests get entities without a reload; migrations move; deletions remove."""
    added = pve.cluster.add_guest(node="pve1", name="newbox", vmid=900)
    await _poll(hass, freezer)
    switch = _guest_entity(hass, setup_proxmox, 900, "switch.power")
    assert hass.states.get(switch).state == "on"
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier(
        (DOMAIN, "cluster:homelab/guest/900"), setup_proxmox.entry_id
    )
    assert device is not None
    assert device.name == "newbox"

    pve.cluster.migrate_guest(added.vmid, "pve2")
    await _poll(hass, freezer)
    node2 = registry.async_get_device_by_identifier(
        (DOMAIN, "cluster:homelab/node/pve2"), setup_proxmox.entry_id
    )
    device = registry.async_get_device_by_identifier(
        (DOMAIN, "cluster:homelab/guest/900"), setup_proxmox.entry_id
    )
    assert device.via_device_id == node2.id

    pve.cluster.remove_guest(900)
    await _poll(hass, freezer)
    assert (
        registry.async_get_device_by_identifier(
            (DOMAIN, "cluster:homelab/guest/900"), setup_proxmox.entry_id
        )
        is None
    )
    assert hass.states.get(switch) is None


async def test_offline_node_guests_not_running(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
) -> None:
    """P1: stale 'running' guests of an offline node are unknown, not running."""
    running = [g for g in pve.cluster.guests_on("pve3") if g.status == "running"]
    assert running
    vmid = running[0].vmid
    pve.cluster.set_node_online("pve3", False)
    await _poll(hass, freezer)
    assert hass.states.get(_guest_entity(hass, setup_proxmox, vmid, "switch.power")).state == (
        STATE_UNKNOWN
    )
    assert hass.states.get(_guest_entity(hass, setup_proxmox, vmid, "sensor.status")).state == (
        STATE_UNKNOWN
    )
    assert hass.states.get("binary_sensor.pve3_online").state == "off"
    assert hass.states.get("sensor.pve3_cpu_usage").state == STATE_UNAVAILABLE
    pve.cluster.set_node_online("pve3", True)
    await _poll(hass, freezer)
    assert hass.states.get(_guest_entity(hass, setup_proxmox, vmid, "switch.power")).state == "on"


@pytest.mark.parametrize(
    "kind", [FaultKind.HTTP_500, FaultKind.HTTP_595, FaultKind.HTTP_596, FaultKind.DROP]
)
async def test_errors_make_entities_unavailable_then_recover(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    kind: FaultKind,
) -> None:
    """P3/P4: 5xx, 595 and dropped connections are update failures (not auth) and recover."""
    # A dropped connection is retried once (stale keep-alive), so drop twice.
    pve.faults.inject("/cluster/resources", kind, count=2 if kind is FaultKind.DROP else 1)
    await _poll(hass, freezer)
    assert hass.states.get("sensor.proxmox_ve_homelab_guests").state == STATE_UNAVAILABLE
    assert not hass.config_entries.flow.async_progress()
    await _poll(hass, freezer)
    assert hass.states.get("sensor.proxmox_ve_homelab_guests").state != STATE_UNAVAILABLE


async def test_401_starts_reauth(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
) -> None:
    """P4: a 401 on a poll starts reauthentication."""
    pve.faults.inject("/cluster/resources", FaultKind.HTTP_401, count=1)
    await _poll(hass, freezer)
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_proxmox_down_at_start_then_recovers(
    hass: HomeAssistant, pve: PveSimulator, proxmox_entry: MockConfigEntry
) -> None:
    """P7: down at start is a retry, never a dead entry; it loads once Proxmox answers."""
    pve.faults.inject("/cluster/resources", FaultKind.HTTP_595, count=1)
    proxmox_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(proxmox_entry.entry_id)
    assert proxmox_entry.state is ConfigEntryState.SETUP_RETRY
    await hass.config_entries.async_reload(proxmox_entry.entry_id)
    await hass.async_block_till_done()
    assert proxmox_entry.state is ConfigEntryState.LOADED


async def test_refused_connection_at_start_is_retry(
    hass: HomeAssistant, proxmox_entry: MockConfigEntry
) -> None:
    """P7: connection refused at setup is ConfigEntryNotReady."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="cluster:homelab", data={**proxmox_entry.data, "port": 9}
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_token_that_sees_no_guests_keeps_entities_and_raises_repair(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
) -> None:
    """P11: privilege separation hides guests: a repair explains ACLs; nothing is deleted."""
    blind = pve.add_token(token_id="blind", privileges={"/": {"Sys.Audit", "Datastore.Audit"}})
    hass.config_entries.async_update_entry(
        setup_proxmox,
        data={**setup_proxmox.data, "token_id": blind.token_id, "token_secret": blind.secret},
    )
    await hass.config_entries.async_reload(setup_proxmox.entry_id)
    await hass.async_block_till_done()
    await _poll(hass, freezer)
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"no_guests_visible_{setup_proxmox.entry_id}"
    )
    assert issue is not None
    vmid = next(iter(pve.cluster.guests))
    assert hass.states.get(_guest_entity(hass, setup_proxmox, vmid, "switch.power")) is not None


async def test_tls_verification_off_raises_repair(
    hass: HomeAssistant, setup_proxmox: MockConfigEntry
) -> None:
    """X5: a repair issue warns while TLS verification is off."""
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"tls_verification_off_{setup_proxmox.entry_id}"
    )
    assert issue is not None
    assert issue.translation_key == "tls_verification_off"


async def test_diagnostics_have_no_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
) -> None:
    """X2: the token secret never appears in diagnostics."""
    diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(
        hass, hass_client, setup_proxmox
    )
    assert pve.token.secret not in str(diagnostics)
    assert diagnostics["source"]["cluster"] == "homelab"
    assert diagnostics["source"]["guests"] == len(pve.cluster.guests)


async def test_stale_device_removal_is_allowed_only_for_gone_guests(
    hass: HomeAssistant, pve: PveSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """A user may delete a device whose guest no longer exists, not a live one."""
    registry = dr.async_get(hass)
    vmid = next(iter(pve.cluster.guests))
    live = registry.async_get_device_by_identifier(
        (DOMAIN, f"cluster:homelab/guest/{vmid}"), setup_proxmox.entry_id
    )
    assert not await async_remove_config_entry_device(hass, setup_proxmox, live)
    stale = registry.async_get_or_create(
        config_entry_id=setup_proxmox.entry_id,
        identifiers={(DOMAIN, "cluster:homelab/guest/4242")},
    )
    assert await async_remove_config_entry_device(hass, setup_proxmox, stale)
    node = registry.async_get_device_by_identifier(
        (DOMAIN, "cluster:homelab/node/pve1"), setup_proxmox.entry_id
    )
    assert not await async_remove_config_entry_device(hass, setup_proxmox, node)


async def test_password_login_server_error_is_retry_not_reauth(
    hass: HomeAssistant, pve: PveSimulator, proxmox_entry: MockConfigEntry
) -> None:
    """P5: a login answering 500 makes setup retry; it never asks for new credentials."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="cluster:homelab",
        data={
            **{k: v for k, v in proxmox_entry.data.items() if not k.startswith("token")},
            "username": "root@pam",
            "password": pve.root_password,
        },
    )
    pve.faults.inject("/access/ticket", FaultKind.HTTP_500, count=1)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.config_entries.flow.async_progress()
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_wrong_password_at_start_asks_for_credentials(
    hass: HomeAssistant, pve: PveSimulator, proxmox_entry: MockConfigEntry
) -> None:
    """A refused password login is an authentication failure (reauth)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="cluster:homelab",
        data={
            **{k: v for k, v in proxmox_entry.data.items() if not k.startswith("token")},
            "username": "root@pam",
            "password": "wrong",
        },
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
