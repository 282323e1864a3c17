"""The anomaly monitor in Home Assistant: entities, events, stored baselines, options, removal."""

from __future__ import annotations

from datetime import datetime, timedelta
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    EVENT_HOMEASSISTANT_FINAL_WRITE,
    STATE_OFF,
    STATE_ON,
    Platform,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.network import monitor as monitor_module
from custom_components.homelab_agents.network.anomaly import TUNING, Sensitivity
from custom_components.homelab_agents.network.models import AnomalyType, PresenceSample
from custom_components.homelab_agents.network.monitor import (
    MONITOR_OPTIONS_SCHEMA,
    AnomalyMonitor,
    store_key,
)

from .conftest import (
    EVENT_ENTITY,
    MONDAY,
    POLL,
    PROBLEM_ENTITY,
    STARTED,
    ProbeSetup,
    monitor_of,
    polls,
    query_sample,
    seasonal,
)

HISTORY = timedelta(hours=26)


def _learn(monitor: AnomalyMonitor, start: datetime = MONDAY, keys: int = 1) -> datetime:
    """Feed 26 hours of seasonal history for keys q0..; returns the next poll's time."""
    rng = random.Random(3)
    for moment in polls(start, HISTORY):
        samples = [query_sample(f"q{i}", seasonal(rng, moment, 200)) for i in range(keys)]
        assert monitor.async_process(samples, [], moment) == []
    return start + HISTORY


def _events(hass: HomeAssistant) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    @callback
    def record(event: Event) -> None:
        state = event.data["new_state"]
        if event.data["entity_id"] == EVENT_ENTITY and state and state.state != "unavailable":
            seen.append(dict(state.attributes))

    hass.bus.async_listen("state_changed", record)
    return seen


async def test_anomaly_turns_the_problem_sensor_on_and_fires_events(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, setup_probe: ProbeSetup
) -> None:
    """A spike: problem on with the anomaly listed, a typed event; cleared: off and `cleared`."""
    freezer.move_to(MONDAY)
    entry = await setup_probe()
    monitor = monitor_of(entry)
    assert hass.states.get(PROBLEM_ENTITY).state == STATE_OFF
    events = _events(hass)
    moment = _learn(monitor)
    freezer.move_to(moment)

    raised = monitor.async_process([query_sample("q0", 5000)], [], moment)
    await hass.async_block_till_done()
    assert [a.anomaly for a in raised] == [AnomalyType.QUERY_RATE_SPIKE]
    problem = hass.states.get(PROBLEM_ENTITY)
    assert problem.state == STATE_ON
    assert problem.attributes["device_class"] == "problem"
    assert problem.attributes["count"] == 1
    (shown,) = problem.attributes["anomalies"]
    anomaly = raised[0]
    assert shown == {
        "type": "query_rate_spike",
        "key": "q0",
        "label": "Queries from q0",
        "observed": 5000,
        "expected_low": anomaly.expected_low,
        "expected_high": anomaly.expected_high,
        "unit": "queries",
        "since": moment.isoformat(),
    }
    assert [e["event_type"] for e in events] == ["query_rate_spike"]
    assert events[0]["anomaly"] == "query_rate_spike"
    assert events[0]["source"] == "pihole"
    assert events[0]["explanation"] == anomaly.explanation
    assert events[0]["expected_high"] == anomaly.expected_high
    assert monitor.active == [anomaly]

    # Still spiking: nothing new is written.
    monitor.async_process([query_sample("q0", 5000)], [], moment + POLL)
    await hass.async_block_till_done()
    assert len(events) == 1

    usual = seasonal(random.Random(0), moment + 2 * POLL, 200)
    monitor.async_process([query_sample("q0", usual)], [], moment + 2 * POLL)
    await hass.async_block_till_done()
    assert hass.states.get(PROBLEM_ENTITY).state == STATE_OFF
    assert hass.states.get(PROBLEM_ENTITY).attributes["anomalies"] == []
    assert [e["event_type"] for e in events] == ["query_rate_spike", "cleared"]
    assert events[1]["anomaly"] == "query_rate_spike"
    assert events[1]["key"] == "q0"


