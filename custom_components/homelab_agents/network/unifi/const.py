"""Constants of the UniFi Network source."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

CONF_SITE: Final = "site"
CONF_CONTROLLER_ID: Final = "controller_id"
DEFAULT_SITE: Final = "default"
DEFAULT_PORT: Final = 443  # UniFi OS consoles; classic controllers listen on 8443
MANUFACTURER: Final = "Ubiquiti"
# Site health changes by the minute; three requests a poll, one login per entry lifetime.
POLL_INTERVAL: Final = timedelta(seconds=60)
# Options: whether clients feed presence samples (new client / usually-online client offline).
CONF_TRACK_CLIENTS: Final = "track_clients"
DEFAULT_TRACK_CLIENTS: Final = True
