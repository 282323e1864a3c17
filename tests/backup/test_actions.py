"""Backups, verification and restores against both simulators, with their failures."""

from __future__ import annotations

from datetime import timedelta
import time
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.const import DOMAIN
from simulators.backup_link import BackupSnapshot
from simulators.pbs import (
    AUDIT,
    Datastore,
    DatastoreConfig,
    FaultKind as PbsFault,
    PbsSimulator,
)
from simulators.pve import FaultKind, PveSimulator, TaskOutcome
from simulators.pve.model import Storage

from ..alertmanager_process import AlertmanagerProcess
from .conftest import PBS_STORAGE, UNPROTECTED_VMID, pbs_entry_for


async def _call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


def _group(pbs: PbsSimulator, backup_type: str) -> Any:
    return next(g for g in pbs.datastore("store1").groups() if g.backup_type == backup_type)


def _snapshot_count(pbs: PbsSimulator) -> int:
    return len(list(pbs.datastore("store1").stored_snapshots()))


def _state(hass: HomeAssistant, entry: MockConfigEntry, platform: str, suffix: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{entry.unique_id}_{suffix}"
    )
    assert entity_id is not None, suffix
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


@pytest.fixture
def finished(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Every homelab_agents_task_finished event."""
    events: list[dict[str, Any]] = []

    @callback
    def record(event: Event) -> None:
        events.append(dict(event.data))

    hass.bus.async_listen(f"{DOMAIN}_task_finished", record)
    return events


async def test_backup_now_makes_a_new_snapshot_visible(
    hass: HomeAssistant,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
    finished: list[dict[str, Any]],
) -> None:
    """A vzdump through PVE lands in PBS; the entities and list_backups show it at once."""
    group = _group(pbs, "vm")
    vmid = int(group.backup_id)
    before = _snapshot_count(pbs)
    result = await _call(hass, "backup_guest", vmid=vmid, notes="before upgrade {{guestname}}")
    assert result["status"] == "ok"
    assert (result["storage"], result["datastore"]) == (PBS_STORAGE, "store1")
    newest = pbs.datastore("store1").group("vm", str(vmid)).snapshots[-1]
    assert _snapshot_count(pbs) == before + 1
    assert result["snapshot"]["volid"].startswith(f"{PBS_STORAGE}:backup/vm/{vmid}/")
    assert dt_util.parse_datetime(result["snapshot"]["time"]).timestamp() == newest.backup_time
    last = _state(hass, setup_pbs, "sensor", f"group_store1/vm/{vmid}_last_backup")
    assert dt_util.parse_datetime(last).timestamp() == newest.backup_time
    assert finished[-1]["action"] == "backup"
    assert finished[-1]["vmid"] == vmid

    listed = await _call(hass, "list_backups", vmid=vmid, limit=1)
    assert listed["total"] == len(group.snapshots)
    assert listed["backups"][0]["volid"] == result["snapshot"]["volid"]
    assert listed["backups"][0]["name"] == f"before upgrade {newest.notes.split()[-1]}"
    assert listed["backups"][0]["verification"] == "none"
    assert setup_pbs.runtime_data.diagnostics()["storage_links"]


@pytest.mark.parametrize("proxmox_options", [{"task_timeout": 5, "planned_silences": False}])
async def test_first_backup_of_a_guest_clears_the_repair(
    hass: HomeAssistant, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """The guest nobody backed up gets a group, a device, and the repair issue goes."""
    result = await _call(hass, "backup_guest", vmid=UNPROTECTED_VMID, mode="stop")
    assert result["status"] == "ok"
    assert pbs.datastore("store1").group("vm", str(UNPROTECTED_VMID)) is not None
    assert _state(hass, setup_pbs, "sensor", "server_guests_without_backup") == "0"
    issue_id = f"guests_without_backup_{setup_pbs.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert (
        _state(
            hass, setup_pbs, "binary_sensor", f"group_store1/vm/{UNPROTECTED_VMID}_backup_problem"
        )
        == "off"
    )


async def test_back_up_now_button(
    hass: HomeAssistant, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """The group's button backs the guest up."""
    group = _group(pbs, "ct")
    before = len(group.snapshots)
    entity_id = er.async_get(hass).async_get_entity_id(
        "button", DOMAIN, f"{setup_pbs.unique_id}_group_store1/ct/{group.backup_id}_back_up_now"
    )
    await hass.services.async_call("button", "press", {"entity_id": entity_id}, blocking=True)
    assert len(pbs.datastore("store1").group("ct", group.backup_id).snapshots) == before + 1


async def test_backup_task_error_is_translated_and_makes_nothing(
    hass: HomeAssistant,
    pve: PveSimulator,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
    finished: list[dict[str, Any]],
) -> None:
    """A failed vzdump raises PVE's reason; no snapshot appears; the health report counts it."""
    vmid = int(_group(pbs, "vm").backup_id)
    # A successful backup and another kind of task: the report counts neither as failed.
    await _call(hass, "backup_guest", vmid=int(_group(pbs, "ct").backup_id))
    await _call(hass, "start_guest", vmid=UNPROTECTED_VMID)
    before = _snapshot_count(pbs)
    pve.cluster.script_next_task(vmid, TaskOutcome.failing("interrupted by signal"))
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "backup_guest", vmid=vmid)
    assert err.value.translation_key == "backup_failed"
    assert "interrupted by signal" in str(err.value)
    assert _snapshot_count(pbs) == before
    assert finished[-1]["status"] == "error"

    health = await _call(hass, "backup_health")
    assert health["backups_failed"] == 1
    assert health["failed_backups"][0]["vmid"] == vmid
    assert health["guests_without_backup"][0]["vmid"] == UNPROTECTED_VMID
    assert health["backups_made"] >= 3


