"""A small async client for the Docker Engine API (also Podman's Docker-compatible API).

Transport, by endpoint:
- `unix:///var/run/docker.sock`: a dedicated aiohttp session on a `UnixConnector` (Home
  Assistant's shared session only speaks TCP); closed when the entry unloads.
- `tcp://host:2375` (or `http://`): Home Assistant's shared session.
- `https://host:2376`: Home Assistant's shared session when the server's certificate is checked
  against the system's authorities (or not at all); a dedicated session with its own SSL context
  when a CA certificate or a client certificate is given, so the client key never sits in the
  shared session's context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
import errno
import json
from pathlib import Path
import ssl
import tempfile
from typing import Any, Final

import aiohttp
from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util.ssl import create_client_context
from yarl import URL

from ..const import REQUEST_TIMEOUT

PEM_MARKER: Final = "-----BEGIN"
# Stop and restart wait for the container's own stop timeout before the engine answers.
ACTION_GRACE: Final = 20.0  # seconds on top of the stop timeout


class DockerError(Exception):
    """The engine could not be asked, or it refused."""


class DockerEndpointError(DockerError):
    """The endpoint is not unix://, tcp://, http:// or https://."""


class DockerCertificateError(DockerError):
    """A CA, client certificate or key could not be read or does not fit."""


class DockerConnectionError(DockerError):
    """The engine did not answer (refused, timeout, socket missing)."""


class DockerTlsError(DockerConnectionError):
    """The TLS handshake failed: untrusted certificate, or the client certificate refused."""


class DockerPermissionError(DockerConnectionError):
    """The socket exists but this process may not open it (EACCES)."""


class DockerAuthError(DockerError):
    """A proxy in front of the engine refused the request (401/403)."""


class DockerApiError(DockerError):
    """The engine answered with an error status and message."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the status so callers can say what happened."""
        super().__init__(message)
        self.status = status


class DockerNotFoundError(DockerApiError):
    """404: no such container."""


class DockerNotModifiedError(DockerApiError):
    """304: the container is already started (or stopped)."""


class DockerConflictError(DockerApiError):
    """409: the container's state does not allow the action."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DockerEndpoint:
    """How to reach one engine; certificates are a file path or pasted PEM text."""

    url: str
    verify_ssl: bool = True
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None


def parse_endpoint(url: str) -> tuple[str, str]:
    """(`unix`, socket path) or (`http`/`https`, base URL); raises DockerEndpointError."""
    text = url.strip()
    if text.startswith("unix://"):
        path = text.removeprefix("unix://")
        if not path.startswith("/"):
            raise DockerEndpointError(url)
        return "unix", path
    try:
        parsed = URL(text)
    except ValueError as err:
        raise DockerEndpointError(url) from err
    if parsed.scheme not in ("tcp", "http", "https") or not parsed.host:
        raise DockerEndpointError(url)
    scheme = "https" if parsed.scheme == "https" else "http"
    port = parsed.explicit_port or (2376 if scheme == "https" else 2375)
    return scheme, str(URL.build(scheme=scheme, host=parsed.host, port=port))


def _load_pem(value: str, folder: Path, name: str) -> str:
    """A path to the PEM: pasted text is written to a private temporary file first."""
    if PEM_MARKER not in value:
        return value.strip()
    path = folder / name
    path.write_text(value.strip() + "\n")
    path.chmod(0o600)
    return str(path)


def build_ssl_context(endpoint: DockerEndpoint) -> ssl.SSLContext:
    """An SSL context with the endpoint's CA and client certificate (blocking: executor)."""
    if endpoint.verify_ssl:
        context = create_client_context()
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with tempfile.TemporaryDirectory(prefix="homelab-docker-") as folder:
            if endpoint.ca_cert and endpoint.verify_ssl:
                if PEM_MARKER in endpoint.ca_cert:
                    context.load_verify_locations(cadata=endpoint.ca_cert)
                else:
                    context.load_verify_locations(cafile=endpoint.ca_cert.strip())
            if endpoint.client_cert:
                context.load_cert_chain(
                    _load_pem(endpoint.client_cert, Path(folder), "cert.pem"),
                    _load_pem(endpoint.client_key or endpoint.client_cert, Path(folder), "key.pem"),
                )
    except (OSError, ssl.SSLError, ValueError) as err:
        # Never the key's text: the error names only what failed to load.
        raise DockerCertificateError(type(err).__name__) from err
    return context


