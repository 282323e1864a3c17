"""Alert service actions: results, filters and translated errors that change nothing."""

from __future__ import annotations

from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.alertmanager.payload import parse_payload

from ..conftest import WEBHOOK_TOKEN, WebhookPoster
from .payloads import ZERO_TIME, alert, payload

DOMAIN = "homelab_agents"


@pytest.fixture
async def two_alerts(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> MockConfigEntry:
    """A critical and a warning alert, plus one resolved."""
    await post_webhook(
        payload(
            alert("00000000000000c1", name="DiskFull", severity="critical"),
            alert(
                "00000000000000a2",
                name="HighLoad",
                severity="warning",
                labels={"instance": "pve2:9100"},
                starts_at="2026-11-27T10:30:00Z",
            ),
        )
    )
    await post_webhook(
        payload(alert("00000000000000b3", name="Old", starts_at="2026-11-26T10:00:00Z"))
    )
    await post_webhook(
        payload(
            alert(
                "00000000000000b3",
                name="Old",
                status="resolved",
                starts_at="2026-11-26T10:00:00Z",
                ends_at="2026-11-26T11:00:00Z",
            )
        )
    )
    await hass.async_block_till_done()
    return init_integration


async def _call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def test_list_alerts_filters(hass: HomeAssistant, two_alerts: MockConfigEntry) -> None:
    """Status, severity, labels, acknowledged and limit filter the returned alerts."""
    result = await _call(hass, "list_alerts", {})
    assert [a["alertname"] for a in result["alerts"]] == ["HighLoad", "DiskFull"]
    assert result["count"] == result["total"] == 2
    first = result["alerts"][0]
    assert first["labels"]["instance"] == "pve2:9100"
    assert first["annotations"] == {"summary": "HighLoad on pve1"}
    assert first["ends_at"] is None

    result = await _call(hass, "list_alerts", {"status": "resolved"})
    assert [a["alertname"] for a in result["alerts"]] == ["Old"]
    result = await _call(hass, "list_alerts", {"status": "all"})
    assert [a["status"] for a in result["alerts"]] == ["firing", "firing", "resolved"]
    result = await _call(hass, "list_alerts", {"severity": "critical"})
    assert [a["alertname"] for a in result["alerts"]] == ["DiskFull"]
    result = await _call(hass, "list_alerts", {"labels": {"instance": "pve2:9100"}})
    assert [a["alertname"] for a in result["alerts"]] == ["HighLoad"]
    result = await _call(hass, "list_alerts", {"limit": 1})
    assert (result["count"], result["total"]) == (1, 2)

    await _call(hass, "acknowledge_alert", {"fingerprint": "00000000000000c1"})
    result = await _call(hass, "list_alerts", {"acknowledged": True})
    assert [a["alertname"] for a in result["alerts"]] == ["DiskFull"]
    result = await _call(hass, "list_alerts", {"acknowledged": False})
    assert [a["alertname"] for a in result["alerts"]] == ["HighLoad"]


async def test_acknowledge_records_user_and_fires_event(
    hass: HomeAssistant, two_alerts: MockConfigEntry, hass_admin_user: Any
) -> None:
    """The calling user is recorded with the time, and the event entity announces it."""
    response = await hass.services.async_call(
        DOMAIN,
        "acknowledge_alert",
        {"fingerprint": "00000000000000c1"},
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert response["alert"]["acknowledged_by"] == hass_admin_user.name
    assert response["alert"]["acknowledged_at"] is not None
    await hass.async_block_till_done()
    state = hass.states.get("event.alertmanager_127_0_0_1_alert")
    assert state.attributes["event_type"] == "acknowledged"
    assert state.attributes["acknowledged_by"] == hass_admin_user.name
    assert hass.states.get("sensor.alertmanager_127_0_0_1_acknowledged_alerts").state == "1"


async def test_acknowledge_without_user_names_home_assistant(
    hass: HomeAssistant, two_alerts: MockConfigEntry
) -> None:
    """An automation (no user) acknowledges as Home Assistant."""
    response = await _call(hass, "acknowledge_alert", {"fingerprint": "00000000000000a2"})
    assert response["alert"]["acknowledged_by"] == "Home Assistant"


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("acknowledge_alert", {"fingerprint": "ffffffffffffffff"}, "unknown_alert"),
        ("acknowledge_alert", {"fingerprint": "00000000000000b3"}, "unknown_alert"),
        ("silence_alert", {"fingerprint": "ffffffffffffffff", "duration": 60}, "unknown_alert"),
        ("silence_alert", {"fingerprint": "00000000000000c1", "duration": 10}, "invalid_duration"),
        (
            "silence_alert",
            {"fingerprint": "00000000000000c1", "duration": {"days": 400}},
            "invalid_duration",
        ),
        ("expire_silence", {}, "silence_target_missing"),
        ("expire_silence", {"fingerprint": "00000000000000c1"}, "alert_not_silenced"),
    ],
)
async def test_bad_service_calls_raise_translated_errors(
    hass: HomeAssistant,
    two_alerts: MockConfigEntry,
    service: str,
    data: dict[str, Any],
    key: str,
) -> None:
    """Unknown fingerprints and bad durations are translated validation errors."""
    before = {f: a.as_dict() for f, a in two_alerts.runtime_data.store.active.items()}
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, service, data, blocking=True)
    assert err.value.translation_key == key
    after = {f: a.as_dict() for f, a in two_alerts.runtime_data.store.active.items()}
    assert after == before