async def test_full_datastore_fails_the_backup_with_pves_reason(
    hass: HomeAssistant,
    pve: PveSimulator,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
) -> None:
    """No space on the datastore: the error says so, nothing is stored, usage shows 100 %."""
    vmid = int(_group(pbs, "vm").backup_id)
    store = pbs.datastore("store1")
    store.fill(free=0)
    before = _snapshot_count(pbs)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "backup_guest", vmid=vmid)
    assert err.value.translation_key == "backup_failed"
    assert "No space left on device" in str(err.value)
    assert _snapshot_count(pbs) == before
    assert _state(hass, setup_pbs, "sensor", "datastore_store1_datastore_usage") == "100.0"
    assert _state(hass, setup_pbs, "sensor", "datastore_store1_datastore_free") == "0.0"


async def test_backup_errors_from_proxmox_ve(
    hass: HomeAssistant,
    pve: PveSimulator,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
) -> None:
    """Refusals, server errors, an unreadable task log and a revoked token, each translated."""
    vmid = int(_group(pbs, "vm").backup_id)
    pve.faults.inject("/nodes/*/vzdump", FaultKind.HTTP_500, count=1)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "backup_guest", vmid=vmid)
    assert err.value.translation_key == "action_failed"

    pve.cluster.script_next_task(vmid, TaskOutcome.failing("job errors"))
    pve.faults.inject("/nodes/*/tasks/*/log", FaultKind.HTTP_500, count=1)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "backup_guest", vmid=vmid)
    assert "job errors" in str(err.value)

    pve.faults.inject("/nodes/*/vzdump", FaultKind.HTTP_401, count=1)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "backup_guest", vmid=vmid)
    assert err.value.translation_key == "proxmox_auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["entry_id"] for flow in flows] == [setup_proxmox.entry_id]

    auditor = pve.add_token(
        token_id="ro", privileges={"/": {"Sys.Audit", "VM.Audit", "Datastore.Audit"}}
    )
    hass.config_entries.async_update_entry(
        setup_proxmox,
        data={**setup_proxmox.data, "token_id": auditor.token_id, "token_secret": auditor.secret},
    )
    await hass.config_entries.async_reload(setup_proxmox.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "backup_guest", vmid=vmid)
    assert err.value.translation_key == "missing_privilege"
    assert "VM.Backup" in str(err.value)


