"""Anomaly samples of a Pi-hole: replayed traffic with frozen time, injected anomalies flagged.

A day (after a day of warm-up) goes through Home Assistant and HTTP with frozen time; a week
goes through the simulator's history answers, the sample function and the detector directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.network.anomaly import AnomalyDetector, Changes, Sensitivity
from custom_components.homelab_agents.network.models import Anomaly, AnomalyType, Direction
from custom_components.homelab_agents.network.pihole.models import (
    OTHER_CLIENTS,
    ClientQueries,
    TrafficSlot,
    parse_slot,
)
from custom_components.homelab_agents.network.pihole.samples import (
    BLOCKED_RATIO_KEY,
    client_key,
    pihole_samples,
)
from simulators.pihole import DAY, SLOT, WEEK, PiholeSimulator

from .conftest import pihole_entry_for

MONDAY: Final = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday, midnight UTC
SPIKING: Final = "192.168.1.20"  # phone-anna.lan


@pytest.fixture
async def utc(hass: HomeAssistant) -> None:
    """The household's day (the traffic model's) and the detector's buckets in one zone."""
    await hass.config.async_set_time_zone("UTC")


def _slots(start: datetime, count: int) -> list[datetime]:
    """Poll times half a minute after each of `count` slot boundaries from `start`."""
    return [start + timedelta(seconds=SLOT * i + 30) for i in range(1, count + 1)]


