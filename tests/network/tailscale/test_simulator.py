"""The Tailscale API simulator: the API's shapes, auth and scopes, the daily rhythm."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import pytest

from simulators.tailscale import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    TailscaleSimulator,
)

# The fields of a device object the Tailscale API v2 documents for `fields=all`.
DEVICE_FIELDS = {
    "addresses", "id", "nodeId", "user", "name", "hostname", "clientVersion", "updateAvailable",
    "os", "created", "connectedToControl", "lastSeen", "keyExpiryDisabled", "expires",
    "authorized", "isExternal", "machineKey", "nodeKey", "blocksIncomingConnections",
    "enabledRoutes", "advertisedRoutes", "clientConnectivity", "tags", "tailnetLockError",
    "tailnetLockKey",
}  # fmt: skip


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def _get(
    session: aiohttp.ClientSession, sim: TailscaleSimulator, path: str, token: str
) -> tuple[int, Any]:
    async with session.get(
        f"{sim.url}/api/v2{path}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status, await response.json()


def _online(devices: list[dict[str, Any]]) -> set[str]:
    return {d["hostname"] for d in devices if d["connectedToControl"]}


async def test_device_objects_have_the_api_shape(
    session: aiohttp.ClientSession, tailscale_sim: TailscaleSimulator
) -> None:
    """`fields=all` returns every documented field; `default` leaves connectivity out."""
    status, body = await _get(
        session, tailscale_sim, "/tailnet/-/devices?fields=all", DEFAULT_API_KEY
    )
    assert status == 200
    assert all(set(device) == DEVICE_FIELDS for device in body["devices"])
    nas = next(d for d in body["devices"] if d["hostname"] == "nas")
    assert nas["name"] == "nas.tail4e2a.ts.net"
    assert nas["keyExpiryDisabled"] is True
    assert nas["expires"] == "0001-01-01T00:00:00Z"
    assert nas["nodeId"].endswith("CNTRL")
    _, default = await _get(session, tailscale_sim, "/tailnet/-/devices", DEFAULT_API_KEY)
    assert "clientConnectivity" not in default["devices"][0]
    status, one = await _get(session, tailscale_sim, f"/device/{nas['id']}", DEFAULT_API_KEY)
    assert (status, one["nodeId"]) == (200, nas["nodeId"])
    status, error = await _get(session, tailscale_sim, "/device/nas", DEFAULT_API_KEY)
    assert (status, error) == (404, {"message": "device not found"})
    status, error = await _get(session, tailscale_sim, "/tailnet/other/devices", DEFAULT_API_KEY)
    assert (status, error) == (404, {"message": "tailnet not found"})


async def test_oauth_tokens_scopes_and_expiry(
    freezer: FrozenDateTimeFactory,
    session: aiohttp.ClientSession,
    tailscale_sim: TailscaleSimulator,
) -> None:
    """Client credentials give an hour-long token; a read-only client may not write."""
    form = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
    async with session.post(f"{tailscale_sim.url}/api/v2/oauth/token", data=form) as response:
        token = await response.json()
    assert token["expires_in"] == 3600
    assert token["scope"] == "devices:core"
    status, _ = await _get(session, tailscale_sim, "/tailnet/-/devices", token["access_token"])
    assert status == 200
    freezer.tick(timedelta(hours=1))
    status, error = await _get(session, tailscale_sim, "/tailnet/-/devices", token["access_token"])
    assert (status, error) == (401, {"message": "API token invalid"})

    async with session.post(
        f"{tailscale_sim.url}/api/v2/oauth/token", data={**form, "grant_type": "password"}
    ) as response:
        assert response.status == 400
    tailscale_sim.api_keys["tskey-api-ro"] = frozenset({"devices:core:read"})
    nas = tailscale_sim.device("nas")
    url = f"{tailscale_sim.url}/api/v2/device/{nas.node_id}/authorized"
    headers = {"Authorization": "Bearer tskey-api-ro"}
    async with session.post(url, json={"authorized": True}, headers=headers) as response:
        assert response.status == 403
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    async with session.post(url, json={"authorized": "yes"}, headers=headers) as response:
        assert response.status == 400
    async with session.post(url, data="{", headers=headers) as response:
        assert response.status == 400


async def test_daily_rhythm(
    freezer: FrozenDateTimeFactory,
    session: aiohttp.ClientSession,
    tailscale_sim: TailscaleSimulator,
) -> None:
    """Servers always, laptops on workdays, phones by day, the desktop in the evening."""
    servers = {"nas", "proxmox", "homeassistant", "router"}
    expected = {
        datetime(2026, 11, 25, 12, 0, tzinfo=UTC): servers
        | {"work-laptop", "alice-laptop", "alice-phone", "bob-phone"},
        datetime(2026, 11, 25, 20, 30, tzinfo=UTC): servers
        | {"alice-phone", "bob-phone", "gaming-pc"},
        datetime(2026, 11, 26, 3, 0, tzinfo=UTC): servers,
        datetime(2026, 11, 28, 12, 0, tzinfo=UTC): servers | {"alice-phone", "bob-phone"},
    }
    for moment, online in expected.items():
        freezer.move_to(moment)
        _, body = await _get(session, tailscale_sim, "/tailnet/-/devices", DEFAULT_API_KEY)
        assert _online(body["devices"]) == online, moment
        laptop = next(d for d in body["devices"] if d["hostname"] == "work-laptop")
        if "work-laptop" not in online:
            assert laptop["lastSeen"] < moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    tailscale_sim.take_offline("nas")
    freezer.tick(timedelta(minutes=30))
    _, body = await _get(session, tailscale_sim, "/tailnet/-/devices", DEFAULT_API_KEY)
    nas = next(d for d in body["devices"] if d["hostname"] == "nas")
    assert nas["connectedToControl"] is False
    assert nas["lastSeen"] == "2026-11-28T12:00:00Z"


def test_same_seed_same_tailnet() -> None:
    """A seed always builds the same tailnet."""
    first = TailscaleSimulator(seed=5)
    second = TailscaleSimulator(seed=5)
    assert sorted(first.tailnet.devices) == sorted(second.tailnet.devices)
    assert sorted(first.tailnet.devices) != sorted(TailscaleSimulator(seed=6).tailnet.devices)
