"""The Cloudflare simulator itself: GraphQL parsing and errors, envelopes, rate limiting."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from simulators.cloudflare import ANALYTICS_READ, CloudflareSimulator
from simulators.cloudflare.graphql import GraphQLSyntaxError, parse

GROUPS = "dimensions { datetime } sum { requests threats }"


@pytest.fixture
async def session(cloudflare: CloudflareSimulator) -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session with the full-permission token."""
    token = next(iter(cloudflare.tokens.values())).value
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


async def _query(
    sim: CloudflareSimulator,
    session: aiohttp.ClientSession,
    query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    async with session.post(
        f"{sim.api_url}/graphql", json={"query": query, "variables": variables or {}}
    ) as response:
        assert response.status == 200  # GraphQL reports errors in the body
        answer: dict[str, Any] = await response.json()
        return answer


def test_parser_reads_the_subset() -> None:
    """Named queries, variables with defaults, aliases, nested input objects and enums."""
    operation = parse(
        """
        # comment
        query Q($tags: [string!]!, $n: Int = 3) {
          v: viewer { zones(filter: {zoneTag_in: $tags}) { zoneTag } }
        }
        """
    )
    assert operation.variables == {"tags", "n"}
    assert operation.variable_defaults == {"n": 3}
    [viewer] = operation.selections
    assert viewer.response_key == "v"
    assert viewer.name == "viewer"
    for bad in ("mutation { x }", "{ viewer { } }", "{ viewer", "{ a } { b }", "{ a(x: ) }"):
        with pytest.raises(GraphQLSyntaxError):
            parse(bad)


async def test_graphql_answers_and_errors(
    cloudflare: CloudflareSimulator, session: aiohttp.ClientSession
) -> None:
    """Known fields answer; unknown fields, arguments and bad values are GraphQL errors."""
    zone = next(iter(cloudflare.zones))
    good = (
        f'{{ viewer {{ zones(filter: {{zoneTag: "{zone}"}}) {{ zoneTag '
        f"latest: httpRequests1hGroups(limit: 2, filter: {{datetime_geq: $since}}, "
        f"orderBy: [datetime_DESC]) {{ {GROUPS} }} }} }} }}"
    )
    query = "query ($since: Time!) " + good
    recent = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = await _query(cloudflare, session, query, {"since": recent})
    assert answer["errors"] is None
    [zone_answer] = answer["data"]["viewer"]["zones"]
    assert zone_answer["zoneTag"] == zone
    first, second = zone_answer["latest"]
    assert first["dimensions"]["datetime"] > second["dimensions"]["datetime"]
    assert set(first["sum"]) == {"requests", "threats"}

    for broken, message in [
        (good.replace("{ zoneTag ", "{ zoneTag visits ", 1), "unknown field 'visits' on zone"),
        (good.replace("requests threats", "requests visits"), "unknown field 'visits'"),
        (good.replace("limit: 2", "limit: 0"), "limit"),
        (good.replace("datetime_DESC", "requests_DESC"), "orderBy"),
        (good.replace("viewer", "account", 1), "unknown field 'account'"),
        (good.replace("{ datetime }", "{ colo }"), "unknown dimension"),
        (good.replace(f'zoneTag: "{zone}"', 'zoneTag: "nope"'), "does not have access"),
        (good + " }", "syntax error"),
    ]:
        assert broken != good
        answer = await _query(
            cloudflare, session, "query ($since: Time!) " + broken, {"since": recent}
        )
        assert answer["data"] is None
        assert message in answer["errors"][0]["message"], broken
    answer = await _query(cloudflare, session, "query ($since: Time!) " + good)
    assert "not provided" in answer["errors"][0]["message"]
    answer = await _query(
        cloudflare, session, "query ($since: Time!) " + good, {"since": "2000-01-01T00:00:00Z"}
    )
    assert "too large" in answer["errors"][0]["message"]


async def test_analytics_need_their_permission(cloudflare: CloudflareSimulator) -> None:
    """A token without Zone → Analytics → Read gets a GraphQL authorization error."""
    token = cloudflare.add_token(set())
    zone = next(iter(cloudflare.zones))
    query = (
        f'{{ viewer {{ zones(filter: {{zoneTag_in: ["{zone}"]}}) {{ httpRequests1hGroups('
        f'limit: 1, filter: {{datetime_geq: "2026-11-27T00:00:00Z"}}) {{ {GROUPS} }} }} }} }}'
    )
    headers = {"Authorization": f"Bearer {token.value}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(f"{cloudflare.api_url}/graphql", json={"query": query}) as response,
    ):
        answer = await response.json()
    assert ANALYTICS_READ not in token.permissions
    assert "does not have access" in answer["errors"][0]["message"]


async def test_rate_budget_answers_429_with_retry_after(
    cloudflare: CloudflareSimulator, session: aiohttp.ClientSession
) -> None:
    """Past the budget of the five-minute window: 429, code 971 and Retry-After."""
    cloudflare.rate_budget = 3
    statuses = []
    for _ in range(5):
        async with session.get(f"{cloudflare.api_url}/accounts") as response:
            statuses.append(response.status)
            body = await response.json()
            retry_after = response.headers.get("Retry-After")
    assert statuses == [200, 200, 200, 429, 429]
    assert body["success"] is False
    assert body["errors"][0]["code"] == 971
    assert retry_after is not None
    assert 1 <= int(retry_after) <= 300
    assert cloudflare.rate_limited == 2
    assert cloudflare.requests["accounts"] == 5


async def test_envelopes_and_pagination(
    cloudflare: CloudflareSimulator, session: aiohttp.ClientSession
) -> None:
    """REST answers carry success, errors, messages, result and result_info."""
    async with session.get(f"{cloudflare.api_url}/zones", params={"per_page": "5"}) as response:
        body = await response.json()
    assert body["success"] is True
    assert body["result_info"] == {
        "page": 1,
        "per_page": 5,
        "count": 2,
        "total_count": 2,
        "total_pages": 1,
    }
    async with session.get(f"{cloudflare.api_url}/zones", params={"per_page": "500"}) as response:
        assert response.status == 400
        assert (await response.json())["errors"][0]["code"] == 1001
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{cloudflare.api_url}/zones") as response:
            assert response.status == 400
        async with anonymous.get(
            f"{cloudflare.api_url}/zones", headers={"Authorization": "Bearer wrong"}
        ) as response:
            assert response.status == 401
            assert (await response.json())["errors"][0]["code"] == 1000
