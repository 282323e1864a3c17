"""Diagnostics with every secret redacted: tokens, passwords, webhook ids, URL credentials."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from yarl import URL

from .const import CONF_TOKEN_SECRET, CONF_WEBHOOK_ID, CONF_WEBHOOK_TOKEN
from .runtime import HomelabAgentsConfigEntry

TO_REDACT = {
    "api_token",  # Cloudflare
    "api_key",  # Tailscale
    "oauth_client_secret",  # Tailscale
    "client_key",  # Docker (TLS client certificate's key)
    CONF_PASSWORD,
    CONF_TOKEN_SECRET,
    CONF_USERNAME,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_TOKEN,
}


def _redact_url(value: str) -> str:
    url = URL(value)
    if url.user or url.password:
        url = url.with_user(None).with_user("**REDACTED**")
    return str(url)


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: HomelabAgentsConfigEntry
) -> dict[str, Any]:
    """Entry data, options and the source's own state."""
    data = async_redact_data(dict(entry.data), TO_REDACT)
    if CONF_URL in data:
        data[CONF_URL] = _redact_url(data[CONF_URL])
    return {
        "entry": {"data": data, "options": dict(entry.options), "title": entry.title},
        "source": async_redact_data(entry.runtime_data.diagnostics(), TO_REDACT),
    }
