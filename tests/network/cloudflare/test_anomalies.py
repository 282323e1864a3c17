"""Threat spikes: replayed through HA and HTTP with frozen time, and a week through the detector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.network.anomaly import AnomalyDetector, Sensitivity
from custom_components.homelab_agents.network.cloudflare.models import (
    CloudflareData,
    CloudflareZone,
    HourTraffic,
)
from custom_components.homelab_agents.network.cloudflare.samples import (
    latest_complete_hour,
    threat_samples,
)
from custom_components.homelab_agents.network.models import AnomalyType, Direction
from simulators.cloudflare import CloudflareSimulator, Zone

from .conftest import entry_for

START = datetime(2026, 11, 23, 0, 5, tzinfo=UTC)  # a Monday
POLL = timedelta(minutes=15)


def _hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(POLL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def test_samples_report_threats_of_the_latest_complete_hour() -> None:
    """The hour that ended at least ten minutes ago; a zone without that hour counts 0."""
    now = datetime(2026, 11, 25, 14, 5, tzinfo=UTC)
    assert latest_complete_hour(now) == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert latest_complete_hour(now + timedelta(minutes=5)) == datetime(
        2026, 11, 25, 13, tzinfo=UTC
    )
    hour = latest_complete_hour(now)
    busy = HourTraffic(
        start=hour,
        requests=1000,
        cached_requests=500,
        bytes=10,
        cached_bytes=5,
        threats=42,
        page_views=100,
    )
    data = CloudflareData(
        polled_at=now,
        zones={
            "b": CloudflareZone(id="b", name="b.example", status="active"),
            "a": CloudflareZone(id="a", name="a.example", status="active"),
            "c": CloudflareZone(id="c", name="c.example", status="active"),
        },
        traffic={"a": [busy], "b": []},
    )
    samples = threat_samples(data, now)
    assert [(s.key, s.value) for s in samples] == [
        ("zone:a.example:threats", 42.0),
        ("zone:b.example:threats", 0.0),
    ]
    assert samples[0].anomaly is AnomalyType.THREAT_SPIKE
    assert samples[0].direction is Direction.UP
    assert samples[0].floor == 50.0
    assert samples[0].label == "Threats to a.example (per hour)"


async def test_threat_spike_flagged_after_a_quiet_day_through_home_assistant(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """Two simulated days of polls raise nothing; an injected spike raises one threat spike."""
    freezer.move_to(START)
    entry = entry_for(cloudflare, {"poll_interval": 15, "anomaly_alerts": False})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    problem_id = registry.async_get_entity_id(
        "binary_sensor", DOMAIN, f"{entry.entry_id}_network_anomaly"
    )
    event_id = registry.async_get_entity_id("event", DOMAIN, f"{entry.entry_id}_network_anomaly")
    assert problem_id is not None
    assert event_id is not None
    events: list[dict[str, object]] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        state = event.data["new_state"]
        if state is not None and state.attributes.get("event_type"):
            events.append(dict(state.attributes))

    hass.bus.async_listen("state_changed", record)

    for _ in range(2 * 96):  # two days: the first warms the baselines up, the second is judged
        await _poll(hass, freezer)
        assert hass.states.get(problem_id).state == "off"
    assert events == []
    monitor = entry.runtime_data.monitor  # type: ignore[attr-defined]
    assert monitor.diagnostics()["metrics_warm"] == 2

    zone = next(z for z in cloudflare.zones.values() if z.name == "example.com")
    spiked_hour = _hour_start(datetime.now(UTC))
    cloudflare.inject_threat_spike(zone, spiked_hour, 400)
    while datetime.now(UTC) < spiked_hour + timedelta(hours=1, minutes=10):
        await _poll(hass, freezer)
    await _poll(hass, freezer)
    problem = hass.states.get(problem_id)
    assert problem.state == "on"
    [shown] = problem.attributes["anomalies"]
    assert shown["type"] == "threat_spike"
    assert shown["key"] == "zone:example.com:threats"
    assert shown["observed"] >= 400
    assert [e["event_type"] for e in events] == ["threat_spike"]
    assert events[0]["label"] == "Threats to example.com (per hour)"

    # The next complete hour is normal again: the anomaly clears.
    for _ in range(5):
        await _poll(hass, freezer)
    assert hass.states.get(problem_id).state == "off"
    assert [e["event_type"] for e in events] == ["threat_spike", "cleared"]


def _zone_data(zones: list[Zone], now: datetime) -> CloudflareData:
    """What a poll at `now` would return, read from the simulator's traffic model directly."""
    hour = latest_complete_hour(now)
    start = int(hour.timestamp())
    traffic = {}
    for zone in zones:
        figures = zone.traffic.hour(start, now.timestamp())
        traffic[zone.id] = [
            HourTraffic(
                start=hour,
                requests=figures.requests,
                cached_requests=figures.cached_requests,
                bytes=figures.bytes,
                cached_bytes=figures.cached_bytes,
                threats=figures.threats,
                page_views=figures.page_views,
            )
        ]
    return CloudflareData(
        polled_at=now,
        zones={z.id: CloudflareZone(id=z.id, name=z.name, status="active") for z in zones},
        traffic=traffic,
    )


def _replay(
    detector: AnomalyDetector, zones: list[Zone], start: datetime, days: int
) -> list[tuple[datetime, str]]:
    raised = []
    step = timedelta(minutes=5)
    for index in range(days * 288):
        now = start + index * step
        changes = detector.observe(threat_samples(_zone_data(zones, now), now), [], now)
        raised += [(now, anomaly.key) for anomaly in changes.raised]
    return raised


@pytest.mark.parametrize(
    ("sensitivity", "false_positives"),
    [(Sensitivity.LOW, 0), (Sensitivity.MEDIUM, 0), (Sensitivity.HIGH, 0)],
)
def test_a_week_of_normal_traffic_then_spikes(
    sensitivity: Sensitivity, false_positives: int
) -> None:
    """Zones from 300 to 200,000 requests an hour: no flags in a week; spikes flagged."""
    sim = CloudflareSimulator(seed=11)
    account = sim.add_account("Homelab")
    zones = [
        sim.add_zone(account, "quiet.example", requests_per_hour=300),
        sim.add_zone(account, "example.com", requests_per_hour=2_000),
        sim.add_zone(account, "shop.example", requests_per_hour=50_000),
        sim.add_zone(account, "big.example", requests_per_hour=200_000),
    ]
    detector = AnomalyDetector("cloudflare", sensitivity)
    warmup = _replay(detector, zones, START, 1)
    assert warmup == []  # nothing flags while baselines warm up
    week = _replay(detector, zones, START + timedelta(days=1), 7)
    assert len(week) == false_positives, week

    spiked = datetime(2026, 12, 1, 15, tzinfo=UTC)  # the Tuesday after, mid-afternoon
    for zone in zones:
        typical = zone.traffic.hour(int(spiked.timestamp()), spiked.timestamp() + 3600).threats
        sim.inject_threat_spike(zone, spiked, max(100, typical * 3))
    flagged = _replay(detector, zones, START + timedelta(days=8), 1)
    assert sorted({key for _, key in flagged}) == sorted(f"zone:{z.name}:threats" for z in zones)
    assert all(
        spiked + timedelta(hours=1) <= moment <= spiked + timedelta(hours=1, minutes=20)
        for moment, _ in flagged
    )
