"""Parsing PBS answers: what odd or missing fields turn into."""

from __future__ import annotations

from datetime import UTC, datetime

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.backup.entities import DATASTORE_SENSORS, group_entities
from custom_components.homelab_agents.backup.models import (
    BackupGroup,
    parse_datastore,
    parse_snapshots,
    upid_started,
)

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def test_task_start_from_upid() -> None:
    """The sixth UPID field is the start time in hex; anything else is unknown."""
    upid = "UPID:pbs:00000881:000C2864:00000002:6A000000:verify:store1:root@pam:"
    assert upid_started(upid) == datetime.fromtimestamp(0x6A000000, UTC)
    assert upid_started("UPID:pbs") is None
    assert upid_started("UPID:pbs:1:2:3:zz:verify:x:y:") is None


def test_datastore_without_estimate_or_gc() -> None:
    """Flat, falling or absurd full dates mean never; no GC figures mean no deduplication."""
    for estimate in (0, int(NOW.timestamp()) - 60, 10**18):
        datastore = parse_datastore(
            {"store": "s", "total": 0, "used": 0, "estimated-full-date": estimate}, None, NOW
        )
        assert datastore.estimated_full is None
    assert datastore.deduplication is None
    assert datastore.gc_outcome is None
    usage = next(d for d in DATASTORE_SENSORS if d.key == "datastore_usage")
    assert usage.value_fn(datastore) is None  # a size of 0 has no percentage


def test_snapshot_rows_without_identity_are_skipped() -> None:
    """Rows PBS would never send without type, id or time are left out, not fatal."""
    groups = parse_snapshots(
        "s",
        [
            {"backup-type": "vm", "backup-id": "100", "backup-time": 1},
            {"backup-type": "vm", "backup-time": 2},
            {"backup-type": "vm", "backup-id": "100", "backup-time": 3, "verification": {}},
        ],
    )
    group = groups["s/vm/100"]
    assert [s.time.timestamp() for s in group.snapshots] == [3, 1]
    assert group.newest.verification == "none"
    assert group.newest.verified_at is None


async def test_host_backups_get_no_back_up_button(
    hass: HomeAssistant, setup_pbs: MockConfigEntry
) -> None:
    """A host backup (no VM ID) can be verified but not backed up through Proxmox VE."""
    group = BackupGroup(
        datastore="store1",
        backup_type="host",
        backup_id="pbs",
        snapshots=parse_snapshots(
            "store1", [{"backup-type": "host", "backup-id": "pbs", "backup-time": 5}]
        )["store1/host/pbs"].snapshots,
    )
    buttons = group_entities(setup_pbs.runtime_data, "button", group)
    assert [b.entity_description.key for b in buttons] == ["verify_backups"]
    assert group_entities(setup_pbs.runtime_data, "switch", group) == []
