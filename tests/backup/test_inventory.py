"""Inventory: datastores and backup groups as devices and entities, freshness, faults, repairs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.homelab_agents import async_remove_config_entry_device
from custom_components.homelab_agents.const import DOMAIN
from simulators.backup_link import BackupSnapshot
from simulators.pbs import Datastore, DatastoreConfig, FaultKind, PbsSimulator
from simulators.pve import PveSimulator

from .conftest import UNPROTECTED_VMID, pbs_entry_for


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    # Refreshed directly: moving the clock by the 5-minute interval would also time out TLS
    # handshakes the simulators have in flight.
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


def _entity(hass: HomeAssistant, entry: MockConfigEntry, platform: str, suffix: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{entry.unique_id}_{suffix}"
    )
    assert entity_id is not None, suffix
    return entity_id


def _state(hass: HomeAssistant, entry: MockConfigEntry, platform: str, suffix: str) -> Any:
    state = hass.states.get(_entity(hass, entry, platform, suffix))
    assert state is not None, suffix
    return state


async def test_datastore_figures(
    hass: HomeAssistant, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """Usage, free space, percent, full date, deduplication and GC come from PBS."""
    store = pbs.datastore("store1")
    data = setup_pbs.runtime_data.coordinator.data.datastores["store1"]
    assert (data.used, data.avail, data.total) == (store.used, store.avail, store.total)
    used = _state(hass, setup_pbs, "sensor", "datastore_store1_datastore_used")
    assert float(used.state) == pytest.approx(store.used / 2**30, abs=0.01)
    assert used.attributes["unit_of_measurement"] == "GiB"
    usage = _state(hass, setup_pbs, "sensor", "datastore_store1_datastore_usage")
    assert float(usage.state) == round(store.used / store.total * 100, 1)
    full = _state(hass, setup_pbs, "sensor", "datastore_store1_estimated_full")
    estimate = store.usage_history(time.time()).estimated_full_date
    assert estimate is not None
    assert abs(datetime.fromisoformat(full.state).timestamp() - estimate) < 86400
    gc = store.gc_status
    dedup = _state(hass, setup_pbs, "sensor", "datastore_store1_deduplication")
    assert float(dedup.state) == round(gc.index_data_bytes / gc.disk_bytes, 2)
    collection = _state(hass, setup_pbs, "sensor", "datastore_store1_gc_status")
    assert collection.state == "ok"
    assert collection.attributes["message"] == "OK"
    size = er.async_get(hass).async_get(
        _entity(hass, setup_pbs, "sensor", "datastore_store1_datastore_size")
    )
    assert size is not None
    assert size.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_backup_groups_are_devices_with_few_enabled_entities(
    hass: HomeAssistant, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """Each guest's backups: last backup, verification, problem and "Back up now" enabled."""
    registry = er.async_get(hass)
    for group in pbs.datastore("store1").groups():
        prefix = f"group_store1/{group.backup_type}/{group.backup_id}"
        newest = group.snapshots[-1]
        last = _state(hass, setup_pbs, "sensor", f"{prefix}_last_backup")
        assert datetime.fromisoformat(last.state).timestamp() == newest.backup_time
        verification = _state(hass, setup_pbs, "sensor", f"{prefix}_verification")
        expected = newest.verification.state if newest.verification else "none"
        assert verification.state == expected
        problem = _state(hass, setup_pbs, "binary_sensor", f"{prefix}_backup_problem")
        assert problem.state == ("on" if expected == "failed" else "off")
        assert problem.attributes["threshold_hours"] == 48
        device = dr.async_get(hass).async_get_device_by_identifier(
            (DOMAIN, f"{setup_pbs.unique_id}/{prefix.replace('group_', 'group/')}"),
            setup_pbs.entry_id,
        )
        assert device is not None
        assert device.name == f"{newest.notes} backups"
        entities = er.async_entries_for_device(registry, device.id, include_disabled_entities=True)
        enabled = sorted(
            e.unique_id.removeprefix(f"{setup_pbs.unique_id}_{prefix}_")
            for e in entities
            if not e.disabled_by
        )
        assert enabled == ["back_up_now", "backup_problem", "last_backup", "verification"]
        assert len(entities) == 8


async def test_guests_without_backup_sensor_and_repair(
    hass: HomeAssistant, setup_pbs: MockConfigEntry
) -> None:
    """A guest of the cluster that no backup server has a backup of is named."""
    sensor = _state(hass, setup_pbs, "sensor", "server_guests_without_backup")
    assert sensor.state == "1"
    assert sensor.attributes["guests"] == [f"scratch ({UNPROTECTED_VMID})"]
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"guests_without_backup_{setup_pbs.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders["guests"] == f"scratch ({UNPROTECTED_VMID})"