async def test_silence_with_alertmanager_unreachable_changes_nothing(
    hass: HomeAssistant, two_alerts: MockConfigEntry
) -> None:
    """The entry points at a closed port: a translated error and no silence recorded."""
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "silence_alert",
            {"fingerprint": "00000000000000c1", "duration": {"hours": 1}},
            blocking=True,
        )
    assert err.value.translation_key == "alertmanager_action_failed"
    store = two_alerts.runtime_data.store
    assert store.active["00000000000000c1"].silenced_by == []
    assert store.silences == {}


async def test_expire_unknown_silence_id(hass: HomeAssistant, two_alerts: MockConfigEntry) -> None:
    """Expiring a silence id when Alertmanager is unreachable reports the failure."""
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "expire_silence", {"silence_id": "nope"}, blocking=True
        )
    assert err.value.translation_key == "alertmanager_action_failed"


async def test_services_need_a_loaded_alertmanager_entry(hass: HomeAssistant) -> None:
    """Without any loaded entry the services say so."""
    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "list_alerts", {})
    assert err.value.translation_key == "no_alertmanager_entry"


async def test_config_entry_id_selects_the_entry(
    hass: HomeAssistant, two_alerts: MockConfigEntry
) -> None:
    """A named entry is used; an unknown one is a translated error."""
    result = await _call(hass, "list_alerts", {"config_entry_id": two_alerts.entry_id})
    assert result["total"] == 2
    with pytest.raises(ServiceValidationError):
        await _call(hass, "list_alerts", {"config_entry_id": "missing"})


async def test_ambiguous_fingerprint_across_entries(
    hass: HomeAssistant, two_alerts: MockConfigEntry
) -> None:
    """The same fingerprint firing in two Alertmanagers needs the entry named."""
    second = MockConfigEntry(
        domain=DOMAIN,
        title="Alertmanager second",
        unique_id="second",
        data={
            **two_alerts.data,
            "webhook_id": "b" * 64,
            "webhook_token": WEBHOOK_TOKEN,
        },
    )
    second.add_to_hass(hass)
    await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()
    parsed = parse_payload(payload(alert("00000000000000c1", ends_at=ZERO_TIME)))
    second.runtime_data.store.async_apply_webhook(parsed.alerts, "g", 0, dt_util.utcnow())
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "acknowledge_alert", {"fingerprint": "00000000000000c1"})
    assert err.value.translation_key == "ambiguous_alert"
    result = await _call(
        hass,
        "acknowledge_alert",
        {"fingerprint": "00000000000000c1", "config_entry_id": second.entry_id},
    )
    assert result["alert"]["acknowledged_by"] == "Home Assistant"
    assert two_alerts.runtime_data.store.active["00000000000000c1"].acknowledged_by is None