async def test_entities_belong_to_the_source_device(
    hass: HomeAssistant, setup_probe: ProbeSetup
) -> None:
    """Both entities sit on the device the source gave the monitor, with translated names."""
    entry = await setup_probe()
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert device is not None
    registry = er.async_get(hass)
    for entity_id in (PROBLEM_ENTITY, EVENT_ENTITY):
        entity = registry.async_get(entity_id)
        assert entity is not None
        assert entity.device_id == device.id
        assert entity.translation_key == "network_anomaly"
        assert entity.unique_id.startswith(entry.entry_id)
    event = hass.states.get(EVENT_ENTITY)
    assert set(event.attributes["event_types"]) == {t.value for t in AnomalyType} | {"cleared"}
    assert monitor_of(entry).entities(Platform.SENSOR) == []


async def test_many_new_devices_at_once_are_all_announced(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, setup_probe: ProbeSetup
) -> None:
    """Sixty devices joining in one poll: sixty events (announced in slices), none lost."""
    freezer.move_to(MONDAY)
    entry = await setup_probe()
    monitor = monitor_of(entry)
    for moment in polls(MONDAY, timedelta(hours=1, minutes=10)):
        monitor.async_process([], [PresenceSample("router", "Router", True)], moment)
    events = _events(hass)
    joined = [PresenceSample(f"dev{i}", f"Device {i}", True) for i in range(60)]
    moment = MONDAY + timedelta(hours=1, minutes=10)
    assert len(monitor.async_process([], joined, moment)) == 60
    await hass.async_block_till_done()
    assert [e["event_type"] for e in events] == ["new_device"] * 60
    assert sorted(e["key"] for e in events) == sorted(f"dev{i}" for i in range(60))
    problem = hass.states.get(PROBLEM_ENTITY)
    assert problem.attributes["count"] == 60
    assert len(problem.attributes["anomalies"]) == 20


async def test_unloading_during_an_event_burst_stops_announcing(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, setup_probe: ProbeSetup
) -> None:
    """The entity going away mid-burst cancels the rest of its announcements."""
    freezer.move_to(MONDAY)
    entry = await setup_probe()
    monitor = monitor_of(entry)
    for moment in polls(MONDAY, timedelta(hours=1, minutes=10)):
        monitor.async_process([], [PresenceSample("router", "Router", True)], moment)
    events = _events(hass)
    joined = [PresenceSample(f"dev{i}", f"Device {i}", True) for i in range(60)]
    monitor.async_process([], joined, MONDAY + timedelta(hours=1, minutes=10))
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert 0 < len(events) < 60