async def test_backup_target_choice(
    hass: HomeAssistant,
    pve: PveSimulator,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
) -> None:
    """An explicit storage wins; with two storages of this server the caller must choose."""
    vmid = int(_group(pbs, "vm").backup_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "backup_guest", vmid=vmid, storage="nowhere")
    assert err.value.translation_key == "unknown_storage"
    local = await _call(hass, "backup_guest", vmid=vmid, storage="local")
    assert (local["status"], local["datastore"], local["snapshot"]) == ("ok", None, None)

    # Another server's datastore behind a second `pbs` storage links to nothing here.
    elsewhere = Datastore(
        "store1", DatastoreConfig(total=10**13, seed_guests=False), tasks=pbs.tasks, created=0
    )
    elsewhere.add_snapshot(
        BackupSnapshot(backup_type="vm", backup_id=str(vmid), backup_time=1, size=1)
    )
    pve.cluster.storages["pbs-elsewhere"] = Storage(
        "pbs-elsewhere", "pbs", "backup", shared=True, total=10**13, target=elsewhere
    )
    await setup_proxmox.runtime_data.coordinator.async_refresh()
    assert (await _call(hass, "backup_guest", vmid=vmid))["storage"] == PBS_STORAGE
    del pve.cluster.storages["pbs-elsewhere"]

    archive = Datastore(
        "archive", DatastoreConfig(total=10**13, seed_guests=False), tasks=pbs.tasks, created=0
    )
    archive.add_snapshot(
        BackupSnapshot(
            backup_type="vm", backup_id=str(vmid), backup_time=int(time.time()) - 99, size=1
        )
    )
    pbs.datastores["archive"] = archive
    await setup_pbs.runtime_data.coordinator.async_refresh()
    unlinked = await _call(hass, "list_backups", datastore="archive")
    assert unlinked["backups"][0]["volid"] is None  # no cluster storage holds it (yet)
    pve.cluster.storages["pbs-archive"] = Storage(
        "pbs-archive", "pbs", "backup", shared=True, total=10**13, target=archive
    )
    await setup_proxmox.runtime_data.coordinator.async_refresh()
    await setup_pbs.runtime_data.coordinator.async_refresh()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "backup_guest", vmid=vmid)
    assert err.value.translation_key == "backup_storage_needed"
    assert "pbs-archive, pbs-store" in str(err.value)
    result = await _call(hass, "backup_guest", vmid=vmid, storage="pbs-archive")
    assert result["datastore"] == "archive"
    listed = await _call(hass, "list_backups", datastore="archive")
    assert {b["volid"].split(":")[0] for b in listed["backups"]} == {"pbs-archive"}


