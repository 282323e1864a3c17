"""The HTTPS server lifecycle the simulators share: certificate, listening socket, clean stop.

`HttpsServer` serves one aiohttp application over TLS with a self-signed certificate generated at
start, and on stop cuts every open connection and removes the certificate again, leaving no timer,
task or file behind. `HttpsSimulator` is the base of the simulator classes: `async with` runs
their `start()` and `stop()`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Callable
import shutil
from types import TracebackType
from typing import Final, Self

from aiohttp import web

from simulators.tls import SelfSignedCertificate, generate_self_signed

type ApplicationFactory = Callable[[SelfSignedCertificate], web.Application]
"""Builds the application to serve, given the certificate generated for this start."""

_NOT_STARTED: Final = "the simulator has not been started"


class HttpsServer:
    """One aiohttp application on `host:port` over HTTPS, between `start()` and `stop()`.

    The address and certificate stay readable after `stop()`; a new `start()` replaces them.
    """

    def __init__(self) -> None:
        """Nothing listens until `start()`."""
        self._runner: web.AppRunner | None = None
        self._certificate: SelfSignedCertificate | None = None
        self._host: str | None = None
        self._port: int | None = None

    async def start(self, application: ApplicationFactory, *, host: str, port: int) -> int:
        """Generate a certificate, build the application and listen; return the bound port.

        Port 0 listens on a port the OS picks. An address in use raises `OSError`, with nothing
        left running.
        """
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        certificate = generate_self_signed()
        try:
            runner = await _listen(application(certificate), host, port, certificate)
        except BaseException:
            # No `stop()` follows a failed start, so the certificate must not outlive it.
            _remove(certificate)
            raise
        self._runner = runner
        self._certificate = certificate
        self._host = host
        self._port = int(runner.addresses[0][1])
        return self._port

    async def stop(self) -> None:
        """Close every connection, stop listening and remove the certificate's folder.

        Callers release the requests their application holds first: those would otherwise keep
        the runner's cleanup waiting for its shutdown timeout.
        """
        if self._runner is not None:
            server = self._runner.server
            # Abort instead of a graceful TLS close: that waits up to 30 s per connection for a
            # close_notify that pooled clients never send, leaving a timer behind the simulator.
            for connection in server.connections if server is not None else []:
                if connection.transport is not None:
                    connection.transport.abort()
            # Let the aborted connections' connection_lost callbacks run before the cleanup.
            await asyncio.sleep(0)
            await self._runner.cleanup()
            self._runner = None
        if self._certificate is not None:
            _remove(self._certificate)

    @property
    def host(self) -> str:
        """The address listened on."""
        if self._host is None:
            raise RuntimeError(_NOT_STARTED)
        return self._host

    @property
    def port(self) -> int:
        """The port listened on (the OS's pick when started with port 0)."""
        if self._port is None:
            raise RuntimeError(_NOT_STARTED)
        return self._port

    @property
    def url(self) -> str:
        """The base URL, e.g. `https://127.0.0.1:8006`."""
        return f"https://{self.host}:{self.port}"

    @property
    def certificate(self) -> SelfSignedCertificate:
        """The certificate generated at start."""
        if self._certificate is None:
            raise RuntimeError(_NOT_STARTED)
        return self._certificate


async def _listen(
    application: web.Application, host: str, port: int, certificate: SelfSignedCertificate
) -> web.AppRunner:
    """Serve the application on host:port over TLS; nothing is left running if that fails."""
    # Callers release held requests before `stop()`, so a short shutdown wait is enough.
    runner = web.AppRunner(application, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=certificate.server_context())
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def _remove(certificate: SelfSignedCertificate) -> None:
    """Delete the folder `generate_self_signed()` made for the certificate and its key."""
    shutil.rmtree(certificate.cert_path.parent, ignore_errors=True)


class HttpsSimulator(ABC):
    """A simulator served by an `HttpsServer`; `async with` starts it and stops it again."""

    def __init__(self) -> None:
        """Make the (not yet listening) server."""
        self._server = HttpsServer()

    @abstractmethod
    async def start(self) -> None:
        """Start serving."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop serving and leave nothing behind."""

    @property
    def certificate(self) -> SelfSignedCertificate:
        """The self-signed certificate generated at start (`fingerprint_sha256`, `cert_path`)."""
        return self._server.certificate

    async def __aenter__(self) -> Self:
        """Start, for `async with Simulator(...) as sim:`."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()