async def test_new_device_clears_after_an_hour_on_housekeeping(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, setup_probe: ProbeSetup
) -> None:
    """The minutely housekeeping clears a new-device anomaly an hour after it was raised."""
    freezer.move_to(MONDAY)
    entry = await setup_probe()
    monitor = monitor_of(entry)
    for moment in polls(MONDAY, timedelta(hours=1, minutes=10)):
        monitor.async_process([], [PresenceSample("router", "Router", True)], moment)
    moment = MONDAY + timedelta(hours=1, minutes=10)
    freezer.move_to(moment)
    monitor.async_process([], [PresenceSample("tv", "Living room TV", True)], moment)
    await hass.async_block_till_done()
    events = _events(hass)
    assert hass.states.get(PROBLEM_ENTITY).state == STATE_ON

    freezer.tick(timedelta(minutes=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(PROBLEM_ENTITY).state == STATE_ON
    freezer.tick(timedelta(minutes=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(PROBLEM_ENTITY).state == STATE_OFF
    assert [(e["event_type"], e["anomaly"], e["label"]) for e in events] == [
        ("cleared", "new_device", "Living room TV")
    ]


async def test_baselines_and_active_anomalies_survive_a_restart(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_probe: ProbeSetup,
) -> None:
    """Unloading writes the baselines; the reloaded entry judges at once and stays on."""
    freezer.move_to(MONDAY)
    entry = await setup_probe()
    monitor = monitor_of(entry)
    moment = _learn(monitor, keys=3)
    freezer.move_to(moment)
    monitor.async_process([query_sample("q1", 9000)], [], moment)
    learned = monitor.detector.stored()
    assert store_key(entry.entry_id) not in hass_storage  # the save is delayed

    assert await hass.config_entries.async_unload(entry.entry_id)
    stored = hass_storage[store_key(entry.entry_id)]
    assert stored["version"] == 1
    assert stored["data"] == learned

    await setup_probe()
    restored = monitor_of(entry)
    assert restored is not monitor
    assert restored.detector.stored() == learned
    assert hass.states.get(PROBLEM_ENTITY).state == STATE_ON
    # Warm already: a spike of another metric is flagged on the first poll after the restart.
    assert restored.async_process([query_sample("q2", 9000)], [], moment + POLL)
    usual = seasonal(random.Random(0), moment + 2 * POLL, 200)
    assert restored.async_process([query_sample("q1", usual)], [], moment + 2 * POLL) == []
    assert [a.key for a in restored.active] == ["q2"]


async def test_baselines_are_saved_after_the_delay(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_probe: ProbeSetup,
) -> None:
    """Learning schedules one delayed save; polls in between do not postpone it."""
    freezer.move_to(MONDAY)
    entry = await setup_probe()
    monitor = monitor_of(entry)
    key = store_key(entry.entry_id)
    for second in range(0, monitor_module.SAVE_DELAY, 60):
        moment = MONDAY + timedelta(seconds=second)
        freezer.move_to(moment)
        monitor.async_process([query_sample(f"q{second}", 100)], [], moment)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        assert key not in hass_storage
    freezer.move_to(MONDAY + timedelta(seconds=monitor_module.SAVE_DELAY + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(hass_storage[key]["data"]["metrics"]) == monitor_module.SAVE_DELAY // 60


async def test_newer_baseline_file_is_refused_and_left_alone(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    probe_entry: MockConfigEntry,
    setup_probe: ProbeSetup,
) -> None:
    """A file from a newer release stops the entry with a translated error; nothing is lost."""
    newer = {"version": 2, "minor_version": 1, "key": "k", "data": {"future": True}}
    hass_storage[store_key(probe_entry.entry_id)] = dict(newer)
    entry = await setup_probe()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "network_baselines_too_new"
    assert hass_storage[store_key(entry.entry_id)] == newer


async def test_unreadable_baselines_start_empty_with_a_repair_issue(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    probe_entry: MockConfigEntry,
    setup_probe: ProbeSetup,
) -> None:
    """Damaged content: the entry runs, learns anew and a repair issue says so."""
    hass_storage[store_key(probe_entry.entry_id)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(probe_entry.entry_id),
        "data": {"metrics": "garbage"},
    }
    entry = await setup_probe()
    assert entry.state is ConfigEntryState.LOADED
    assert monitor_of(entry).detector.metrics == {}
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"network_baselines_unreadable_{entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_key == "network_baselines_unreadable"
    assert issue.translation_placeholders["title"] == entry.title

    # The file restored from a backup: the issue goes at the next load.
    monitor_of(entry).async_process([query_sample("q", 1)], [], MONDAY)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await setup_probe()
    assert monitor_of(entry).detector.metrics.keys() == {"q"}
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"network_baselines_unreadable_{entry.entry_id}")
        is None
    )


async def test_removing_the_entry_deletes_its_baselines(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    probe_entry: MockConfigEntry,
    setup_probe: ProbeSetup,
) -> None:
    """Baselines and the unreadable-file issue go with the entry."""
    hass_storage[store_key(probe_entry.entry_id)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(probe_entry.entry_id),
        "data": "garbage",
    }
    entry = await setup_probe()
    monitor_of(entry).async_process([query_sample("q", 1)], [], MONDAY)
    await hass.config_entries.async_unload(entry.entry_id)
    assert store_key(entry.entry_id) in hass_storage
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert store_key(entry.entry_id) not in hass_storage
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"network_baselines_unreadable_{entry.entry_id}")
        is None
    )


@pytest.mark.parametrize(
    ("options", "sensitivity", "alerts"),
    [
        ({}, Sensitivity.MEDIUM, True),
        ({"sensitivity": "high", "anomaly_alerts": False}, Sensitivity.HIGH, False),
        ({"sensitivity": "low"}, Sensitivity.LOW, True),
        ({"sensitivity": "extreme"}, Sensitivity.MEDIUM, True),
    ],
)
async def test_options_set_sensitivity_and_alerts(
    hass: HomeAssistant,
    *,
    setup_probe: ProbeSetup,
    probe_options: dict[str, Any],
    options: dict[str, Any],
    sensitivity: Sensitivity,
    alerts: bool,
) -> None:
    """The entry's options decide the range width and whether alerts are posted."""
    probe_options.clear()
    probe_options.update(options)
    monitor = monitor_of(await setup_probe())
    assert monitor.sensitivity is sensitivity
    assert monitor.detector.tuning == TUNING[sensitivity]
    assert monitor.alerts_enabled is alerts
    assert (monitor.diagnostics()["alerting"] is not None) is alerts


def test_options_schema_fields_validate_with_defaults() -> None:
    """Merged into a source's options schema, the fields default to medium and alerts on."""
    schema = probatio.Schema({probatio.Required("x", default=1): int}).extend(
        MONITOR_OPTIONS_SCHEMA.schema
    )
    assert schema({}) == {"x": 1, "sensitivity": "medium", "anomaly_alerts": True}
    merged = probatio.Schema({**MONITOR_OPTIONS_SCHEMA})
    assert merged({"sensitivity": "high", "anomaly_alerts": False}) == {
        "sensitivity": "high",
        "anomaly_alerts": False,
    }
    with pytest.raises(probatio.Invalid):
        merged({"sensitivity": "extreme"})


async def test_diagnostics_are_bounded_and_carry_no_secrets(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, setup_probe: ProbeSetup
) -> None:
    """Counts, a few keys and the active anomalies; the same size whatever the key count."""
    freezer.move_to(MONDAY)
    entry = await setup_probe()
    monitor = monitor_of(entry)
    moment = _learn(monitor, keys=50)
    freezer.move_to(moment)
    monitor.async_process([query_sample(f"q{i}", 90_000) for i in range(30)], [], moment)
    diagnostics = monitor.diagnostics()
    assert diagnostics["metrics"] == 50
    assert diagnostics["metrics_warm"] == 50
    assert diagnostics["active_count"] == 30
    assert len(diagnostics["active"]) == 20
    assert len(diagnostics["metric_keys"]) == 20
    assert diagnostics["sensitivity"] == "medium"
    assert diagnostics["presence_warm"] is False
    assert entry.runtime_data.diagnostics()["monitor"]["metrics"] == 50


async def test_failed_source_setup_leaves_no_timer_behind(
    hass: HomeAssistant, probe_sources: None
) -> None:
    """A source failing after loading its monitor: no housekeeping runs for the dead monitor."""
    entry = MockConfigEntry(domain=DOMAIN, data={"kind": "pihole", "probe": True, "fail": True})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    monitor = STARTED[-1].monitor
    assert monitor.loaded
    assert monitor._unsub_housekeeping is None


async def test_baselines_are_written_at_shutdown(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_probe: ProbeSetup,
) -> None:
    """Home Assistant stopping writes the pending baselines (its final write)."""
    freezer.move_to(MONDAY)
    entry = await setup_probe()
    monitor_of(entry).async_process([query_sample("q", 100)], [], MONDAY)
    assert store_key(entry.entry_id) not in hass_storage
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert "q" in hass_storage[store_key(entry.entry_id)]["data"]["metrics"]
