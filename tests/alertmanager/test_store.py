"""The alert store's rules for reconciliation, silences and history retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest

from custom_components.homelab_agents.alertmanager.models import (
    AlertEventType,
    AlertStatus,
    IncomingAlert,
    Silence,
)
from custom_components.homelab_agents.alertmanager.store import AlertStore
from custom_components.homelab_agents.const import HISTORY_MAX_OCCURRENCES

START = datetime(2026, 11, 27, 10, 0, tzinfo=dt_util.UTC)


def incoming(
    fingerprint: str = "00000000000000aa",
    *,
    status: AlertStatus = AlertStatus.FIRING,
    starts_at: datetime = START,
    silenced_by: tuple[str, ...] | None = None,
    inhibited_by: tuple[str, ...] | None = None,
    generator_url: str = "http://prometheus/graph",
) -> IncomingAlert:
    """An alert as Alertmanager's API reports it."""
    return IncomingAlert(
        fingerprint=fingerprint,
        status=status,
        starts_at=starts_at,
        ends_at=None,
        labels={"alertname": "HostDown", "severity": "critical"},
        annotations={},
        generator_url=generator_url,
        silenced_by=silenced_by,
        inhibited_by=inhibited_by,
    )


def silence(silence_id: str = "s-1") -> Silence:
    """An active silence."""
    return Silence(
        id=silence_id,
        state="active",
        matchers=[],
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        created_by="me",
        comment="",
    )


@pytest.fixture
async def store(hass: HomeAssistant) -> AlertStore:
    """A loaded, empty store."""
    alert_store = AlertStore(hass, "entry", history_days=7)
    await alert_store.async_load()
    return alert_store


async def test_reconciliation_takes_alertmanager_state(store: AlertStore) -> None:
    """Silenced, inhibited and generator URL come from Alertmanager's own view."""
    now = START + timedelta(minutes=1)
    transitions = store.async_apply_reconciliation(
        [incoming(silenced_by=("s-1",))], [silence()], now, now
    )
    assert [t.event_type for t in transitions] == [AlertEventType.FIRING, AlertEventType.SILENCED]
    transitions = store.async_apply_reconciliation(
        [incoming(silenced_by=(), inhibited_by=("ff",), generator_url="http://other")],
        [],
        now,
        now,
    )
    assert [t.event_type for t in transitions] == [AlertEventType.UNSILENCED]
    alert = store.active["00000000000000aa"]
    assert alert.inhibited_by == ["ff"]
    assert alert.generator_url == "http://other"
    assert store.silences == {}


async def test_reconciliation_resolves_vanished_but_not_newer_alerts(store: AlertStore) -> None:
    """Alerts gone from Alertmanager resolve; ones first seen after the request stay."""
    before = START
    store.async_apply_webhook([incoming("00000000000000aa")], "g", 0, before)
    requested_at = START + timedelta(seconds=5)
    store.async_apply_webhook([incoming("00000000000000bb")], "g", 0, requested_at)
    transitions = store.async_apply_reconciliation([], [], requested_at, requested_at)
    assert [(t.event_type, t.alert.fingerprint) for t in transitions] == [
        (AlertEventType.RESOLVED, "00000000000000aa")
    ]
    assert list(store.active) == ["00000000000000bb"]


async def test_reconciliation_with_nothing_new_changes_nothing(store: AlertStore) -> None:
    """An unchanged Alertmanager gives no transitions (no state writes)."""
    store.async_apply_reconciliation([incoming()], [silence()], START, START)
    assert store.async_apply_reconciliation([incoming()], [silence()], START, START) == []


async def test_silences_added_and_removed(store: AlertStore) -> None:
    """Silencing mutes the alert; removing the silence unmutes every alert it muted."""
    store.async_apply_webhook([incoming("00000000000000aa")], "g", 0, START)
    store.async_apply_webhook([incoming("00000000000000bb")], "g", 0, START)
    store.async_add_silence(silence("s-1"), "00000000000000aa")
    store.async_add_silence(silence("s-2"), "ffffffffffffffff")  # an alert no longer firing
    assert store.active["00000000000000aa"].silenced_by == ["s-1"]
    assert set(store.silences) == {"s-1", "s-2"}
    store.async_remove_silence("s-1")
    assert store.active["00000000000000aa"].silenced_by == []
    store.async_remove_silence("s-unknown")
    assert set(store.silences) == {"s-2"}


async def test_history_is_pruned_by_age_and_count(store: AlertStore) -> None:
    """Resolved occurrences older than the retention, or past the cap, are dropped."""
    for index in range(HISTORY_MAX_OCCURRENCES + 5):
        resolved = incoming(f"{index:016x}", status=AlertStatus.RESOLVED)
        store.async_apply_webhook([resolved], "g", 0, START + timedelta(seconds=index))
    assert len(store.history) == HISTORY_MAX_OCCURRENCES
    assert ("0000000000000000", START) not in store.history
    store.async_apply_webhook([incoming()], "g", 0, START + timedelta(days=8))
    assert store.history == {}
