"""What the user pastes into alertmanager.yml: the webhook URL and a receiver snippet."""

from __future__ import annotations

from homeassistant.components import webhook
from homeassistant.core import HomeAssistant
from homeassistant.helpers.network import NoURLAvailableError

from ..const import SUGGESTED_MAX_ALERTS

# Shown when Home Assistant knows no URL of its own (no internal/external URL configured).
_PLACEHOLDER_BASE = "http://HOME_ASSISTANT_HOST:8123"


def webhook_url(hass: HomeAssistant, webhook_id: str) -> str:
    """The full webhook URL, preferring the URL Alertmanager can reach from the network."""
    try:
        return webhook.async_generate_url(hass, webhook_id, allow_ip=True)
    except NoURLAvailableError:
        return f"{_PLACEHOLDER_BASE}{webhook.async_generate_path(webhook_id)}"


def receiver_snippet(url: str, token: str | None, receiver: str) -> str:
    """An alertmanager.yml fragment: the receiver and a route that copies every alert to it."""
    lines = [
        "receivers:",
        f"  - name: {receiver}",
        "    webhook_configs:",
        f'      - url: "{url}"',
        "        send_resolved: true",
        f"        max_alerts: {SUGGESTED_MAX_ALERTS}",
    ]
    if token:
        lines += [
            "        http_config:",
            "          authorization:",
            "            type: Bearer",
            f'            credentials: "{token}"',
        ]
    lines += [
        "route:",
        "  routes:",
        f"    - receiver: {receiver}",
        "      continue: true",
    ]
    return "\n".join(lines)
