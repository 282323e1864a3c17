"""The UniFi Network application's HTTP API as the simulator serves it.

UniFi OS consoles (`unifi_os=True`): `GET /` answers 200, `POST /api/auth/login` sets a `TOKEN`
cookie and sends an `X-CSRF-Token` header, the Network API lives under
`/proxy/network/api/...`, logout is `POST /api/auth/logout`. Classic controllers: `GET /`
redirects to `/manage`, `POST /api/login` sets `unifises` and `csrf_token` cookies, the API is
under `/api/...`, logout is `POST /api/logout`. Writes need the CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
import secrets
from typing import Any, Final

from aiohttp import web

from .network import Network

LOGIN_WINDOW: Final = 60.0  # seconds

type Handler = Callable[[web.Request], Any]


@dataclass(slots=True)
class Session:
    """A logged-in browser session."""

    token: str
    csrf: str
    username: str
    expires_at: float


@dataclass(slots=True, kw_only=True)
class Site:
    """A site of the controller."""

    site_id: str
    name: str
    desc: str


@dataclass(slots=True, kw_only=True)
class ControllerState:
    """Everything the API answers from, shared with `UnifiSimulator`."""

    network: Network
    clock: Callable[[], float]
    unifi_os: bool
    users: dict[str, str]
    sites: dict[str, Site]
    controller_id: str
    hostname: str
    version: str
    wan_ip: str = "198.51.100.23"
    login_limit: int = 5
    login_retry_after: int | None = 60
    session_ttl: float = 7_200.0
    available: bool = True
    sessions: dict[str, Session] = field(default_factory=dict)
    login_times: deque[float] = field(default_factory=deque)
    counters: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    rotate_csrf: set[str] = field(default_factory=set)  # sessions to get a new CSRF token


def _ok(data: list[dict[str, Any]]) -> web.Response:
    return web.json_response({"meta": {"rc": "ok"}, "data": data})


def _error(status: int, msg: str) -> web.Response:
    return web.json_response({"meta": {"rc": "error", "msg": msg}, "data": []}, status=status)


class UnifiApi:
    """Routes and handlers over a `ControllerState`."""

    def __init__(self, state: ControllerState) -> None:
        """Serve `state`."""
        self.state = state

    @property
    def cookie_name(self) -> str:
        """The session cookie's name in this flavour."""
        return "TOKEN" if self.state.unifi_os else "unifises"

    def application(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(middlewares=[self._availability, self._csrf_rotation])
        prefix = "/proxy/network/api" if self.state.unifi_os else "/api"
        login = "/api/auth/login" if self.state.unifi_os else "/api/login"
        logout = "/api/auth/logout" if self.state.unifi_os else "/api/logout"
        app.router.add_get("/", self._root)
        app.router.add_post(login, self._login)
        app.router.add_post(logout, self._logout)
        app.router.add_get(f"{prefix}/self", self._self)
        app.router.add_get(f"{prefix}/self/sites", self._sites)
        app.router.add_get(f"{prefix}/s/{{site}}/stat/health", self._health)
        app.router.add_get(f"{prefix}/s/{{site}}/stat/sta", self._stations)
        app.router.add_get(f"{prefix}/s/{{site}}/stat/device", self._devices)
        app.router.add_get(f"{prefix}/s/{{site}}/stat/sysinfo", self._sysinfo)
        return app

    @web.middleware
    async def _availability(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.state.requests[request.path] += 1
        if not self.state.available:
            return web.Response(status=502, text="Bad Gateway")
        response: web.StreamResponse = await handler(request)
        return response

    async def _root(self, request: web.Request) -> web.Response:
        if self.state.unifi_os:
            return web.Response(
                text="<html><title>UniFi OS</title></html>", content_type="text/html"
            )
        raise web.HTTPFound("/manage")

    # Authentication

    async def _login(self, request: web.Request) -> web.Response:
        state = self.state
        now = state.clock()
        state.counters["login_attempts"] += 1
        while state.login_times and state.login_times[0] <= now - LOGIN_WINDOW:
            state.login_times.popleft()
        if len(state.login_times) >= state.login_limit:
            state.counters["rate_limited"] += 1
            headers = {}
            if state.login_retry_after is not None:
                headers["Retry-After"] = str(state.login_retry_after)
            return web.json_response(
                {
                    "code": "AUTHENTICATION_FAILED_LIMIT_REACHED",
                    "message": "Too many login attempts, try again later",
                    "level": "debug",
                },
                status=429,
                headers=headers,
            )
        state.login_times.append(now)
        try:
            body = await request.json()
        except ValueError:
            body = None
        username = body.get("username") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if not username or state.users.get(username) != password:
            state.counters["login_failures"] += 1
            if state.unifi_os:
                return web.json_response(
                    {
                        "code": "AUTHENTICATION_FAILED_INVALID_CREDENTIALS",
                        "message": "Invalid username or password",
                        "level": "debug",
                    },
                    status=401,
                )
            return _error(400, "api.err.Invalid")
        session = Session(
            token=secrets.token_urlsafe(32),
            csrf=secrets.token_hex(16),
            username=username,
            expires_at=now + state.session_ttl,
        )
        state.sessions[session.token] = session
        state.counters["logins"] += 1
        if state.unifi_os:
            response = web.json_response(
                {"unique_id": "1a2b3c", "username": username, "isOwner": False}
            )
            response.headers["X-CSRF-Token"] = session.csrf
        else:
            response = _ok([])
            response.set_cookie("csrf_token", session.csrf, path="/", secure=True)
        # As UniFi OS 4 sends it, `Partitioned` included.
        response.headers.add(
            "Set-Cookie",
            f"{self.cookie_name}={session.token}; Path=/; SameSite=None; Secure; HttpOnly"
            + ("; Partitioned" if self.state.unifi_os else ""),
        )
        return response

    def _session(self, request: web.Request) -> Session | None:
        token = request.cookies.get(self.cookie_name)
        session = self.state.sessions.get(token or "")
        if session is None:
            return None
        if session.expires_at <= self.state.clock():
            del self.state.sessions[session.token]
            return None
        return session

    async def _logout(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is None:
            return _error(401, "api.err.LoginRequired")
        if request.headers.get("X-CSRF-Token") != session.csrf:
            return _error(403, "api.err.InvalidCSRFToken")
        del self.state.sessions[session.token]
        self.state.counters["logouts"] += 1
        response = _ok([])
        response.del_cookie(self.cookie_name, path="/")
        return response

    def _authorised(self, request: web.Request) -> Session | web.Response:
        session = self._session(request)
        if session is None:
            return _error(401, "api.err.LoginRequired")
        return session

    @web.middleware
    async def _csrf_rotation(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """UniFi OS hands out a new CSRF token now and then, in `X-Updated-CSRF-Token`."""
        response: web.StreamResponse = await handler(request)
        session = self._session(request)
        if session is not None and session.token in self.state.rotate_csrf:
            self.state.rotate_csrf.discard(session.token)
            session.csrf = secrets.token_hex(16)
            response.headers["X-Updated-CSRF-Token"] = session.csrf
        return response

    def _site(self, request: web.Request) -> Site | web.Response:
        site = self.state.sites.get(request.match_info["site"])
        if site is None:
            return _error(400, "api.err.NoSiteContext")
        return site

    # The Network API

    async def _self(self, request: web.Request) -> web.Response:
        session = self._authorised(request)
        if isinstance(session, web.Response):
            return session
        return _ok([{"admin_id": "5f0c1d2e3a4b5c6d7e8f9a0b", "name": session.username}])

    async def _sites(self, request: web.Request) -> web.Response:
        session = self._authorised(request)
        if isinstance(session, web.Response):
            return session
        return _ok(
            [
                {
                    "_id": site.site_id,
                    "name": site.name,
                    "desc": site.desc,
                    "role": "readonly",
                    "attr_hidden_id": site.name,
                    "attr_no_delete": site.name == "default",
                }
                for site in self.state.sites.values()
            ]
        )

    def _rows(
        self, request: web.Request, rows: Callable[[float], list[dict[str, Any]]]
    ) -> web.Response:
        session = self._authorised(request)
        if isinstance(session, web.Response):
            return session
        site = self._site(request)
        if isinstance(site, web.Response):
            return site
        data = rows(self.state.clock())
        for row in data:
            row.setdefault("site_id", site.site_id)
            if row.get("site_id") == "":
                row["site_id"] = site.site_id
        return _ok(data)

    async def _health(self, request: web.Request) -> web.Response:
        return self._rows(
            request, lambda now: self.state.network.health_rows(now, self.state.wan_ip)
        )

    async def _stations(self, request: web.Request) -> web.Response:
        return self._rows(request, self.state.network.station_rows)

    async def _devices(self, request: web.Request) -> web.Response:
        return self._rows(request, self.state.network.device_rows)

    async def _sysinfo(self, request: web.Request) -> web.Response:
        state = self.state
        return self._rows(
            request,
            lambda now: [
                {
                    "anonymous_controller_id": state.controller_id,
                    "hostname": state.hostname,
                    "name": state.hostname,
                    "version": state.version,
                    "build": "atag_9.0.114_27283",
                    "timezone": "UTC",
                    "ubnt_device_type": "UDMPRO" if state.unifi_os else "",
                    "udm_version": "4.0.21.9965" if state.unifi_os else "",
                    "is_cloud_console": False,
                    "update_available": False,
                    "uptime": 1_209_600,
                }
            ],
        )
