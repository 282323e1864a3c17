"""Pi-hole v6 REST API over Home Assistant's shared aiohttp session, with one reused session.

Pi-hole limits API sessions ("seats", 429 `api_seats_exceeded`), so the client logs in once
(`POST /api/auth`), sends the session id (`X-FTL-SID`) with every request, logs in again only
when a request answers 401 (once; a second 401 is an authentication failure), and logs out on
unload. A 429 (seats or rate limiting) makes the client refuse every request until its
`Retry-After` (or a minute) has passed, so nothing can turn it into a login storm.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import time
from typing import Any, Final

import aiohttp
from yarl import URL

from ...const import LOGGER

REQUEST_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
DEFAULT_BACKOFF: Final = 60.0  # seconds without any request after a 429 without Retry-After
MAX_BACKOFF: Final = 3600.0

type JsonObject = dict[str, Any]


class PiholeError(Exception):
    """The Pi-hole could not answer as expected."""


class PiholeConnectionError(PiholeError):
    """No answer: refused, timed out, TLS failure, or an HTTP error status."""


class PiholeAuthError(PiholeError):
    """The password (or app password) was refused, or a session is needed and none works."""


class PiholeNotPiholeError(PiholeError):
    """Something answered, but not as Pi-hole v6's API."""


class PiholeRateLimitError(PiholeError):
    """429: every seat is taken, or the Pi-hole rate-limits this client."""

    def __init__(self, message: str, retry_after: float, *, seats: bool) -> None:
        """Remember how long to wait and whether the sessions ("seats") ran out."""
        super().__init__(message)
        self.retry_after = retry_after
        self.seats = seats


def _monotonic() -> float:
    # Looked up at each call, so a test's frozen clock also drives the back-off.
    return time.monotonic()


def api_base(url: str) -> URL:
    """The API root for what a user types: `http://pi.hole`, `.../admin` or `.../api`."""
    parsed = URL(url.strip())
    path = parsed.path.rstrip("/")
    for suffix in ("/api", "/admin"):
        path = path.removesuffix(suffix)
    return parsed.with_path(f"{path}/api").with_query(None).with_fragment(None)


class PiholeClient:
    """Calls of one Pi-hole; serialises logins so parallel calls share one session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        password: str | None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Reach the Pi-hole at `url`; `password` None or empty for one without a password."""
        self._session = session
        self._base = api_base(url)
        self._password = password or None
        self._clock = clock or _monotonic
        self._sid: str | None = None
        self._login_lock = asyncio.Lock()
        self._quiet_until: float | None = None
        self.logins = 0  # sessions this client created (diagnostics)
        self.timeout = REQUEST_TIMEOUT

    @property
    def has_session(self) -> bool:
        """Whether a session is held now."""
        return self._sid is not None

    @property
    def backing_off(self) -> float:
        """Seconds left before the client sends requests again after a 429 (0: none)."""
        if self._quiet_until is None:
            return 0.0
        return max(0.0, self._quiet_until - self._clock())

    async def get(self, path: str, params: dict[str, str] | None = None) -> JsonObject:
        """GET a path below `/api`, e.g. `/stats/summary`."""
        return await self._call("GET", path, params=params)

    async def post(self, path: str, body: JsonObject) -> JsonObject:
        """POST a JSON body to a path below `/api`."""
        return await self._call("POST", path, body=body)

    async def async_check(self) -> JsonObject:
        """Log in (or check that no password is needed) and read the host's identity."""
        if self._password is None:
            status, answer, _ = await self._send("GET", "/auth")
            session = _session_of(answer)
            if status == 401 or not session.get("valid"):
                raise PiholeAuthError("the Pi-hole needs a password")
        else:
            await self._login()
        return await self.get("/info/host")

    async def async_logout(self) -> None:
        """End the session (frees its seat); failures only matter to the Pi-hole's timeout."""
        if self._sid is None:
            return
        try:
            await self._send("DELETE", "/auth")
        except PiholeError as err:
            LOGGER.debug("Pi-hole logout failed: %s", err)
        self._sid = None

    async def _call(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> JsonObject:
        if self._password is not None and self._sid is None:
            await self._login()
        sid = self._sid
        status, answer, headers = await self._send(method, path, params=params, body=body)
        if status == 401 and self._password is not None:
            # The session expired (Pi-hole restarted, or a timeout): one new login, one retry.
            await self._login(stale=sid)
            status, answer, headers = await self._send(method, path, params=params, body=body)
        return self._checked(status, answer, headers)

    async def _login(self, stale: str | None = None) -> None:
        async with self._login_lock:
            if self._sid is not None and self._sid != stale:
                return  # another call logged in while this one waited
            self._sid = None
            status, answer, headers = await self._send(
                "POST", "/auth", body={"password": self._password}
            )
            session = _session_of(self._checked(status, answer, headers))
            if not session.get("valid"):
                raise PiholeAuthError("the Pi-hole refused the password")
            sid = session.get("sid")
            # A valid answer without a session: the Pi-hole has no password.
            self._sid = sid if isinstance(sid, str) and sid else None
            if self._sid is None:
                self._password = None
            else:
                self.logins += 1

    def _checked(self, status: int, answer: Any, headers: dict[str, str]) -> JsonObject:
        if status == 429:
            key = _error_key(answer)
            retry_after = _retry_after(headers.get("Retry-After"))
            self._quiet_until = self._clock() + retry_after
            raise PiholeRateLimitError(
                f"HTTP 429 {key or 'too many requests'}",
                retry_after,
                seats=key == "api_seats_exceeded",
            )
        if status == 401:
            raise PiholeAuthError("the Pi-hole needs a password")
        if status == 404:
            raise PiholeNotPiholeError("no Pi-hole v6 API at this URL (404)")
        if status >= 400:
            detail = _error_key(answer) or "error"
            raise PiholeConnectionError(f"HTTP {status} {detail}")
        if not isinstance(answer, dict):
            raise PiholeNotPiholeError("the answer is not a Pi-hole v6 JSON object")
        return answer

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """One request; the status, the parsed JSON (None when not JSON) and the headers."""
        if (wait := self.backing_off) > 0:
            raise PiholeRateLimitError(f"waiting {wait:.0f} s after HTTP 429", wait, seats=False)
        self._quiet_until = None
        headers = {"X-FTL-SID": self._sid} if self._sid else {}
        url = self._base.with_path(f"{self._base.path}{path}")
        try:
            async with self._session.request(
                method,
                url,
                params=params,
                json=body,
                headers=headers,
                timeout=self.timeout,
            ) as response:
                if response.status == 204:
                    return 204, {}, dict(response.headers)
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
                return response.status, answer, dict(response.headers)
        except TimeoutError as err:
            raise PiholeConnectionError("the Pi-hole did not answer in time") from err
        except aiohttp.ClientError as err:
            raise PiholeConnectionError(f"cannot reach the Pi-hole: {err}") from err


def _session_of(answer: Any) -> JsonObject:
    session = answer.get("session") if isinstance(answer, dict) else None
    if not isinstance(session, dict):
        raise PiholeNotPiholeError("the answer has no Pi-hole session object")
    return session


def _error_key(answer: Any) -> str | None:
    error = answer.get("error") if isinstance(answer, dict) else None
    key = error.get("key") if isinstance(error, dict) else None
    return key if isinstance(key, str) else None


def _retry_after(value: str | None) -> float:
    try:
        seconds = float(value) if value is not None else DEFAULT_BACKOFF
    except ValueError:
        seconds = DEFAULT_BACKOFF
    return min(max(seconds, 1.0), MAX_BACKOFF)
