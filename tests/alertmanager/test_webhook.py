"""The webhook through Home Assistant's real HTTP stack: status codes and what is stored."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant, callback
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.alertmanager.receiver_config import webhook_url
from custom_components.homelab_agents.alertmanager.store import AlertStore
from custom_components.homelab_agents.const import WEBHOOK_MAX_BODY_BYTES

from ..conftest import WEBHOOK_ID, WEBHOOK_TOKEN, WebhookPoster
from .payloads import ZERO_TIME as ZERO, alert, payload

FIRING_SENSOR = "sensor.alertmanager_127_0_0_1_firing_alerts"
CRITICAL_SENSOR = "sensor.alertmanager_127_0_0_1_critical_alerts"
EVENT_ENTITY = "event.alertmanager_127_0_0_1_alert"


def _store(entry: MockConfigEntry) -> Any:
    return entry.runtime_data.store


def _snapshot(entry: MockConfigEntry) -> tuple[Any, ...]:
    store = _store(entry)
    return (
        {f: a.as_dict() for f, a in store.active.items()},
        {k: a.as_dict() for k, a in store.history.items()},
        dict(store.truncated),
    )


async def test_valid_payload_stores_one_alert(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """W1: one valid payload is stored and shown."""
    status, _ = await post_webhook(payload(alert()))
    assert status == 200
    await hass.async_block_till_done()
    store = _store(init_integration)
    assert list(store.active) == ["a1b2c3d4e5f60718"]
    stored = store.active["a1b2c3d4e5f60718"]
    assert stored.ends_at is None  # W4: zero endsAt means no end
    assert stored.labels["alertname"] == "HostDown"
    assert hass.states.get(FIRING_SENSOR).state == "1"
    assert hass.states.get(CRITICAL_SENSOR).state == "1"
    event = hass.states.get(EVENT_ENTITY)
    assert event.attributes["event_type"] == "firing"
    assert event.attributes["fingerprint"] == "a1b2c3d4e5f60718"
    assert event.attributes["summary"] == "HostDown on pve1"


async def test_duplicate_deliveries_change_nothing(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """W2: the same payload five times writes state and fires events only once."""
    writes: list[str] = []
    hass.bus.async_listen(
        "state_changed", callback(lambda event: writes.append(event.data["entity_id"]))
    )
    body = payload(alert())
    for _ in range(5):
        status, _ = await post_webhook(body)
        assert status == 200
        await hass.async_block_till_done()
    assert writes.count(EVENT_ENTITY) == 1
    assert writes.count(FIRING_SENSOR) == 1
    snapshot = _snapshot(init_integration)
    await post_webhook(body)
    assert _snapshot(init_integration) == snapshot


async def test_resolution_keeps_ack_in_history_and_refire_is_new_occurrence(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """W3: resolved keeps the ack in history; a re-fire with a new startsAt is new."""
    await post_webhook(payload(alert()))
    await hass.services.async_call(
        "homelab_agents",
        "acknowledge_alert",
        {"fingerprint": "a1b2c3d4e5f60718", "by": "telegram:42"},
        blocking=True,
    )
    await post_webhook(payload(alert(status="resolved", ends_at="2026-11-27T10:05:00Z")))
    await hass.async_block_till_done()
    store = _store(init_integration)
    assert store.active == {}
    (resolved,) = store.history.values()
    assert resolved.acknowledged_by == "telegram:42"
    assert resolved.ends_at.isoformat() == "2026-11-27T10:05:00+00:00"
    assert hass.states.get(EVENT_ENTITY).attributes["event_type"] == "resolved"
    assert hass.states.get(FIRING_SENSOR).state == "0"

    await post_webhook(payload(alert(starts_at="2026-11-27T11:00:00Z")))
    await hass.async_block_till_done()
    refired = store.active["a1b2c3d4e5f60718"]
    assert refired.acknowledged_by is None
    assert len(store.history) == 1
    assert hass.states.get(EVENT_ENTITY).attributes["event_type"] == "firing"


async def test_late_firing_never_unresolves(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """Out of order: a firing delivered after its resolution is ignored."""
    await post_webhook(payload(alert()))
    await post_webhook(payload(alert(status="resolved", ends_at="2026-11-27T10:05:00Z")))
    await post_webhook(payload(alert()))
    await hass.async_block_till_done()
    assert _store(init_integration).active == {}
    assert hass.states.get(FIRING_SENSOR).state == "0"


async def test_resolution_of_unknown_alert_only_enters_history(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """A resolution for an occurrence never seen firing is history, not an event."""
    await post_webhook(payload(alert(status="resolved", ends_at="2026-11-27T10:05:00Z")))
    await hass.async_block_till_done()
    store = _store(init_integration)
    assert store.active == {}
    assert len(store.history) == 1
    assert hass.states.get(EVENT_ENTITY).state == "unknown"


async def test_newer_occurrence_replaces_older_one(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """A firing with a newer startsAt resolves the held occurrence; an older one is stale."""
    await post_webhook(payload(alert()))
    await post_webhook(payload(alert(starts_at="2026-11-27T12:00:00Z")))
    await post_webhook(payload(alert(starts_at="2026-11-27T09:00:00Z")))
    await hass.async_block_till_done()
    store = _store(init_integration)
    assert store.active["a1b2c3d4e5f60718"].starts_at.hour == 12
    assert len(store.history) == 1
    # A newer occurrence that already resolved ends the one we hold too.
    await post_webhook(
        payload(alert(status="resolved", starts_at="2026-11-27T13:00:00Z", ends_at=ZERO))
    )
    await hass.async_block_till_done()
    assert store.active == {}
    assert len(store.history) == 3


async def test_updated_annotations_are_kept(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """A repeat with new annotations updates the alert without a new event."""
    await post_webhook(payload(alert()))
    await post_webhook(payload(alert(annotations={"summary": "still down"})))
    await hass.async_block_till_done()
    assert _store(init_integration).active["a1b2c3d4e5f60718"].annotations == {
        "summary": "still down"
    }


async def test_unknown_fields_accepted(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """W5: unknown extra fields are accepted and ignored."""
    body = payload(alert(), notification_reason="new", routeLabels={"a": "b"}, future={"x": 1})
    body["alerts"][0]["somethingNew"] = [1, 2]
    status, _ = await post_webhook(body)
    assert status == 200
    assert len(_store(init_integration).active) == 1


def _bad_bodies() -> list[tuple[str, bytes]]:
    good = payload(alert())

    def variant(**changes: Any) -> bytes:
        body = json.loads(json.dumps(good))
        for path, value in changes.items():
            if path.startswith("alert_"):
                body["alerts"][0][path.removeprefix("alert_")] = value
            else:
                body[path] = value
        return json.dumps(body).encode()

    return [
        ("not json", b"{not json"),
        ("array", b"[]"),
        ("null", b"null"),
        ("alerts not a list", variant(alerts={"a": 1})),
        ("label value not a string", variant(alert_labels={"alertname": 5})),
        ("bad fingerprint", variant(alert_fingerprint="not-hex!")),
        ("startsAt not RFC 3339", variant(alert_startsAt="yesterday")),
        ("startsAt without zone", variant(alert_startsAt="2026-11-27T10:00:00")),
        ("wrong version", variant(version="3")),
        ("missing alerts", json.dumps({"version": "4", "status": "firing"}).encode()),
        ("missing fingerprint", variant(alert_fingerprint=None)),
        ("status unknown", variant(alert_status="pending")),
        ("huge label", variant(alert_labels={"alertname": "x" * 5000})),
        ("too many labels", variant(alert_labels={f"l{i}": "v" for i in range(65)})),
        ("bad label name", variant(alert_labels={"bad-name": "v"})),
        ("truncated negative", variant(truncatedAlerts=-1)),
        ("truncated boolean", variant(truncatedAlerts=True)),
    ]


@pytest.mark.parametrize(("case", "raw"), _bad_bodies(), ids=[c for c, _ in _bad_bodies()])
async def test_bad_payloads_get_400_and_change_nothing(
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    caplog: pytest.LogCaptureFixture,
    case: str,
    raw: bytes,
) -> None:
    """W6: invalid bodies are refused with 400, no traceback, nothing stored."""
    await post_webhook(payload(alert("0000000000000001")))
    before = _snapshot(init_integration)
    status, text = await post_webhook(raw=raw)
    assert status == 400, case
    assert text.startswith("invalid payload")
    assert _snapshot(init_integration) == before
    assert "Traceback" not in caplog.text


async def test_one_bad_alert_refuses_the_whole_delivery(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """No partial state: a valid alert beside an invalid one is not stored either."""
    status, _ = await post_webhook(payload(alert(), alert("zz")))
    assert status == 400
    assert _store(init_integration).active == {}


@pytest.mark.parametrize("token", [None, "wrong", ""])
async def test_missing_or_wrong_token_gets_401(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    caplog: pytest.LogCaptureFixture,
    token: str | None,
) -> None:
    """W7/X1: 401 returned, body not parsed, nothing stored, no secret logged."""
    for _ in range(100 if token == "wrong" else 1):
        status, _ = await post_webhook(raw=b"{not even json", token=token)
        assert status == 401
    assert _store(init_integration).active == {}
    # Home Assistant's own webhook and access logs name the path; ours never do.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("custom_components")]
    assert not [m for m in ours if WEBHOOK_ID in m or WEBHOOK_TOKEN in m]


async def test_oversize_body_by_content_length_gets_413(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """W8: a declared length over the cap is refused before reading."""
    status, _ = await post_webhook(raw=b" " * (WEBHOOK_MAX_BODY_BYTES + 1))
    assert status == 413


async def test_oversize_chunked_body_gets_413(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """W8: a chunked body (no length) is cut off once it passes the cap."""
    chunk = b" " * 65536

    async def body() -> Any:
        for _ in range(WEBHOOK_MAX_BODY_BYTES // len(chunk) + 2):
            yield chunk

    status, _ = await post_webhook(raw=body())  # type: ignore[arg-type]
    assert status == 413
    assert _store(init_integration).active == {}


@pytest.mark.parametrize("method", ["get", "delete", "put"])
async def test_other_methods_get_405(
    hass: HomeAssistant, init_integration: MockConfigEntry, webhook_client: Any, method: str
) -> None:
    """W10: only POST is accepted."""
    response = await getattr(webhook_client, method)(f"/api/webhook/{WEBHOOK_ID}")
    assert response.status == 405


async def test_truncated_alerts_are_shown_and_kept(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """W12: truncatedAlerts is shown to the user; the alerts received are kept."""
    status, _ = await post_webhook(payload(alert(), truncated=7))
    assert status == 200
    await hass.async_block_till_done()
    assert len(_store(init_integration).active) == 1
    assert hass.states.get("sensor.alertmanager_127_0_0_1_alerts_left_out_of_deliveries").state == (
        "7"
    )
    response = await hass.services.async_call(
        "homelab_agents", "list_alerts", {}, blocking=True, return_response=True
    )
    assert response["truncated_alerts"] == 7
    await post_webhook(payload(alert(), truncated=0))
    await hass.async_block_till_done()
    assert hass.states.get("sensor.alertmanager_127_0_0_1_alerts_left_out_of_deliveries").state == (
        "0"
    )


async def test_not_loaded_store_gets_503(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """L2: before the store has loaded (or while unloading) Alertmanager is told to retry."""
    _store(init_integration).loaded = False
    status, _ = await post_webhook(payload(alert()))
    assert status == 503
    _store(init_integration).loaded = True
    init_integration.runtime_data.webhook.accepting = False
    status, _ = await post_webhook(payload(alert()))
    assert status == 503
    assert _store(init_integration).active == {}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
label_names = st.from_regex(r"[a-z_]{1,8}", fullmatch=True)
valid_alert = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["firing", "resolved"]),
        "labels": st.dictionaries(label_names, st.text(max_size=8), max_size=4),
        "annotations": st.dictionaries(label_names, st.text(max_size=8), max_size=3),
        "startsAt": st.sampled_from(["2026-11-27T10:00:00Z", "2026-11-27T11:00:00.5+01:00"]),
        "endsAt": st.sampled_from(["2026-11-27T11:00:00Z", "0001-01-01T00:00:00Z"]),
        "fingerprint": st.sampled_from(["00000000000000aa", "00000000000000bb"]),
    }
)


@st.composite
def corrupted(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A valid object with one field replaced by arbitrary JSON or removed."""
    body = dict(draw(valid))
    key = draw(st.sampled_from(sorted(body)))
    if draw(st.booleans()):
        del body[key]
    else:
        body[key] = draw(json_values)
    return body


