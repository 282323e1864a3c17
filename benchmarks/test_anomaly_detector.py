"""Anomaly monitor cost per poll and stored size, for 200 metrics and 50 devices.

A monitor learns a week of seasonal history (polled every 10 minutes, so every hour bucket
is full), then takes 2,000 polls a minute apart, as a busy Pi-hole or UniFi entry would hand
it: per poll, the time `async_process` holds the event loop (median, p99, max; one poll in
ten learns), the housekeeping pass, and the stored baselines (bytes, and the time to build
and serialize them in the loop, which happens once per save delay).
Run: scripts/bench -k anomaly  (results in benchmarks/results/).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
import math
from pathlib import Path
import random
import statistics
import time

from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.json import json_bytes
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.network.models import (
    AnomalyType,
    Direction,
    MetricSample,
    PresenceSample,
)
from custom_components.homelab_agents.network.monitor import AnomalyMonitor

RESULTS = Path(__file__).parent / "results"
METRICS = 200
DEVICES = 50
MEASURED_POLLS = 2000
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _value(rng: random.Random, moment: datetime, base: float) -> float:
    hour = moment.hour + moment.minute / 60
    mean = base * (1 + 0.6 * math.sin((hour - 9) / 24 * 2 * math.pi))
    if moment.weekday() >= 5:
        mean *= 1.3
    return max(0.0, rng.gauss(mean, 0.08 * mean + math.sqrt(mean)))


def _poll(rng: random.Random, moment: datetime) -> tuple[list[MetricSample], list[PresenceSample]]:
    metrics = [
        MetricSample(
            key=f"client:10.0.{i // 250}.{i % 250}:queries",
            label=f"Queries from client {i}",
            value=_value(rng, moment, 20 + 5 * i),
            anomaly=AnomalyType.QUERY_RATE_SPIKE,
            direction=Direction.UP,
            floor=20,
        )
        for i in range(METRICS)
    ]
    presence = [
        PresenceSample(key=f"aa:bb:cc:00:00:{i:02x}", label=f"Device {i}", online=i % 7 != 0)
        for i in range(DEVICES)
    ]
    return metrics, presence


async def test_anomaly_monitor_cost(hass: HomeAssistant) -> None:
    """200 metrics and 50 devices per poll."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Pi-hole bench",
        data={"kind": "pihole"},
        options={"sensitivity": "medium", "anomaly_alerts": True},
    )
    entry.add_to_hass(hass)
    monitor = AnomalyMonitor(hass, entry, DeviceInfo(identifiers={(DOMAIN, entry.entry_id)}))
    await monitor.async_load()
    rng = random.Random(1)

    moment = START
    started = time.perf_counter()
    while moment < START + timedelta(days=7):
        monitor.async_process(*_poll(rng, moment), now=moment)
        moment += timedelta(minutes=10)
    learn_week_s = time.perf_counter() - started

    samples = [_poll(rng, moment + timedelta(minutes=i)) for i in range(MEASURED_POLLS)]
    poll_ms: list[float] = []
    raised = 0
    for index, (metrics, presence) in enumerate(samples):
        at = moment + timedelta(minutes=index)
        started = time.perf_counter()
        raised += len(monitor.async_process(metrics, presence, now=at))
        poll_ms.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    monitor.detector.expire(moment + timedelta(minutes=MEASURED_POLLS))
    housekeeping_ms = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    stored = json_bytes(monitor.detector.stored())
    serialize_ms = (time.perf_counter() - started) * 1000
    await monitor.async_unload()

    ordered = sorted(poll_ms)
    figures = {
        "metrics": METRICS,
        "devices": DEVICES,
        "polls_measured": MEASURED_POLLS,
        "poll_ms_median": round(statistics.median(poll_ms), 3),
        "poll_ms_p99": round(ordered[int(len(ordered) * 0.99)], 3),
        "poll_ms_max": round(ordered[-1], 3),
        "us_per_sample_median": round(statistics.median(poll_ms) * 1000 / (METRICS + DEVICES), 2),
        "housekeeping_ms": round(housekeeping_ms, 3),
        "learn_one_week_s": round(learn_week_s, 2),
        "store_bytes": len(stored),
        "store_bytes_per_metric": round(len(stored) / METRICS),
        "store_build_and_serialize_ms": round(serialize_ms, 1),
        "anomalies_raised_on_clean_polls": raised,
    }
    assert figures["poll_ms_median"] < 10
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "anomaly_200_metrics.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nanomaly monitor, {METRICS} metrics + {DEVICES} devices: {json.dumps(figures)}")
