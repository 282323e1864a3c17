"""Constants of the Tailscale source: entry data, options and API details."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

CONF_API_URL: Final = "api_url"
CONF_TAILNET: Final = "tailnet"
CONF_API_KEY: Final = "api_key"
CONF_OAUTH_CLIENT_ID: Final = "oauth_client_id"
CONF_OAUTH_CLIENT_SECRET: Final = "oauth_client_secret"  # noqa: S105
CONF_ONLINE_MINUTES: Final = "online_minutes"
CONF_EXPIRY_DAYS: Final = "expiry_days"

DEFAULT_API_URL: Final = "https://api.tailscale.com"
DEFAULT_TAILNET: Final = "-"  # the tailnet the credential belongs to
DEFAULT_ONLINE_MINUTES: Final = 5
DEFAULT_EXPIRY_DAYS: Final = 14

POLL_INTERVAL: Final = timedelta(seconds=60)
# An OAuth access token is renewed this long before the expiry the API announced.
TOKEN_RENEW_MARGIN: Final = timedelta(seconds=60)
# A 429 without a usable Retry-After waits this long.
DEFAULT_RETRY_AFTER: Final = 60.0

MANUFACTURER: Final = "Tailscale Inc."
ADMIN_URL: Final = "https://login.tailscale.com/admin/machines"
