"""Proxmox VE polling cost by cluster size, against the PVE simulator over real HTTPS.

For 10, 100, 1,000 and 2,000 guests: HTTP requests per refresh, refresh wall time, state writes
on an unchanged refresh, setup time, entities, memory; and the same cluster polled the way
per-guest integrations do (one status request per guest) as the baseline.
Run: scripts/bench -k proxmox  (results in benchmarks/results/).
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
import statistics
import time
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.pve import PveSimulator

RESULTS = Path(__file__).parent / "results"


def _rss_mib() -> float:
    """Resident memory of this process (the simulator runs in it too)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


NODES = 4


@pytest.mark.parametrize("guests", [10, 100, 1000, 2000])
async def test_poll_cost(hass: HomeAssistant, guests: int) -> None:
    """One cluster size."""
    async with PveSimulator(
        nodes=NODES, guests=guests, freeze_figures=True, seed=1, task_duration=0.05
    ) as pve:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id="cluster:homelab",
            data={
                "kind": "proxmox_ve",
                "host": pve.host,
                "port": pve.port,
                "username": pve.token.user,
                "token_id": pve.token.token_id,
                "token_secret": pve.token.secret,
                "verify_ssl": False,
            },
        )
        entry.add_to_hass(hass)
        gc.collect()
        rss_before = _rss_mib()
        started = time.perf_counter()
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        setup_s = time.perf_counter() - started
        gc.collect()
        memory_mib = _rss_mib() - rss_before

        coordinator = entry.runtime_data.coordinator
        writes = 0

        @callback
        def count(_event: Event) -> None:
            nonlocal writes
            writes += 1

        hass.bus.async_listen("state_changed", count)
        refresh_ms: list[float] = []
        requests_per_refresh: list[int] = []
        for _ in range(5):
            before = pve.requests.total()
            started = time.perf_counter()
            await coordinator.async_refresh()
            await hass.async_block_till_done()
            refresh_ms.append((time.perf_counter() - started) * 1000)
            requests_per_refresh.append(pve.requests.total() - before)
        unchanged_writes = writes

        # The per-guest way: one status request per guest, through the same client.
        client = coordinator.client
        before = pve.requests.total()
        started = time.perf_counter()
        for guest in coordinator.data.guests.values():
            await client.call(
                "get", f"nodes/{guest.node}/{guest.guest_type}/{guest.vmid}/status/current"
            )
        per_guest_ms = (time.perf_counter() - started) * 1000
        per_guest_requests = pve.requests.total() - before

        registry = er.async_get(hass)
        entities = er.async_entries_for_config_entry(registry, entry.entry_id)
        figures: dict[str, Any] = {
            "guests": guests,
            "nodes": NODES,
            "requests_per_refresh": max(requests_per_refresh),
            "refresh_ms_median": round(statistics.median(refresh_ms), 1),
            "state_writes_on_5_unchanged_refreshes": unchanged_writes,
            "setup_s": round(setup_s, 2),
            "entities_registered": len(entities),
            "entities_enabled": sum(not e.disabled for e in entities),
            "rss_growth_mib_during_setup": round(memory_mib, 1),
            "per_guest_baseline_requests": per_guest_requests,
            "per_guest_baseline_ms": round(per_guest_ms, 1),
            "requests_ratio": round(per_guest_requests / max(requests_per_refresh), 1),
            "time_ratio": round(per_guest_ms / statistics.median(refresh_ms), 1),
        }
        await hass.config_entries.async_unload(entry.entry_id)
    assert figures["requests_per_refresh"] == 2
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"proxmox_{guests}_guests.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nproxmox {guests} guests: {json.dumps(figures)}")
