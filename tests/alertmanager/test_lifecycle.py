"""Entry lifecycle: reloads, restarts, storage faults, pipeline health and diagnostics."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.file import WriteError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.homelab_agents.alertmanager.models import Silence
from custom_components.homelab_agents.alertmanager.payload import parse_payload
from custom_components.homelab_agents.const import DOMAIN

from ..alertmanager_process import AlertmanagerProcess, WebhookTarget
from ..conftest import WEBHOOK_ID, WEBHOOK_TOKEN, WebhookPoster
from ..fake_alertmanager import FakeAlertmanager, serve
from .payloads import alert, payload
from .test_end_to_end import prometheus_alert

STORE_KEY = f"{DOMAIN}.alerts."
PIPELINE = "binary_sensor.alertmanager_127_0_0_1_alert_pipeline"


def _key(entry: MockConfigEntry) -> str:
    return f"{STORE_KEY}{entry.entry_id}"


async def test_reload_three_times_keeps_one_handler(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """L1: reloads leave exactly one webhook handler and the alerts."""
    await post_webhook(payload(alert()))
    for _ in range(3):
        assert await hass.config_entries.async_reload(init_integration.entry_id)
        await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert "already defined" not in caplog.text
    handlers = hass.data["webhook"]
    assert list(handlers) == [WEBHOOK_ID]
    assert list(init_integration.runtime_data.store.active) == ["a1b2c3d4e5f60718"]
    status, _ = await post_webhook(payload(alert("00000000000000f2")))
    assert status == 200


async def test_unload_unregisters_and_flushes(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    hass_storage: dict[str, Any],
) -> None:
    """Unloading writes pending changes at once and stops receiving."""
    await post_webhook(payload(alert()))
    assert _key(init_integration) not in hass_storage  # the save is still delayed
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    stored = hass_storage[_key(init_integration)]["data"]
    assert [a["fingerprint"] for a in stored["alerts"]] == ["a1b2c3d4e5f60718"]
    assert WEBHOOK_ID not in hass.data["webhook"]


async def test_alerts_acks_and_silences_survive_restart(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    hass_storage: dict[str, Any],
) -> None:
    """L6: final write at shutdown, then a new runtime loads the same state."""
    await post_webhook(payload(alert(), alert("00000000000000f2", name="Other")))
    await post_webhook(
        payload(
            alert(
                "00000000000000f2", name="Other", status="resolved", ends_at="2026-11-27T10:01:00Z"
            )
        )
    )
    await hass.services.async_call(
        DOMAIN, "acknowledge_alert", {"fingerprint": "a1b2c3d4e5f60718", "by": "me"}, blocking=True
    )
    store = init_integration.runtime_data.store
    now = dt_util.utcnow()
    store.async_add_silence(
        Silence(
            id="s-1",
            state="active",
            matchers=[
                {"name": "alertname", "value": "HostDown", "isRegex": False, "isEqual": True}
            ],
            starts_at=now,
            ends_at=now + timedelta(hours=1),
            created_by="me",
            comment="c",
        ),
        "a1b2c3d4e5f60718",
    )
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert hass_storage[_key(init_integration)]["data"]["alerts"]

    # A fresh runtime (as after a restart) reads the same storage.
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    restored = init_integration.runtime_data.store
    (firing,) = restored.active.values()
    assert firing.acknowledged_by == "me"
    assert firing.silenced_by == ["s-1"]
    assert list(restored.silences) == ["s-1"]
    assert [a.alertname for a in restored.history.values()] == ["Other"]
    assert restored.last_webhook_at is not None
    assert hass.states.get("sensor.alertmanager_127_0_0_1_firing_alerts").state == "1"
    assert hass.states.get("sensor.alertmanager_127_0_0_1_silenced_alerts").state == "1"


async def test_unreadable_store_starts_empty_with_repair(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """L4: stored content that cannot be read starts empty and raises a repair issue."""
    hass_storage[_key(mock_config_entry)] = {
        "version": 1,
        "minor_version": 2,
        "key": _key(mock_config_entry),
        "data": {"alerts": [{"fingerprint": "x"}], "history": [], "silences": []},
    }
    mock_config_entry.add_to_hass(hass)
    await async_setup_component(hass, "http", {})
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.store.active == {}
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"alert_store_unreadable_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_key == "alert_store_unreadable"


async def test_unreadable_store_recovers_firing_alerts_by_reconciliation(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    hass_storage: dict[str, Any],
) -> None:
    """L4: after a corrupt store, reconciliation restores the alerts still firing."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Alertmanager 127.0.0.1",
        data={"kind": "alertmanager", "url": alertmanager.url, "webhook_id": WEBHOOK_ID},
    )
    hass_storage[_key(entry)] = {"version": 1, "minor_version": 2, "key": "k", "data": "garbage"}
    await alertmanager.reconfigure(WebhookTarget(url="http://127.0.0.1:9/x", token=None))
    await alertmanager.post_alerts([prometheus_alert("StillFiring")])
    entry.add_to_hass(hass)
    await async_setup_component(hass, "http", {})
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert [a.alertname for a in entry.runtime_data.store.active.values()] == ["StillFiring"]