async def test_unreadable_storage_is_not_linked(
    hass: HomeAssistant, pve: PveSimulator, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """A storage listing that fails links nothing; the cluster's only PBS storage still serves."""
    pve.faults.inject("/nodes/*/storage/*/content", FaultKind.HTTP_500, count=1)
    result = await _call(hass, "backup_guest", vmid=int(_group(pbs, "vm").backup_id))
    assert result["storage"] == PBS_STORAGE


@pytest.fixture
async def alertmanager_entry(
    hass: HomeAssistant, alertmanager: AlertmanagerProcess
) -> MockConfigEntry:
    """An Alertmanager entry on the real process."""
    await async_setup_component(hass, "http", {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=alertmanager.url,
        data={"kind": "alertmanager", "url": alertmanager.url, "webhook_id": "e" * 64},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_backup_silences_the_guests_alerts(
    hass: HomeAssistant,
    pbs: PbsSimulator,
    alertmanager: AlertmanagerProcess,
    alertmanager_entry: MockConfigEntry,
    setup_pbs: MockConfigEntry,
) -> None:
    """A backup is a planned action: alerts about the guest are silenced, then unsilenced."""
    vmid = int(_group(pbs, "vm").backup_id)
    await _call(hass, "backup_guest", vmid=vmid, mode="suspend")
    silences = [s for s in await alertmanager.api("silences") if s["status"]["state"] == "active"]
    assert ("vmid", str(vmid)) in [(m["name"], m["value"]) for s in silences for m in s["matchers"]]
    assert all("backup of guest" in s["comment"] for s in silences)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=3))
    await hass.async_block_till_done()
    active = [s for s in await alertmanager.api("silences") if s["status"]["state"] == "active"]
    assert active == []


async def test_verify_changes_the_verification_state(
    hass: HomeAssistant,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
    finished: list[dict[str, Any]],
) -> None:
    """A corrupt backup fails verification (problem on); once repaired it verifies again."""
    group = _group(pbs, "ct")
    vmid = int(group.backup_id)
    prefix = f"group_store1/ct/{vmid}"
    pbs.datastore("store1").set_verify_outcome("ct", group.backup_id, "failed")
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "verify_backups", vmid=vmid)
    assert err.value.translation_key == "verify_failed"
    assert f"ct/{vmid}/" in str(err.value)
    assert _state(hass, setup_pbs, "sensor", f"{prefix}_verification") == "failed"
    assert _state(hass, setup_pbs, "binary_sensor", f"{prefix}_backup_problem") == "on"
    assert finished[-1]["action"] == "verify"
    assert (await _call(hass, "backup_health"))["verification_failed"] == len(group.snapshots)

    pbs.datastore("store1").set_verify_outcome("ct", group.backup_id, "ok")
    result = await _call(hass, "verify_backups", datastore="store1", vmid=vmid)
    assert result["status"] == "ok"
    assert (result["verified"], result["failed"]) == (len(group.snapshots), [])
    assert _state(hass, setup_pbs, "sensor", f"{prefix}_verification") == "ok"
    assert _state(hass, setup_pbs, "binary_sensor", f"{prefix}_backup_problem") == "off"
    health = await _call(hass, "backup_health", config_entry_id=setup_pbs.entry_id)
    assert health["verified"] >= len(group.snapshots)


async def test_verify_buttons_and_skip_verified(
    hass: HomeAssistant, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """The datastore's and the group's Verify buttons start PBS verify tasks."""
    registry = er.async_get(hass)
    group = _group(pbs, "vm")
    group_button = registry.async_get_entity_id(
        "button", DOMAIN, f"{setup_pbs.unique_id}_group_store1/vm/{group.backup_id}_verify_backups"
    )
    assert group_button is not None
    registry.async_update_entity(group_button, disabled_by=None)
    await hass.config_entries.async_reload(setup_pbs.entry_id)
    await hass.async_block_till_done()
    store_button = registry.async_get_entity_id(
        "button", DOMAIN, f"{setup_pbs.unique_id}_datastore_store1_verify_backups"
    )
    pbs.requests.clear()
    for entity_id in (store_button, group_button):
        await hass.services.async_call("button", "press", {"entity_id": entity_id}, blocking=True)
    assert pbs.requests[("POST", "/admin/datastore/{store}/verify")] == 2
    result = await _call(hass, "verify_backups", skip_verified=True)
    assert result["status"] == "ok"


async def test_verify_refusals(
    hass: HomeAssistant, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """Unknown datastore or guest, a token without Datastore.Verify, server error, 401."""
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "verify_backups", datastore="nope")
    assert err.value.translation_key == "unknown_datastore"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "verify_backups", vmid=UNPROTECTED_VMID)
    assert err.value.translation_key == "no_backups"
    pbs.faults.inject("/admin/datastore/*/verify", PbsFault.SERVER_ERROR, count=1)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "verify_backups")
    assert err.value.translation_key == "verify_not_started"
    pbs.faults.inject("/admin/datastore/*/verify", PbsFault.UNAUTHORIZED, count=1)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "verify_backups")
    assert err.value.translation_key == "pbs_auth_failed"
    await hass.async_block_till_done()
    assert [f["context"]["source"] for f in hass.config_entries.flow.async_progress()] == ["reauth"]

    auditor = pbs.add_token("monitor@pbs", "ha", AUDIT)
    hass.config_entries.async_update_entry(
        setup_pbs,
        data={
            **setup_pbs.data,
            "username": "monitor@pbs",
            "token_id": "ha",
            "token_secret": auditor.secret,
        },
    )
    await hass.config_entries.async_reload(setup_pbs.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "verify_backups")
    assert err.value.translation_key == "pbs_missing_privilege"
    assert "Datastore.Verify on /datastore/store1" in str(err.value)


