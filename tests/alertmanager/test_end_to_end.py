"""End to end with a real Alertmanager: deliveries, resolution, silences, reconciliation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from ..alertmanager_process import AlertmanagerProcess, WebhookTarget
from ..conftest import WebhookPoster, wait_for, webhook_target_for
from .payloads import payload

DOMAIN = "homelab_agents"
EVENT_ENTITY = "event.alertmanager_127_0_0_1_alert"


@pytest.fixture
def alertmanager_url(alertmanager: AlertmanagerProcess) -> str:
    """Point the entry at the real Alertmanager."""
    return alertmanager.url


def prometheus_alert(name: str, *, resolved: bool = False, **labels: str) -> dict[str, Any]:
    """An alert as Prometheus posts it to Alertmanager."""
    now = dt_util.utcnow()
    body: dict[str, Any] = {
        "labels": {"alertname": name, "severity": "warning", "instance": "pve1:9100", **labels},
        "annotations": {"summary": f"{name} on pve1"},
        "generatorURL": "http://prometheus.lan:9090/graph",
        "startsAt": (now - timedelta(minutes=1)).isoformat(),
    }
    if resolved:
        body["endsAt"] = (now - timedelta(seconds=1)).isoformat()
    return body


def _store(entry: MockConfigEntry) -> Any:
    return entry.runtime_data.store


async def _deliver_to_hass(alertmanager: AlertmanagerProcess, client: TestClient) -> None:
    await alertmanager.reconfigure(webhook_target_for(client))


async def test_alerts_reach_hass_and_resolve(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    init_integration: MockConfigEntry,
    webhook_client: TestClient,
) -> None:
    """Alerts posted to Alertmanager arrive within its group wait; resolving resolves ours."""
    await _deliver_to_hass(alertmanager, webhook_client)
    await alertmanager.post_alerts(
        [prometheus_alert("DiskFull", severity="critical"), prometheus_alert("HighLoad")]
    )
    store = _store(init_integration)
    await wait_for(lambda: len(store.active) == 2)
    names = sorted(a.alertname for a in store.active.values())
    assert names == ["DiskFull", "HighLoad"]
    await hass.async_block_till_done()
    assert hass.states.get("sensor.alertmanager_127_0_0_1_firing_alerts").state == "2"
    assert hass.states.get("sensor.alertmanager_127_0_0_1_critical_alerts").state == "1"

    await alertmanager.post_alerts(
        [prometheus_alert("DiskFull", resolved=True, severity="critical")]
    )
    await wait_for(lambda: len(store.active) == 1)
    assert [a.alertname for a in store.history.values()] == ["DiskFull"]
    await hass.async_block_till_done()
    assert hass.states.get(EVENT_ENTITY).attributes["event_type"] == "resolved"
    assert hass.states.get("sensor.alertmanager_127_0_0_1_critical_alerts").state == "0"


async def test_silence_and_expire_through_alertmanager(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    init_integration: MockConfigEntry,
    webhook_client: TestClient,
) -> None:
    """silence_alert makes a real silence amtool shows; expire_silence removes it."""
    await _deliver_to_hass(alertmanager, webhook_client)
    await alertmanager.post_alerts([prometheus_alert("BackupStale", vmid="101")])
    store = _store(init_integration)
    await wait_for(lambda: len(store.active) == 1)
    (fingerprint,) = store.active

    response = await hass.services.async_call(
        DOMAIN,
        "silence_alert",
        {"fingerprint": fingerprint, "duration": {"hours": 2}, "comment": "maintenance"},
        blocking=True,
        return_response=True,
    )
    silence_id = response["silence_id"]
    query = await alertmanager.amtool("silence", "query", "-q")
    assert silence_id in query.split()
    (silence,) = [s for s in await alertmanager.api("silences") if s["id"] == silence_id]
    assert {m["name"]: m["value"] for m in silence["matchers"]} == {
        "alertname": "BackupStale",
        "severity": "warning",
        "instance": "pve1:9100",
        "vmid": "101",
    }
    assert silence["comment"] == "maintenance"
    await hass.async_block_till_done()
    assert store.active[fingerprint].silenced_by == [silence_id]
    assert hass.states.get(EVENT_ENTITY).attributes["event_type"] == "silenced"
    assert hass.states.get("sensor.alertmanager_127_0_0_1_silenced_alerts").state == "1"

    # Reconciliation agrees: Alertmanager reports the alert silenced by that silence.
    await init_integration.runtime_data.coordinator.async_refresh()
    assert store.active[fingerprint].silenced_by == [silence_id]

    await hass.services.async_call(
        DOMAIN, "expire_silence", {"fingerprint": fingerprint}, blocking=True
    )
    assert silence_id not in (await alertmanager.amtool("silence", "query", "-q")).split()
    await hass.async_block_till_done()
    assert store.active[fingerprint].silenced_by == []
    assert hass.states.get(EVENT_ENTITY).attributes["event_type"] == "unsilenced"


async def test_silence_made_elsewhere_is_shown_after_reconciliation(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    init_integration: MockConfigEntry,
    webhook_client: TestClient,
) -> None:
    """A silence created with amtool shows up on our alert; expiring it by id works."""
    await _deliver_to_hass(alertmanager, webhook_client)
    await alertmanager.post_alerts([prometheus_alert("NodeDown")])
    store = _store(init_integration)
    await wait_for(lambda: len(store.active) == 1)
    silence_id = (
        await alertmanager.amtool(
            "silence", "add", "alertname=NodeDown", "--comment=from amtool", "--duration=1h"
        )
    ).strip()
    await init_integration.runtime_data.coordinator.async_refresh()
    (alert,) = store.active.values()
    assert alert.silenced_by == [silence_id]
    assert silence_id in store.silences

    await hass.services.async_call(
        DOMAIN, "expire_silence", {"silence_id": silence_id}, blocking=True
    )
    assert silence_id not in (await alertmanager.amtool("silence", "query", "-q")).split()
    assert alert.silenced_by == []

    # A silence id Alertmanager does not know is a translated validation error.
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "expire_silence",
            {"silence_id": "0b5e0000-0000-0000-0000-000000000000"},
            blocking=True,
        )
    assert err.value.translation_key == "unknown_silence"


async def test_alerts_fired_while_not_loaded_appear_and_vanished_ones_resolve(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Reconciliation at setup catches up on alerts missed while HA was not listening."""
    # Routed to our receiver, but Home Assistant is not listening yet.
    await alertmanager.reconfigure(
        WebhookTarget(url="http://127.0.0.1:9/api/webhook/x", token=None)
    )
    await alertmanager.post_alerts([prometheus_alert("MissedOne"), prometheus_alert("MissedTwo")])
    await async_setup_component(hass, "http", {})
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    store = _store(mock_config_entry)
    assert sorted(a.alertname for a in store.active.values()) == ["MissedOne", "MissedTwo"]
    assert hass.states.get("sensor.alertmanager_127_0_0_1_firing_alerts").state == "2"

    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await alertmanager.post_alerts([prometheus_alert("MissedOne", resolved=True)])
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    store = _store(mock_config_entry)
    assert [a.alertname for a in store.active.values()] == ["MissedTwo"]
    assert [a.alertname for a in store.history.values()] == ["MissedOne"]


async def test_truncated_delivery_triggers_reconciliation(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    init_integration: MockConfigEntry,
    webhook_client: TestClient,
    post_webhook: WebhookPoster,
) -> None:
    """W12: alerts left out of a delivery are read from Alertmanager's API at once."""
    await _deliver_to_hass(alertmanager, webhook_client)
    await alertmanager.post_alerts([prometheus_alert(f"Storm{i}") for i in range(3)])
    store = _store(init_integration)
    await wait_for(lambda: len(store.active) == 3)
    # A delivery that says two alerts were left out, carrying none of them.
    status, _ = await post_webhook(payload(truncated=2))
    assert status == 200
    await wait_for(lambda: store.truncated_alerts == 0)
    assert len(store.active) == 3


async def test_reconciliation_reads_only_our_receiver(
    hass: HomeAssistant,
    alertmanager: AlertmanagerProcess,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Alerts Alertmanager routes to other receivers are not ours to show."""
    await alertmanager.reconfigure(None)  # routes everything to another receiver
    await alertmanager.post_alerts([prometheus_alert("NotForUs")])
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert _store(mock_config_entry).active == {}
