"""Docker host polling cost with 100 real containers on Podman (its Docker-compatible API).

Ten of the containers have a health check. Figures, per stats setting: HTTP requests per
refresh and refresh wall time (median of 5), state writes on unchanged refreshes (stats off),
setup time and entities.
- stats off (`stats_interval` 0): the container list only (plus Podman's two health lists);
- default (every 300 s): a poll between stats rounds, and a stats round;
- per-container stats at every poll (`stats_interval` 30): every poll is a stats round.
Run: scripts/bench -k docker  (results in benchmarks/results/).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import statistics
import time
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.podman import Engine, PodmanService
from tests.docker import conftest as docker_fixtures

RESULTS = Path(__file__).parent / "results"
CONTAINERS = 100
WITH_HEALTHCHECK = 10
REFRESHES = 5

allow_unix_sockets = docker_fixtures.allow_unix_sockets
podman = docker_fixtures.podman
engine_id = docker_fixtures.engine_id
engine = docker_fixtures.engine


async def _create_containers(engine: Engine) -> None:
    semaphore = asyncio.Semaphore(8)

    async def create(index: int) -> None:
        async with semaphore:
            await engine.create(f"bench-{index:03}", healthcheck=index < WITH_HEALTHCHECK)

    await asyncio.gather(*(create(i) for i in range(CONTAINERS)))


async def _measure(hass: HomeAssistant, entry: MockConfigEntry, *, stats_round: bool) -> Any:
    """Median refresh time and the most requests of REFRESHES refreshes."""
    coordinator = entry.runtime_data.coordinator
    times: list[float] = []
    requests: list[int] = []
    for _ in range(REFRESHES):
        if stats_round:
            coordinator._last_stats_round = None  # force a due stats round
        started = time.perf_counter()
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        times.append((time.perf_counter() - started) * 1000)
        requests.append(coordinator.data.requests)
    return max(requests), round(statistics.median(times), 1)


async def test_refresh_cost_with_100_containers(
    hass: HomeAssistant, podman: PodmanService, engine_id: str, engine: Engine
) -> None:
    """Requests and time per refresh with stats off, default and at every poll."""
    await _create_containers(engine)
    figures: dict[str, Any] = {"containers": CONTAINERS, "with_healthcheck": WITH_HEALTHCHECK}
    for label, interval in (("stats_off", 0), ("default_300s", 300), ("every_poll", 30)):
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Docker bench",
            unique_id=f"docker:{engine_id}",
            data={"kind": "docker", "url": podman.url, "verify_ssl": True},
            options={"stats_interval": interval},
        )
        entry.add_to_hass(hass)
        started = time.perf_counter()
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        setup_s = time.perf_counter() - started
        coordinator = entry.runtime_data.coordinator
        # Two polls so every enabled figure has its first two samples (CPU needs both).
        await coordinator.async_refresh()
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        if label == "stats_off":
            writes = 0

            @callback
            def count(_event: Event) -> None:
                nonlocal writes
                writes += 1

            unsubscribe = hass.bus.async_listen("state_changed", count)
            requests, refresh_ms = await _measure(hass, entry, stats_round=False)
            unsubscribe()
            entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
            list_ms = []
            for _ in range(REFRESHES):
                started = time.perf_counter()
                await coordinator.client.containers()
                list_ms.append((time.perf_counter() - started) * 1000)
            figures |= {
                "engine_list_request_ms_median": round(statistics.median(list_ms), 1),
                "setup_s": round(setup_s, 2),
                "entities_registered": len(entities),
                "entities_enabled": sum(not e.disabled for e in entities),
                "state_writes_on_5_unchanged_refreshes_stats_off": writes,
            }
            figures[label] = {"requests_per_refresh": requests, "refresh_ms_median": refresh_ms}
        elif label == "default_300s":
            between = await _measure(hass, entry, stats_round=False)
            stats = await _measure(hass, entry, stats_round=True)
            figures[label] = {
                "between_stats_rounds": {
                    "requests_per_refresh": between[0],
                    "refresh_ms_median": between[1],
                },
                "stats_round": {"requests_per_refresh": stats[0], "refresh_ms_median": stats[1]},
                # 20 polls in 10 minutes, two of them stats rounds.
                "requests_per_10_minutes": 18 * between[0] + 2 * stats[0],
            }
        else:
            requests, refresh_ms = await _measure(hass, entry, stats_round=True)
            figures[label] = {
                "requests_per_refresh": requests,
                "refresh_ms_median": refresh_ms,
                "requests_per_10_minutes": 20 * requests,
            }
        assert await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()

    # Podman does not show health in the list: two health-filtered lists join the list.
    assert figures["stats_off"]["requests_per_refresh"] == 3
    assert figures["default_300s"]["stats_round"]["requests_per_refresh"] == 3 + CONTAINERS
    assert figures["state_writes_on_5_unchanged_refreshes_stats_off"] == 0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "docker_100_containers.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\ndocker {CONTAINERS} containers: {json.dumps(figures)}")
