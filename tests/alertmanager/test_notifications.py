"""Alert notifications: one event per second, a digest for storms, texts fit one message."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.alertmanager.notifications import (
    escape_html,
    escape_markdown_v2,
)

from ..conftest import WebhookPoster
from .payloads import alert, payload

EVENT = "homelab_agents_alert_notification"


@pytest.fixture
def notifications(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Every notification event."""
    events: list[dict[str, Any]] = []

    @callback
    def record(event: Event) -> None:
        events.append(dict(event.data))

    hass.bus.async_listen(EVENT, record)
    return events


async def _after_window(hass: HomeAssistant) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1.5))
    await hass.async_block_till_done()


async def test_single_alert_has_buttons(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    notifications: list[dict[str, Any]],
) -> None:
    """One new alert: one event with its text and Acknowledge / Silence / Restart buttons."""
    await post_webhook(
        payload(alert(labels={"vmid": "101"}, annotations={"summary": "pve1 is down (100%)"}))
    )
    assert notifications == []  # batched for a second
    await _after_window(hass)
    (event,) = notifications
    assert event["count"] == 1
    assert not event["digest"]
    assert event["firing"][0]["fingerprint"] == "a1b2c3d4e5f60718"
    assert "<b>HostDown</b>" in event["html"]
    assert "pve1 is down \\(100%\\)" in event["markdown_v2"]
    assert event["inline_keyboard"] == [
        [["Acknowledge", "/hla_ack a1b2c3d4e5f60718"]],
        [
            ["Silence 1h", "/hla_silence a1b2c3d4e5f60718 1h"],
            ["Silence 24h", "/hla_silence a1b2c3d4e5f60718 24h"],
        ],
        [["Restart guest", "/hla_restart 101"]],
    ]
    for row in event["inline_keyboard"]:
        for _label, data in row:
            assert len(data.encode()) <= 64


async def test_storm_becomes_one_bounded_digest(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    notifications: list[dict[str, Any]],
) -> None:
    """F4: 300 alerts within a second are one digest of at most 4,096 characters."""
    long_summary = {"summary": "disk <almost> full & growing. " * 6}
    for batch in range(3):
        await post_webhook(
            payload(
                *(alert(f"{batch * 100 + i:016x}", annotations=long_summary) for i in range(100))
            )
        )
    await _after_window(hass)
    (event,) = notifications
    assert event["count"] == 300
    assert event["digest"]
    assert event["inline_keyboard"] == []
    for key in ("text", "html", "markdown_v2"):
        assert len(event[key]) <= 4096
        assert "more" in event[key].rsplit("\n", 1)[-1]
    assert "&lt;almost&gt; full &amp; growing" in event["html"]


async def test_resolved_within_window_is_only_resolution(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    notifications: list[dict[str, Any]],
) -> None:
    """A flap inside one second is announced once, as resolved."""
    await post_webhook(payload(alert()))
    await post_webhook(payload(alert(status="resolved", ends_at="2026-11-27T10:01:00Z")))
    await _after_window(hass)
    (event,) = notifications
    assert event["firing"] == []
    assert [a["fingerprint"] for a in event["resolved"]] == ["a1b2c3d4e5f60718"]
    assert "RESOLVED" in event["text"]


async def test_duplicates_notify_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    notifications: list[dict[str, Any]],
) -> None:
    """W2: repeated deliveries produce at most one notification."""
    for _ in range(5):
        await post_webhook(payload(alert()))
        await _after_window(hass)
    assert len(notifications) == 1


def test_escaping() -> None:
    """MarkdownV2 and HTML escaping as Telegram requires."""
    assert escape_markdown_v2("a_b*c[d](e)~f`g>h#i+j-k=l|m{n}o.p!q\\") == (
        "a\\_b\\*c\\[d\\]\\(e\\)\\~f\\`g\\>h\\#i\\+j\\-k\\=l\\|m\\{n\\}o\\.p\\!q\\\\"
    )
    assert escape_html("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
