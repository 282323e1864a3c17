"""Weekly trends and monthly energy from long-term statistics in a real (SQLite) recorder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.homelab_agents.const import DOMAIN
from simulators.pve import PveSimulator

from .conftest import ReportCaller

GIB = 1024**3
WEEK_END = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before `hass` is set up by any other fixture."""


def _import(
    hass: HomeAssistant, entity_id: str, unit: str, unit_class: str | None, rows: list[Any]
) -> None:
    has_sum = "sum" in rows[0]
    async_import_statistics(
        hass,
        {
            "mean_type": StatisticMeanType.NONE if has_sum else StatisticMeanType.ARITHMETIC,
            "has_sum": has_sum,
            "name": None,
            "source": "recorder",
            "statistic_id": entity_id,
            "unit_class": unit_class,
            "unit_of_measurement": unit,
        },
        rows,
    )


def _entity(hass: HomeAssistant, unique_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id)
    assert entity_id is not None
    return entity_id


async def test_weekly_trends_equal_hand_computed_figures(
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    generate_report: ReportCaller,
) -> None:
    """Mean of hourly means, peak of hourly maxima, the week before, storage growth."""
    data = setup_proxmox.runtime_data.coordinator.data
    node = sorted(data.nodes)[0]
    busy, idle = sorted(data.guests)[:2]
    storage_key = sorted(data.storages)[0]
    start = WEEK_END - timedelta(days=7)
    before = start - timedelta(days=7)
    _import(
        hass,
        _entity(hass, f"cluster:homelab_node_{node}_cpu"),
        "%",
        None,
        [
            {"start": start, "mean": 10.0, "min": 5.0, "max": 40.0},
            {"start": start + 5 * HOUR, "mean": 30.0, "min": 20.0, "max": 55.0},
            {"start": before, "mean": 15.0, "min": 10.0, "max": 20.0},
        ],
    )
    _import(
        hass,
        _entity(hass, f"cluster:homelab_guest_{busy}_cpu"),
        "%",
        None,
        [{"start": start + HOUR, "mean": 50.0, "min": 50.0, "max": 90.0}],
    )
    _import(
        hass,
        _entity(hass, f"cluster:homelab_guest_{idle}_cpu"),
        "%",
        None,
        [{"start": start + HOUR, "mean": 5.0, "min": 1.0, "max": 7.5}],
    )
    _import(
        hass,
        _entity(hass, f"cluster:homelab_storage_{storage_key}_used"),
        "GiB",
        "information",
        [
            {"start": start, "mean": 100.0, "min": 100.0, "max": 100.0},
            {"start": start + timedelta(days=6), "mean": 106.0, "min": 106.0, "max": 106.0},
            {"start": before, "mean": 98.0, "min": 98.0, "max": 98.0},
            {"start": before + timedelta(days=6), "mean": 100.0, "min": 100.0, "max": 100.0},
        ],
    )
    await async_wait_recording_done(hass)

    report = await generate_report(kind="weekly", period_end=WEEK_END + timedelta(minutes=30))
    assert report["period_start"] == start.isoformat()
    assert report["period_end"] == WEEK_END.isoformat()
    sections = report["sections"]
    first = next(n for n in sections["nodes"] if n["node"] == node)
    assert first["cpu"] == {
        "mean": 20.0,  # (10 + 30) / 2
        "peak": 55.0,
        "previous_mean": 15.0,
        "previous_peak": 20.0,
        "change": 5.0,
    }
    assert first["memory"]["mean"] is None
    assert [(g["vmid"], g["cpu"]["mean"], g["cpu"]["peak"]) for g in sections["guests"]] == [
        (busy, 50.0, 90.0),
        (idle, 5.0, 7.5),
    ]
    storage = sections["storage"][0]
    total = data.storages[storage_key].total
    assert storage["used"] == 106 * GIB
    assert storage["growth"] == 6 * GIB
    assert storage["growth_per_day"] == GIB
    assert storage["previous_growth"] == 2 * GIB
    assert storage["days_until_full"] == round((total - 106 * GIB) / GIB, 1)
    text = "\n".join(report["text"])
    assert f"{node}: CPU mean 20.0% peak 55.0% (+5.0 pt vs previous)" in text
    assert "+1.00 GiB/day" in text