async def test_many_guests_without_backup_are_listed_shortly(
    hass: HomeAssistant, pve: PveSimulator, setup_pbs: MockConfigEntry
) -> None:
    """The repair names twenty guests and counts the rest."""
    for vmid in range(900, 921):
        pve.cluster.add_guest(node="pve1", vmid=vmid, status="stopped")
    pve.cluster.add_guest(node="pve1", vmid=999, template=True)  # templates need no backup
    proxmox = hass.config_entries.async_entries(DOMAIN)[0]
    await proxmox.runtime_data.coordinator.async_refresh()
    await _poll(hass, setup_pbs)
    assert _state(hass, setup_pbs, "sensor", "server_guests_without_backup").state == "22"
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"guests_without_backup_{setup_pbs.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders["count"] == "22"
    assert issue.translation_placeholders["guests"].endswith(" and 2 more")


async def test_token_without_audit_sees_usage_but_no_garbage_collection(
    hass: HomeAssistant, pbs: PbsSimulator, pbs_entry: MockConfigEntry
) -> None:
    """Datastore.Backup alone reads usage and snapshots; the GC result stays unknown."""
    token = pbs.add_token("backup@pbs", "ha", {"Datastore.Backup"})
    pbs_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        pbs_entry,
        data={
            **pbs_entry.data,
            "username": "backup@pbs",
            "token_id": "ha",
            "token_secret": token.secret,
        },
    )
    await hass.config_entries.async_setup(pbs_entry.entry_id)
    await hass.async_block_till_done()
    assert _state(hass, pbs_entry, "sensor", "datastore_store1_gc_status").state == STATE_UNKNOWN
    assert _state(hass, pbs_entry, "sensor", "datastore_store1_datastore_used").state not in (
        STATE_UNKNOWN,
        STATE_UNAVAILABLE,
    )


async def test_without_proxmox_entry_the_unprotected_count_is_unknown(
    hass: HomeAssistant, pbs_entry: MockConfigEntry
) -> None:
    """Without a Proxmox VE entry nobody knows which guests exist."""
    pbs_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(pbs_entry.entry_id)
    await hass.async_block_till_done()
    sensor = _state(hass, pbs_entry, "sensor", "server_guests_without_backup")
    assert sensor.state == STATE_UNKNOWN
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"guests_without_backup_{pbs_entry.entry_id}")
        is None
    )


async def test_constant_requests_and_no_writes_on_unchanged_poll(
    hass: HomeAssistant,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
) -> None:
    """One usage request plus two per datastore, however many snapshots; nothing rewritten."""
    writes: list[str] = []

    @callback
    def record(event: Event) -> None:
        if (event.data["entity_id"] or "").startswith(("sensor.store1", "binary_sensor.")):
            writes.append(event.data["entity_id"])

    hass.bus.async_listen("state_changed", record)
    pbs.requests.clear()
    await setup_pbs.runtime_data.coordinator.async_refresh()
    assert pbs.requests.total() == 3
    assert set(pbs.requests) == {
        ("GET", "/status/datastore-usage"),
        ("GET", "/admin/datastore/{store}/snapshots"),
        ("GET", "/admin/datastore/{store}/gc"),
    }
    await hass.async_block_till_done()
    assert writes == []


@pytest.mark.parametrize("pbs_options", [{"freshness_hours": 1}])
async def test_stale_backups_with_frozen_time(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
) -> None:
    """The problem sensor turns on when the newest backup passes the freshness threshold."""
    store = pbs.datastore("store1")
    group = store.groups()[0]
    prefix = f"group_store1/{group.backup_type}/{group.backup_id}"
    taken = int(time.time()) - 3600 + 30
    store.add_snapshot(
        BackupSnapshot(
            backup_type=group.backup_type,
            backup_id=group.backup_id,
            backup_time=taken,
            size=10**9,
            verify_state="ok",
        )
    )
    freezer.move_to(datetime.fromtimestamp(taken, UTC) + timedelta(minutes=59))
    await _poll(hass, setup_pbs)
    assert _state(hass, setup_pbs, "binary_sensor", f"{prefix}_backup_problem").state == "off"

    freezer.tick(timedelta(minutes=1, seconds=1))
    await _poll(hass, setup_pbs)
    problem = _state(hass, setup_pbs, "binary_sensor", f"{prefix}_backup_problem")
    assert problem.state == "on"
    assert problem.attributes["reason"] == "stale"
    assert problem.attributes["threshold_hours"] == 1
    health = await setup_pbs.runtime_data.async_daily_backup_health()
    assert group.backup_id in [stale["backup_id"] for stale in health.stale]


