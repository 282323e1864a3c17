"""Cloudflare entry data, options and the request budget behind the poll interval."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

CONF_API_TOKEN: Final = "api_token"  # noqa: S105 - the field's name, not a token
CONF_API_URL: Final = "api_url"
CONF_ACCOUNT_ID: Final = "account_id"
CONF_ZONES: Final = "zones"
CONF_POLL_INTERVAL: Final = "poll_interval"

DEFAULT_API_URL: Final = "https://api.cloudflare.com/client/v4"
MANUFACTURER: Final = "Cloudflare"

# Requests per poll: one tunnel list (the entry's account) plus one GraphQL query for all zones;
# the zone list is read once an hour. Every 5 minutes that is 2 requests per 5 minutes plus 1
# an hour, about 0.2 % of Cloudflare's 1,200 requests per 5 minutes per user (and 1 of the
# GraphQL API's 300 queries per 5 minutes), leaving room for other tools and more entries.
DEFAULT_POLL_MINUTES: Final = 5
MIN_POLL_MINUTES: Final = 1
MAX_POLL_MINUTES: Final = 60
ZONE_LIST_INTERVAL: Final = timedelta(hours=1)

# Analytics: the hour in progress and the 23 complete hours before it ("last 24 hours").
HOURS_SHOWN: Final = 24
# Cloudflare's hourly figures keep settling for a few minutes after the hour ends.
HOUR_SETTLE: Final = timedelta(minutes=10)
# Fewer extra threats in an hour than this are never a spike, whatever the baseline.
THREAT_SPIKE_FLOOR: Final = 50.0
# A 429 without a usable Retry-After (or a GraphQL rate-limit error) waits this long.
DEFAULT_RETRY_AFTER: Final = 60.0

# Least-privilege token permissions, as the token editor names them.
PERMISSION_ZONE_READ: Final = "Zone → Zone → Read"
PERMISSION_ANALYTICS_READ: Final = "Zone → Analytics → Read"
PERMISSION_TUNNEL_READ: Final = "Account → Cloudflare Tunnel → Read"
PERMISSION_ACCOUNT_READ: Final = "Account → Account Settings → Read"

TUNNEL_STATES: Final = ("healthy", "degraded", "down", "inactive")
