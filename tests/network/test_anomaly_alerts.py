"""Anomalies posted to a real Alertmanager come back through its webhook as alerts."""

from __future__ import annotations

from datetime import timedelta
import logging
import random
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.alertmanager.store import AlertStore
from custom_components.homelab_agents.network import alerting
from custom_components.homelab_agents.network.alerting import ALERT_VALIDITY, ALERTNAME
from custom_components.homelab_agents.network.models import Anomaly, AnomalyType, PresenceSample
from custom_components.homelab_agents.network.monitor import AnomalyMonitor, store_key

from ..alertmanager_process import AlertmanagerProcess
from ..conftest import wait_for, webhook_target_for
from .conftest import PROBE_TITLE, ProbeSetup, monitor_of, polls, query_sample, seasonal


@pytest.fixture
def alertmanager_url(alertmanager: AlertmanagerProcess) -> str:
    """Point the Alertmanager entry at the real Alertmanager."""
    return alertmanager.url


@pytest.fixture
def probe_options() -> dict[str, Any]:
    """Alerts on (the default)."""
    return {}


def _learned(monitor: AnomalyMonitor) -> None:
    """26 hours of history up to now, so the next poll is judged."""
    rng = random.Random(5)
    start = dt_util.utcnow() - timedelta(hours=26)
    for moment in polls(start, timedelta(hours=26)):
        monitor.async_process([query_sample("client", seasonal(rng, moment, 300))], [], moment)


def _network_alerts(store: AlertStore) -> list[Any]:
    return [a for a in store.active.values() if a.alertname == ALERTNAME]


async def test_anomaly_reaches_alertmanager_and_returns_as_an_alert(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    init_integration: MockConfigEntry,
    webhook_client: TestClient,
    setup_probe: ProbeSetup,
) -> None:
    """Raised: firing in Alertmanager and in the alert store; cleared: resolved in both."""
    await alertmanager.reconfigure(webhook_target_for(webhook_client))
    monitor = monitor_of(await setup_probe())
    _learned(monitor)
    store: AlertStore = init_integration.runtime_data.store

    (anomaly,) = monitor.async_process([query_sample("client", 40_000)], [], dt_util.utcnow())
    await wait_for(lambda: len(_network_alerts(store)) == 1)
    (alert,) = _network_alerts(store)
    assert alert.labels == {
        "alertname": ALERTNAME,
        "severity": "warning",
        "source": "pihole",
        "anomaly": "query_rate_spike",
        "key": "client",
        "instance": PROBE_TITLE,
    }
    assert alert.annotations["summary"] == anomaly.explanation
    assert anomaly.explanation in alert.annotations["description"]
    assert alert.starts_at == anomaly.detected_at.replace(microsecond=alert.starts_at.microsecond)
    (held,) = await alertmanager.api("alerts")
    ends_at = dt_util.parse_datetime(held["endsAt"])
    assert ends_at is not None
    assert ends_at - dt_util.utcnow() <= ALERT_VALIDITY

    usual = seasonal(random.Random(1), dt_util.utcnow(), 300)
    cleared = monitor.async_process([query_sample("client", usual)], [], dt_util.utcnow())
    assert cleared == []
    assert monitor.active == []
    await wait_for(lambda: not _network_alerts(store))
    assert [a.alertname for a in store.history.values()] == [ALERTNAME]
    assert await alertmanager.api("alerts") == []


async def test_active_anomalies_are_posted_again_after_a_restart(
    hass: HomeAssistant,
    *,
    alertmanager: AlertmanagerProcess,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    probe_entry: MockConfigEntry,
    setup_probe: ProbeSetup,
) -> None:
    """An anomaly active when Home Assistant stopped fires again in Alertmanager at load."""
    detected = dt_util.utcnow() - timedelta(minutes=3)
    anomaly = Anomaly(
        source="pihole",
        anomaly=AnomalyType.BLOCKED_RATIO_JUMP,
        key="blocked",
        label="Blocked queries",
        observed=80.0,
        expected_low=5.0,
        expected_high=20.0,
        unit="%",
        detected_at=detected,
    )
    hass_storage[store_key(probe_entry.entry_id)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(probe_entry.entry_id),
        "data": {
            "metrics": {},
            "devices": {},
            "presence_since": None,
            "presence_polls": 0,
            "active": [anomaly.as_dict()],
        },
    }
    await setup_probe()
    await hass.async_block_till_done(wait_background_tasks=True)
    held = await alertmanager.api("alerts")
    (alert,) = held
    assert alert["labels"]["anomaly"] == "blocked_ratio_jump"
    assert dt_util.parse_datetime(alert["startsAt"]) == detected.replace(
        microsecond=dt_util.parse_datetime(alert["startsAt"]).microsecond
    )


