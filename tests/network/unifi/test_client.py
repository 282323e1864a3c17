"""The UniFi client against the simulator and against answers no console should give."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from aiohttp import DummyCookieJar, web
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_create_clientsession
import pytest

from custom_components.homelab_agents.network.unifi.client import (
    MAX_LOGIN_BACKOFF,
    UnifiAuthError,
    UnifiClient,
    UnifiConnectionError,
    UnifiCredentials,
    UnifiError,
    UnifiRateLimitError,
    UnifiSiteError,
)
from simulators.https_server import HttpsServer
from simulators.unifi import UnifiSimulator

type Route = Callable[[web.Request], web.Response]


def _client(hass: HomeAssistant, host: str, port: int, password: str = "pw") -> UnifiClient:  # noqa: S107
    session = async_create_clientsession(hass, False, cookie_jar=DummyCookieJar())
    credentials = UnifiCredentials(
        host=host, port=port, username="homeassistant", password=password, site="default",
        verify_ssl=False,
    )  # fmt: skip
    return UnifiClient(session, credentials)


def _sim_client(hass: HomeAssistant, sim: UnifiSimulator) -> UnifiClient:
    return _client(hass, sim.host, sim.port, sim.password)


@pytest.fixture
async def console() -> AsyncGenerator[tuple[HttpsServer, dict[str, Route]]]:
    """A fake UniFi OS console whose API answers are set by each test."""
    routes: dict[str, Route] = {}

    async def login(request: web.Request) -> web.Response:
        response = web.json_response({"username": "homeassistant"})
        response.set_cookie("TOKEN", "t0ken")
        return response

    async def api(request: web.Request) -> web.Response:
        return routes[request.match_info["tail"]](request)

    async def root(request: web.Request) -> web.Response:
        return web.Response(text="UniFi OS")

    def application(_: Any) -> web.Application:
        app = web.Application()
        app.router.add_get("/", root)
        app.router.add_post("/api/auth/login", login)
        app.router.add_get("/proxy/network/api/{tail:.*}", api)
        return app

    server = HttpsServer()
    await server.start(application, host="127.0.0.1", port=0)
    yield server, routes
    await server.stop()


def test_credentials_repr_hides_password() -> None:
    """Credentials printed in a log or a traceback show no password."""
    credentials = UnifiCredentials(
        host="unifi.lan", port=443, username="ha", password="s3cret", site="default",
        verify_ssl=True,
    )  # fmt: skip
    assert "s3cret" not in repr(credentials)
    assert "ha@unifi.lan:443" in repr(credentials)


async def test_session_refused_after_new_login(hass: HomeAssistant) -> None:
    """A console that ends every session at once: one new login, then an auth error."""
    async with UnifiSimulator(session_ttl=0) as sim:
        client = _sim_client(hass, sim)
        with pytest.raises(UnifiAuthError):
            await client.site_get("stat/health")
        assert sim.counters["logins"] == 2


async def test_rebooting_console(hass: HomeAssistant, unifi: UnifiSimulator) -> None:
    """A 502 while booting is a connection error, before or after the flavour is known."""
    client = _sim_client(hass, unifi)
    unifi.set_available(False)
    with pytest.raises(UnifiConnectionError):
        await client.login()
    assert client.unifi_os is None
    unifi.set_available(True)
    await client.login()
    await client.logout()
    unifi.set_available(False)
    with pytest.raises(UnifiConnectionError, match="login answered HTTP 502"):
        await client.login()


async def test_unknown_site(hass: HomeAssistant, unifi: UnifiSimulator) -> None:
    """A site the console does not have."""
    client = _sim_client(hass, unifi)
    with pytest.raises(UnifiSiteError):
        await client.get("s/nowhere/stat/health")


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (lambda _: web.json_response({"meta": {"rc": "error", "msg": "api.err.NoPermission"}}),
         UnifiError),
        (lambda _: web.json_response({"meta": {"rc": "error"}}, status=400), UnifiError),
        (lambda _: web.json_response({}, status=429, headers={"Retry-After": "soon"}),
         UnifiRateLimitError),
        (lambda _: web.Response(text="not json", status=200), UnifiError),
        (lambda _: web.Response(text="oops", status=500), UnifiConnectionError),
    ],
)  # fmt: skip
async def test_bad_answers(
    hass: HomeAssistant,
    console: tuple[HttpsServer, dict[str, Route]],
    answer: Route,
    error: type[Exception],
) -> None:
    """Errors in `meta`, throttling, non-JSON and server errors map to the client's errors."""
    server, routes = console
    routes["s/default/stat/health"] = answer
    client = _client(hass, server.host, server.port)
    with pytest.raises(error) as raised:
        await client.site_get("stat/health")
    if isinstance(raised.value, UnifiRateLimitError):
        assert 1 <= raised.value.retry_after <= MAX_LOGIN_BACKOFF


async def test_rows_without_data(
    hass: HomeAssistant, console: tuple[HttpsServer, dict[str, Route]]
) -> None:
    """Only dict rows of a `data` list count."""
    server, routes = console
    routes["s/default/stat/sta"] = lambda _: web.json_response(
        {"meta": {"rc": "ok"}, "data": [{"mac": "aa"}, "junk", 3]}
    )
    routes["s/default/stat/device"] = lambda _: web.json_response({"meta": {"rc": "ok"}})
    client = _client(hass, server.host, server.port)
    assert await client.site_get("stat/sta") == [{"mac": "aa"}]
    assert await client.site_get("stat/device") == []
