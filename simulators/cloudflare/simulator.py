"""CloudflareSimulator: the state of a Cloudflare account or two, served over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
import math
import time
from typing import Any, Final, Self
import uuid

from aiohttp import web

from .analytics import AnalyticsApi
from .traffic import ZoneTraffic

# Permission groups as Cloudflare names them in the token editor.
ZONE_READ: Final = "Zone:Zone:Read"
ANALYTICS_READ: Final = "Zone:Analytics:Read"
TUNNEL_READ: Final = "Account:Cloudflare Tunnel:Read"
ACCOUNT_READ: Final = "Account:Account Settings:Read"
ALL_PERMISSIONS: Final = frozenset({ZONE_READ, ANALYTICS_READ, TUNNEL_READ, ACCOUNT_READ})

TUNNEL_STATES: Final = ("healthy", "degraded", "down", "inactive")
RATE_WINDOW: Final = 300.0  # seconds
RATE_BUDGET: Final = 1200  # requests per window and user
BASE_PATH: Final = "/client/v4"


@dataclass(slots=True)
class Token:
    """An API token: its secret `value`, id, status and permission groups."""

    value: str
    id: str
    permissions: frozenset[str]
    accounts: frozenset[str]  # the accounts it was granted for (all its zones' too)
    status: str = "active"  # active, disabled or expired


@dataclass(slots=True)
class Account:
    """An account."""

    id: str
    name: str


@dataclass(slots=True)
class Zone:
    """A zone (domain) and its traffic model."""

    id: str
    name: str
    account: Account
    traffic: ZoneTraffic
    status: str = "active"


@dataclass(slots=True)
class Tunnel:
    """A Cloudflare Tunnel (cloudflared) of an account."""

    id: str
    name: str
    account: Account
    status: str
    created_at: str
    deleted_at: str | None = None
    connections: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class _Fault:
    route: str
    status: int
    remaining: int | None
    body: Any


class CloudflareApiError(Exception):
    """An answer with `success: false`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        """HTTP status, Cloudflare error code and message."""
        super().__init__(message)
        self.status = status
        self.code = code


