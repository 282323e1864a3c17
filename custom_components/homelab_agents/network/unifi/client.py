"""A small client for the UniFi Network application's (unofficial) REST API.

One login per client lifetime: the session cookie (and CSRF token) is reused for every poll,
a 401 leads to exactly one new login and one retry, a 429 on login blocks further logins
until its Retry-After has passed, and `logout` ends the session on unload.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
import logging
import time
from typing import Any, Final

import aiohttp
from yarl import URL

_LOGGER = logging.getLogger(__name__)

REQUEST_TIMEOUT: Final = aiohttp.ClientTimeout(total=15)
# Logging out must not hold up an unload (or Home Assistant's stop) for a console that is gone.
LOGOUT_TIMEOUT: Final = aiohttp.ClientTimeout(total=5)
# 499: UniFi OS asks for a second factor; accounts with MFA cannot log in unattended.
_LOGIN_REFUSED: Final = (400, 401, 403, 499)
# UniFi OS does not always say how long a login block lasts; its limit counts per minute.
DEFAULT_LOGIN_BACKOFF: Final = 60.0
MAX_LOGIN_BACKOFF: Final = 900.0


class UnifiError(Exception):
    """The controller could not answer as asked."""


class UnifiConnectionError(UnifiError):
    """No (HTTP) answer: refused, timed out, or a gateway error while the console restarts."""


class UnifiTlsError(UnifiConnectionError):
    """The console's certificate was not accepted."""


class UnifiAuthError(UnifiError):
    """The username or password was refused."""


class UnifiSiteError(UnifiError):
    """The site does not exist (or the account cannot see it)."""


