"""Proxmox API client (VE and Backup Server): proxmoxer in the executor, one call at a time.

Errors are mapped once, here. A certificate fingerprint pins the server's certificate instead of
a CA check, as Proxmox's own tools do for self-signed certificates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import re
from typing import Any, Literal
import warnings

from homeassistant.core import HomeAssistant
from proxmoxer import AuthenticationError, ProxmoxAPI, ResourceException
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning

REQUEST_TIMEOUT_SECONDS = 10

type GuestType = Literal["qemu", "lxc"]
type ProxmoxService = Literal["PVE", "PBS"]


class ProxmoxError(Exception):
    """A call to Proxmox VE failed."""


class ProxmoxConnectionError(ProxmoxError):
    """Proxmox did not answer: refused, timeout, or a node it proxies to was unreachable."""


class ProxmoxTlsError(ProxmoxConnectionError):
    """The certificate was not accepted."""


class ProxmoxAuthError(ProxmoxError):
    """The credentials were refused (401)."""


class ProxmoxPermissionError(ProxmoxError):
    """The token lacks a privilege (403); the message names privilege and path."""


class ProxmoxApiError(ProxmoxError):
    """Proxmox answered with an error of its own (e.g. 500 "no quorum")."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxmoxCredentials:
    """How to reach and authenticate to a Proxmox VE API."""

    host: str
    port: int
    username: str
    verify_ssl: bool
    token_id: str | None = None
    token_secret: str | None = None
    password: str | None = None
    service: ProxmoxService = "PVE"
    # SHA-256 of the server certificate ("AA:BB:..."): checked instead of a CA chain.
    fingerprint: str | None = None


class _PinnedCertificateAdapter(HTTPAdapter):
    """Accepts exactly the certificate with this SHA-256 fingerprint (urllib3 checks it)."""

    def __init__(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(*args, **kwargs)


_CODE_IN_LOGIN_ERROR = re.compile(r"code: (\d+)")


class ProxmoxClient:
    """Serialises every call on one proxmoxer session; proxmoxer itself is synchronous."""

    def __init__(self, hass: HomeAssistant, credentials: ProxmoxCredentials) -> None:
        """Prepare a client; the session (and a password login) is made on first use."""
        self._hass = hass
        self._credentials = credentials
        self._api: ProxmoxAPI | None = None
        self._lock = asyncio.Lock()

    async def call(self, method: str, path: str, **params: Any) -> Any:
        """Call `method` on `path` (e.g. "get", "cluster/resources"); returns the data."""
        async with self._lock:
            return await self._hass.async_add_executor_job(self._call, method, path, params)

    def _connect(self) -> ProxmoxAPI:
        credentials = self._credentials
        common: dict[str, Any] = {
            "port": credentials.port,
            "user": credentials.username,
            # A pinned certificate replaces the CA check (self-signed certificates).
            "verify_ssl": credentials.verify_ssl and not credentials.fingerprint,
            "timeout": REQUEST_TIMEOUT_SECONDS,
            "service": credentials.service,
        }
        if credentials.token_id:
            api = ProxmoxAPI(
                credentials.host,
                token_name=credentials.token_id,
                token_value=credentials.token_secret,
                **common,
            )
        else:
            api = ProxmoxAPI(credentials.host, password=credentials.password, **common)
        if credentials.fingerprint:
            # proxmoxer has no hook for the session it makes; `_store` holds it.
            api._store["session"].mount(
                "https://", _PinnedCertificateAdapter(credentials.fingerprint)
            )
        return api

    def _call(self, method: str, path: str, params: dict[str, Any]) -> Any:
        with warnings.catch_warnings():
            # The user chose not to verify; the repair issue says so once, not every poll.
            warnings.simplefilter("ignore", InsecureRequestWarning)
            try:
                try:
                    return self._request(method, path, params)
                except requests.exceptions.ConnectionError:
                    if method != "get":
                        raise
                    # A kept-alive connection the server closed while idle: a GET is safe
                    # to send again.
                    return self._request(method, path, params)
            except requests.exceptions.ConnectionError as err:
                raise ProxmoxConnectionError(type(err).__name__) from err

    def _request(self, method: str, path: str, params: dict[str, Any]) -> Any:
        try:
            if self._api is None:
                self._api = self._connect()
            resource = self._api(path)
            request: Callable[..., Any] = getattr(resource, method)
            return request(**params)
        except AuthenticationError as err:
            self._api = None
            match = _CODE_IN_LOGIN_ERROR.search(str(err))
            if match and match.group(1) in ("401", "403"):
                raise ProxmoxAuthError("login refused") from err
            raise ProxmoxConnectionError(f"login failed: {_without_secrets(err)}") from err
        except ResourceException as err:
            raise _from_status(err) from err
        except requests.exceptions.SSLError as err:
            self._api = None
            raise ProxmoxTlsError("TLS certificate not accepted") from err
        except requests.exceptions.ConnectionError:
            raise  # the caller decides whether a retry is safe
        except (requests.exceptions.RequestException, OSError) as err:
            raise ProxmoxConnectionError(type(err).__name__) from err


def _without_secrets(err: Exception) -> str:
    # proxmoxer's login error names the URL and user, never the password.
    return str(err)[:200]


def _from_status(err: ResourceException) -> ProxmoxError:
    message = str(err.content or err.status_message or "").strip()
    status = err.status_code
    if status == 401:
        return ProxmoxAuthError(message or "authentication failure")
    if status == 403:
        return ProxmoxPermissionError(message or "permission denied")
    if status in (595, 596) or status >= 502:
        # 595/596: pveproxy could not reach the node; not a credentials problem.
        return ProxmoxConnectionError(f"HTTP {status}: {message}")
    return ProxmoxApiError(f"HTTP {status}: {message}" if message else f"HTTP {status}")
