"""PiholeSimulator: a stateful Pi-hole v6 (FTL) REST API on 127.0.0.1, over HTTP or HTTPS.

Answers in the shapes of FTL's v6 API (https://ftl.pi-hole.net/master/docs/) for what the
integration uses: `/api/auth` (sessions limited by seats, password or app password),
`/api/info/host`, `/api/info/version`, `/api/stats/summary`, `/api/stats/top_domains`,
`/api/stats/top_clients`, `/api/history`, `/api/history/clients` and `/api/dns/blocking`
(with a timer). Traffic comes from a `TrafficModel` read at the simulator's `clock`, so a
frozen test clock replays a day or a week; faults come from `faults`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import secrets
import time
from typing import Any, Final, Self

from aiohttp import web

from simulators.https_server import HttpsServer

from .faults import Fault, FaultKind, Faults
from .traffic import (
    BLOCKED_DOMAINS,
    DAY,
    DEFAULT_CLIENTS,
    PERMITTED_DOMAINS,
    ClientProfile,
    SlotCounts,
    TrafficModel,
)

DEFAULT_PASSWORD: Final = "pihole-simulator"  # noqa: S105 - the simulator's published login
DEFAULT_APP_PASSWORD: Final = "app-password-simulator"  # noqa: S105
DEFAULT_MAX_SESSIONS: Final = 16  # FTL's webserver.api.max_sessions
DEFAULT_SESSION_TIMEOUT: Final = 1800  # FTL's webserver.session.timeout (seconds)
GRAVITY_DOMAINS: Final = 123_456
OTHER_CLIENTS: Final = "0.0.0.0"  # noqa: S104 - FTL's bucket for clients beyond N

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class Session:
    """One logged-in API session (a "seat")."""

    sid: str
    csrf: str
    last_seen: float
    app: bool


def _wall_clock() -> float:
    return time.time()


def _error(status: int, key: str, message: str, hint: str | None = None) -> web.Response:
    return web.json_response(
        {"error": {"key": key, "message": message, "hint": hint}, "took": 0.0001}, status=status
    )


class PiholeSimulator:
    """A Pi-hole v6 on `host:port`; `async with` starts and stops it.

    `password=None` is a Pi-hole without a password (every request allowed). Counters for
    tests: `logins` (sessions created), `login_attempts`, `logouts`, `requests` (method, path),
    `active_sessions`.
    """

    def __init__(
        self,
        *,
        password: str | None = DEFAULT_PASSWORD,
        app_password: str | None = DEFAULT_APP_PASSWORD,
        hostname: str = "pihole",
        clients: tuple[ClientProfile, ...] | None = None,
        seed: int = 0,
        utc_offset: float = 0.0,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        session_timeout: int = DEFAULT_SESSION_TIMEOUT,
        https: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Build the state; nothing listens until `start()`."""
        self.password = password
        self.app_password = app_password
        self.hostname = hostname
        self.traffic = TrafficModel(
            clients=DEFAULT_CLIENTS if clients is None else clients,
            seed=seed,
            utc_offset=utc_offset,
        )
        self.max_sessions = max_sessions
        self.session_timeout = session_timeout
        self.https = https
        self.host = host
        self.port = port
        # Looked up at each call, so a test's frozen clock (freezegun) drives the simulator.
        self.clock = clock or _wall_clock
        self.version = "v6.1.4"
        self.faults = Faults()
        self.sessions: dict[str, Session] = {}
        self.requests: Counter[tuple[str, str]] = Counter()
        self.logins = 0
        self.login_attempts = 0
        self.logouts = 0
        self.blocking = True
        self.blocking_until: float | None = None
        self._runner: web.AppRunner | None = None
        self._tls = HttpsServer()
        self._stopping = asyncio.Event()

    # Lifecycle

    async def start(self) -> None:
        """Listen (a restart reuses the port)."""
        self._stopping = asyncio.Event()
        if self.https:
            self.port = await self._tls.start(
                lambda _certificate: self._application(), host=self.host, port=self.port
            )
            return
        runner = web.AppRunner(self._application(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Release hanging requests, close connections and stop listening."""
        self._stopping.set()
        await asyncio.sleep(0)
        if self.https:
            await self._tls.stop()
        if self._runner is not None:
            server = self._runner.server
            # Pooled keep-alive connections would keep the cleanup waiting for its timeout.
            for connection in server.connections if server is not None else []:
                if connection.transport is not None:
                    connection.transport.abort()
            await asyncio.sleep(0)
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start, for `async with PiholeSimulator() as sim:`."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop."""
        await self.stop()

    @property
    def url(self) -> str:
        """What a user types: the Pi-hole's base URL."""
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}"

    @property
    def active_sessions(self) -> int:
        """Seats taken now."""
        self._expire_sessions()
        return len(self.sessions)

    def expire_sessions(self) -> None:
        """End every session, as a Pi-hole restart or a timeout does."""
        self.sessions.clear()

    # Application

    def _application(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        routes: list[tuple[str, str, Handler]] = [
            ("POST", "/api/auth", self._login),
            ("GET", "/api/auth", self._session_status),
            ("DELETE", "/api/auth", self._logout),
            ("GET", "/api/info/host", self._host_info),
            ("GET", "/api/info/version", self._version),
            ("GET", "/api/stats/summary", self._summary),
            ("GET", "/api/stats/top_domains", self._top_domains),
            ("GET", "/api/stats/top_clients", self._top_clients),
            ("GET", "/api/history", self._history),
            ("GET", "/api/history/clients", self._client_history),
            ("GET", "/api/dns/blocking", self._blocking),
            ("POST", "/api/dns/blocking", self._set_blocking),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix("/api")
        self.requests[(request.method, path)] += 1
        fault = self.faults.take(request.method, path)
        if fault is not None:
            return await self._fault(fault)
        if not request.path.startswith("/api/"):
            return _error(404, "not_found", "Not found", request.path)
        if path != "/auth" and not self._authorized(request):
            return _error(401, "unauthorized", "Unauthorized")
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return _error(404, "not_found", "Not found", request.path)
        except web.HTTPMethodNotAllowed:
            return _error(405, "method_not_allowed", "Method not allowed")

    async def _fault(self, fault: Fault) -> web.StreamResponse:
        if fault.kind is FaultKind.TIMEOUT:
            await self._stopping.wait()
            raise web.HTTPServiceUnavailable
        if fault.kind is FaultKind.RATE_LIMITED:
            response = _error(429, "rate_limiting", "Rate-limiting")
            response.headers["Retry-After"] = str(fault.retry_after)
            return response
        if fault.kind is FaultKind.UNAUTHORIZED:
            return _error(401, "unauthorized", "Unauthorized")
        if fault.kind is FaultKind.NOT_JSON:
            return web.Response(text="<html><body>Welcome</body></html>", content_type="text/html")
        return _error(500, "internal_error", "Internal server error")

    # Sessions

    def _expire_sessions(self) -> None:
        now = self.clock()
        for sid, session in list(self.sessions.items()):
            if now > session.last_seen + self.session_timeout:
                del self.sessions[sid]

    def _session_of(self, request: web.Request) -> Session | None:
        sid = request.headers.get("X-FTL-SID") or request.query.get("sid")
        self._expire_sessions()
        session = self.sessions.get(sid or "")
        if session is not None:
            session.last_seen = self.clock()  # FTL extends a session with every request
        return session

    def _authorized(self, request: web.Request) -> bool:
        return self.password is None or self._session_of(request) is not None

    def _session_body(self, session: Session | None, message: str) -> dict[str, Any]:
        valid = session is not None or self.password is None
        return {
            "session": {
                "valid": valid,
                "totp": False,
                "sid": session.sid if session else None,
                "csrf": session.csrf if session else None,
                "validity": self.session_timeout if session else -1,
                "message": message,
            },
            "took": 0.0001,
        }

    async def _login(self, request: web.Request) -> web.Response:
        self.login_attempts += 1
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "bad_request", "Invalid request body", "not JSON")
        password = body.get("password") if isinstance(body, dict) else None
        if self.password is None:
            return web.json_response(self._session_body(None, "no password set"))
        if password not in (self.password, self.app_password) or not password:
            return web.json_response(self._session_body(None, "password incorrect"), status=401)
        self._expire_sessions()
        if len(self.sessions) >= self.max_sessions:
            return _error(
                429,
                "api_seats_exceeded",
                "API seats exceeded",
                "increase webserver.api.max_sessions",
            )
        session = Session(
            sid=secrets.token_urlsafe(18),
            csrf=secrets.token_urlsafe(16),
            last_seen=self.clock(),
            app=password == self.app_password,
        )
        self.sessions[session.sid] = session
        self.logins += 1
        message = "app-password correct" if session.app else "password correct"
        return web.json_response(self._session_body(session, message))

    async def _session_status(self, request: web.Request) -> web.Response:
        session = self._session_of(request)
        if session is None and self.password is not None:
            return web.json_response(self._session_body(None, "no valid session"), status=401)
        message = "no password set" if self.password is None else "valid session"
        return web.json_response(self._session_body(session, message))

    async def _logout(self, request: web.Request) -> web.Response:
        session = self._session_of(request)
        if session is None:
            return _error(401, "unauthorized", "Unauthorized")
        del self.sessions[session.sid]
        self.logouts += 1
        return web.Response(status=204)

    # Information

    async def _host_info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "host": {
                    "uname": {
                        "domainname": "(none)",
                        "machine": "aarch64",
                        "nodename": self.hostname,
                        "release": "6.6.51+rpt-rpi-v8",
                        "sysname": "Linux",
                        "version": "#1 SMP PREEMPT Debian 1:6.6.51-1+rpt3 (2024-10-08)",
                    },
                    "model": "Raspberry Pi 4 Model B Rev 1.4",
                    "dmi": {
                        "bios": {"vendor": None},
                        "board": {"name": None, "vendor": None, "version": None},
                        "product": {"name": None, "version": None, "family": None},
                        "sys": {"vendor": None},
                    },
                },
                "took": 0.0001,
            }
        )

    async def _version(self, request: web.Request) -> web.Response:
        def part(version: str) -> dict[str, Any]:
            local = {"branch": "master", "version": version, "hash": "a1b2c3d4"}
            return {"local": local, "remote": {"version": version, "hash": "a1b2c3d4"}}

        return web.json_response(
            {
                "version": {
                    "core": part(self.version),
                    "web": part("v6.1"),
                    "ftl": part("v6.1"),
                    "docker": {"local": None, "remote": None},
                },
                "took": 0.0001,
            }
        )

    # Statistics

    def _day(self) -> dict[str, SlotCounts]:
        """Each client's counts over the last 24 hours."""
        now = self.clock()
        window = self.traffic.window(now)
        day: dict[str, SlotCounts] = {}
        for profile in self.traffic.clients:
            total = blocked = 0
            for start in window:
                counts = self.traffic.counts(profile, start, now)
                total += counts.total
                blocked += counts.blocked
            day[profile.ip] = SlotCounts(total, blocked)
        return day

    async def _summary(self, request: web.Request) -> web.Response:
        day = self._day()
        total = sum(c.total for c in day.values())
        blocked = sum(c.blocked for c in day.values())
        cached = (total - blocked) * 3 // 10
        return web.json_response(
            {
                "queries": {
                    "total": total,
                    "blocked": blocked,
                    "percent_blocked": round(blocked / total * 100, 6) if total else 0.0,
                    "unique_domains": len(PERMITTED_DOMAINS) + len(BLOCKED_DOMAINS),
                    "forwarded": total - blocked - cached,
                    "cached": cached,
                    "frequency": round(total / DAY, 3),
                    "types": {"A": total * 6 // 10, "AAAA": total * 3 // 10, "HTTPS": total // 10},
                    "status": {"GRAVITY": blocked, "FORWARDED": total - blocked - cached},
                    "replies": {"IP": total - blocked, "NODATA": blocked},
                },
                "clients": {
                    "active": sum(1 for c in day.values() if c.total),
                    "total": len(day),
                },
                "gravity": {
                    "domains_being_blocked": GRAVITY_DOMAINS,
                    "last_update": int(self.clock() // DAY * DAY),
                },
                "took": 0.0001,
            }
        )

    @staticmethod
    def _count(request: web.Request, default: int = 10) -> int:
        try:
            return max(0, int(request.query.get("count", default)))
        except ValueError:
            return default

    @staticmethod
    def _blocked_only(request: web.Request) -> bool:
        return request.query.get("blocked", "false").lower() == "true"

    async def _top_domains(self, request: web.Request) -> web.Response:
        day = self._day()
        total = sum(c.total for c in day.values())
        blocked = sum(c.blocked for c in day.values())
        only_blocked = self._blocked_only(request)
        domains = BLOCKED_DOMAINS if only_blocked else PERMITTED_DOMAINS
        pool = blocked if only_blocked else total - blocked
        # Zipf-like: the first domain gets the most queries.
        weights = [1 / (rank + 1) for rank in range(len(domains))]
        counts = [int(pool * weight / sum(weights)) for weight in weights]
        listed = [
            {"domain": domain, "count": count}
            for domain, count in zip(domains, counts, strict=True)
            if count
        ][: self._count(request)]
        return web.json_response(
            {"domains": listed, "total_queries": total, "blocked_queries": blocked, "took": 1e-4}
        )

    async def _top_clients(self, request: web.Request) -> web.Response:
        day = self._day()
        only_blocked = self._blocked_only(request)
        names = {p.ip: p.name for p in self.traffic.clients}
        ranked = sorted(
            day.items(),
            key=lambda item: item[1].blocked if only_blocked else item[1].total,
            reverse=True,
        )
        listed = [
            {"ip": ip, "name": names[ip], "count": c.blocked if only_blocked else c.total}
            for ip, c in ranked
            if (c.blocked if only_blocked else c.total)
        ][: self._count(request)]
        return web.json_response(
            {
                "clients": listed,
                "total_queries": sum(c.total for c in day.values()),
                "blocked_queries": sum(c.blocked for c in day.values()),
                "took": 0.0001,
            }
        )

    async def _history(self, request: web.Request) -> web.Response:
        return web.json_response(self.history_body())

    def history_body(self) -> dict[str, Any]:
        """`/api/history`: the last 24 hours in 10-minute slots, the running one last."""
        now = self.clock()
        history = []
        for start in self.traffic.window(now):
            total = blocked = 0
            for profile in self.traffic.clients:
                counts = self.traffic.counts(profile, start, now)
                total += counts.total
                blocked += counts.blocked
            cached = (total - blocked) * 3 // 10
            history.append(
                {
                    "timestamp": start,
                    "total": total,
                    "cached": cached,
                    "blocked": blocked,
                    "forwarded": total - blocked - cached,
                }
            )
        return {"history": history, "took": 0.0001}

    async def _client_history(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("N", 20))
        except ValueError:
            limit = 20
        return web.json_response(self.client_history_body(limit))

    def client_history_body(self, limit: int = 20) -> dict[str, Any]:
        """`/api/history/clients?N=limit`: per-client slots of the busiest `limit` clients."""
        now = self.clock()
        day = self._day()
        ranked = sorted(self.traffic.clients, key=lambda p: day[p.ip].total, reverse=True)
        shown = ranked if limit <= 0 else ranked[:limit]
        others = ranked[len(shown) :]
        clients: dict[str, Any] = {p.ip: {"name": p.name, "total": day[p.ip].total} for p in shown}
        if others:
            clients[OTHER_CLIENTS] = {
                "name": "other clients",
                "total": sum(day[p.ip].total for p in others),
            }
        history = []
        for start in self.traffic.window(now):
            data = {p.ip: self.traffic.counts(p, start, now).total for p in shown}
            if others:
                data[OTHER_CLIENTS] = sum(self.traffic.counts(p, start, now).total for p in others)
            history.append({"timestamp": start, "data": data})
        return {"clients": clients, "history": history, "took": 0.0001}

    # Blocking

    def _blocking_body(self) -> dict[str, Any]:
        now = self.clock()
        if self.blocking_until is not None and now >= self.blocking_until:
            self.blocking = True
            self.blocking_until = None
        timer = None if self.blocking_until is None else round(self.blocking_until - now, 3)
        return {
            "blocking": "enabled" if self.blocking else "disabled",
            "timer": timer,
            "took": 0.0001,
        }

    async def _blocking(self, request: web.Request) -> web.Response:
        return web.json_response(self._blocking_body())

    async def _set_blocking(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "bad_request", "Invalid request body", "not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("blocking"), bool):
            return _error(400, "bad_request", "Invalid request body", "blocking: boolean")
        timer = body.get("timer")
        if timer is not None and (not isinstance(timer, int | float) or timer < 0):
            return _error(400, "bad_request", "Invalid request body", "timer: number")
        self.blocking = body["blocking"]
        # A timer flips the state back when it runs out.
        self.blocking_until = self.clock() + timer if timer else None
        if self.blocking_until is not None and self.blocking:
            self.blocking_until = None
        return web.json_response(self._blocking_body())