class UnifiRateLimitError(UnifiError):
    """The controller refuses logins (429) for `retry_after` more seconds."""

    def __init__(self, retry_after: float) -> None:
        """Remember how long to wait."""
        super().__init__(f"login rate limit reached; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True, kw_only=True)
class UnifiCredentials:
    """Where the Network application is and who logs in (the password never leaves here)."""

    host: str
    port: int
    username: str
    password: str
    site: str
    verify_ssl: bool

    def __repr__(self) -> str:
        """Without the password."""
        return f"UnifiCredentials({self.username}@{self.host}:{self.port}, site={self.site})"


@dataclass(frozen=True, slots=True)
class SiteRef:
    """A site as `/api/self/sites` lists it."""

    site_id: str
    name: str  # the short name used in API paths, e.g. "default"
    desc: str  # what the UI shows, e.g. "Default"


class UnifiClient:
    """Logs in once and reads one site's statistics."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: UnifiCredentials,
        login_blocks: dict[str, float] | None = None,
    ) -> None:
        """Use `session` (one with a cookie-less jar: cookies are kept here).

        `login_blocks` (host:port to a `time.monotonic()` deadline) outlives the client, so a
        429 is honoured across entry reloads and setup retries too.
        """
        self._session = session
        self._credentials = credentials
        self._base = URL.build(scheme="https", host=credentials.host, port=credentials.port)
        self._unifi_os: bool | None = None
        self._cookies: dict[str, str] = {}
        self._csrf: str | None = None
        self._login_blocks = {} if login_blocks is None else login_blocks
        self._block_key = f"{credentials.host}:{credentials.port}"
        self._login_lock = asyncio.Lock()
        self.logins = 0

    @property
    def unifi_os(self) -> bool | None:
        """Whether the controller is a UniFi OS console (None before the first login)."""
        return self._unifi_os

    def _api(self, path: str) -> URL:
        prefix = "/proxy/network/api" if self._unifi_os else "/api"
        return self._base.with_path(f"{prefix}/{path}")

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self._cookies.items())
        if self._csrf:
            headers["X-CSRF-Token"] = self._csrf
        return headers

    async def _send(
        self,
        method: str,
        url: URL,
        json: dict[str, Any] | None = None,
        limit: aiohttp.ClientTimeout = REQUEST_TIMEOUT,
    ) -> tuple[aiohttp.ClientResponse, Any]:
        try:
            async with self._session.request(
                method,
                url,
                json=json,
                headers=self._headers(),
                allow_redirects=False,
                timeout=limit,
            ) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                return response, body
        except aiohttp.ClientSSLError as err:
            raise UnifiTlsError(str(err)) from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise UnifiConnectionError(str(err) or type(err).__name__) from err

    async def login(self) -> None:
        """Start a session; UnifiAuthError, UnifiRateLimitError or UnifiConnectionError."""
        async with self._login_lock:
            await self._login()

    async def _login(self) -> None:
        wait = self._login_blocks.get(self._block_key, 0.0) - time.monotonic()
        if wait > 0:
            raise UnifiRateLimitError(wait)
        if self._unifi_os is None:
            self._unifi_os = await self._detect_unifi_os()
        self._cookies, self._csrf = {}, None
        path = "/api/auth/login" if self._unifi_os else "/api/login"
        credentials = {
            "username": self._credentials.username,
            "password": self._credentials.password,
            "rememberMe": True,
        }
        response, _ = await self._send("POST", self._base.with_path(path), credentials)
        if response.status == HTTPStatus.TOO_MANY_REQUESTS:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            self._login_blocks[self._block_key] = time.monotonic() + retry_after
            _LOGGER.warning(
                "UniFi at %s refuses logins for %.0f s (too many attempts)",
                self._block_key,
                retry_after,
            )
            raise UnifiRateLimitError(retry_after)
        if response.status in _LOGIN_REFUSED:
            raise UnifiAuthError("the controller refused the username or password")
        if response.status != HTTPStatus.OK:
            raise UnifiConnectionError(f"login answered HTTP {response.status}")
        cookies = _session_cookies(response.headers.getall("Set-Cookie", []))
        if not cookies:
            raise UnifiError("the login set no session cookie")
        self._cookies = cookies
        self._csrf = response.headers.get("X-CSRF-Token") or cookies.get("csrf_token")
        self.logins += 1
        _LOGGER.debug(
            "Logged in to UniFi at %s (%s), login %d of this entry",
            self._block_key,
            "UniFi OS" if self._unifi_os else "classic controller",
            self.logins,
        )

    async def _detect_unifi_os(self) -> bool:
        """UniFi OS consoles answer `/` themselves; classic controllers redirect to /manage."""
        response, _ = await self._send("GET", self._base.with_path("/"))
        if response.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            # A console still booting: ask again at the next login rather than guess.
            raise UnifiConnectionError(f"HTTP {response.status}")
        return response.status == HTTPStatus.OK

    async def logout(self) -> None:
        """End the session (best effort: the controller may be gone already)."""
        if not self._cookies:
            return
        path = "/api/auth/logout" if self._unifi_os else "/api/logout"
        try:
            await self._send("POST", self._base.with_path(path), limit=LOGOUT_TIMEOUT)
        except UnifiError as err:
            _LOGGER.debug("Logout from UniFi at %s failed: %s", self._block_key, err)
        finally:
            self._cookies, self._csrf = {}, None

    async def get(self, path: str) -> list[dict[str, Any]]:
        """GET an API path below `/api/` (e.g. `self/sites`); returns the `data` rows."""
        if not self._cookies:
            await self.login()
        response, body = await self._send("GET", self._api(path))
        if response.status == HTTPStatus.UNAUTHORIZED:
            # The session ended (expiry, controller restart): one new login, one retry.
            _LOGGER.debug("UniFi at %s ended the session; logging in again", self._block_key)
            await self.login()
            response, body = await self._send("GET", self._api(path))
            if response.status == HTTPStatus.UNAUTHORIZED:
                raise UnifiAuthError("the controller ended the session again after a new login")
        new_csrf = response.headers.get("X-Updated-CSRF-Token")
        if new_csrf:
            self._csrf = new_csrf
        return _rows(response, body)

    async def site_get(self, path: str) -> list[dict[str, Any]]:
        """GET a path of the configured site, e.g. `stat/health`."""
        return await self.get(f"s/{self._credentials.site}/{path}")

    async def sites(self) -> list[SiteRef]:
        """The sites this account can see."""
        return [
            SiteRef(site_id=str(row["_id"]), name=str(row["name"]), desc=str(row.get("desc", "")))
            for row in await self.get("self/sites")
            if "_id" in row and "name" in row
        ]


def _session_cookies(headers: list[str]) -> dict[str, str]:
    """Name and value of each Set-Cookie header.

    Read by hand: attributes a Python version's cookie parser does not know (UniFi OS sets
    `Partitioned`) would make it drop the whole cookie.
    """
    cookies: dict[str, str] = {}
    for header in headers:
        name, _, value = header.split(";", 1)[0].partition("=")
        if name.strip() and value:
            cookies[name.strip()] = value.strip()
    return cookies


def _retry_after(header: str | None) -> float:
    try:
        seconds = float(header) if header is not None else DEFAULT_LOGIN_BACKOFF
    except ValueError:
        seconds = DEFAULT_LOGIN_BACKOFF
    return min(max(seconds, 1.0), MAX_LOGIN_BACKOFF)


def _rows(response: aiohttp.ClientResponse, body: Any) -> list[dict[str, Any]]:
    meta = body.get("meta") if isinstance(body, dict) else None
    if isinstance(meta, dict) and meta.get("rc") == "error":
        message = str(meta.get("msg", ""))
        if message == "api.err.NoSiteContext":
            raise UnifiSiteError(message)
        raise UnifiError(message or f"HTTP {response.status}")
    if response.status == HTTPStatus.TOO_MANY_REQUESTS:
        raise UnifiRateLimitError(_retry_after(response.headers.get("Retry-After")))
    if response.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise UnifiConnectionError(f"HTTP {response.status}")
    if response.status != HTTPStatus.OK or not isinstance(body, dict):
        raise UnifiError(f"unexpected answer (HTTP {response.status})")
    data = body.get("data")
    return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