async def test_monthly_cost_from_a_meter_and_a_power_sensor(
    hass: HomeAssistant, generate_report: ReportCaller
) -> None:
    """Energy (kWh) from a meter's sum and a power sensor's hourly means, at a fixed price."""
    await hass.config.async_set_time_zone("UTC")
    await async_setup_component(hass, DOMAIN, {})
    _import(
        hass,
        "sensor.lab_energy",
        "kWh",
        "energy",
        [
            {"start": datetime(2026, 8, 31, 23, tzinfo=UTC), "state": 0.0, "sum": 0.0},
            {"start": datetime(2026, 9, 10, 1, tzinfo=UTC), "state": 10.0, "sum": 10.0},
            {"start": datetime(2026, 9, 20, 5, tzinfo=UTC), "state": 30.0, "sum": 30.0},
            {"start": datetime(2026, 10, 5, 0, tzinfo=UTC), "state": 50.0, "sum": 50.0},
            {"start": datetime(2026, 10, 20, 0, tzinfo=UTC), "state": 95.0, "sum": 95.0},
        ],
    )
    _import(
        hass,
        "sensor.lab_power",
        "W",
        "power",
        [
            {"start": datetime(2026, 9, 3, 0, tzinfo=UTC), "mean": 1000.0, "min": 0.0, "max": 1.0},
            {"start": datetime(2026, 10, 10, 0, tzinfo=UTC), "mean": 500.0, "min": 0.0, "max": 1.0},
            {
                "start": datetime(2026, 10, 10, 1, tzinfo=UTC),
                "mean": 1500.0,
                "min": 0.0,
                "max": 1.0,
            },
        ],
    )
    _import(
        hass,
        "sensor.energy_price",
        "EUR/kWh",
        None,
        [{"start": datetime(2026, 10, 5, 0, tzinfo=UTC), "mean": 0.5, "min": 0.5, "max": 0.5}],
    )
    await async_wait_recording_done(hass)
    hass.config.currency = "EUR"
    meters = ["sensor.lab_energy", "sensor.lab_power"]

    # The 1st at 08:00: the whole previous month, compared with the month before.
    end = datetime(2026, 11, 1, 8, tzinfo=UTC)
    report = await generate_report(
        kind="monthly", period_end=end, energy_entities=meters, price=0.3
    )
    energy = report["sections"]["energy"]
    assert report["period_start"] == datetime(2026, 10, 1, tzinfo=UTC).isoformat()
    assert report["period_end"] == datetime(2026, 11, 1, tzinfo=UTC).isoformat()
    assert [(m["kwh"], m["previous_kwh"], m["cost"]) for m in energy["meters"]] == [
        (65.0, 30.0, 19.5),  # 20 + 45 kWh in October, 10 + 20 in September
        (2.0, 1.0, 0.6),  # 500 W + 1500 W for an hour each; 1000 W for an hour
    ]
    assert (energy["kwh"], energy["previous_kwh"]) == (67.0, 31.0)
    assert energy["change_percent"] == round((67 - 31) / 31 * 100, 1)
    assert (energy["cost"], energy["previous_cost"]) == (20.1, 9.3)
    assert "Cost 20.10 EUR" in report["text"][0]

    # A price sensor: its hourly mean where there is one, its state otherwise.
    hass.states.async_set("sensor.energy_price", "0.2")
    report = await generate_report(
        kind="monthly", period_end=end, energy_entities=meters, price_entity="sensor.energy_price"
    )
    energy = report["sections"]["energy"]
    # 20 kWh at 0.5 + 45 kWh at 0.2; then 2 kWh at 0.2.
    assert [m["cost"] for m in energy["meters"]] == [19.0, 0.4]
    assert energy["cost"] == 19.4

    # A price sensor without a price now: hours without a price statistic make cost unknown.
    hass.states.async_set("sensor.energy_price", "unavailable")
    report = await generate_report(
        kind="monthly", period_end=end, energy_entities=meters, price_entity="sensor.energy_price"
    )
    assert [m["cost"] for m in report["sections"]["energy"]["meters"]] == [None, None]
    assert report["sections"]["energy"]["cost"] is None
    assert "Cost" not in report["text"][0]

    # Without a price there is no cost; an unknown sensor counts nothing.
    report = await generate_report(
        kind="monthly", period_end=end, energy_entities=["sensor.unknown"]
    )
    energy = report["sections"]["energy"]
    assert energy["cost"] is None
    assert energy["meters"][0]["supported"] is False
    assert energy["change_percent"] is None


async def test_empty_statistics_give_a_sensible_report(
    hass: HomeAssistant,
    setup_proxmox: MockConfigEntry,
    generate_report: ReportCaller,
) -> None:
    """A new install: nodes listed without figures, no busiest guests, no energy chosen."""
    weekly = await generate_report(kind="weekly", period_end=WEEK_END)
    assert all(n["cpu"]["mean"] is None for n in weekly["sections"]["nodes"])
    assert weekly["sections"]["guests"] == []
    assert "No statistics yet." in weekly["text"][0]
    monthly = await generate_report(kind="monthly", period_end=WEEK_END)
    assert monthly["sections"]["energy"]["meters"] == []
    assert "No energy or power sensor chosen." in monthly["text"][0]
