"""A real container engine for the tests and the demo: Podman's Docker API on a private socket.

No registry can be reached, so the image is imported from a busybox-static root file system.
The tests use one storage (and image) per session, each test its own containers, removed after
it; scripts/demo keeps a storage under .demo/ and reuses its containers on the next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from typing import Any, Final, Self

import aiohttp

IMAGE: Final = "localhost/busybox:latest"
CONTAINERS_CONF: Final = """[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
"""
# A long-running process that exits at once on SIGTERM, as well-behaved services do (a bare
# `sleep` as PID 1 ignores it, so every stop would wait out the stop timeout).
SERVICE_COMMAND: Final = ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]
APPLETS: Final = ("sh", "sleep", "true", "false", "echo", "cat", "ls", "kill")


def podman_available() -> bool:
    """Podman, runc and a static busybox are installed (scripts/setup installs them)."""
    return bool(shutil.which("podman") and shutil.which("runc") and _busybox())


def _busybox() -> str | None:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if Path(candidate).is_file():
            return candidate
    return None


@dataclass
class PodmanStorage:
    """Podman's storage (root, runroot) with the busybox image imported once."""

    folder: Path

    @property
    def env(self) -> dict[str, str]:
        """The environment every podman command and service runs with."""
        return {**os.environ, "CONTAINERS_CONF": str(self.folder / "containers.conf")}

    def command(self, *args: str) -> list[str]:
        """A podman command line on this storage."""
        root, runroot = self.folder / "root", self.folder / "run"
        return ["podman", "--root", str(root), "--runroot", str(runroot), *args]

    def has_image(self) -> bool:
        """The busybox image is already imported (a storage kept from an earlier run)."""
        found = subprocess.run(
            self.command("image", "exists", IMAGE),
            env=self.env,
            check=False,
            capture_output=True,
            timeout=60,
        )
        return found.returncode == 0

    def prepare(self) -> None:
        """Write the configuration, build the root file system and import it as the image.

        A storage that already holds the image (the demo's, on a second run) is left as it is.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "containers.conf").write_text(CONTAINERS_CONF)
        if self.has_image():
            return
        rootfs = self.folder / "rootfs"
        shutil.rmtree(rootfs, ignore_errors=True)
        (rootfs / "bin").mkdir(parents=True)
        shutil.copy(str(_busybox()), rootfs / "bin" / "busybox")
        for applet in APPLETS:
            (rootfs / "bin" / applet).symlink_to("busybox")
        archive = self.folder / "busybox.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".")
        subprocess.run(
            self.command("import", str(archive), IMAGE),
            env=self.env,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def cleanup(self) -> None:
        """Remove every container, kill left-over conmon processes, unmount, delete."""
        subprocess.run(
            self.command("rm", "--all", "--force", "--time", "0"),
            env=self.env,
            check=False,
            capture_output=True,
            timeout=60,
        )
        self.kill_leftovers()
        shutil.rmtree(self.folder, ignore_errors=True)

    def stop_all(self) -> None:
        """Stop every container but keep them (and the storage) for the next run."""
        subprocess.run(
            self.command("stop", "--all", "--time", "0"),
            env=self.env,
            check=False,
            capture_output=True,
            timeout=60,
        )
        self.kill_leftovers()

    def kill_leftovers(self) -> None:
        """Kill processes (conmon above all) still naming the storage; unmount what is left."""
        for pid in _processes_mentioning(str(self.folder)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for mount in _mounts_under(self.folder):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True)


def _processes_mentioning(text: str) -> Iterator[int]:
    """Processes (conmon above all) whose command line names our storage."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if text.encode() in (entry / "cmdline").read_bytes():
                yield int(entry.name)


def _mounts_under(folder: Path) -> list[str]:
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    return sorted((m for m in mounts if m.startswith(str(folder))), reverse=True)


class PodmanService:
    """`podman system service` on a unix socket of its own, started and stopped by tests."""

    def __init__(
        self, storage: PodmanStorage, socket_path: Path, *, hostname: str | None = None
    ) -> None:
        """Serve `storage` on `socket_path` once started.

        With `hostname`, the service runs in a UTS namespace of its own with that host name,
        which the engine reports as its `Name` (the demo's entity ids follow it).
        """
        self.storage = storage
        self.socket_path = socket_path
        self.hostname = hostname
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The endpoint as the config flow takes it."""
        return f"unix://{self.socket_path}"

    def start(self) -> None:
        """Start the service and wait until it answers."""
        command = self.storage.command("system", "service", "--time=0", self.url)
        if self.hostname is not None:
            # unshare and sh exec in turn: the process is podman's, as without a host name.
            script = 'hostname "$0" && exec "$@"'
            command = ["unshare", "--uts", "sh", "-c", script, self.hostname, *command]
        self._process = subprocess.Popen(
            command,
            env=self.storage.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while not _answers(self.socket_path):
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("podman system service did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the service (containers keep running under conmon)."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
            self._process = None
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()


def engine_get(path: Path, api_path: str) -> dict[str, Any]:
    """A GET over the socket, without an event loop (for session fixtures)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(f"GET {api_path} HTTP/1.0\r\nHost: d\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return dict(json.loads(answer.split(b"\r\n\r\n", 1)[1]))


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(str(path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.")
        except OSError:
            return False


def new_folder() -> Path:
    """A short folder (unix socket paths must stay under 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix="hla-podman-"))


class Engine:
    """What a test does to the engine directly, as a user's `docker` command would."""

    def __init__(self, service: PodmanService, *, remove_on_exit: bool = True) -> None:
        """Talk to `service` over its socket; remove every container on exit unless told not."""
        self.service = service
        self.remove_on_exit = remove_on_exit
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        """Open the session."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.UnixConnector(path=str(self.service.socket_path))
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Remove the test's containers and close the session."""
        if self.remove_on_exit:
            for container in await self.call("GET", "/containers/json", all="true"):
                await self.call("DELETE", f"/containers/{container['Id']}", force="true", t="0")
        await self._open().close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use the engine as `async with Engine(service)`")
        return self._session

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        """One API request; raises on error statuses (304 included)."""
        async with self._open().request(
            method, f"http://d{path}", json=body, params=params
        ) as response:
            text = await response.text()
            if response.status >= 300:
                raise RuntimeError(f"{method} {path}: {response.status} {text}")
            return json.loads(text) if text else None

    async def create(
        self,
        name: str,
        command: list[str] | None = None,
        *,
        labels: dict[str, str] | None = None,
        healthcheck: bool = False,
        healthy: bool = True,
        start: bool = True,
    ) -> str:
        """Create (and start) a busybox container; returns its ID."""
        body: dict[str, Any] = {
            "Image": IMAGE,
            "Cmd": command or SERVICE_COMMAND,
            "Labels": labels or {},
            "HostConfig": {"NetworkMode": "none"},
        }
        if healthcheck:
            test = ["CMD", "true" if healthy else "false"]
            body["Healthcheck"] = {"Test": test, "Interval": 1_000_000_000, "Retries": 1}
        created = await self.call("POST", "/containers/create", body, name=name)
        if start:
            await self.call("POST", f"/containers/{name}/start")
        return str(created["Id"])

    async def state(self, name: str) -> dict[str, Any]:
        """The container's inspect `State`."""
        return dict((await self.call("GET", f"/containers/{name}/json"))["State"])

    async def wait_exited(self, name: str) -> int:
        """Wait for the container to exit; its exit code."""
        answer = await self.call("POST", f"/containers/{name}/wait")
        return int(answer["StatusCode"])

    async def run_healthcheck(self, name: str) -> int:
        """Run the health check now (Podman's timers need systemd, absent here); its status."""
        process = await asyncio.create_subprocess_exec(
            *self.service.storage.command("healthcheck", "run", name),
            env=self.service.storage.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return await process.wait()


class SharedPodman:
    """One storage and service for every test module that needs the engine in a session."""

    def __init__(self) -> None:
        """Nothing runs until the first `acquire`."""
        self.users = 0
        self.service: PodmanService | None = None

    def acquire(self) -> PodmanService:
        """Start the engine on first use."""
        if self.service is None:
            storage = PodmanStorage(new_folder())
            storage.prepare()
            self.service = PodmanService(storage, storage.folder / "podman.sock")
            self.service.start()
        self.users += 1
        return self.service

    def release(self) -> None:
        """Stop and clean up after the last user."""
        self.users -= 1
        if self.users == 0 and self.service is not None:
            self.service.stop()
            self.service.storage.cleanup()
            self.service = None


SHARED: Final = SharedPodman()
