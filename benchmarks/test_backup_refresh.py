"""Proxmox Backup Server polling cost by backup count, against the PBS simulator over HTTPS.

For 10 guests x 14 snapshots, 50 x 100 (the issue's figure) and 200 x 100: HTTP requests per
refresh, refresh wall time, state writes on an unchanged refresh, setup time and entities; and
the same server polled the way per-group integrations do (one snapshot request per backup
group) as the baseline.
Run: scripts/bench -k backup  (results in benchmarks/results/).
"""

from __future__ import annotations

import json
from pathlib import Path
import statistics
import time
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.backup.client import server_identity
from custom_components.homelab_agents.const import DOMAIN
from simulators.pbs import PbsSimulator

RESULTS = Path(__file__).parent / "results"
REFRESHES = 5


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A config folder per run: setup installs blueprints, never into the harness's own."""
    return hass_tmp_config_dir


@pytest.mark.parametrize(("guests", "snapshots"), [(10, 14), (50, 100), (200, 100)])
async def test_refresh_cost(hass: HomeAssistant, guests: int, snapshots: int) -> None:
    """One server size."""
    async with PbsSimulator(
        guests=guests, snapshots_per_guest=snapshots, seed=1, task_duration=0.05
    ) as pbs:
        fingerprint = pbs.certificate.fingerprint_sha256
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id=server_identity(fingerprint),
            data={
                "kind": "proxmox_backup",
                "host": pbs.host,
                "port": pbs.port,
                "username": pbs.token.user,
                "token_id": pbs.token.token_name,
                "token_secret": pbs.token.secret,
                "verify_ssl": False,
                "fingerprint": fingerprint,
                "fingerprints": [fingerprint],
            },
        )
        entry.add_to_hass(hass)
        started = time.perf_counter()
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        setup_s = time.perf_counter() - started

        coordinator = entry.runtime_data.coordinator
        writes = 0

        @callback
        def count(_event: Event) -> None:
            nonlocal writes
            writes += 1

        hass.bus.async_listen("state_changed", count)
        refresh_ms: list[float] = []
        requests_per_refresh: list[int] = []
        for _ in range(REFRESHES):
            before = pbs.requests.total()
            started = time.perf_counter()
            await coordinator.async_refresh()
            await hass.async_block_till_done()
            refresh_ms.append((time.perf_counter() - started) * 1000)
            requests_per_refresh.append(pbs.requests.total() - before)

        # The per-group way: one snapshot listing per guest's backup group.
        client = coordinator.client
        before = pbs.requests.total()
        started = time.perf_counter()
        await client.call("get", "status/datastore-usage")
        for group in coordinator.data.groups.values():
            await client.call(
                "get",
                f"admin/datastore/{group.datastore}/snapshots",
                **{"backup-type": group.backup_type, "backup-id": group.backup_id},
            )
        per_group_ms = (time.perf_counter() - started) * 1000
        per_group_requests = pbs.requests.total() - before

        entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        figures: dict[str, Any] = {
            "guests": guests,
            "snapshots_per_guest": snapshots,
            "snapshots": sum(len(g.snapshots) for g in coordinator.data.groups.values()),
            "datastores": len(coordinator.data.datastores),
            "requests_per_refresh": max(requests_per_refresh),
            "refresh_ms_median": round(statistics.median(refresh_ms), 1),
            "state_writes_on_5_unchanged_refreshes": writes,
            "setup_s": round(setup_s, 2),
            "entities_registered": len(entities),
            "entities_enabled": sum(not e.disabled for e in entities),
            "per_group_baseline_requests": per_group_requests,
            "per_group_baseline_ms": round(per_group_ms, 1),
            "requests_ratio": round(per_group_requests / max(requests_per_refresh), 1),
            "time_ratio": round(per_group_ms / statistics.median(refresh_ms), 1),
        }
        await hass.config_entries.async_unload(entry.entry_id)
    assert figures["requests_per_refresh"] == 1 + 2 * figures["datastores"]
    RESULTS.mkdir(exist_ok=True)
    name = f"backup_{guests}x{snapshots}_snapshots.json"
    (RESULTS / name).write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nbackup {guests} guests x {snapshots} snapshots: {json.dumps(figures)}")