alert_like = valid_alert | corrupted(valid_alert) | json_values
valid_payload = st.fixed_dictionaries(
    {
        "version": st.just("4"),
        "status": st.sampled_from(["firing", "resolved"]),
        "alerts": st.lists(valid_alert, max_size=4),
        "truncatedAlerts": st.integers(min_value=0, max_value=5),
        "groupKey": st.text(max_size=10),
    },
    optional={"unknownKey": json_values},
)
payload_like = (
    valid_payload
    | corrupted(valid_payload)
    | st.fixed_dictionaries({"version": st.just("4"), "alerts": st.lists(alert_like, max_size=3)})
    | json_values
)


async def test_arbitrary_json_never_fails_the_server(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """W14: arbitrary JSON bodies never get a 5xx and the store's invariants hold."""
    # hypothesis drives a sync function; feed it the bodies and post them from the loop.
    bodies: list[Any] = []

    @settings(
        max_examples=400,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=payload_like | json_values)
    def collect(body: Any) -> None:
        bodies.append(body)

    collect()
    statuses: list[int] = []
    for body in bodies:
        status, _ = await post_webhook(body)
        assert status in (200, 400), body
        statuses.append(status)
        store = _store(init_integration)
        assert all(key == a.fingerprint for key, a in store.active.items())
        assert all(a.acknowledged_by is None for a in store.active.values())
        # An occurrence is either firing or resolved, never both.
        assert not {a.key for a in store.active.values()} & set(store.history)
    # The strategy reaches both sides of the validator, so the property is not vacuous.
    assert {200, 400} <= set(statuses)


async def test_unexpected_error_gets_500_so_alertmanager_retries(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug while storing answers 500 (retried by Alertmanager), logged, nothing lost."""
    with patch.object(AlertStore, "async_apply_webhook", side_effect=RuntimeError("bug")):
        status, _ = await post_webhook(payload(alert()))
    assert status == 500
    assert "Unexpected error handling an Alertmanager delivery" in caplog.text
    status, _ = await post_webhook(payload(alert()))
    assert status == 200
    assert len(_store(init_integration).active) == 1


async def test_webhook_url_without_known_home_assistant_url(hass: HomeAssistant) -> None:
    """With no internal or external URL configured the snippet says where to fill it in."""
    assert webhook_url(hass, "abc") == "http://HOME_ASSISTANT_HOST:8123/api/webhook/abc"


async def test_alert_storm_announces_every_event_in_order(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """F2: a large delivery is announced in slices; every alert gets its event, in order."""
    announced: list[str] = []

    @callback
    def record(event: Any) -> None:
        new_state = event.data["new_state"]
        if event.data["entity_id"] == EVENT_ENTITY and "fingerprint" in new_state.attributes:
            announced.append(new_state.attributes["fingerprint"])

    hass.bus.async_listen("state_changed", record)
    fingerprints = [f"{i:016x}" for i in range(60)]
    status, _ = await post_webhook(payload(*(alert(f) for f in fingerprints)))
    assert status == 200
    await hass.async_block_till_done()
    assert announced == fingerprints
    await post_webhook(payload(alert("00000000000000ff")))
    await hass.async_block_till_done()
    assert announced[-1] == "00000000000000ff"


async def test_unload_during_storm_stops_announcing(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """Unloading while a storm is being announced leaves no task behind."""
    await post_webhook(payload(*(alert(f"{i:016x}") for i in range(200))))
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state.value == "not_loaded"


async def test_late_firing_of_a_resolved_newer_occurrence(
    hass: HomeAssistant, init_integration: MockConfigEntry, post_webhook: WebhookPoster
) -> None:
    """Found by the property test: resolved(t1), firing(t0), firing(t1) ends resolved."""
    await post_webhook(
        payload(alert(status="resolved", starts_at="2026-11-27T11:00:00Z", ends_at=ZERO))
    )
    await post_webhook(payload(alert(starts_at="2026-11-27T10:00:00Z")))
    await post_webhook(payload(alert(starts_at="2026-11-27T11:00:00Z")))
    store = _store(init_integration)
    assert store.active == {}
    assert len(store.history) == 2
