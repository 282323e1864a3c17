"""A stateful Cloudflare API (v4 REST and GraphQL Analytics) for tests and the demo.

Plain HTTP on 127.0.0.1 under `/client/v4` (the integration's API URL is configurable for this).
REST answers use Cloudflare's envelope `{"success", "errors", "messages", "result"}` with
`result_info` pagination; errors carry Cloudflare's codes (1000 invalid token, 9109 missing
permission, 971 rate limited). `POST /client/v4/graphql` parses the query (a real parser for a
GraphQL subset, `graphql.py`) and answers `viewer.zones(filter: {zoneTag_in}).
httpRequests1hGroups(limit, filter: {datetime_geq/gt/leq/lt}, orderBy) { dimensions { datetime
date } sum { requests cachedRequests bytes cachedBytes threats pageViews } }`; unknown fields,
arguments or unreadable zones are GraphQL errors (HTTP 200 with `errors`, `data: null`).

    sim = CloudflareSimulator(seed=1, clock=None, rate_budget=1200)   # None: time.time()
    account = sim.add_account("Homelab")
    zone = sim.add_zone(account, "example.com", requests_per_hour=2000)
    tunnel = sim.add_tunnel(account, "home", status="healthy")   # degraded, down, inactive
    token = sim.add_token()                          # every permission, every account
    limited = sim.add_token({ZONE_READ, TUNNEL_READ, ACCOUNT_READ})   # no analytics
    async with sim:                                  # or await sim.start() / sim.stop()
        sim.api_url                                  # http://127.0.0.1:PORT/client/v4
        sim.set_tunnel_status(tunnel, "down"); sim.delete_tunnel(tunnel)
        sim.inject_threat_spike(zone, hour_start, threats=500)
        sim.force_rate_limit(120)                    # 429 + Retry-After for two minutes
        sim.fail("graphql", status=500, count=1)     # by route: verify, zones, accounts,
                                                     #   tunnels, graphql; body= answers
                                                     #   that JSON instead (malformed answers)
        sim.graphql_error("rate limiter budget depleted")   # HTTP 200 with `errors`
        sim.requests["graphql"], sim.rate_limited, sim.requests_in_window()

Traffic per zone and hour has a day shape (peak mid-afternoon UTC), a week shape (quieter
weekends) and seeded noise; the same hour always gives the same figures and the hour in
progress grows with the clock. Rate limiting counts every request in a sliding five-minute
window per simulator (one user) and answers 429 with `Retry-After` past `rate_budget`.
`clock` is read on every request, so a frozen or moved clock moves the simulated world.

Stand-alone: `python -m simulators.cloudflare [--port 18008]` prints the API URL and a token.
"""

from .simulator import (
    ACCOUNT_READ,
    ALL_PERMISSIONS,
    ANALYTICS_READ,
    TUNNEL_READ,
    ZONE_READ,
    Account,
    CloudflareSimulator,
    Token,
    Tunnel,
    Zone,
)

__all__ = [
    "ACCOUNT_READ",
    "ALL_PERMISSIONS",
    "ANALYTICS_READ",
    "TUNNEL_READ",
    "ZONE_READ",
    "Account",
    "CloudflareSimulator",
    "Token",
    "Tunnel",
    "Zone",
]
