"""The Cloudflare client over HTTP: pagination, malformed answers, rate-limit headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest

from custom_components.homelab_agents.network.cloudflare.client import (
    CloudflareClient,
    CloudflareConnectionError,
    CloudflareError,
    CloudflareRateLimitError,
    _retry_after,
)
from simulators.cloudflare import CloudflareSimulator

from .conftest import token_of


def _client(hass: HomeAssistant, sim: CloudflareSimulator) -> CloudflareClient:
    return CloudflareClient(async_get_clientsession(hass), sim.api_url, token_of(sim).value)


async def test_lists_are_read_page_by_page(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """60 zones take two pages of 50; deleted tunnels are not listed."""
    account = next(iter(cloudflare.accounts.values()))
    for index in range(58):
        cloudflare.add_zone(account, f"site{index:02}.example")
    cloudflare.delete_tunnel(next(t for t in cloudflare.tunnels.values() if t.name == "lab"))
    client = _client(hass, cloudflare)
    zones = await client.zones(account.id)
    assert len(zones) == 60
    assert len({zone.id for zone in zones}) == 60
    assert cloudflare.requests["zones"] == 2
    assert [tunnel.name for tunnel in await client.tunnels(account.id)] == ["home"]
    assert client.requests_sent == 3


async def test_hourly_traffic_in_one_query(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """Every zone's hours, oldest first, from `since` on, in one request."""
    now = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    freezer.move_to(now)
    zone_ids = list(cloudflare.zones)
    since = datetime(2026, 11, 24, 15, tzinfo=UTC)
    traffic = await _client(hass, cloudflare).hourly_traffic(zone_ids, since, 24)
    assert cloudflare.requests["graphql"] == 1
    assert set(traffic) == set(zone_ids)
    hours = traffic[zone_ids[0]]
    assert [h.start for h in hours] == [since + timedelta(hours=n) for n in range(24)]
    expected = cloudflare.zones[zone_ids[0]].traffic.hour(int(since.timestamp()), now.timestamp())
    assert hours[0].threats == expected.threats
    assert hours[0].cached_bytes == expected.cached_bytes


@pytest.mark.parametrize(
    ("route", "status", "body"),
    [
        ("zones", 200, ["not", "an", "envelope"]),
        ("zones", 200, {"success": True, "errors": [], "result": {"id": "x"}}),
        ("zones", 400, None),
        ("graphql", 200, {"data": {"viewer": None}, "errors": None}),
        (
            "graphql",
            200,
            {
                "data": {
                    "viewer": {
                        "zones": [
                            {
                                "zoneTag": "z",
                                "httpRequests1hGroups": [
                                    {"dimensions": {"datetime": "yesterday"}, "sum": {}}
                                ],
                            }
                        ]
                    }
                },
                "errors": None,
            },
        ),
    ],
)
async def test_malformed_answers_are_errors(
    hass: HomeAssistant,
    cloudflare: CloudflareSimulator,
    route: str,
    status: int,
    body: object,
) -> None:
    """Answers that are not Cloudflare's shapes raise CloudflareError, never KeyError."""
    cloudflare.fail(route, status=status, body=body)
    client = _client(hass, cloudflare)
    account = next(iter(cloudflare.accounts.values()))
    call = (
        client.zones(account.id)
        if route == "zones"
        else client.hourly_traffic(list(cloudflare.zones), datetime.now(UTC), 1)
    )
    with pytest.raises(CloudflareError) as err:
        await call
    assert not isinstance(err.value, CloudflareConnectionError)


async def test_unreachable_and_rate_limited(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """A 5xx is a connection error; a 429 blocks the client until Retry-After."""
    client = _client(hass, cloudflare)
    cloudflare.fail("tunnels", status=503)
    with pytest.raises(CloudflareConnectionError):
        await client.tunnels(next(iter(cloudflare.accounts)))
    cloudflare.force_rate_limit(90)
    with pytest.raises(CloudflareRateLimitError) as err:
        await client.verify_token()
    assert err.value.retry_after == 90
    assert client.blocked_until is not None
    sent = cloudflare.requests.total()
    with pytest.raises(CloudflareRateLimitError):
        await client.verify_token()
    assert cloudflare.requests.total() == sent


def test_retry_after_header_forms(freezer: FrozenDateTimeFactory) -> None:
    """Seconds, an HTTP date, or a minute when the header is missing or unreadable."""
    now = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    freezer.move_to(now)
    assert _retry_after("120") == 120
    assert _retry_after("0") == 1
    assert _retry_after(format_datetime(now + timedelta(seconds=45), usegmt=True)) == 45
    assert _retry_after(None) == 60
    assert _retry_after("soon") == 60