async def async_create_client(hass: HomeAssistant, endpoint: DockerEndpoint) -> DockerClient:
    """A client with the session the endpoint needs (see the module docstring)."""
    scheme, target = parse_endpoint(endpoint.url)
    if scheme == "unix":
        connector: aiohttp.BaseConnector = aiohttp.UnixConnector(path=target)
        base = "http://localhost"
    elif scheme == "https" and (endpoint.client_cert or (endpoint.ca_cert and endpoint.verify_ssl)):
        context = await hass.async_add_executor_job(build_ssl_context, endpoint)
        connector = aiohttp.TCPConnector(ssl=context)
        base = target
    else:
        return DockerClient(async_get_clientsession(hass, verify_ssl=endpoint.verify_ssl), target)
    session = aiohttp.ClientSession(connector=connector)
    client = DockerClient(session, base)

    async def close_with_hass(_event: Event) -> None:
        client.on_close = None  # the listener is gone once it fired
        await session.close()

    # A dedicated session must not outlive Home Assistant, even if the entry never unloads.
    client.on_close = hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, close_with_hass)
    return client


class DockerClient:
    """Reads the engine and its containers, and starts, stops and restarts them."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        """Talk to the engine at `base` through `session`."""
        self._session = session
        self._base = URL(base)
        # Set for a dedicated session: it is closed with the client (or at HA's close).
        self.on_close: CALLBACK_TYPE | None = None
        self.requests = 0  # made since creation: the benchmark and the docs count them

    async def close(self) -> None:
        """Close a dedicated session (never Home Assistant's shared one)."""
        if self.on_close is not None:
            self.on_close()
            self.on_close = None
            await self._session.close()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        seconds: float = REQUEST_TIMEOUT.total_seconds(),
    ) -> Any:
        self.requests += 1
        try:
            async with self._session.request(
                method,
                self._base.with_path(path),
                params=params,
                timeout=aiohttp.ClientTimeout(total=seconds),
            ) as response:
                body = await response.read()
                if response.status >= 300:
                    raise _status_error(response.status, body)
                if not body:
                    return None
                return json.loads(body)
        except (aiohttp.ClientSSLError, ssl.SSLError) as err:
            raise DockerTlsError(str(err)) from err
        except aiohttp.ClientConnectorError as err:
            if err.os_error.errno in (errno.EACCES, errno.EPERM):
                raise DockerPermissionError(str(err)) from err
            raise DockerConnectionError(str(err)) from err
        except (TimeoutError, aiohttp.ClientError) as err:
            raise DockerConnectionError(str(err) or type(err).__name__) from err
        except ValueError as err:  # not JSON
            raise DockerError(f"invalid answer: {err}") from err

    async def version(self) -> dict[str, Any]:
        """`GET /version`: engine name and version."""
        return _object(await self._request("GET", "/version"))

    async def info(self) -> dict[str, Any]:
        """`GET /info`: the engine's ID and host name."""
        return _object(await self._request("GET", "/info"))

    async def containers(self, health: str | None = None) -> list[dict[str, Any]]:
        """`GET /containers/json?all=true`: every container, optionally of one health state."""
        params = {"all": "true"}
        if health is not None:
            params["filters"] = json.dumps({"health": [health]})
        answer = await self._request("GET", "/containers/json", params=params)
        if not isinstance(answer, list):
            raise DockerError("the container list is not a list")
        return [item for item in answer if isinstance(item, dict)]

    async def inspect(self, container: str) -> dict[str, Any]:
        """`GET /containers/{id}/json`: state details, restart count, health check."""
        return _object(await self._request("GET", f"/containers/{container}/json"))

    async def stats(self, container: str) -> dict[str, Any]:
        """One sample of `GET /containers/{id}/stats` (no stream, no 1 s pre-sample wait)."""
        return _object(
            await self._request(
                "GET",
                f"/containers/{container}/stats",
                params={"stream": "false", "one-shot": "true"},
            )
        )

    async def action(self, container: str, action: str, stop_timeout: int) -> None:
        """POST start, stop or restart; stop and restart wait `stop_timeout` s before SIGKILL."""
        params = {} if action == "start" else {"t": str(stop_timeout)}
        await self._request(
            "POST",
            f"/containers/{container}/{action}",
            params=params,
            seconds=stop_timeout + ACTION_GRACE,
        )


def _object(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise DockerError("the answer is not an object")
    return answer


def _status_error(status: int, body: bytes) -> DockerError:
    try:
        message = str(json.loads(body).get("message") or "")
    except ValueError, AttributeError:
        message = body.decode(errors="replace").strip()
    message = message[:300] or f"HTTP {status}"
    if status in (401, 403):
        return DockerAuthError(message)
    if status == 304:
        return DockerNotModifiedError(status, message or "not modified")
    if status == 404:
        return DockerNotFoundError(status, message)
    if status == 409:
        return DockerConflictError(status, message)
    return DockerApiError(status, message)


async def gather_bounded[T](
    coroutines: list[Coroutine[Any, Any, T]], limit: int = 8
) -> list[T | BaseException]:
    """Run requests concurrently, at most `limit` at a time; exceptions are returned."""
    semaphore = asyncio.Semaphore(limit)

    async def run(coroutine: Coroutine[Any, Any, T]) -> T:
        async with semaphore:
            return await coroutine

    return list(await asyncio.gather(*(run(c) for c in coroutines), return_exceptions=True))
