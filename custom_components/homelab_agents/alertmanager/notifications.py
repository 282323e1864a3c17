"""Alert notifications ready to send: batched per second, formatted for chat, bounded.

Firing and resolved transitions are gathered for one second and announced as one
`homelab_agents_alert_notification` event, so an alert storm becomes a single digest and a chat
gets at most one message per second from an Alertmanager entry. The event carries the alerts
and the text in three forms (plain, Telegram HTML, Telegram MarkdownV2), each at most 4,096
characters, plus inline buttons for a single alert. Blueprints forward it to telegram_bot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import html
import re
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from ..const import DOMAIN
from .models import Alert, AlertEventType
from .store import AlertStore, AlertTransition

if TYPE_CHECKING:
    from ..runtime import HomelabAgentsConfigEntry

EVENT_ALERT_NOTIFICATION: Final = f"{DOMAIN}_alert_notification"
BATCH_WINDOW: Final = timedelta(seconds=1)
MAX_MESSAGE: Final = 4096  # Telegram's limit for one message
DIGEST_FROM: Final = 4  # more alerts than this in one second make a digest
_SUMMARY_MAX: Final = 200
_MARKDOWN_V2_SPECIAL = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")

type Render = Callable[[str], str]


def escape_html(text: str) -> str:
    """Escape for Telegram's HTML parse mode."""
    return html.escape(text, quote=False)


def escape_markdown_v2(text: str) -> str:
    """Escape every character MarkdownV2 reserves."""
    return _MARKDOWN_V2_SPECIAL.sub(r"\\\1", text)


def _summary(alert: Alert) -> str:
    annotations = alert.annotations
    text = annotations.get("summary") or annotations.get("description") or ""
    return text[:_SUMMARY_MAX]


def alert_brief(alert: Alert) -> dict[str, Any]:
    """The fields a message or a button needs."""
    return {
        "fingerprint": alert.fingerprint,
        "alertname": alert.alertname,
        "severity": alert.severity,
        "status": alert.status.value,
        "instance": alert.labels.get("instance"),
        "vmid": alert.labels.get("vmid"),
        "summary": _summary(alert),
    }


class AlertNotifier:
    """Batches an entry's firing and resolved transitions into notification events."""

    def __init__(
        self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry, store: AlertStore
    ) -> None:
        """Announce the transitions of `store`."""
        self._hass = hass
        self._entry = entry
        self._firing: dict[str, Alert] = {}
        self._resolved: dict[str, Alert] = {}
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._job = HassJob(self._flush, "alert notification", cancel_on_shutdown=True)
        entry.async_on_unload(store.async_add_listener(self._transitions))
        entry.async_on_unload(self._cancel)

    @callback
    def _transitions(self, transitions: list[AlertTransition]) -> None:
        for transition in transitions:
            alert = transition.alert
            if transition.event_type is AlertEventType.FIRING:
                self._firing[alert.fingerprint] = alert
                self._resolved.pop(alert.fingerprint, None)
            elif transition.event_type is AlertEventType.RESOLVED:
                # Fired and resolved within the window: only the resolution matters.
                self._firing.pop(alert.fingerprint, None)
                self._resolved[alert.fingerprint] = alert
        if (self._firing or self._resolved) and self._unsub_timer is None:
            self._unsub_timer = async_call_later(self._hass, BATCH_WINDOW, self._job)

    @callback
    def _cancel(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    @callback
    def _flush(self, _now: datetime) -> None:
        self._unsub_timer = None
        firing = list(self._firing.values())
        resolved = list(self._resolved.values())
        self._firing.clear()
        self._resolved.clear()
        if firing or resolved:
            self._hass.bus.async_fire(
                EVENT_ALERT_NOTIFICATION,
                build_notification(self._entry.entry_id, self._entry.title, firing, resolved),
            )


def build_notification(
    entry_id: str, source: str, firing: list[Alert], resolved: list[Alert]
) -> dict[str, Any]:
    """Event data: alerts, texts in three parse modes, and buttons for a single alert."""
    count = len(firing) + len(resolved)
    single = firing[0] if len(firing) == 1 and not resolved else None
    return {
        "config_entry_id": entry_id,
        "source": source,
        "firing": [alert_brief(a) for a in firing],
        "resolved": [alert_brief(a) for a in resolved],
        "count": count,
        "digest": count > DIGEST_FROM,
        "text": _render(firing, resolved, str, bold=lambda s: s),
        "html": _render(firing, resolved, escape_html, bold=lambda s: f"<b>{s}</b>"),
        "markdown_v2": _render(firing, resolved, escape_markdown_v2, bold=lambda s: f"*{s}*"),
        "inline_keyboard": _buttons(single) if single else [],
    }


def _buttons(alert: Alert) -> list[list[list[str]]]:
    """telegram_bot inline keyboard: rows of [label, callback data], data under 64 bytes."""
    fingerprint = alert.fingerprint
    rows = [
        [["Acknowledge", f"/hla_ack {fingerprint}"]],
        [
            ["Silence 1h", f"/hla_silence {fingerprint} 1h"],
            ["Silence 24h", f"/hla_silence {fingerprint} 24h"],
        ],
    ]
    if vmid := alert.labels.get("vmid"):
        rows.append([["Restart guest", f"/hla_restart {vmid}"]])
    return rows


def _line(alert: Alert, escape: Render, bold: Render) -> str:
    severity = alert.severity or "none"
    where = alert.labels.get("instance")
    head = f"{escape(severity)} {bold(escape(alert.alertname))}"
    if where:
        head += f" {escape('·')} {escape(where)}"
    summary = _summary(alert)
    return f"{head}\n{escape(summary)}" if summary else head


def _render(firing: list[Alert], resolved: list[Alert], escape: Render, bold: Render) -> str:
    parts: list[str] = []
    count = len(firing) + len(resolved)
    if count > DIGEST_FROM:
        heading = f"{len(firing)} firing, {len(resolved)} resolved"
        parts.append(bold(escape(f"Alerts: {heading}")))
    for title, alerts in (("🔥 FIRING", firing), ("✅ RESOLVED", resolved)):
        parts.extend(f"{bold(escape(title))} {_line(alert, escape, bold)}" for alert in alerts)
    return _bounded(parts, escape)


def _bounded(parts: list[str], escape: Render) -> str:
    """Join at most what fits into one message, saying how many were left out."""
    text = ""
    for index, part in enumerate(parts):
        candidate = f"{text}\n\n{part}" if text else part
        rest = len(parts) - index
        suffix = escape(f"… +{rest} more") if rest else ""
        if len(candidate) + len(suffix) + 2 > MAX_MESSAGE:
            return f"{text}\n\n{suffix}"
        text = candidate
    return text