async def test_store_migrates_older_minor_version(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """L5: version 1.1 (no truncated record) is migrated and keeps its alerts."""
    hass_storage[_key(mock_config_entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": _key(mock_config_entry),
        "data": {
            "alerts": [
                {
                    "fingerprint": "a1b2c3d4e5f60718",
                    "status": "firing",
                    "alertname": "HostDown",
                    "severity": "critical",
                    "starts_at": "2026-11-27T10:00:00+00:00",
                    "ends_at": None,
                    "labels": {"alertname": "HostDown", "severity": "critical"},
                    "annotations": {},
                    "generator_url": "",
                    "first_seen": "2026-11-27T10:00:01+00:00",
                    "resolved_at": None,
                    "acknowledged_by": "me",
                    "acknowledged_at": "2026-11-27T10:02:00+00:00",
                    "silenced_by": [],
                    "inhibited_by": [],
                }
            ],
            "history": [],
            "silences": [],
            "last_webhook_at": None,
        },
    }
    mock_config_entry.add_to_hass(hass)
    await async_setup_component(hass, "http", {})
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    store = mock_config_entry.runtime_data.store
    assert store.active["a1b2c3d4e5f60718"].acknowledged_by == "me"
    assert hass_storage[_key(mock_config_entry)]["minor_version"] == 2


async def test_newer_store_version_is_refused_not_overwritten(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """L5: a file from a newer release fails setup with a clear error and stays as it is."""
    newer = {"version": 2, "minor_version": 1, "key": _key(mock_config_entry), "data": {"x": 1}}
    hass_storage[_key(mock_config_entry)] = dict(newer)
    mock_config_entry.add_to_hass(hass)
    await async_setup_component(hass, "http", {})
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason == (
        "The stored alerts were written by a newer version of Homelab Agents. "
        "Update the integration; the file was left untouched"
    )
    assert hass_storage[_key(mock_config_entry)] == newer
    assert WEBHOOK_ID not in hass.data.get("webhook", {})


async def test_store_write_failure_keeps_webhook_working(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    *,
    post_webhook: WebhookPoster,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """L3: a failing disk write leaves the delivery in memory; the next save works."""
    with patch(
        "homeassistant.helpers.storage.Store._async_write_data",
        side_effect=WriteError("disk full"),
    ):
        status, _ = await post_webhook(payload(alert()))
        assert status == 200
        freezer.tick(timedelta(seconds=11))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert caplog.text.count(f"Error writing config for {_key(init_integration)}") == 1
    assert list(init_integration.runtime_data.store.active) == ["a1b2c3d4e5f60718"]
    await post_webhook(payload(alert("00000000000000f2")))
    freezer.tick(timedelta(seconds=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    stored = hass_storage[_key(init_integration)]["data"]["alerts"]
    assert sorted(a["fingerprint"] for a in stored) == ["00000000000000f2", "a1b2c3d4e5f60718"]


async def test_store_writes_are_debounced(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    freezer: FrozenDateTimeFactory,
) -> None:
    """F1: a burst of changes is one disk write per 10 seconds."""
    writes: list[str] = []
    original = Store._async_write_data

    async def counting_write(store: Store[Any], data: dict[str, Any]) -> None:
        writes.append(store.key)
        await original(store, data)

    with patch.object(Store, "_async_write_data", counting_write):
        for index in range(50):
            await post_webhook(payload(alert(f"{index:016x}")))
        freezer.tick(timedelta(seconds=11))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert writes.count(_key(init_integration)) == 1
    assert len(init_integration.runtime_data.store.active) == 50


async def test_pipeline_problem_when_nothing_heard(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    freezer: FrozenDateTimeFactory,
) -> None:
    """No webhook and no reconciliation for the timeout turns the problem sensor on."""
    assert hass.states.get(PIPELINE).state == "off"
    freezer.tick(timedelta(minutes=16))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    state = hass.states.get(PIPELINE)
    assert state.state == "on"
    assert state.attributes["reason"] == "no_contact"
    await post_webhook(payload(alert()))
    await hass.async_block_till_done()
    assert hass.states.get(PIPELINE).state == "off"


@pytest.mark.parametrize("entry_options", [{"watchdog_alert": "Watchdog"}])
async def test_pipeline_problem_when_watchdog_missing(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """With a Watchdog alert configured, its absence is a pipeline problem."""
    state = hass.states.get(PIPELINE)
    assert (state.state, state.attributes["reason"]) == ("on", "watchdog_missing")
    await post_webhook(payload(alert(name="Watchdog", severity="none")))
    await hass.async_block_till_done()
    assert hass.states.get(PIPELINE).state == "off"


async def test_diagnostics_redact_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """X2: token, webhook id and URL credentials never appear in diagnostics."""
    parsed = parse_payload(payload(alert()))
    init_integration.runtime_data.store.async_apply_webhook(parsed.alerts, "g", 0, dt_util.utcnow())
    hass.config_entries.async_update_entry(
        init_integration,
        data={**init_integration.data, "url": "http://admin:hunter2@127.0.0.1:9", "password": "pw"},
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = str(diagnostics)
    for secret in (WEBHOOK_ID, WEBHOOK_TOKEN, "hunter2", "admin", "'pw'"):
        assert secret not in text
    assert diagnostics["entry"]["data"]["url"] == "http://**REDACTED**@127.0.0.1:9"
    assert diagnostics["source"]["store"]["firing"] == 1
    assert diagnostics["source"]["alerts"][0]["fingerprint"] == "a1b2c3d4e5f60718"


async def test_entry_of_unsupported_kind_fails_clearly(hass: HomeAssistant) -> None:
    """An entry made by a newer release (after a downgrade) fails with a clear reason."""
    entry = MockConfigEntry(domain=DOMAIN, data={"kind": "zigbee"})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "zigbee" in (entry.reason or "")


async def test_unauthorized_reconciliation_starts_reauth(hass: HomeAssistant) -> None:
    """A 401 from Alertmanager's API (a proxy) starts reauthentication."""
    async with serve(FakeAlertmanager(credentials=("am", "right"))) as fake:
        entry = MockConfigEntry(
            domain=DOMAIN,
            data={
                "kind": "alertmanager",
                "url": fake.url,
                "webhook_id": WEBHOOK_ID,
                "username": "am",
                "password": "wrong",
            },
        )
        entry.add_to_hass(hass)
        await async_setup_component(hass, "http", {})
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        flows = hass.config_entries.flow.async_progress()
        assert [flow["context"]["source"] for flow in flows] == ["reauth"]
        await hass.config_entries.async_unload(entry.entry_id)


async def test_ten_minutes_of_deliveries_and_polling_do_not_grow(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    freezer: FrozenDateTimeFactory,
) -> None:
    """F5: ten simulated minutes leave tasks, timers and history bounded."""
    entry_options_days = init_integration.runtime_data.options.history_days

    def counts() -> tuple[int, int]:
        scheduled = hass.loop._scheduled  # type: ignore[attr-defined]
        return sum(not handle.cancelled() for handle in scheduled), len(asyncio.all_tasks())

    baseline: tuple[int, int] | None = None
    for second in range(0, 600, 10):
        fingerprint = f"{second % 50:016x}"
        await post_webhook(payload(alert(fingerprint)))
        await post_webhook(
            payload(alert(fingerprint, status="resolved", ends_at="2026-11-27T10:05:00Z"))
        )
        freezer.tick(timedelta(seconds=10))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        if second == 60:
            baseline = counts()
    assert baseline is not None
    timers, tasks = counts()
    assert timers <= baseline[0] + 2
    assert tasks <= baseline[1] + 2
    store = init_integration.runtime_data.store
    assert store.active == {}
    assert len(store.history) <= 50
    # Retention: a week later the history is gone.
    freezer.tick(timedelta(days=entry_options_days, minutes=1))
    await post_webhook(payload(alert("00000000000000ee")))
    assert len(store.history) == 0
