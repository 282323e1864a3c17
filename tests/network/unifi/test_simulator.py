"""The UniFi simulator: flavours, sessions, CSRF, login limit and the replayed household."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import aiohttp
import pytest

from simulators.unifi import Network, UnifiSimulator

MONDAY_NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC).timestamp()
MONDAY_3AM = datetime(2026, 11, 2, 3, 0, tzinfo=UTC).timestamp()


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain client that keeps cookies (also from 127.0.0.1) and trusts any certificate."""
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), connector=aiohttp.TCPConnector(ssl=False)
    ) as session:
        yield session


async def test_unifi_os_login_csrf_and_logout(http: aiohttp.ClientSession) -> None:
    """UniFi OS: TOKEN cookie and X-CSRF-Token; logout needs the token; then 401."""
    now = [MONDAY_NOON]
    async with UnifiSimulator(clock=lambda: now[0], session_ttl=60) as sim:
        async with http.get(f"{sim.url}/", allow_redirects=False) as response:
            assert response.status == 200
        login = {"username": sim.username, "password": sim.password}
        async with http.post(f"{sim.url}/api/auth/login", json=login) as response:
            assert response.status == 200
            csrf = response.headers["X-CSRF-Token"]
            assert "Partitioned" in response.headers["Set-Cookie"]
        api = f"{sim.url}/proxy/network/api/s/default"
        async with http.get(f"{api}/stat/sysinfo") as response:
            body = await response.json()
            assert body["meta"]["rc"] == "ok"
            assert body["data"][0]["anonymous_controller_id"] == sim.controller_id
        async with http.post(f"{sim.url}/api/auth/logout") as response:
            assert response.status == 403
        async with http.post(
            f"{sim.url}/api/auth/logout", headers={"X-CSRF-Token": csrf}
        ) as response:
            assert response.status == 200
        async with http.get(f"{api}/stat/health") as response:
            assert response.status == 401
        assert sim.counters["logouts"] == 1


async def test_classic_controller_and_session_expiry(http: aiohttp.ClientSession) -> None:
    """A classic controller: /manage redirect, unifises cookie, errors in meta; sessions end."""
    now = [MONDAY_NOON]
    async with UnifiSimulator(unifi_os=False, clock=lambda: now[0], session_ttl=60) as sim:
        async with http.get(f"{sim.url}/", allow_redirects=False) as response:
            assert response.status == 302
        async with http.post(
            f"{sim.url}/api/login", json={"username": sim.username, "password": "wrong"}
        ) as response:
            assert response.status == 400
            assert (await response.json())["meta"]["msg"] == "api.err.Invalid"
        login = {"username": sim.username, "password": sim.password}
        async with http.post(f"{sim.url}/api/login", json=login) as response:
            assert response.status == 200
        async with http.get(f"{sim.url}/api/s/nowhere/stat/sta") as response:
            assert (await response.json())["meta"]["msg"] == "api.err.NoSiteContext"
        async with http.get(f"{sim.url}/api/self") as response:
            assert (await response.json())["data"][0]["name"] == sim.username
        now[0] += 61
        async with http.get(f"{sim.url}/api/s/default/stat/sta") as response:
            assert response.status == 401


async def test_login_limit_per_minute(http: aiohttp.ClientSession) -> None:
    """Logins past the limit within a minute get 429 with Retry-After, also bad ones."""
    now = [MONDAY_NOON]
    async with UnifiSimulator(clock=lambda: now[0], login_limit=2) as sim:
        statuses = []
        for _ in range(3):
            async with http.post(f"{sim.url}/api/auth/login", data=b"not json") as response:
                statuses.append(response.status)
        assert statuses == [401, 401, 429]
        async with http.post(f"{sim.url}/api/auth/login") as response:
            assert response.headers["Retry-After"] == "60"
            assert (await response.json())["code"] == "AUTHENTICATION_FAILED_LIMIT_REACHED"
        now[0] += 60
        login = {"username": sim.username, "password": sim.password}
        async with http.post(f"{sim.url}/api/auth/login", json=login) as response:
            assert response.status == 200
        assert sim.counters["rate_limited"] == 2


def test_household_day_and_night() -> None:
    """Commuters are home at night and away at noon; traffic peaks in the evening."""
    net = Network(seed=3)
    night, noon = net.online_clients(MONDAY_3AM), net.online_clients(MONDAY_NOON)
    assert len(night) == 16
    assert 8 <= len(noon) < 16
    assert all(client.schedule is None for client in noon)
    evening = MONDAY_NOON + 9 * 3600
    assert net.download_rate(evening) > 5 * net.download_rate(MONDAY_3AM)
    assert net.download_rate(MONDAY_NOON) == Network(seed=3).download_rate(MONDAY_NOON)
    with pytest.raises(KeyError):
        net.take_offline("00:00:00:00:00:00")
    gateway = next(iter(net.devices))
    net.take_offline(gateway)
    assert (
        next(row for row in net.health_rows(MONDAY_NOON, "x") if row["subsystem"] == "wan")[
            "status"
        ]
        == "error"
    )
    net.bring_online(gateway)
    assert net.is_online(gateway, MONDAY_NOON)