async def test_a_day_through_home_assistant_flags_only_injected_anomalies(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant
) -> None:
    """A day of warm-up, then a normal day: no flags; a spike and a blocked-ratio jump: flagged."""
    # asyncio's debug mode records a traceback for every task and callback: two days of polls
    # would spend most of their time there (production runs without it).
    hass.loop.set_debug(False)
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(MONDAY + timedelta(seconds=30))
    async with PiholeSimulator(hostname="pihole", seed=11) as sim:
        entry = pihole_entry_for(sim)
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        raised: list[tuple[datetime, Anomaly]] = []

        @callback
        def remember(changes: Changes) -> None:
            raised.extend((changes_at, anomaly) for anomaly in changes.raised)

        entry.async_on_unload(entry.runtime_data.monitor.async_add_listener(remember))
        tuesday = MONDAY + timedelta(days=1)
        spike_at = tuesday + timedelta(hours=20)
        jump_at = tuesday + timedelta(hours=14)
        sim.traffic.inject_spike(SPIKING, spike_at.timestamp(), SLOT, factor=12)
        sim.traffic.inject_blocked_jump(jump_at.timestamp(), 3 * SLOT, share=0.7)
        problem = er.async_get(hass).async_get_entity_id(
            "binary_sensor", DOMAIN, f"{entry.entry_id}_network_anomaly"
        )
        assert problem is not None

        problem_states: dict[datetime, str] = {}
        for changes_at in _slots(MONDAY, 2 * DAY // SLOT):
            freezer.move_to(changes_at)
            async_fire_time_changed(hass)
            await hass.async_block_till_done(wait_background_tasks=True)
            problem_states[changes_at] = hass.states.get(problem).state

        flagged = {(anomaly.anomaly, anomaly.key, at - SLOT_DELAY) for at, anomaly in raised}
        assert flagged == {
            (AnomalyType.BLOCKED_RATIO_JUMP, BLOCKED_RATIO_KEY, jump_at + timedelta(seconds=SLOT)),
            (AnomalyType.QUERY_RATE_SPIKE, client_key(SPIKING), spike_at + timedelta(seconds=SLOT)),
        }
        assert all(state == STATE_OFF for at, state in problem_states.items() if at < jump_at)
        assert problem_states[jump_at + timedelta(seconds=SLOT + 30)] == STATE_ON
        assert problem_states[spike_at + timedelta(seconds=SLOT + 30)] == STATE_ON
        # One login served two days of polls.
        assert sim.logins == 1
        await hass.config_entries.async_unload(entry.entry_id)


SLOT_DELAY: Final = timedelta(seconds=30)


def _replay(
    sim: PiholeSimulator,
    detectors: list[AnomalyDetector],
    start: datetime,
    slots: int,
    clock: list[float],
) -> list[list[tuple[datetime, Anomaly]]]:
    """Poll the simulator's history once per slot; feed the samples to each detector."""
    raised: list[list[tuple[datetime, Anomaly]]] = [[] for _ in detectors]
    for at in _slots(start, slots):
        clock[0] = at.timestamp()
        slot = parse_slot(sim.history_body(), sim.client_history_body(50), clock[0])
        assert slot is not None
        samples = pihole_samples(slot)
        for detector, found in zip(detectors, raised, strict=True):
            found += [(at, anomaly) for anomaly in detector.observe(samples, [], at).raised]
    return raised


@pytest.mark.usefixtures("utc")
def test_a_week_of_normal_traffic_raises_no_false_positives() -> None:
    """A week after a day of warm-up, at every sensitivity: no anomaly is flagged."""
    clock = [MONDAY.timestamp()]
    sim = PiholeSimulator(seed=5, clock=lambda: clock[0])
    detectors = [AnomalyDetector("pihole", sensitivity) for sensitivity in Sensitivity]
    _replay(sim, detectors, MONDAY - timedelta(days=1), DAY // SLOT, clock)
    week = _replay(sim, detectors, MONDAY, WEEK // SLOT, clock)
    false_positives = {
        sensitivity.value: len(found) for sensitivity, found in zip(Sensitivity, week, strict=True)
    }
    print(f"false positives over a week (9 metrics, 1008 slots): {false_positives}")  # noqa: T201
    assert false_positives == {"low": 0, "medium": 0, "high": 0}


@pytest.mark.usefixtures("utc")
def test_a_week_with_injected_anomalies_flags_each() -> None:
    """Spikes of different clients at different times and a weekend blocked-ratio jump."""
    clock = [MONDAY.timestamp()]
    sim = PiholeSimulator(seed=9, clock=lambda: clock[0])
    injected = {
        # desktop at night, the quiet printer turned noisy, the TV on Saturday evening
        ("192.168.1.10", MONDAY + timedelta(days=1, hours=3), 8),
        ("192.168.1.50", MONDAY + timedelta(days=3, hours=12), 40),
        ("192.168.1.30", MONDAY + timedelta(days=5, hours=21), 6),
    }
    for ip, at, factor in injected:
        sim.traffic.inject_spike(ip, at.timestamp(), SLOT, factor=factor)
    jump = MONDAY + timedelta(days=6, hours=10)
    sim.traffic.inject_blocked_jump(jump.timestamp(), 2 * SLOT, share=0.6)
    detector = AnomalyDetector("pihole", Sensitivity.MEDIUM)
    _replay(sim, [detector], MONDAY - timedelta(days=1), DAY // SLOT, clock)
    (raised,) = _replay(sim, [detector], MONDAY, WEEK // SLOT, clock)
    flagged = {(anomaly.key, at - SLOT_DELAY - timedelta(seconds=SLOT)) for at, anomaly in raised}
    expected = {(client_key(ip), at) for ip, at, _ in injected}
    assert flagged == {*expected, (BLOCKED_RATIO_KEY, jump)}


def test_samples_of_a_slot() -> None:
    """A query rate per client (bounded), then the blocked ratio of a busy enough slot."""
    clients = tuple(ClientQueries(f"10.0.0.{i}", f"host{i}", i) for i in range(80))
    slot = TrafficSlot(start=0, total=1000, blocked=250, clients=clients)
    samples = pihole_samples(slot)
    assert len(samples) == 51
    first = samples[0]
    assert first.key == "client:10.0.0.0:queries"
    assert first.label == "Queries from host0 (10.0.0.0) per 10 minutes"
    assert first.anomaly is AnomalyType.QUERY_RATE_SPIKE
    assert first.direction is Direction.UP
    ratio = samples[-1]
    assert (ratio.key, ratio.value, ratio.unit) == (BLOCKED_RATIO_KEY, 25.0, "%")
    assert ratio.anomaly is AnomalyType.BLOCKED_RATIO_JUMP
    quiet = TrafficSlot(start=0, total=10, blocked=9, clients=(ClientQueries("::1", "::1", 10),))
    (only,) = pihole_samples(quiet)
    assert only.label == "Queries from ::1 per 10 minutes"


def test_parse_slot_takes_the_newest_complete_slot() -> None:
    """The running slot is ignored; a client missing from a slot had no queries in it."""
    history = {
        "history": [
            {"timestamp": 0, "total": 5, "blocked": 1},
            {"timestamp": 600, "total": 7, "blocked": 2},
            {"timestamp": 1200, "total": 1, "blocked": 0},
            "junk",
        ]
    }
    clients = {
        "clients": {
            "10.0.0.1": {"name": "a", "total": 9},
            "10.0.0.2": {"name": ""},
            OTHER_CLIENTS: {},
        },
        "history": [{"timestamp": 600, "data": {"10.0.0.1": 4}}],
    }
    slot = parse_slot(history, clients, now=1300)
    assert slot == TrafficSlot(
        start=600,
        total=7,
        blocked=2,
        clients=(ClientQueries("10.0.0.1", "a", 4), ClientQueries("10.0.0.2", "10.0.0.2", 0)),
    )
    assert parse_slot({"history": []}, clients, now=1300) is None
