"""A Tailscale API v2 simulator: a seeded tailnet whose devices come and go in daily patterns.

`TailscaleSimulator` serves the device endpoints (list, authorize, expire, delete) and the OAuth
token endpoint over HTTP on 127.0.0.1, with API-key and OAuth bearer authentication, scopes,
and 401/403/404/429 answers. Its clock is a callable, so moving time (freezegun in tests)
replays days: servers stay online, laptops come on workdays, phones through the day, desktops
in the evening. Anomalies are injected with `join()` (a new machine) and `take_offline()`
(an always-on server drops off); errors with `faults.inject()` and `faults.rate_limit()`.
"""

from .model import DEFAULT_FLEET, DeviceSpec, Pattern, SimDevice
from .simulator import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    LoggedRequest,
    TailscaleSimulator,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_FLEET",
    "DeviceSpec",
    "LoggedRequest",
    "Pattern",
    "SimDevice",
    "TailscaleSimulator",
]
