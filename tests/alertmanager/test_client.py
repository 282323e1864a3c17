"""The Alertmanager API client over real HTTP against answers a real one gives when broken."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
import pytest

from custom_components.homelab_agents.alertmanager.client import (
    AlertmanagerClient,
    AlertmanagerError,
    AlertmanagerNotFoundError,
)

Routes = dict[tuple[str, str], web.Response]


@pytest.fixture
async def answers() -> Routes:
    """What each (method, path) answers; tests fill it in."""
    return {}


@pytest.fixture
async def client(hass: HomeAssistant, answers: Routes) -> AsyncGenerator[AlertmanagerClient]:
    """A client talking to a server that answers from `answers`."""

    async def handler(request: web.Request) -> web.Response:
        return answers[request.method, request.path]

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/prefix/"
    yield AlertmanagerClient(async_get_clientsession(hass), url)
    await runner.cleanup()


CALLS: dict[str, Callable[[AlertmanagerClient], Awaitable[object]]] = {
    "alerts": lambda c: c.alerts("home-assistant"),
    "silences": lambda c: c.silences(),
    "status": lambda c: c.status(),
    "create": lambda c: c.create_silence({}, _now(), _now(), "me", "c"),
}


@pytest.mark.parametrize(
    ("route", "response", "call"),
    [
        (("GET", "alerts"), web.json_response([{"labels": {}}]), "alerts"),
        (("GET", "alerts"), web.json_response({"not": "a list"}), "alerts"),
        (("GET", "silences"), web.json_response([{"id": "x"}]), "silences"),
        (("GET", "status"), web.Response(text="{", content_type="application/json"), "status"),
        (("GET", "status"), web.Response(status=400, text="bad"), "status"),
        (("POST", "silences"), web.json_response({"nope": 1}), "create"),
    ],
)
async def test_unexpected_answers_are_errors(
    client: AlertmanagerClient,
    answers: Routes,
    route: tuple[str, str],
    response: web.Response,
    call: str,
) -> None:
    """Malformed answers become AlertmanagerError, never KeyError or TypeError."""
    method, path = route
    answers[method, f"/prefix/api/v2/{path}"] = response
    pending = CALLS[call](client)
    with pytest.raises(AlertmanagerError):
        await pending


async def test_unknown_silence_is_not_found(client: AlertmanagerClient, answers: Routes) -> None:
    """A 404 (newer Alertmanager releases) is a not-found error."""
    answers["DELETE", "/prefix/api/v2/silence/x"] = web.Response(status=404, text="no")
    with pytest.raises(AlertmanagerNotFoundError):
        await client.expire_silence("x")


async def test_alerts_without_receiver_filter(client: AlertmanagerClient, answers: Routes) -> None:
    """An empty receiver reads every alert; timestamps without zone are refused."""
    answers["GET", "/prefix/api/v2/alerts"] = web.json_response(
        [
            {
                "fingerprint": "00000000000000aa",
                "startsAt": "2026-11-27T10:00:00",
                "labels": {},
                "status": {},
            }
        ]
    )
    with pytest.raises(AlertmanagerError):
        await client.alerts("")


def _now() -> datetime:
    return dt_util.utcnow()
