"""A scriptable stand-in for Alertmanager's API, for answers a real one cannot give on demand.

Used for basic authentication (a reverse proxy in front of Alertmanager), cluster identities,
TLS and non-Alertmanager answers. Everything else is tested against the real process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
import ssl
import threading
from typing import Any

from aiohttp import BasicAuth, web


@dataclass
class FakeAlertmanager:
    """Behaviour of the fake; tests change it between requests."""

    cluster_status: str = "disabled"
    peer_name: str | None = None
    peers: list[str] = field(default_factory=list)
    credentials: tuple[str, str] | None = None
    status_code: int = 200
    status_body: Any = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    silences: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def _authorized(self, request: web.Request) -> bool:
        if self.credentials is None:
            return True
        header = request.headers.get("Authorization", "")
        try:
            auth = BasicAuth.decode(header)
        except ValueError:
            return False
        return (auth.login, auth.password) == self.credentials

    async def _status(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401, text="Unauthorized")
        if self.status_code != 200:
            return web.Response(status=self.status_code, text="nope")
        if self.status_body is not None:
            return web.json_response(self.status_body)
        cluster: dict[str, Any] = {"status": self.cluster_status, "peers": []}
        if self.peer_name:
            cluster["name"] = self.peer_name
            cluster["peers"] = [{"name": p, "address": "10.0.0.1:9094"} for p in self.peers]
        return web.json_response(
            {
                "cluster": cluster,
                "versionInfo": {"version": "0.25.0"},
                "config": {"original": ""},
                "uptime": "2026-11-27T10:00:00Z",
            }
        )

    async def _alerts(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401, text="Unauthorized")
        return web.json_response(self.alerts)

    async def _silences(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401, text="Unauthorized")
        return web.json_response(self.silences)

    def app(self) -> web.Application:
        """The aiohttp application serving the v2 paths the integration uses."""
        app = web.Application()
        app.router.add_get("/api/v2/status", self._status)
        app.router.add_get("/api/v2/alerts", self._alerts)
        app.router.add_get("/api/v2/silences", self._silences)
        return app


@asynccontextmanager
async def serve(
    fake: FakeAlertmanager, ssl_context: ssl.SSLContext | None = None
) -> AsyncGenerator[FakeAlertmanager]:
    """Serve the fake on 127.0.0.1 with an OS-chosen port; sets `fake.url`."""
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_in_thread(
    fake: FakeAlertmanager, ssl_context: ssl.SSLContext
) -> AsyncGenerator[FakeAlertmanager]:
    """Serve over TLS from a thread with its own loop.

    A refused handshake is reported by the server's loop; on the test's own loop Home
    Assistant's harness would count that report as an error of the test.
    """
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner = web.AppRunner(fake.app(), access_log=None)

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        fake.url = f"https://127.0.0.1:{runner.addresses[0][1]}"

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(lambda _loop, _context: None)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="fake-alertmanager-tls")
    thread.start()
    await asyncio.to_thread(started.wait, 10)
    try:
        yield fake
    finally:
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 10)
