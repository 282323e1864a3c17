"""A small async client for Cloudflare's v4 REST API and GraphQL Analytics on HA's session.

`pycfdns` (what Home Assistant's own Cloudflare integration uses) covers DNS records only, not
analytics or tunnels, so this talks to the API directly with aiohttp.

Rate limits: a 429 answer's `Retry-After` (or a GraphQL rate-limit error) blocks this client
until that time; calls meanwhile fail at once without a request, so no caller can hammer the API.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final

import aiohttp
from homeassistant.util import dt as dt_util
from yarl import URL

from ...const import REQUEST_TIMEOUT
from .const import (
    DEFAULT_RETRY_AFTER,
    PERMISSION_ACCOUNT_READ,
    PERMISSION_ANALYTICS_READ,
    PERMISSION_TUNNEL_READ,
    PERMISSION_ZONE_READ,
)
from .models import CloudflareAccount, CloudflareTunnel, CloudflareZone, HourTraffic

PER_PAGE: Final = 50
MAX_PAGES: Final = 100  # 5,000 zones or accounts; a runaway `total_pages` cannot loop forever
TUNNELS_PER_PAGE: Final = 1000
ERROR_INVALID_TOKEN: Final = 1000
ERROR_UNAUTHORIZED: Final = 9109

TRAFFIC_QUERY: Final = """
query ZoneTraffic($zoneTags: [string!], $since: Time!, $limit: uint64!) {
  viewer {
    zones(filter: {zoneTag_in: $zoneTags}) {
      zoneTag
      httpRequests1hGroups(
        limit: $limit, filter: {datetime_geq: $since}, orderBy: [datetime_ASC]
      ) {
        dimensions { datetime }
        sum { requests cachedRequests bytes cachedBytes threats pageViews }
      }
    }
  }
}
"""


class CloudflareError(Exception):
    """Cloudflare could not be asked, or its answer was not understood."""


class CloudflareConnectionError(CloudflareError):
    """No answer: refused, timeout, DNS, TLS or a 5xx."""


class CloudflareAuthError(CloudflareError):
    """The token is invalid, expired or disabled."""


class CloudflarePermissionError(CloudflareError):
    """The token is valid but lacks a permission; `permission` names the one needed."""

    def __init__(self, permission: str) -> None:
        """Name the permission the call needs."""
        super().__init__(f"the token lacks {permission}")
        self.permission = permission


class CloudflareRateLimitError(CloudflareError):
    """Too many requests; `retry_after` is how many seconds to wait."""

    def __init__(self, retry_after: float) -> None:
        """Say how long to wait."""
        super().__init__(f"rate limited for {retry_after:.0f} s")
        self.retry_after = retry_after


class CloudflareClient:
    """Reads token, zones, accounts, tunnels and zone analytics."""

    def __init__(self, session: aiohttp.ClientSession, api_url: str, token: str) -> None:
        """Talk to the API at `api_url` (e.g. `https://api.cloudflare.com/client/v4`)."""
        self._session = session
        self._base = URL(api_url.rstrip("/"))
        self._headers = {"Authorization": f"Bearer {token}"}
        self._blocked_until: datetime | None = None
        self.requests_sent = 0

    @property
    def blocked_until(self) -> datetime | None:
        """Until when a rate limit holds requests back, if one does."""
        if self._blocked_until is not None and dt_util.utcnow() >= self._blocked_until:
            self._blocked_until = None
        return self._blocked_until

    def _block(self, seconds: float) -> CloudflareRateLimitError:
        self._blocked_until = dt_util.utcnow() + timedelta(seconds=seconds)
        return CloudflareRateLimitError(seconds)

    async def _request(
        self,
        method: str,
        path: str,
        permission: str | None,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        blocked_until = self.blocked_until
        if blocked_until is not None:
            raise CloudflareRateLimitError((blocked_until - dt_util.utcnow()).total_seconds())
        url = self._base.with_path(f"{self._base.path.rstrip('/')}/{path}")
        self.requests_sent += 1
        try:
            async with self._session.request(
                method,
                url,
                params=params,
                json=json,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT.total_seconds()),
            ) as response:
                if response.status == 429:
                    raise self._block(_retry_after(response.headers.get("Retry-After")))
                if response.status >= 500:
                    raise CloudflareConnectionError(f"HTTP {response.status}")
                body = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as err:
            raise CloudflareConnectionError(str(err) or type(err).__name__) from err
        except ValueError as err:
            raise CloudflareError(f"not a JSON answer: {err}") from err
        if not isinstance(body, dict):
            raise CloudflareError("not a Cloudflare API answer")
        try:
            _raise_for_errors(response.status, body, permission)
        except CloudflareRateLimitError as err:
            raise self._block(err.retry_after) from None
        return body

    async def _pages(
        self, path: str, permission: str, params: dict[str, str] | None = None, size: int = PER_PAGE
    ) -> list[dict[str, Any]]:
        """Every row of a paginated list (`result_info.total_pages`)."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            body = await self._request(
                "GET",
                path,
                permission,
                params={**(params or {}), "page": str(page), "per_page": str(size)},
            )
            result = body.get("result")
            if not isinstance(result, list):
                raise CloudflareError(f"{path}: the result is not a list")
            rows += [row for row in result if isinstance(row, dict)]
            info = body.get("result_info") or {}
            if page >= int(info.get("total_pages") or 1) or page >= MAX_PAGES or not result:
                return rows
            page += 1

    async def verify_token(self) -> str:
        """The token's id; CloudflareAuthError when it is not active."""
        body = await self._request("GET", "user/tokens/verify", None)
        result = body.get("result") or {}
        if result.get("status") != "active":
            raise CloudflareAuthError(f"the token is {result.get('status')}")
        return str(result["id"])

    async def accounts(self) -> list[CloudflareAccount]:
        """Accounts the token belongs to."""
        rows = await self._pages("accounts", PERMISSION_ACCOUNT_READ)
        return [CloudflareAccount(id=str(row["id"]), name=str(row["name"])) for row in rows]

    async def zones(self, account_id: str) -> list[CloudflareZone]:
        """The account's zones the token may read."""
        rows = await self._pages("zones", PERMISSION_ZONE_READ, {"account.id": account_id})
        return [
            CloudflareZone(id=str(row["id"]), name=str(row["name"]), status=str(row["status"]))
            for row in rows
        ]

    async def tunnels(self, account_id: str) -> list[CloudflareTunnel]:
        """The account's tunnels that are not deleted."""
        rows = await self._pages(
            f"accounts/{account_id}/cfd_tunnel",
            PERMISSION_TUNNEL_READ,
            {"is_deleted": "false"},
            size=TUNNELS_PER_PAGE,
        )
        return [
            CloudflareTunnel(
                id=str(row["id"]),
                name=str(row["name"]),
                status=str(row.get("status") or "inactive"),
                connections=len(row.get("connections") or ()),
            )
            for row in rows
        ]

    async def hourly_traffic(
        self, zone_ids: list[str], since: datetime, hours: int
    ) -> dict[str, list[HourTraffic]]:
        """Up to `hours` hourly figures per zone from `since` on, all zones in one query."""
        body = await self._request(
            "POST",
            "graphql",
            PERMISSION_ANALYTICS_READ,
            json={
                "query": TRAFFIC_QUERY,
                "variables": {
                    "zoneTags": zone_ids,
                    "since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "limit": hours,
                },
            },
        )
        try:
            zones = body["data"]["viewer"]["zones"]
            return {
                str(zone["zoneTag"]): [_hour(group) for group in zone["httpRequests1hGroups"]]
                for zone in zones
            }
        except (KeyError, TypeError, ValueError) as err:
            raise CloudflareError("not a GraphQL Analytics answer") from err


