"""Report generation time with 30 days of statistics for 200 entities and 10,000 alerts.

The Proxmox VE simulator provides 2 nodes and 98 guests (CPU and memory sensors: 200 entities
with statistics, plus the storages); 30 days of hourly statistics are imported into a real
SQLite recorder, and an Alertmanager entry holds 10,000 resolved occurrences in its history
(ten times the store's own bound) plus 100 firing alerts.
Run: scripts/bench -k report  (results in benchmarks/results/).
"""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
import statistics
import time
from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.homelab_agents.alertmanager.models import Alert, AlertStatus
from custom_components.homelab_agents.const import DOMAIN
from simulators.pve import PveSimulator

RESULTS = Path(__file__).parent / "results"
RUNS = 5
DAYS = 30
HISTORY = 10_000


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before `hass` is set up by any other fixture."""


@pytest.fixture
def recorder_db_url(tmp_path: Path) -> str:
    """A SQLite file, as a real installation has."""
    return f"sqlite:///{tmp_path / 'home-assistant_v2.db'}"


def _alert(index: int, resolved: bool, now: Any) -> Alert:
    starts = now - timedelta(minutes=7 * index + 1)
    return Alert(
        fingerprint=f"{index:016x}",
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        starts_at=starts,
        ends_at=None,
        labels={"alertname": f"Alert{index % 37}", "severity": "warning", "instance": "pve1"},
        annotations={"summary": "benchmark"},
        generator_url="http://prometheus/graph",
        first_seen=starts,
        resolved_at=starts + timedelta(minutes=5) if resolved else None,
    )


async def _timed(hass: HomeAssistant, **data: Any) -> tuple[float, dict[str, Any]]:
    durations: list[float] = []
    response: Any = None
    for _ in range(RUNS):
        started = time.perf_counter()
        response = await hass.services.async_call(
            DOMAIN, "generate_report", data, blocking=True, return_response=True
        )
        durations.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(durations), 1), dict(response)


async def test_report_generation_time(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Daily, weekly and monthly reports over a realistic history."""
    async with PveSimulator(
        nodes=2, guests_per_node=49, storages=1, freeze_figures=True, seed=4
    ) as pve:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Proxmox VE homelab",
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
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()

        now = dt_util.utcnow()
        store = init_integration.runtime_data.store
        for index in range(HISTORY):
            alert = _alert(index, True, now)
            store.history[alert.key] = alert
        for index in range(HISTORY, HISTORY + 100):
            alert = _alert(index, False, now)
            store.active[alert.fingerprint] = alert

        registry = er.async_get(hass)
        sensors = [
            e.entity_id
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
            if e.domain == "sensor"
            and e.unique_id.endswith(("_cpu", "_memory"))
            and "_storage_" not in e.unique_id
        ]
        start = (now - timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
        hours = DAYS * 24
        started = time.perf_counter()
        for number, entity_id in enumerate([*sensors, "sensor.lab_power"]):
            power = entity_id == "sensor.lab_power"
            async_import_statistics(
                hass,
                {
                    "mean_type": StatisticMeanType.ARITHMETIC,
                    "has_sum": False,
                    "name": None,
                    "source": "recorder",
                    "statistic_id": entity_id,
                    "unit_class": "power" if power else None,
                    "unit_of_measurement": "W" if power else "%",
                },
                [
                    {
                        "start": start + timedelta(hours=hour),
                        "mean": float((hour + number) % 100),
                        "min": 0.0,
                        "max": 100.0,
                    }
                    for hour in range(hours)
                ],
            )
        await async_wait_recording_done(hass)
        import_s = time.perf_counter() - started

        daily_ms, daily = await _timed(hass, kind="daily")
        weekly_ms, weekly = await _timed(hass, kind="weekly")
        monthly_ms, monthly = await _timed(
            hass, kind="monthly", energy_entities=["sensor.lab_power"], price=0.3
        )
        figures: dict[str, Any] = {
            "entities_with_statistics": len(sensors) + 1,
            "statistics_rows": (len(sensors) + 1) * hours,
            "alerts_in_history": HISTORY,
            "alerts_open": 100,
            "import_s": round(import_s, 1),
            "daily_ms_median": daily_ms,
            "weekly_ms_median": weekly_ms,
            "monthly_ms_median": monthly_ms,
            "daily_messages": len(daily["text"]),
            "weekly_messages": len(weekly["text"]),
            "runs": RUNS,
        }
        await hass.config_entries.async_unload(entry.entry_id)
    assert figures["entities_with_statistics"] >= 200
    assert len(weekly["sections"]["nodes"]) == 2
    assert weekly["sections"]["nodes"][0]["cpu"]["mean"] is not None
    assert monthly["sections"]["energy"]["kwh"] > 0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reports_200_entities.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nreports: {json.dumps(figures)}")