async def _volid(hass: HomeAssistant, vmid: int) -> str:
    listed = await _call(hass, "list_backups", vmid=vmid, limit=1)
    return str(listed["backups"][0]["volid"])


async def test_restore_through_confirmation_recreates_the_guest(
    hass: HomeAssistant,
    pve: PveSimulator,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
) -> None:
    """Back up, lose the container, restore it: it comes back only after the confirmation."""
    vmid = int(_group(pbs, "ct").backup_id)
    name = pve.cluster.guest(vmid).name
    backup = await _call(hass, "backup_guest", vmid=vmid)
    pve.cluster.remove_guest(vmid)
    await setup_proxmox.runtime_data.coordinator.async_refresh()
    request = await _call(
        hass, "restore_guest", volid=backup["snapshot"]["volid"], vmid=vmid, storage="local-lvm"
    )
    assert request["summary"].startswith(f"Restore the backup of ct/{vmid} from ")
    assert vmid not in pve.cluster.guests
    outcome = await _call(hass, "confirm_action", action_id=request["action_id"])
    assert outcome["state"] == "done"
    assert outcome["result"]["status"] == "ok"
    guest = pve.cluster.guest(vmid)
    assert (guest.guest_type, guest.name) == ("lxc", name)
    assert vmid in setup_proxmox.runtime_data.coordinator.data.guests


async def test_restore_over_a_stopped_vm_to_a_new_node(
    hass: HomeAssistant,
    pve: PveSimulator,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
    finished: list[dict[str, Any]],
) -> None:
    """A stopped VM is overwritten in place; a new VM ID goes where the caller says."""
    vmid = int(_group(pbs, "vm").backup_id)
    volid = await _volid(hass, vmid)
    pve.cluster.power_off(pve.cluster.guest(vmid))
    await hass.config_entries.async_entries(DOMAIN)[0].runtime_data.coordinator.async_refresh()
    request = await _call(hass, "restore_guest", volid=volid, vmid=vmid)
    assert "overwriting" in request["summary"]
    await _call(hass, "confirm_action", action_id=request["action_id"])
    assert pve.requests["POST /nodes/{node}/qemu"] == 1
    assert (finished[-1]["action"], finished[-1]["vmid"]) == ("restore", vmid)

    request = await _call(hass, "restore_guest", volid=volid, vmid=777, node="pve2", start=True)
    await _call(hass, "confirm_action", action_id=request["action_id"])
    guest = pve.cluster.guest(777)
    assert (guest.node, guest.status) == ("pve2", "running")


async def test_restore_never_overwrites_a_running_guest(
    hass: HomeAssistant, pve: PveSimulator, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """Refused at the request, and again at the confirmation if the guest started meanwhile."""
    vmid = int(_group(pbs, "vm").backup_id)
    volid = await _volid(hass, vmid)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "restore_guest", volid=volid, vmid=vmid)
    assert err.value.translation_key == "restore_target_running"

    guest = pve.cluster.guest(vmid)
    pve.cluster.power_off(guest)
    await hass.config_entries.async_entries(DOMAIN)[0].runtime_data.coordinator.async_refresh()
    request = await _call(hass, "restore_guest", volid=volid, vmid=vmid)
    pve.cluster.power_on(guest)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert err.value.translation_key == "restore_target_running"
    assert pve.requests["POST /nodes/{node}/qemu"] == 0


