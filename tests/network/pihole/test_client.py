"""The Pi-hole client on its own: shared logins, back-off, and answers that are no Pi-hole's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.homelab_agents.network.pihole.client import (
    DEFAULT_BACKOFF,
    PiholeAuthError,
    PiholeClient,
    PiholeNotPiholeError,
    PiholeRateLimitError,
)
from simulators.pihole import DEFAULT_APP_PASSWORD, FaultKind, PiholeSimulator


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session (Home Assistant's shared one in production)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def odd_server() -> AsyncGenerator[tuple[str, dict[str, Any]]]:
    """A server answering `/api/auth` with whatever the test puts in the returned dict."""
    reply: dict[str, Any] = {"status": 200, "body": {}, "headers": {}}

    async def auth(request: web.Request) -> web.Response:
        return web.json_response(reply["body"], status=reply["status"], headers=reply["headers"])

    app = web.Application()
    app.router.add_route("*", "/api/auth", auth)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", reply
    await runner.cleanup()


async def test_parallel_calls_share_one_login(
    pihole: PiholeSimulator, session: aiohttp.ClientSession
) -> None:
    """Five calls at once before any session exists: one login, five answers."""
    client = PiholeClient(session, pihole.url, DEFAULT_APP_PASSWORD)
    answers = await asyncio.gather(*(client.get("/dns/blocking") for _ in range(5)))
    assert [answer["blocking"] for answer in answers] == ["enabled"] * 5
    assert pihole.logins == 1
    await client.async_logout()
    assert pihole.active_sessions == 0


async def test_requests_wait_out_a_429(
    pihole: PiholeSimulator, session: aiohttp.ClientSession
) -> None:
    """During the back-off a call fails at once, without a request."""
    now = [1000.0]
    client = PiholeClient(session, pihole.url, DEFAULT_APP_PASSWORD, clock=lambda: now[0])
    pihole.faults.inject("/stats/summary", FaultKind.RATE_LIMITED, retry_after=30)
    with pytest.raises(PiholeRateLimitError) as err:
        await client.get("/stats/summary")
    assert (err.value.retry_after, err.value.seats) == (30, False)
    sent = sum(pihole.requests.values())
    now[0] += 29
    with pytest.raises(PiholeRateLimitError):
        await client.get("/stats/summary")
    assert sum(pihole.requests.values()) == sent
    assert client.backing_off == 1
    now[0] += 1
    assert (await client.get("/stats/summary"))["queries"]["total"] > 0


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ({"body": {"session": {"valid": False, "sid": None}}}, PiholeAuthError),
        ({"body": {"took": 0.1}}, PiholeNotPiholeError),
        ({"body": ["not", "an", "object"]}, PiholeNotPiholeError),
        (
            {
                "status": 429,
                "body": {"error": {"key": "rate_limiting"}},
                "headers": {"Retry-After": "soon"},
            },
            PiholeRateLimitError,
        ),
    ],
    ids=["invalid-session", "no-session", "array", "retry-after-not-a-number"],
)
async def test_odd_login_answers(
    odd_server: tuple[str, dict[str, Any]],
    session: aiohttp.ClientSession,
    reply: dict[str, Any],
    error: type[Exception],
) -> None:
    """Login answers that do not fit Pi-hole v6 become the matching error."""
    url, answer = odd_server
    answer.update(reply)
    client = PiholeClient(session, url, "secret")
    with pytest.raises(error) as raised:
        await client.async_check()
    if isinstance(raised.value, PiholeRateLimitError):
        assert raised.value.retry_after == DEFAULT_BACKOFF
