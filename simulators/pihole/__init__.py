"""A simulated Pi-hole v6 for tests and the demo.

`PiholeSimulator(password=..., hostname=..., seed=..., clock=...)` serves the v6 REST API on
127.0.0.1 (`https=True` for TLS with a self-signed certificate). State and controls:
`sessions`, `max_sessions`, `expire_sessions()`, `blocking`/`blocking_until`, the counters
`logins`, `login_attempts`, `logouts`, `requests`; `traffic` (a `TrafficModel`:
`inject_spike(ip, start, duration, factor)`, `inject_blocked_jump(start, duration, share)`);
`faults.inject(pattern, FaultKind..., count=..., retry_after=...)`.
"""

from .faults import FaultKind
from .simulator import DEFAULT_APP_PASSWORD, DEFAULT_PASSWORD, PiholeSimulator
from .traffic import DAY, DEFAULT_CLIENTS, SLOT, WEEK, ClientProfile, TrafficModel

__all__ = [
    "DAY",
    "DEFAULT_APP_PASSWORD",
    "DEFAULT_CLIENTS",
    "DEFAULT_PASSWORD",
    "SLOT",
    "WEEK",
    "ClientProfile",
    "FaultKind",
    "PiholeSimulator",
    "TrafficModel",
]
