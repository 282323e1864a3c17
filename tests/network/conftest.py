"""Fixtures of the anomaly monitor's tests: seasonal series and a minimal source that owns one.

Nothing here is autouse: the source packages' tests below this folder are not affected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
import math
import random
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.homelab_agents as integration
from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.network.models import (
    AnomalyType,
    Direction,
    MetricSample,
)
from custom_components.homelab_agents.network.monitor import AnomalyMonitor
from custom_components.homelab_agents.runtime import HomelabAgentsConfigEntry

# A Monday, midnight UTC (Home Assistant's test time zone is US/Pacific; buckets use it).
MONDAY = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
POLL = timedelta(minutes=10)
PROBE_TITLE = "Probe Pi-hole"
PROBLEM_ENTITY = "binary_sensor.probe_pi_hole_network_anomaly"
EVENT_ENTITY = "event.probe_pi_hole_network_anomaly"


def seasonal(rng: random.Random, moment: datetime, base: float, *, weekend: float = 1.4) -> float:
    """A query-rate-like value: daily curve, busier weekends, proportional and counting noise.

    People keep local time, so the curve and the weekend follow Home Assistant's time zone.
    """
    local = dt_util.as_local(moment)
    hour = local.hour + local.minute / 60
    mean = base * (1 + 0.6 * math.sin((hour - 9) / 24 * 2 * math.pi))
    if local.weekday() >= 5:
        mean *= weekend
    return max(0.0, rng.gauss(mean, 0.08 * mean + math.sqrt(mean)))


def polls(start: datetime, duration: timedelta, step: timedelta = POLL) -> Iterator[datetime]:
    """Poll times from `start` (included) for `duration` (excluded)."""
    moment = start
    while moment < start + duration:
        yield moment
        moment += step


def query_sample(key: str, value: float, *, floor: float = 0.0) -> MetricSample:
    """A Pi-hole style query-rate sample."""
    return MetricSample(
        key=key,
        label=f"Queries from {key}",
        value=value,
        anomaly=AnomalyType.QUERY_RATE_SPIKE,
        direction=Direction.UP,
        floor=floor,
        unit="queries",
    )


STARTED: list[ProbeSource] = []  # every probe source started, latest last


class ProbeSource:
    """The smallest source runtime: a device and an anomaly monitor, fed by the test."""

    platforms: tuple[Platform, ...] = (Platform.BINARY_SENSOR, Platform.EVENT)

    def __init__(self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
        """Own a monitor on the entry's service device."""
        device = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            entry_type=DeviceEntryType.SERVICE,
        )
        self.monitor = AnomalyMonitor(hass, entry, device)
        self.entry_fails = bool(entry.data.get("fail"))

    async def async_start(self) -> None:
        """Load the baselines; then fail like an unreachable source when the entry says so."""
        STARTED.append(self)
        await self.monitor.async_load()
        if self.entry_fails:
            raise ConfigEntryNotReady("probe source unreachable")

    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add the monitor's entities."""
        async_add_entities(self.monitor.entities(platform))

    async def async_unload(self) -> None:
        """Persist the baselines."""
        await self.monitor.async_unload()

    def diagnostics(self) -> dict[str, Any]:
        """The monitor's diagnostics."""
        return {"monitor": self.monitor.diagnostics()}


@pytest.fixture
def probe_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries whose data says `probe` start a `ProbeSource`; every other kind starts as usual."""
    start_source = integration._async_start_source

    async def start(hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> Any:
        if not entry.data.get("probe"):
            return await start_source(hass, entry)
        source = ProbeSource(hass, entry)
        await source.async_start()
        return source

    monkeypatch.setattr(integration, "_async_start_source", start)


@pytest.fixture
def probe_options() -> dict[str, Any]:
    """Options of the probe entry."""
    return {"sensitivity": "medium", "anomaly_alerts": False}


@pytest.fixture
def probe_entry(probe_options: dict[str, Any]) -> MockConfigEntry:
    """A Pi-hole-kind entry run by `ProbeSource`."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=PROBE_TITLE,
        unique_id="probe",
        data={"kind": "pihole", "probe": True},
        options=probe_options,
    )


type ProbeSetup = Callable[[], Awaitable[MockConfigEntry]]


@pytest.fixture
def setup_probe(
    hass: HomeAssistant, probe_sources: None, probe_entry: MockConfigEntry
) -> ProbeSetup:
    """Set up (or set up again) the probe entry through Home Assistant's config entries."""

    async def setup() -> MockConfigEntry:
        if probe_entry.entry_id not in {e.entry_id for e in hass.config_entries.async_entries()}:
            probe_entry.add_to_hass(hass)
        await hass.config_entries.async_setup(probe_entry.entry_id)
        await hass.async_block_till_done()
        return probe_entry

    return setup


def monitor_of(entry: MockConfigEntry) -> AnomalyMonitor:
    """The monitor of a set-up probe entry."""
    monitor: AnomalyMonitor = entry.runtime_data.monitor
    return monitor
