"""Webhook throughput through Home Assistant's HTTP stack.

Scenario 1: one payload of 1,000 alerts. Scenario 2: 1,000 payloads of 10 alerts drawn from
50 fingerprints that fire and resolve. Reports handler time (median, p99, max), state writes
per payload, and Store writes. Run: scripts/bench  (results in benchmarks/results/).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import random
import statistics
import time
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.alertmanager.webhook import AlertWebhook
from tests.alertmanager.payloads import alert, payload
from tests.conftest import WebhookPoster

RESULTS = Path(__file__).parent / "results"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class _Meter:
    """Times the handler (our code, on the event loop) and counts writes."""

    def __init__(self, hass: HomeAssistant, store_key: str) -> None:
        self.handler_ms: list[float] = []
        self.state_writes = 0
        self.store_writes = 0
        self._store_key = store_key
        hass.bus.async_listen("state_changed", self._state_changed)

    @callback
    def _state_changed(self, _event: Any) -> None:
        self.state_writes += 1

    def wrap_handler(self) -> Any:
        original = AlertWebhook._handle
        meter = self

        async def timed(self: AlertWebhook, request: Any) -> Any:
            start = time.perf_counter()
            response = await original(self, request)
            meter.handler_ms.append((time.perf_counter() - start) * 1000)
            return response

        return patch.object(AlertWebhook, "_handle", timed)

    def wrap_store(self) -> Any:
        original = Store._async_write_data
        meter = self

        async def counted(store: Store[Any], data: dict[str, Any]) -> None:
            if store.key == meter._store_key:
                meter.store_writes += 1
            await original(store, data)

        return patch.object(Store, "_async_write_data", counted)


def _write(name: str, figures: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\n{name}: {json.dumps(figures, indent=2)}")


async def test_one_payload_of_1000_alerts(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """F2: one large delivery."""
    meter = _Meter(hass, f"homelab_agents.alerts.{init_integration.entry_id}")
    body = payload(*(alert(f"{i:016x}", name=f"Alert{i % 20}") for i in range(1000)))
    lags: list[float] = []
    running = True

    async def ticker() -> None:
        # How late a 5 ms sleep wakes up is how long something held the loop.
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append((time.perf_counter() - before - 0.005) * 1000)

    with meter.wrap_handler(), meter.wrap_store():
        tick = asyncio.create_task(ticker())
        start = time.perf_counter()
        status, _ = await post_webhook(body)
        request_ms = (time.perf_counter() - start) * 1000
        await hass.async_block_till_done()
        running = False
        await tick
        await hass.config_entries.async_unload(init_integration.entry_id)
    assert status == 200
    _write(
        "webhook_1000_alerts",
        {
            "body_bytes": len(json.dumps(body)),
            "handler_ms": round(meter.handler_ms[0], 1),
            "request_ms": round(request_ms, 1),
            "max_loop_block_ms": round(max(lags), 1),
            "state_writes": meter.state_writes,
            "store_writes_incl_unload_flush": meter.store_writes,
        },
    )


async def test_1000_payloads_of_10_alerts(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """F1: a long stream with repeats, resolutions and re-fires of 50 fingerprints."""
    rng = random.Random(7)
    meter = _Meter(hass, f"homelab_agents.alerts.{init_integration.entry_id}")
    store = init_integration.runtime_data.store
    fingerprints = [f"{i:016x}" for i in range(50)]
    started = dict.fromkeys(fingerprints, datetime(2026, 11, 27, 8, tzinfo=UTC))
    firing = dict.fromkeys(fingerprints, True)
    transitions = 0
    writes_per_payload: list[int] = []
    unchanged_payload_writes: list[int] = []

    def listener(changes: list[Any]) -> None:
        nonlocal transitions
        transitions += len(changes)

    store.async_add_listener(listener)
    with meter.wrap_handler(), meter.wrap_store():
        for step in range(1000):
            alerts = []
            for fingerprint in rng.sample(fingerprints, 10):
                if rng.random() < 0.05:  # flip: resolve, or re-fire as a new occurrence
                    if not firing[fingerprint]:
                        started[fingerprint] += timedelta(minutes=step + 1)
                    firing[fingerprint] = not firing[fingerprint]
                alerts.append(
                    alert(
                        fingerprint,
                        status="firing" if firing[fingerprint] else "resolved",
                        starts_at=started[fingerprint].isoformat(),
                        ends_at="0001-01-01T00:00:00Z"
                        if firing[fingerprint]
                        else "2026-11-27T23:00:00Z",
                    )
                )
            before_writes, before_transitions = meter.state_writes, transitions
            status, _ = await post_webhook(payload(*alerts))
            assert status == 200
            await hass.async_block_till_done()
            writes = meter.state_writes - before_writes
            writes_per_payload.append(writes)
            if transitions == before_transitions:
                unchanged_payload_writes.append(writes)
        await hass.config_entries.async_unload(init_integration.entry_id)
    handler = meter.handler_ms
    _write(
        "webhook_1000x10_alerts",
        {
            "payloads": 1000,
            "distinct_fingerprints": 50,
            "store_size_firing_plus_history": len(store.active) + len(store.history),
            "handler_ms_median": round(statistics.median(handler), 2),
            "handler_ms_p99": round(_percentile(handler, 0.99), 2),
            "handler_ms_max": round(max(handler), 2),
            "transitions": transitions,
            "state_writes_total": meter.state_writes,
            "state_writes_per_payload_mean": round(statistics.mean(writes_per_payload), 3),
            "payloads_without_transition": len(unchanged_payload_writes),
            "state_writes_on_payloads_without_transition": sum(unchanged_payload_writes),
            "store_writes_incl_unload_flush": meter.store_writes,
            "run_seconds_note": "Store saves are delayed 10 s; a run this short writes at unload",
        },
    )
