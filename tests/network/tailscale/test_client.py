"""The Tailscale API client and device parsing on their own: odd answers and edge cases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.homelab_agents.network.tailscale.client import (
    TailscaleAuthError,
    TailscaleClient,
    TailscaleConnectionError,
    TailscaleCredentials,
    TailscaleError,
    TailscaleNotFoundError,
    TailscaleOAuthClientError,
    TailscaleRateLimitError,
    retry_after_seconds,
)
from custom_components.homelab_agents.network.tailscale.models import (
    parse_device,
    parse_devices,
    tailnet_identity,
)
from simulators.tailscale import DEFAULT_API_KEY, DEFAULT_CLIENT_ID, TailscaleSimulator

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


type Answer = Callable[[web.Request], web.Response]


async def _odd_api(answer: Answer) -> TestServer:
    """A server answering every request with `answer`."""

    async def handle(request: web.Request) -> web.Response:
        return answer(request)

    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(application, host="127.0.0.1")
    await server.start_server()
    return server


def _client(
    session: aiohttp.ClientSession, url: str, clock: Callable[[], datetime] = lambda: NOW, **kw: str
) -> TailscaleClient:
    credentials = TailscaleCredentials(api_url=url, tailnet="-", **kw)
    return TailscaleClient(session, credentials, clock)


def test_retry_after_forms() -> None:
    """Delta seconds, an HTTP date, garbage and nothing."""
    assert retry_after_seconds("120", NOW) == 120
    assert retry_after_seconds("0", NOW) == 1
    assert retry_after_seconds("Wed, 25 Nov 2026 12:01:30 GMT", NOW) == 90
    assert retry_after_seconds("soon", NOW) == 60
    assert retry_after_seconds(None, NOW) == 60


async def test_rate_limit_blocks_without_sending(
    session: aiohttp.ClientSession, tailscale_sim: TailscaleSimulator
) -> None:
    """A 429 blocks the client; until Retry-After nothing reaches the API."""
    now = [NOW]
    client = _client(session, tailscale_sim.url, lambda: now[0], api_key=DEFAULT_API_KEY)
    tailscale_sim.faults.rate_limit(retry_after=30)
    with pytest.raises(TailscaleRateLimitError):
        await client.devices()
    now[0] += timedelta(seconds=10)
    with pytest.raises(TailscaleRateLimitError) as err:
        await client.devices()
    assert err.value.retry_after == 20
    assert len(tailscale_sim.requests) == 1
    now[0] += timedelta(seconds=21)
    assert len(await client.devices()) == 9
    assert client.blocked_until is None


async def test_odd_answers(session: aiohttp.ClientSession) -> None:
    """Not JSON, JSON without devices, empty bodies, unknown errors, bad device ids."""
    answers: list[tuple[Answer, str]] = [
        (lambda _: web.Response(text="<html>proxy</html>"), "not the Tailscale API's JSON"),
        (lambda _: web.json_response({"devices": "none"}), "no device list"),
        (lambda _: web.json_response({"message": "teapot"}, status=418), "HTTP 418: teapot"),
    ]
    for answer, message in answers:
        server = await _odd_api(answer)
        try:
            client = _client(session, str(server.make_url("/")), api_key="k")
            with pytest.raises(TailscaleError, match=message):
                await client.devices()
        finally:
            await server.close()
    server = await _odd_api(lambda _: web.Response(status=200))
    try:
        client = _client(session, str(server.make_url("/")), api_key="k")
        await client.expire_key("nX")  # an empty body is fine for actions
        with pytest.raises(TailscaleNotFoundError):
            await client.delete("..")
    finally:
        await server.close()


async def test_token_endpoint_without_a_token(session: aiohttp.ClientSession) -> None:
    """A token answer without a token, and an OAuth client refused with 400."""
    for answer in (
        lambda _: web.json_response({"token_type": "Bearer"}),
        lambda _: web.json_response({"error": "invalid_client"}, status=400),
    ):
        server = await _odd_api(answer)
        try:
            client = _client(
                session,
                str(server.make_url("/")),
                oauth_client_id=DEFAULT_CLIENT_ID,
                oauth_client_secret="s",
            )
            with pytest.raises(TailscaleOAuthClientError):
                await client.devices()
            assert client.token_requests == 1  # a refused client is not asked twice
        finally:
            await server.close()


async def test_timeouts_are_connection_errors(
    session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API that does not answer in time."""
    monkeypatch.setattr(
        "custom_components.homelab_agents.network.tailscale.client.REQUEST_TIMEOUT",
        timedelta(seconds=0.05),
    )

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({})

    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", slow)
    server = TestServer(application, host="127.0.0.1")
    await server.start_server()
    try:
        with pytest.raises(TailscaleConnectionError):
            await _client(session, str(server.make_url("/")), api_key="k").devices()
    finally:
        await server.close()


async def test_api_key_refused_is_not_retried(
    session: aiohttp.ClientSession, tailscale_sim: TailscaleSimulator
) -> None:
    """A refused API key fails at once (only OAuth tokens are fetched anew)."""
    with pytest.raises(TailscaleAuthError):
        await _client(session, tailscale_sim.url, api_key="tskey-api-bad").devices()
    assert len(tailscale_sim.requests) == 1


def test_device_parsing_edge_cases() -> None:
    """Objects without a node id, zero times, garbage times, no own devices."""
    assert parse_device({"id": "1", "name": "x"}) is None
    device = parse_device(
        {"nodeId": "n1", "name": "a.tail.ts.net", "expires": "0001-01-01T00:00:00Z"}
    )
    assert device is not None
    assert device.expires is None
    assert device.last_seen is None
    assert not device.online(NOW, timedelta(minutes=5))
    assert parse_device({"nodeId": "n2", "lastSeen": "yesterday"}).last_seen is None  # type: ignore[union-attr]
    snapshot = parse_devices([{"name": "x"}, {"nodeId": "n3", "isExternal": True}], NOW)
    assert snapshot.devices == {}
    assert snapshot.shared_in == 1
    assert tailnet_identity([{"nodeId": "n4", "name": "bare"}]) is None
