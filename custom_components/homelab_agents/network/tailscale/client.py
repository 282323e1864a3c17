"""Tailscale API v2 over Home Assistant's aiohttp session: API key or OAuth client.

One `TailscaleClient` per entry. OAuth access tokens are cached until shortly before the
expiry the API announced and then renewed; a 429 blocks every further request until its
Retry-After has passed, so a rate-limited tailnet is not hammered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
import json
from typing import Any, Final, cast
from urllib.parse import quote

import aiohttp
from homeassistant.util import dt as dt_util
from yarl import URL

from ...const import REQUEST_TIMEOUT
from .const import DEFAULT_RETRY_AFTER, TOKEN_RENEW_MARGIN

API_PREFIX: Final = "/api/v2"


class TailscaleError(Exception):
    """The Tailscale API failed; the message never holds a credential."""


class TailscaleConnectionError(TailscaleError):
    """The API could not be reached, or answered with something that is not its JSON."""


class TailscaleAuthError(TailscaleError):
    """The API key, OAuth client or access token was refused (401)."""


class TailscaleOAuthClientError(TailscaleAuthError):
    """The OAuth client itself was refused at the token endpoint."""


class TailscalePermissionError(TailscaleError):
    """The credential lacks a scope for this request (403)."""


class TailscaleNotFoundError(TailscaleError):
    """The tailnet or device does not exist (404)."""


class TailscaleRateLimitError(TailscaleError):
    """Too many requests (429): nothing is sent until `retry_after` seconds have passed."""

    def __init__(self, retry_after: float) -> None:
        """Remember how long to wait."""
        super().__init__(f"rate limited; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True, kw_only=True)
class TailscaleCredentials:
    """Where the API is, which tailnet, and one of: an API key, or an OAuth client."""

    api_url: str
    tailnet: str
    api_key: str | None = field(default=None, repr=False)
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = field(default=None, repr=False)

    @property
    def uses_oauth(self) -> bool:
        """Whether requests carry OAuth access tokens instead of the API key."""
        return not self.api_key


def retry_after_seconds(value: str | None, now: datetime) -> float:
    """Seconds a Retry-After header asks for (delta seconds or an HTTP date)."""
    if value:
        try:
            return max(float(value), 1.0)
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except TypeError, ValueError:
            return DEFAULT_RETRY_AFTER
        return max((when - now).total_seconds(), 1.0)
    return DEFAULT_RETRY_AFTER


class TailscaleClient:
    """The few Tailscale API calls the integration makes."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: TailscaleCredentials,
        clock: Callable[[], datetime] = dt_util.utcnow,
    ) -> None:
        """Talk to `credentials.api_url` with `session`."""
        self._session = session
        self._credentials = credentials
        self._clock = clock
        self._base = URL(credentials.api_url.rstrip("/") + API_PREFIX)
        self._token: str | None = None
        self._token_expires: datetime | None = None
        self._token_lock = asyncio.Lock()
        self.blocked_until: datetime | None = None
        self.token_requests = 0
        # Set when the tailnet's full device list is refused (devices shared in from another
        # tailnet break `fields=all`); the default fields are then asked for directly.
        self.default_fields_only = False

    @property
    def api_url(self) -> str:
        """The API's base URL as configured (without `/api/v2`)."""
        return self._credentials.api_url.rstrip("/")

    @property
    def tailnet(self) -> str:
        """The tailnet as configured (`-` is the credential's own)."""
        return self._credentials.tailnet

    async def devices(self) -> list[dict[str, Any]]:
        """Every device of the tailnet: one request."""
        path = f"/tailnet/{quote(self.tailnet, safe='')}/devices"
        if not self.default_fields_only:
            try:
                return _device_list(await self._request("GET", path, params={"fields": "all"}))
            except TailscaleNotFoundError:
                answer = await self._request("GET", path, params={"fields": "default"})
                self.default_fields_only = True
                return _device_list(answer)
        return _device_list(await self._request("GET", path, params={"fields": "default"}))

    async def authorize(self, node_id: str) -> None:
        """Approve a device waiting for authorization."""
        await self._request("POST", f"/device/{_segment(node_id)}/authorized", {"authorized": True})

    async def expire_key(self, node_id: str) -> None:
        """Expire a device's node key: it must log in again."""
        await self._request("POST", f"/device/{_segment(node_id)}/expire")

    async def delete(self, node_id: str) -> None:
        """Remove a device from the tailnet."""
        await self._request("DELETE", f"/device/{_segment(node_id)}")

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        self._check_rate_limit()
        try:
            return await self._authorized(method, path, body, params)
        except TailscaleOAuthClientError:
            raise
        except TailscaleAuthError:
            if not self._credentials.uses_oauth:
                raise
            # An access token revoked before its announced expiry: a fresh one, once.
            return await self._authorized(method, path, body, params)

    async def _authorized(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: dict[str, str] | None,
    ) -> Any:
        token = await self._bearer()
        return await self._send(
            method,
            path,
            headers={"Authorization": f"Bearer {token}"},
            json_body=body,
            params=params,
        )

    def _check_rate_limit(self) -> None:
        if self.blocked_until is None:
            return
        remaining = (self.blocked_until - self._clock()).total_seconds()
        if remaining > 0:
            raise TailscaleRateLimitError(remaining)
        self.blocked_until = None

    async def _bearer(self) -> str:
        if self._credentials.api_key:
            return self._credentials.api_key
        async with self._token_lock:
            if (
                self._token is None
                or self._token_expires is None
                or self._clock() >= self._token_expires - TOKEN_RENEW_MARGIN
            ):
                self._token, self._token_expires = await self._fetch_token()
            return self._token

    async def _fetch_token(self) -> tuple[str, datetime]:
        """Trade the OAuth client for an access token (client credentials grant)."""
        self.token_requests += 1
        try:
            answer = await self._send(
                "POST",
                "/oauth/token",
                form={
                    "client_id": self._credentials.oauth_client_id or "",
                    "client_secret": self._credentials.oauth_client_secret or "",
                    "grant_type": "client_credentials",
                },
            )
        except TailscaleError as err:
            if isinstance(err, TailscaleRateLimitError | TailscaleConnectionError):
                raise
            # 400 invalid_client and the like: the OAuth client itself is no good.
            raise TailscaleOAuthClientError("the OAuth client was refused") from err
        token = answer.get("access_token") if isinstance(answer, dict) else None
        lifetime = answer.get("expires_in") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            raise TailscaleOAuthClientError("the token endpoint answered without a usable token")
        return token, self._clock() + timedelta(seconds=float(lifetime))

    async def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        url = self._base.with_path(self._base.path + path)
        if params:
            url = url.with_query(params)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT.total_seconds()):
                async with self._session.request(
                    method,
                    url,
                    headers={"Accept": "application/json", **(headers or {})},
                    json=json_body,
                    data=form,
                ) as response:
                    text = await response.text()
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
        except TimeoutError as err:
            raise TailscaleConnectionError("the Tailscale API did not answer in time") from err
        except aiohttp.ClientError as err:
            raise TailscaleConnectionError(f"cannot reach the Tailscale API: {err}") from err
        if status >= 400:
            self._raise_for(status, text, retry_after)
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError as err:
            raise TailscaleConnectionError("the answer is not the Tailscale API's JSON") from err

    def _raise_for(self, status: int, text: str, retry_after: str | None) -> None:
        message = _message(text) or f"HTTP {status}"
        if status == 429:
            seconds = retry_after_seconds(retry_after, self._clock())
            self.blocked_until = self._clock() + timedelta(seconds=seconds)
            raise TailscaleRateLimitError(seconds)
        if status == 401:
            # A refused access token is not used again; the next request fetches another.
            self._token = None
            self._token_expires = None
            raise TailscaleAuthError(message)
        if status == 403:
            raise TailscalePermissionError(message)
        if status == 404:
            raise TailscaleNotFoundError(message)
        raise TailscaleError(f"HTTP {status}: {message}")


def _segment(value: str) -> str:
    """A device id as one path segment, so it cannot reach another endpoint."""
    if value in ("", ".", ".."):
        raise TailscaleNotFoundError(f"no device {value!r}")
    return quote(value, safe="")


def _message(text: str) -> str | None:
    """The explanation the API gives in its JSON error body."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) and message else None


def _device_list(answer: Any) -> list[dict[str, Any]]:
    devices = answer.get("devices") if isinstance(answer, dict) else None
    if not isinstance(devices, list):
        raise TailscaleConnectionError("the answer holds no device list")
    return [cast("dict[str, Any]", device) for device in devices if isinstance(device, dict)]
