"""Anomalies from a replayed household: none on normal days, each injected one flagged.

The simulator replays clients coming and going and WAN figures with a day/week shape and
seeded noise, driven by frozen time; Home Assistant polls it over HTTPS and hands the samples
to the entry's anomaly monitor.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.network.anomaly import AnomalyDetector, Sensitivity
from custom_components.homelab_agents.network.models import AnomalyType
from custom_components.homelab_agents.network.unifi.models import (
    SiteStatus,
    parse_clients,
    parse_devices,
    parse_wan,
)
from custom_components.homelab_agents.network.unifi.samples import ClientHistory, site_samples
from simulators.unifi import Network, UnifiSimulator

from .conftest import unifi_entry_for

PROBLEM = "binary_sensor.unifi_udm_pro_default_network_anomaly"
EVENTS = "event.unifi_udm_pro_default_network_anomaly"
# Monday 2 November 2026, midnight in the tests' time zone (US/Pacific, UTC-8 in November).
MONDAY = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
STEP = timedelta(minutes=10)  # the monitor learns at most once per ten minutes


@pytest.fixture
async def household() -> Any:
    """The household on Pacific time, so its days are Home Assistant's days."""
    async with UnifiSimulator(seed=1, utc_offset_hours=-8, login_limit=100) as sim:
        yield sim


class Replay:
    """Moves frozen time in poll steps and records the anomaly events."""

    def __init__(self, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
        """Replay through `hass` by moving `freezer`."""
        self.hass = hass
        self.freezer = freezer
        self.events: list[dict[str, Any]] = []

    @callback
    def record(self, event: Event[EventStateChangedData]) -> None:
        """Keep the attributes of each event the anomaly event entity fires."""
        state = event.data["new_state"]
        if event.data["entity_id"] == EVENTS and state is not None and state.state != "unknown":
            self.events.append(dict(state.attributes))

    async def run(self, duration: timedelta, step: timedelta = STEP) -> None:
        """Let `duration` pass, one poll per `step`."""
        for _ in range(int(duration / step)):
            self.freezer.tick(step)
            async_fire_time_changed(self.hass)
            await self.hass.async_block_till_done(wait_background_tasks=True)

    def raised(self) -> list[tuple[str, str]]:
        """(type, label) of each anomaly raised since the events were last cleared."""
        return [(e["event_type"], e["label"]) for e in self.events if e["event_type"] != "cleared"]


async def _start(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sim: UnifiSimulator
) -> tuple[MockConfigEntry, Replay]:
    freezer.move_to(MONDAY)
    # asyncio's debug mode records a stack for every callback: a third of each replayed poll.
    debug = hass.loop.get_debug()
    hass.loop.set_debug(False)
    entry = unifi_entry_for(sim, {"anomaly_alerts": False})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    replay = Replay(hass, freezer)
    hass.bus.async_listen("state_changed", replay.record)
    entry.async_on_unload(lambda: hass.loop.set_debug(debug))
    return entry, replay


async def test_normal_day_raises_nothing_and_injected_anomalies_are_flagged(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, household: UnifiSimulator
) -> None:
    """Monday learning, Tuesday watched: no flag; on Wednesday each injected one is flagged."""
    _, replay = await _start(hass, freezer, household)
    await replay.run(timedelta(days=1))
    assert hass.states.get(PROBLEM).state == "off"
    await replay.run(timedelta(days=1))
    assert replay.raised() == []
    await replay.run(timedelta(hours=12))  # Wednesday noon
    assert replay.raised() == []
    assert hass.states.get(PROBLEM).state == "off"
    net = household.network

    net.collapse_throughput(0.02)
    await replay.run(STEP * 2)
    assert sorted(replay.raised()) == [
        ("wan_throughput_collapse", "WAN download"),
        ("wan_throughput_collapse", "WAN upload"),
    ]
    problem = hass.states.get(PROBLEM)
    assert problem.state == "on"
    assert problem.attributes["count"] == 2
    net.clear()
    await replay.run(STEP * 2)
    assert hass.states.get(PROBLEM).state == "off"

    replay.events.clear()
    net.raise_latency(250)
    await replay.run(STEP * 2)
    assert replay.raised() == [("wan_latency_rise", "WAN latency")]
    net.clear()
    await replay.run(STEP * 2)
    assert hass.states.get(PROBLEM).state == "off"

    replay.events.clear()
    stranger = net.add_client("stranger-phone", household.now)
    await replay.run(STEP)
    assert replay.raised() == [("new_device", "stranger-phone")]
    assert replay.events[-1]["key"] == stranger.mac

    replay.events.clear()
    nas = next(c for c in net.clients.values() if c.hostname == "nas")
    access_point = next(d for d in net.devices.values() if d.name == "Upstairs AP")
    net.take_offline(nas.mac)
    net.take_offline(access_point.mac)
    await replay.run(STEP * 3)
    assert sorted(replay.raised()) == [
        ("device_offline", "Synology NAS"),
        ("device_offline", "Upstairs AP"),
    ]
    assert hass.states.get("binary_sensor.upstairs_ap_connected").state == "off"
    # The daily report lists them with their explanations.
    report = await hass.services.async_call(
        DOMAIN,
        "generate_report",
        {"kind": "daily", "sections": ["network"]},
        blocking=True,
        return_response=True,
    )
    assert report is not None
    network = report["sections"]["network"]  # type: ignore[index,call-overload]
    (source,) = network["sources"]
    assert source["source"] == "unifi"
    assert source["available"] is True
    assert {a["label"] for a in source["anomalies"]} >= {"Synology NAS", "Upstairs AP"}
    assert any(a["explanation"].startswith("Synology NAS went") for a in source["anomalies"])

    # Back to normal: the offline anomalies clear and the rest of the day stays quiet.
    net.clear()
    await replay.run(STEP)
    replay.events.clear()
    await replay.run(timedelta(hours=6))
    assert replay.raised() == []


def _status(net: Network, moment: datetime) -> SiteStatus:
    at = moment.timestamp()
    return SiteStatus(
        polled_at=moment,
        wan=parse_wan(net.health_rows(at, "198.51.100.23")),
        clients=parse_clients(net.station_rows(at)),
        devices=parse_devices(net.device_rows(at)),
    )


async def test_week_of_normal_traffic_raises_nothing(hass: HomeAssistant) -> None:
    """A week of one-minute polls through the sample function and the detector directly.

    Commuters leave and come back at slightly different times each day, WAN figures follow the
    day and the weekend with noise: nothing is flagged (the week's false-positive count is 0).
    Then the same detector still flags an always-on client dropping off.
    """
    net = Network(seed=1, utc_offset_hours=-8)
    detector = AnomalyDetector("unifi", Sensitivity.MEDIUM)
    history = ClientHistory()
    raised = []
    moment = MONDAY
    for minute in range(7 * 24 * 60):
        moment = MONDAY + timedelta(minutes=minute)
        metrics, presence = site_samples(_status(net, moment), history)
        raised += detector.observe(metrics, presence, moment).raised
        if minute % 60 == 0:
            detector.expire(moment)
    assert [(a.anomaly, a.label, a.detected_at) for a in raised] == []

    printer = next(c for c in net.clients.values() if c.hostname == "printer")
    net.take_offline(printer.mac)
    for minute in range(1, 11):
        later = moment + timedelta(minutes=minute)
        metrics, presence = site_samples(_status(net, later), history)
        raised += detector.observe(metrics, presence, later).raised
    assert [(a.anomaly, a.key) for a in raised] == [(AnomalyType.DEVICE_OFFLINE, printer.mac)]