async def test_restore_validation(
    hass: HomeAssistant, pve: PveSimulator, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """Bad volume ids, unknown storages and nodes, and a backup of the wrong kind."""
    container = int(_group(pbs, "ct").backup_id)
    volid = await _volid(hass, container)
    cases = [
        ({"volid": "local:backup/vzdump-qemu-100.vma.zst", "vmid": 300}, "invalid_volid"),
        ({"volid": "elsewhere:" + volid.split(":", 1)[1], "vmid": 300}, "unknown_backup_storage"),
        ({"volid": volid, "vmid": 300, "node": "pve9"}, "unknown_node"),
        ({"volid": volid, "vmid": UNPROTECTED_VMID}, "restore_type_mismatch"),
    ]
    for data, key in cases:
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "restore_guest", **data)
        assert err.value.translation_key == key


async def test_restore_task_failure_creates_nothing(
    hass: HomeAssistant, pve: PveSimulator, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """A failing restore task raises its reason and leaves no guest behind."""
    volid = await _volid(hass, int(_group(pbs, "vm").backup_id))
    pve.cluster.script_next_task(555, TaskOutcome.failing("unable to restore VM 555 - no space"))
    request = await _call(hass, "restore_guest", volid=volid, vmid=555)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert err.value.translation_key == "restore_failed"
    assert "no space" in str(err.value)
    assert 555 not in pve.cluster.guests


async def test_restore_is_the_clusters_pending_action(
    hass: HomeAssistant,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
) -> None:
    """The cluster counts the pending restore; unloading the cluster's entry cancels it."""
    volid = await _volid(hass, int(_group(pbs, "vm").backup_id))
    request = await _call(hass, "restore_guest", volid=volid, vmid=556)
    pending = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, "cluster:homelab_cluster_pending_confirmations"
    )
    assert pending is not None
    assert hass.states.get(pending).state == "1"
    await hass.config_entries.async_unload(setup_proxmox.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "confirm_action", action_id=request["action_id"])
    assert err.value.translation_key == "action_not_pending"


async def test_entry_and_guest_selection(
    hass: HomeAssistant,
    pve: PveSimulator,
    pbs: PbsSimulator,
    setup_pbs: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
) -> None:
    """Services name what is missing: entries, guests, datastores, health without tasks."""
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "list_backups", config_entry_id=setup_proxmox.entry_id)
    assert err.value.translation_key == "not_pbs_entry"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "backup_guest", vmid=999)
    assert err.value.translation_key == "unknown_guest"

    pve.faults.inject("/cluster/tasks", FaultKind.HTTP_500, count=1)
    health = await _call(hass, "backup_health")
    assert health["backups_failed"] == 0

    second = pbs_entry_for(pbs)
    second.add_to_hass(hass)
    hass.config_entries.async_update_entry(second, unique_id="pbs:second")
    await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "verify_backups")
    assert err.value.translation_key == "pbs_entry_needed"
    both = await _call(hass, "list_backups", vmid=int(_group(pbs, "vm").backup_id))
    assert both["total"] == 2 * len(_group(pbs, "vm").snapshots)

    pbs.datastores["archive"] = Datastore(
        "archive", DatastoreConfig(total=10**13, seed_guests=False), tasks=pbs.tasks, created=0
    )
    await second.runtime_data.coordinator.async_refresh()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "verify_backups", config_entry_id=second.entry_id)
    assert err.value.translation_key == "datastore_needed"

    await hass.config_entries.async_unload(setup_proxmox.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "backup_guest", config_entry_id=second.entry_id, vmid=100)
    assert err.value.translation_key == "no_proxmox_entry"
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "restore_guest",
            config_entry_id=second.entry_id,
            volid="pbs-store:backup/vm/100/2026-01-01T00:00:00Z",
            vmid=300,
        )
    assert err.value.translation_key == "no_proxmox_entry"
    for entry in (setup_pbs, second):
        await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "backup_health")
    assert err.value.translation_key == "no_pbs_entry"