async def test_failed_posts_are_logged_once_and_retried(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    init_integration: MockConfigEntry,
    setup_probe: ProbeSetup,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Alertmanager down: one warning, polling unaffected; back: the anomaly is posted."""
    monitor = monitor_of(await setup_probe())
    _learned(monitor)
    alertmanager.stop()
    caplog.set_level(logging.INFO)

    assert monitor.async_process([query_sample("client", 40_000)], [], dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)
    for minute in (1, 2):
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=minute, seconds=1))
        await hass.async_block_till_done(wait_background_tasks=True)
    warnings = [r for r in caplog.records if "Could not post network anomalies" in r.message]
    assert len(warnings) == 1
    assert PROBE_TITLE in warnings[0].message
    assert monitor.alerter.last_error is not None
    assert monitor.diagnostics()["alerting"]["last_error"] == monitor.alerter.last_error

    # Polls go on while posting fails.
    usual = seasonal(random.Random(1), dt_util.utcnow(), 300)
    monitor.async_process([query_sample("client", 40_000)], [], dt_util.utcnow())
    assert monitor.alerter.pending_resolutions == 0

    await alertmanager.start()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=3, seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    (held,) = await alertmanager.api("alerts")
    assert held["labels"]["key"] == "client"
    assert any("works again" in r.message for r in caplog.records)
    assert monitor.alerter.last_error is None

    # A resolution that fails to post is kept and posted on the next cycle.
    alertmanager.stop()
    monitor.async_process([query_sample("client", usual)], [], dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)
    assert monitor.alerter.pending_resolutions == 1
    await alertmanager.start()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=4, seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert monitor.alerter.pending_resolutions == 0
    assert await alertmanager.api("alerts") == []


@pytest.mark.parametrize("probe_options", [{"anomaly_alerts": False}])
async def test_nothing_is_posted_when_alerts_are_off(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    init_integration: MockConfigEntry,
    setup_probe: ProbeSetup,
) -> None:
    """With the option off the anomaly shows in Home Assistant only."""
    monitor = monitor_of(await setup_probe())
    _learned(monitor)
    assert monitor.async_process([query_sample("client", 40_000)], [], dt_util.utcnow())
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=1, seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await alertmanager.api("alerts") == []
    assert monitor.diagnostics()["alerting"] is None


async def test_without_an_alertmanager_entry_nothing_is_posted(
    hass: HomeAssistant, setup_probe: ProbeSetup
) -> None:
    """No Alertmanager entry: anomalies stay in Home Assistant, resolutions wait, no errors."""
    monitor = monitor_of(await setup_probe())
    _learned(monitor)
    assert monitor.async_process([query_sample("client", 40_000)], [], dt_util.utcnow())
    usual = seasonal(random.Random(1), dt_util.utcnow(), 300)
    assert monitor.async_process([query_sample("client", usual)], [], dt_util.utcnow()) == []
    assert monitor.active == []
    assert monitor.alerter.pending_resolutions == 1
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=1, seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    alerting = monitor.diagnostics()["alerting"]
    assert alerting["targets"] == []
    assert alerting["last_error"] is None
    assert alerting["last_post_at"] is None


async def test_changes_during_a_post_are_posted_right_after(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    init_integration: MockConfigEntry,
    setup_probe: ProbeSetup,
) -> None:
    """A clear and a new raise while the first post is in flight follow in another post."""
    monitor = monitor_of(await setup_probe())
    _learned(monitor)
    now = dt_util.utcnow()
    usual = seasonal(random.Random(1), now, 300)
    assert monitor.async_process([query_sample("client", 40_000)], [], now)
    assert monitor.alerter._task is not None  # the first post is on its way
    assert monitor.async_process([query_sample("client", usual)], [], now) == []
    assert monitor.async_process([query_sample("client", 50_000)], [], now + timedelta(seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    (held,) = await alertmanager.api("alerts")
    assert held["labels"]["key"] == "client"
    assert dt_util.parse_datetime(held["endsAt"]) > dt_util.utcnow()


async def test_unloading_stops_a_post_in_flight(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    init_integration: MockConfigEntry,
    setup_probe: ProbeSetup,
) -> None:
    """Unloading the source cancels its post; the anomaly stays active for the next start."""
    entry = await setup_probe()
    monitor = monitor_of(entry)
    _learned(monitor)
    assert monitor.async_process([query_sample("client", 40_000)], [], dt_util.utcnow())
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [a.key for a in monitor.active] == ["client"]
    assert monitor.diagnostics()["loaded"] is True


async def test_pending_resolutions_are_bounded(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    setup_probe: ProbeSetup,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without anywhere to post, at most `MAX_PENDING_RESOLUTIONS` wait (the newest)."""
    monkeypatch.setattr(alerting, "MAX_PENDING_RESOLUTIONS", 2)
    monitor = monitor_of(await setup_probe())
    start = dt_util.utcnow()
    for moment in polls(start, timedelta(hours=1, minutes=20), timedelta(minutes=20)):
        monitor.async_process([], [PresenceSample("router", "Router", True)], moment)
    now = start + timedelta(hours=1, minutes=20)
    joined = [PresenceSample(f"new{i}", f"New {i}", True) for i in range(3)]
    assert len(monitor.async_process([], joined, now)) == 3
    freezer.move_to(now + timedelta(hours=1, minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert monitor.active == []
    assert monitor.alerter.pending_resolutions == 2