def _hour(group: dict[str, Any]) -> HourTraffic:
    sums = group["sum"]
    start = dt_util.parse_datetime(str(group["dimensions"]["datetime"]))
    if start is None:
        raise ValueError("datetime")
    return HourTraffic(
        start=start,
        requests=int(sums["requests"]),
        cached_requests=int(sums["cachedRequests"]),
        bytes=int(sums["bytes"]),
        cached_bytes=int(sums["cachedBytes"]),
        threats=int(sums["threats"]),
        page_views=int(sums["pageViews"]),
    )


def _retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (seconds or an HTTP date); a minute if unusable."""
    if not value:
        return DEFAULT_RETRY_AFTER
    if value.strip().isdigit():
        return max(1.0, float(value))
    try:
        moment = parsedate_to_datetime(value)
    except TypeError, ValueError:
        return DEFAULT_RETRY_AFTER
    return max(1.0, (moment - dt_util.utcnow()).total_seconds())


def _raise_for_errors(status: int, body: dict[str, Any], permission: str | None) -> None:
    """Map REST error envelopes and GraphQL `errors` (which come with HTTP 200) to exceptions."""
    errors = body.get("errors") or []
    codes = {error.get("code") for error in errors if isinstance(error, dict)}
    messages = (
        "; ".join(str(error.get("message")) for error in errors if isinstance(error, dict))
        or f"HTTP {status}"
    )
    if status == 401 or ERROR_INVALID_TOKEN in codes:
        raise CloudflareAuthError(messages)
    if permission is not None and (status == 403 or ERROR_UNAUTHORIZED in codes):
        raise CloudflarePermissionError(permission)
    if status >= 400 or body.get("success") is False:
        raise CloudflareError(messages)
    if "data" in body and errors:  # GraphQL
        lowered = messages.lower()
        if "rate limit" in lowered or "budget depleted" in lowered:
            raise CloudflareRateLimitError(DEFAULT_RETRY_AFTER)
        if permission is not None and ("access" in lowered or "authoriz" in lowered):
            raise CloudflarePermissionError(permission)
        raise CloudflareError(f"GraphQL: {messages}")
