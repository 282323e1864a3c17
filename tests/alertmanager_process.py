"""A real Prometheus Alertmanager process on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
import os
from pathlib import Path
import shutil
import socket
import subprocess
from typing import Any

import aiohttp

ALERTMANAGER_BIN = os.environ.get("ALERTMANAGER_BIN", "prometheus-alertmanager")
AMTOOL_BIN = os.environ.get("AMTOOL_BIN", "amtool")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(kw_only=True)
class WebhookTarget:
    """Where Alertmanager delivers: Home Assistant's webhook URL and its bearer token."""

    url: str
    token: str | None
    receiver: str = "home-assistant"


@dataclass
class AlertmanagerProcess:
    """Start, configure and drive one Alertmanager."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        """The alertmanager.yml in use."""
        return self.workdir / "alertmanager.yml"

    def write_config(self, target: WebhookTarget | None) -> None:
        """Route every alert to the webhook (or nowhere), grouped per alert, fast."""
        lines = [
            "route:",
            "  receiver: " + (target.receiver if target else "blackhole"),
            "  group_by: ['...']",
            "  group_wait: 200ms",
            "  group_interval: 500ms",
            "  repeat_interval: 1h",
            "receivers:",
        ]
        if target is None:
            lines.append("  - name: blackhole")
        else:
            lines += [
                f"  - name: {target.receiver}",
                "    webhook_configs:",
                f'      - url: "{target.url}"',
                "        send_resolved: true",
                "        max_alerts: 500",
            ]
            if target.token:
                lines += [
                    "        http_config:",
                    "          authorization:",
                    "            type: Bearer",
                    f'            credentials: "{target.token}"',
                ]
        self.config_path.write_text("\n".join(lines) + "\n")

    async def start(self, target: WebhookTarget | None = None) -> None:
        """Start the process and wait until its API answers."""
        binary = shutil.which(ALERTMANAGER_BIN)
        if binary is None:
            raise RuntimeError(
                f"{ALERTMANAGER_BIN} not found: run scripts/setup (Debian prometheus-alertmanager)"
            )
        self.write_config(target)
        self.process = subprocess.Popen(  # noqa: ASYNC220 - returns at once; the process outlives the call
            [
                binary,
                f"--config.file={self.config_path}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "alertmanager.log").open("wb"),
        )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"{self.url}/-/ready") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        log = (self.workdir / "alertmanager.log").read_text(errors="replace")
        raise RuntimeError(f"Alertmanager did not become ready:\n{log[-2000:]}")

    async def reconfigure(self, target: WebhookTarget | None) -> None:
        """Write a new configuration and reload it."""
        self.write_config(target)
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/-/reload") as response,
        ):
            assert response.status == 200, await response.text()

    def stop(self) -> None:
        """Stop the process."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    async def post_alerts(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Post alerts the way Prometheus does (POST /api/v2/alerts)."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/api/v2/alerts", json=list(alerts)) as response,
        ):
            assert response.status == 200, await response.text()

    async def api(self, path: str) -> Any:
        """GET a v2 API path and return its JSON."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.url}/api/v2/{path}") as response,
        ):
            assert response.status == 200, await response.text()
            return await response.json()

    async def amtool(self, *args: str) -> str:
        """Run amtool against this Alertmanager and return its output."""
        process = await asyncio.create_subprocess_exec(
            AMTOOL_BIN,
            f"--alertmanager.url={self.url}",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        return stdout.decode()