async def test_tls_repair_without_verification_or_pin(
    hass: HomeAssistant, pbs: PbsSimulator, setup_proxmox: MockConfigEntry
) -> None:
    """X5: neither a trusted chain nor a pinned fingerprint: a repair issue warns."""
    entry = pbs_entry_for(pbs)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={k: v for k, v in entry.data.items() if k != "fingerprint"}
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"tls_verification_off_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "pbs_tls_verification_off"


async def test_groups_and_datastores_come_and_go(
    hass: HomeAssistant,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
) -> None:
    """New guests' backups and new datastores appear; pruned groups and datastores go."""
    identity = setup_pbs.unique_id
    registry = dr.async_get(hass)
    pbs.datastores["archive"] = Datastore(
        "archive",
        DatastoreConfig(total=10**12, seed_guests=False),
        tasks=pbs.tasks,
        created=time.time(),
    )
    pbs.datastore("archive").add_snapshot(
        BackupSnapshot(
            backup_type="vm", backup_id="130", backup_time=int(time.time()) - 60, size=10**9
        )
    )
    await _poll(hass, setup_pbs)
    new = registry.async_get_device_by_identifier(
        (DOMAIN, f"{identity}/group/archive/vm/130"), setup_pbs.entry_id
    )
    assert new is not None
    assert new.name == "VM 130 backups (archive)"
    assert (
        _state(hass, setup_pbs, "sensor", "group_archive/vm/130_last_backup").state
        != STATE_UNAVAILABLE
    )
    assert not await async_remove_config_entry_device(hass, setup_pbs, new)

    del pbs.datastores["archive"]
    await _poll(hass, setup_pbs)
    assert (
        registry.async_get_device_by_identifier(
            (DOMAIN, f"{identity}/group/archive/vm/130"), setup_pbs.entry_id
        )
        is None
    )
    assert (
        registry.async_get_device_by_identifier(
            (DOMAIN, f"{identity}/datastore/archive"), setup_pbs.entry_id
        )
        is None
    )

    store = pbs.datastore("store1")
    group = store.groups()[0]
    for snapshot in list(group.snapshots):
        snapshot.protected = False
        store.delete(group.backup_type, group.backup_id, snapshot.backup_time)
    await _poll(hass, setup_pbs)
    gone = f"{identity}/group/store1/{group.backup_type}/{group.backup_id}"
    assert registry.async_get_device_by_identifier((DOMAIN, gone), setup_pbs.entry_id) is None
    setup_pbs.runtime_data.devices.remove(gone)  # already gone: nothing to do
    stale = registry.async_get_or_create(
        config_entry_id=setup_pbs.entry_id, identifiers={(DOMAIN, gone)}
    )
    assert await async_remove_config_entry_device(hass, setup_pbs, stale)
    server = registry.async_get_device_by_identifier(
        (DOMAIN, f"{identity}/server"), setup_pbs.entry_id
    )
    assert server is not None
    assert not await async_remove_config_entry_device(hass, setup_pbs, server)


@pytest.mark.parametrize("kind", [FaultKind.SERVER_ERROR, FaultKind.DROP])
async def test_pbs_down_makes_entities_unavailable_then_recovers(
    hass: HomeAssistant,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
    kind: FaultKind,
) -> None:
    """Server errors and a server that drops every connection: unavailable, no reauth, back."""
    pbs.faults.inject("*", kind, count=None)
    await _poll(hass, setup_pbs)
    assert (
        _state(hass, setup_pbs, "sensor", "datastore_store1_datastore_used").state
        == STATE_UNAVAILABLE
    )
    assert not hass.config_entries.flow.async_progress()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "list_backups", {}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "pbs_unreachable"
    pbs.faults.clear()
    await _poll(hass, setup_pbs)
    assert (
        _state(hass, setup_pbs, "sensor", "datastore_store1_datastore_used").state
        != STATE_UNAVAILABLE
    )


async def test_401_starts_reauth(
    hass: HomeAssistant,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
) -> None:
    """A refused token on a poll starts reauthentication."""
    pbs.faults.inject("/status/datastore-usage", FaultKind.UNAUTHORIZED, count=1)
    await _poll(hass, setup_pbs)
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_pbs_down_at_start_is_retry(hass: HomeAssistant, pbs: PbsSimulator) -> None:
    """Down at start is ConfigEntryNotReady; the entry loads once PBS answers."""
    entry = pbs_entry_for(pbs)
    entry.add_to_hass(hass)
    pbs.faults.inject("/status/datastore-usage", FaultKind.SERVER_ERROR, count=1)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_diagnostics_have_no_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
) -> None:
    """X2: the token secret never appears in diagnostics."""
    diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(
        hass, hass_client, setup_pbs
    )
    assert pbs.token.secret not in str(diagnostics)
    assert diagnostics["source"]["groups"] == len(pbs.datastore("store1").groups())
    assert diagnostics["source"]["storage_links"] == {}
