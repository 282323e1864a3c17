"""A local stand-in in front of the engine: TLS (optionally with client certificates) or plain.

It runs on an event loop of its own thread, so handshakes it refuses are not errors of the
test's (Home Assistant's) loop.

By default it proxies every request to the Podman socket, so an `https://` entry talks to the
real engine through it, as to a Docker daemon with `--tlsverify`. Tests can make it answer
something else instead (401, a non-Docker answer, another engine's ID).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
import shutil
import ssl
import threading
from typing import Any

import aiohttp
from aiohttp import web

from simulators.tls import SelfSignedCertificate, generate_self_signed


class EngineStandIn:
    """An HTTP(S) server on 127.0.0.1 forwarding to a unix socket."""

    def __init__(
        self, socket_path: Path, *, tls: bool = True, client_certificate: bool = False
    ) -> None:
        """Forward to `socket_path`; with `client_certificate`, only a known client gets in."""
        self.socket_path = socket_path
        self.tls = tls
        self.require_client = client_certificate
        self.server_cert: SelfSignedCertificate | None = None
        self.client_cert: SelfSignedCertificate | None = None
        # (status, body) for every request instead of proxying; a str body is sent as text.
        self.answer: tuple[int, Any] | None = None
        self.overrides: dict[str, Any] = {}  # path -> JSON body, or (status, body)
        self.requests: list[str] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The endpoint as the config flow takes it."""
        return f"{'https' if self.tls else 'tcp'}://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free port, in a thread of its own."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        await self._in_thread(self._start())

    async def stop(self) -> None:
        """Stop listening and the thread; remove the certificates."""
        await self._in_thread(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join, 10)
        self._loop.close()

    async def _in_thread(self, coroutine: Coroutine[Any, Any, None]) -> None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    async def _start(self) -> None:
        context = None
        if self.tls:
            self.server_cert = generate_self_signed()
            context = self.server_cert.server_context()
            if self.require_client:
                self.client_cert = generate_self_signed("homeassistant")
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(self.client_cert.cert_path)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.UnixConnector(path=str(self.socket_path))
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        for cert in (self.server_cert, self.client_cert):
            if cert is not None:
                shutil.rmtree(cert.cert_path.parent, ignore_errors=True)

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        if self.answer is not None:
            return _response(*self.answer)
        if request.path in self.overrides:
            override = self.overrides[request.path]
            return _response(*override) if isinstance(override, tuple) else _response(200, override)
        assert self._session is not None
        async with self._session.request(
            request.method,
            f"http://d{request.path_qs}",
            data=await request.read(),
            headers={"Content-Type": request.content_type},
        ) as answer:
            body = await answer.read()
            if answer.status in (204, 304):
                return web.Response(status=answer.status)
            return web.Response(body=body, status=answer.status, content_type=answer.content_type)


def _response(status: int, body: Any) -> web.Response:
    if isinstance(body, str):
        return web.Response(text=body, status=status)
    return web.json_response(body, status=status)