def _wall_clock() -> float:
    # Looks `time.time` up at each call, so a frozen or moved clock (freezegun) moves it too.
    return time.time()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CloudflareSimulator:
    """The Cloudflare v4 REST API and GraphQL Analytics endpoint, stateful, on 127.0.0.1.

    See the package docstring for the Python API.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Callable[[], float] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_budget: int = RATE_BUDGET,
    ) -> None:
        """Empty: add accounts, zones, tunnels and tokens before or while serving."""
        self.seed = seed
        self.clock = clock or _wall_clock
        self.host = host
        self.port = port
        self.rate_budget = rate_budget
        self.accounts: dict[str, Account] = {}
        self.zones: dict[str, Zone] = {}
        self.tunnels: dict[str, Tunnel] = {}
        self.tokens: dict[str, Token] = {}
        self.requests: Counter[str] = Counter()  # by route name; answered or refused
        self.rate_limited = 0  # 429 answers
        self._recent: deque[float] = deque()
        self._blocked_until = 0.0
        self._faults: list[_Fault] = []
        self._graphql_errors: list[str] = []
        self._runner: web.AppRunner | None = None
        self._ids = 0

    # State

    def _new_id(self) -> str:
        self._ids += 1
        return uuid.UUID(int=(self.seed << 64) + self._ids, version=4).hex

    def add_account(self, name: str) -> Account:
        """A new account."""
        account = Account(id=self._new_id(), name=name)
        self.accounts[account.id] = account
        return account

    def add_zone(self, account: Account, name: str, requests_per_hour: float = 2_000.0) -> Zone:
        """A new active zone with its own seeded traffic."""
        zone_id = self._new_id()
        traffic = ZoneTraffic(seed=f"{self.seed}:{name}", requests_per_hour=requests_per_hour)
        zone = Zone(id=zone_id, name=name, account=account, traffic=traffic)
        self.zones[zone_id] = zone
        return zone

    def remove_zone(self, zone: Zone) -> None:
        """Delete a zone."""
        del self.zones[zone.id]

    def add_tunnel(self, account: Account, name: str, status: str = "healthy") -> Tunnel:
        """A new tunnel in the given state."""
        tunnel = Tunnel(
            id=str(uuid.UUID(self._new_id())),
            name=name,
            account=account,
            status="inactive",
            created_at=_iso(self.clock()),
        )
        self.tunnels[tunnel.id] = tunnel
        self.set_tunnel_status(tunnel, status)
        return tunnel

    def set_tunnel_status(self, tunnel: Tunnel, status: str) -> None:
        """Move a tunnel to healthy (four connections), degraded (one), down or inactive."""
        if status not in TUNNEL_STATES:
            raise ValueError(status)
        tunnel.status = status
        count = {"healthy": 4, "degraded": 1}.get(status, 0)
        tunnel.connections = [
            {
                "colo_name": colo,
                "id": str(uuid.UUID(int=index + 1, version=4)),
                "is_pending_reconnect": False,
                "opened_at": _iso(self.clock()),
                "origin_ip": "192.0.2.10",
                "client_version": "2026.9.0",
            }
            for index, colo in enumerate(["fra06", "ams01", "fra08", "ams05"][:count])
        ]

    def delete_tunnel(self, tunnel: Tunnel) -> None:
        """Delete a tunnel (it stays listed with `is_deleted=true`)."""
        tunnel.deleted_at = _iso(self.clock())
        self.set_tunnel_status(tunnel, "inactive")

    def add_token(
        self,
        permissions: Collection[str] = ALL_PERMISSIONS,
        accounts: Collection[Account] | None = None,
        status: str = "active",
    ) -> Token:
        """A token for some accounts (default: all of them) with these permission groups."""
        token = Token(
            value=uuid.uuid4().hex + uuid.uuid4().hex[:8],
            id=self._new_id(),
            permissions=frozenset(permissions),
            accounts=frozenset(
                a.id for a in (self.accounts.values() if accounts is None else accounts)
            ),
            status=status,
        )
        self.tokens[token.value] = token
        return token

    def inject_threat_spike(self, zone: Zone, hour_start: datetime, threats: int) -> None:
        """Add `threats` blocked requests to the zone's hour starting at `hour_start` (UTC)."""
        start = int(hour_start.timestamp())
        if start % 3600:
            raise ValueError("an hour starts at minute 0")
        zone.traffic.spikes[start] = zone.traffic.spikes.get(start, 0) + threats

    def force_rate_limit(self, seconds: float) -> None:
        """Answer every request with 429 for `seconds` from now (Retry-After counts down)."""
        self._blocked_until = self.clock() + seconds

    def fail(self, route: str, status: int = 500, count: int | None = 1, body: Any = None) -> None:
        """The next `count` requests of a route (None: all) answer `status`.

        The answer is an error envelope, or `body` as JSON when given (a malformed answer).
        """
        self._faults.append(_Fault(route, status, count, body))

    def graphql_error(self, message: str, count: int = 1) -> None:
        """The next `count` GraphQL queries answer HTTP 200 with only this error."""
        self._graphql_errors += [message] * count

    def requests_in_window(self) -> int:
        """Requests counted against the rate limit in the current five-minute window."""
        self._expire(self.clock())
        return len(self._recent)

    # HTTP

    @property
    def api_url(self) -> str:
        """The base URL clients use, e.g. `http://127.0.0.1:PORT/client/v4`."""
        return f"http://{self.host}:{self.port}{BASE_PATH}"

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one; a restart reuses it)."""
        app = web.Application(middlewares=[self._envelope])
        app.router.add_get(f"{BASE_PATH}/user/tokens/verify", self._verify, name="verify")
        app.router.add_get(f"{BASE_PATH}/zones", self._zones, name="zones")
        app.router.add_get(f"{BASE_PATH}/accounts", self._accounts, name="accounts")
        app.router.add_get(
            f"{BASE_PATH}/accounts/{{account_id}}/cfd_tunnel", self._tunnels, name="tunnels"
        )
        app.router.add_post(f"{BASE_PATH}/graphql", self._graphql, name="graphql")
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._runner is None:
            return
        server = self._runner.server
        for connection in server.connections if server is not None else []:
            if connection.transport is not None:
                connection.transport.abort()
        await asyncio.sleep(0)
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Self:
        """Start, for `async with CloudflareSimulator() as sim:`."""
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        """Stop."""
        await self.stop()

    def _expire(self, now: float) -> None:
        while self._recent and self._recent[0] <= now - RATE_WINDOW:
            self._recent.popleft()

    def _retry_after(self, now: float) -> int | None:
        """Seconds to wait when this request is over the budget; None when it may pass."""
        if now < self._blocked_until:
            return max(1, math.ceil(self._blocked_until - now))
        self._expire(now)
        if len(self._recent) >= self.rate_budget:
            return max(1, math.ceil(self._recent[0] + RATE_WINDOW - now))
        self._recent.append(now)
        return None

    @web.middleware
    async def _envelope(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        route = request.match_info.route.name or "unknown"
        self.requests[route] += 1
        retry_after = self._retry_after(self.clock())
        if retry_after is not None:
            self.rate_limited += 1
            return _error_response(
                429,
                971,
                "Please wait and consider throttling your request speed",
                headers={"Retry-After": str(retry_after)},
            )
        for fault in self._faults:
            if fault.route == route:
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                if fault.body is not None:
                    return web.json_response(fault.body, status=fault.status)
                return _error_response(fault.status, 10000, "Internal Server Error")
        try:
            response: web.StreamResponse = await handler(request)
        except CloudflareApiError as err:
            return _error_response(err.status, err.code, str(err))
        return response

    def _token(self, request: web.Request, permission: str | None = None) -> Token:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise CloudflareApiError(400, 6003, "Invalid request headers")
        token = self.tokens.get(header.removeprefix("Bearer ").strip())
        if token is None or token.status != "active":
            raise CloudflareApiError(401, 1000, "Invalid API Token")
        if permission is not None and permission not in token.permissions:
            raise CloudflareApiError(403, 9109, "Unauthorized to access requested resource")
        return token

    async def _verify(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        token = self.tokens.get(header)
        if token is None:
            raise CloudflareApiError(401, 1000, "Invalid API Token")
        return _ok({"id": token.id, "status": token.status})

    async def _zones(self, request: web.Request) -> web.Response:
        token = self._token(request, ZONE_READ)
        zones = [z for z in self.zones.values() if z.account.id in token.accounts]
        if "account.id" in request.query:
            zones = [z for z in zones if z.account.id == request.query["account.id"]]
        if "name" in request.query:
            zones = [z for z in zones if z.name == request.query["name"]]
        rows = [
            {
                "id": z.id,
                "name": z.name,
                "status": z.status,
                "paused": False,
                "type": "full",
                "account": {"id": z.account.id, "name": z.account.name},
                "plan": {"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website"},
                "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
            }
            for z in sorted(zones, key=lambda z: z.name)
        ]
        return _page(request, rows, default=20, largest=50)

    async def _accounts(self, request: web.Request) -> web.Response:
        token = self._token(request, ACCOUNT_READ)
        rows = [
            {"id": a.id, "name": a.name, "type": "standard", "settings": {}}
            for a in sorted(self.accounts.values(), key=lambda a: a.name)
            if a.id in token.accounts
        ]
        return _page(request, rows, default=20, largest=50)

    async def _tunnels(self, request: web.Request) -> web.Response:
        token = self._token(request, TUNNEL_READ)
        account_id = request.match_info["account_id"]
        if account_id not in token.accounts or account_id not in self.accounts:
            raise CloudflareApiError(403, 9109, "Unauthorized to access requested resource")
        deleted = request.query.get("is_deleted")
        rows = [
            {
                "id": t.id,
                "account_tag": account_id,
                "name": t.name,
                "status": t.status,
                "created_at": t.created_at,
                "deleted_at": t.deleted_at,
                "connections": t.connections,
                "tun_type": "cfd_tunnel",
                "remote_config": True,
            }
            for t in sorted(self.tunnels.values(), key=lambda t: t.created_at)
            if t.account.id == account_id
            and (deleted is None or (deleted == "true") == (t.deleted_at is not None))
        ]
        return _page(request, rows, default=20, largest=1000)

    async def _graphql(self, request: web.Request) -> web.Response:
        token = self._token(request)
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return web.json_response({"data": None, "errors": [{"message": "invalid body"}]})
        if self._graphql_errors:
            message = self._graphql_errors.pop(0)
            return web.json_response({"data": None, "errors": [{"message": message}]})
        analytics = AnalyticsApi(
            {zone_id: zone.traffic for zone_id, zone in self.zones.items()},
            readable=lambda zone_id: (
                ANALYTICS_READ in token.permissions
                and self.zones[zone_id].account.id in token.accounts
            ),
            clock=self.clock,
        )
        variables = body.get("variables")
        return web.json_response(
            analytics.execute(body.get("query"), variables if isinstance(variables, dict) else {})
        )


def _ok(result: Any, result_info: dict[str, int] | None = None) -> web.Response:
    body: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return web.json_response(body)


def _error_response(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "success": False,
        "errors": [{"code": code, "message": message}],
        "messages": [],
        "result": None,
    }
    return web.json_response(body, status=status, headers=headers)


def _page(request: web.Request, rows: list[Any], *, default: int, largest: int) -> web.Response:
    try:
        page = int(request.query.get("page", "1"))
        per_page = int(request.query.get("per_page", str(default)))
    except ValueError as err:
        raise CloudflareApiError(400, 1001, "page and per_page must be numbers") from err
    if page < 1 or not 5 <= per_page <= largest:
        raise CloudflareApiError(400, 1001, f"per_page must be between 5 and {largest}")
    chunk = rows[(page - 1) * per_page : page * per_page]
    return _ok(
        chunk,
        {
            "page": page,
            "per_page": per_page,
            "count": len(chunk),
            "total_count": len(rows),
            "total_pages": max(1, math.ceil(len(rows) / per_page)),
        },
    )
