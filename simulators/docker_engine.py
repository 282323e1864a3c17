"""A real Docker Engine for the tests: a private `dockerd` (and its own containerd) on a socket.

Everything lives under one temporary folder (`hla-docker-*`): the API socket, the data root
(vfs storage: no overlay mounts), the exec root with the containerd that dockerd starts for
itself, and the daemon's log. Containers get a cgroup parent of their own (`/hla-docker-*`), no
network (`--bridge=none`, no iptables), and the only image is imported from a busybox-static
root file system (no registry can be pulled). The daemon also listens on 127.0.0.1 (a free port)
with TLS that requires a client certificate (`--tlsverify`), its certificates in the folder.
The system's Docker (`/var/run/docker.sock`, /etc/docker/daemon.json and key.json), its
containerd and their state are never touched; dockerd only creates the empty
/run/docker/plugins folder it always wants.

Cleanup removes the containers, stops the daemon (which stops its containerd), then kills
whatever still names the folder or sits in our cgroups, unmounts what is left, deletes the
shim sockets containerd keeps in /run/containerd/s for our containers, and the folder. A run
that crashed leaves a folder whose owner process is gone: the next start purges it first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
from datetime import datetime
import hashlib
import http.client
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from typing import Any, Final, Self, override

import aiohttp

from simulators.podman import APPLETS, IMAGE, SERVICE_COMMAND, Engine, engine_get
from simulators.tls import SelfSignedCertificate, generate_self_signed

__all__ = [
    "IMAGE",
    "SERVICE_COMMAND",
    "SHARED",
    "DockerDaemon",
    "DockerEngine",
    "DockerStartError",
    "docker_missing",
    "engine_get",
]

PREFIX: Final = "hla-docker-"
REPOSITORY, TAG = IMAGE.rsplit(":", 1)
# `dd` and `mkdir` let a test put page cache into a container's memory.
DOCKER_APPLETS: Final = (*APPLETS, "dd", "mkdir", "rm")
NAMESPACE: Final = "moby"  # dockerd's containerd namespace
SHIM_SOCKETS: Final = Path("/run/containerd/s")  # containerd 1.x: fixed, whatever its root
START_SECONDS: Final = 30.0


class DockerStartError(RuntimeError):
    """dockerd is missing or did not come up; the message says why (with its log)."""


def docker_missing() -> list[str]:
    """The programs a private Docker Engine needs that are not installed (scripts/setup)."""
    wanted = ("dockerd", "containerd", "containerd-shim-runc-v2", "runc")
    missing = [program for program in wanted if shutil.which(program, path=_path()) is None]
    if _busybox() is None:
        missing.append("busybox (busybox-static)")
    return missing


def _path() -> str:
    """PATH with the sbin folders (dockerd and runc live there; a user's PATH may lack them)."""
    return os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"])


def _busybox() -> str | None:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if Path(candidate).is_file():
            return candidate
    return None


class _UnixConnection(http.client.HTTPConnection):
    """http.client on a unix socket (for the daemon's setup and teardown, without a loop)."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    @override
    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.path))


def _request(
    path: Path, method: str, target: str, body: bytes | None = None, timeout: float = 60
) -> tuple[int, bytes]:
    connection = _UnixConnection(path, timeout)
    try:
        headers = {"Content-Type": "application/x-tar"} if body is not None else {}
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class DockerDaemon:
    """A private dockerd in a temporary folder; `start`, then `stop` removes every trace."""

    def __init__(self, folder: Path | None = None) -> None:
        """Use `folder` (short: unix socket paths stay under 108 bytes) or a new one."""
        self.folder = folder or Path(tempfile.mkdtemp(prefix=PREFIX))
        self.socket_path = self.folder / "docker.sock"
        self.cgroup_parent = f"/{self.folder.name}"
        self.log = self.folder / "dockerd.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.tls_port = 0
        self.server_cert: SelfSignedCertificate | None = None
        self.client_cert: SelfSignedCertificate | None = None

    @property
    def url(self) -> str:
        """The endpoint as the config flow takes it."""
        return f"unix://{self.socket_path}"

    @property
    def tls_url(self) -> str:
        """The same engine on TCP with TLS that requires a client certificate (`--tlsverify`)."""
        return f"https://127.0.0.1:{self.tls_port}"

    def _certificates(self) -> None:
        """The server's and the (only accepted) client's certificates."""
        self.server_cert = self._keep(generate_self_signed("localhost"), "tls-server")
        self.client_cert = self._keep(generate_self_signed("homeassistant"), "tls-client")

    def _keep(self, made: SelfSignedCertificate, name: str) -> SelfSignedCertificate:
        """Move the certificate into our folder (removed with it, even after a crash)."""
        folder = self.folder / name
        shutil.move(made.cert_path.parent, folder)
        return SelfSignedCertificate(
            folder / made.cert_path.name, folder / made.key_path.name, made.fingerprint_sha256
        )

    def command(self) -> list[str]:
        """The daemon's command line: our folder only, no network setup, no system paths."""
        if self.server_cert is None or self.client_cert is None:
            raise DockerStartError("no certificates yet: start() makes them")
        return [
            "dockerd",
            f"--host=unix://{self.socket_path}",
            "--host=tcp://127.0.0.1:0",  # a free port: its log names it
            "--tlsverify",
            f"--tlscacert={self.client_cert.cert_path}",
            f"--tlscert={self.server_cert.cert_path}",
            f"--tlskey={self.server_cert.key_path}",
            f"--data-root={self.folder / 'data'}",
            f"--exec-root={self.folder / 'exec'}",
            f"--pidfile={self.folder / 'docker.pid'}",
            # Not /etc/docker/daemon.json; see `start` for the engine ID's key.
            f"--config-file={self.folder / 'daemon.json'}",
            f"--cgroup-parent={self.cgroup_parent}",
            "--exec-opt=native.cgroupdriver=cgroupfs",
            "--storage-driver=vfs",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
            "--bridge=none",
            "--userland-proxy=false",
            "--shutdown-timeout=1",
            "--log-level=info",
        ]

    def start(self) -> None:
        """Purge crashed runs, start the daemon, wait for it, import the busybox image."""
        if missing := docker_missing():
            raise DockerStartError(
                f"Docker Engine not installed ({', '.join(missing)} missing): run scripts/setup "
                "(it installs the Debian package docker.io)"
            )
        purge_stale()
        (self.folder / "owner").write_text(str(os.getpid()))
        # Docker 20.10 derives its engine ID from a key it keeps in /etc/docker/key.json unless
        # told otherwise: ours is private (and persists, with the ID, while the folder lives).
        config = {"deprecated-key-path": str(self.folder / "key.json")}
        (self.folder / "daemon.json").write_text(json.dumps(config))
        self._certificates()
        env = {**os.environ, "PATH": _path()}
        env.pop("DOCKER_HOST", None)
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        # Ready: the socket answers and the log names the TLS listener's port (logged later).
        while not (_answers(self.socket_path) and (tls_port := self._tls_port())):
            if self._process.poll() is not None or time.monotonic() > deadline:
                why = (
                    f"exited with {self._process.returncode}"
                    if self._process.poll() is not None
                    else f"did not answer within {START_SECONDS:.0f} s"
                )
                tail = self.log_tail()
                self.stop()
                raise DockerStartError(f"dockerd {why}; its log:\n{tail}")
            time.sleep(0.05)
        self.tls_port = tls_port
        self._import_image()

    def _tls_port(self) -> int:
        """The port dockerd bound for TLS (`API listen on 127.0.0.1:<port>`), 0 before."""
        found = re.search(
            r"API listen on 127\.0\.0\.1:(\d+)", self.log.read_text("utf-8", "replace")
        )
        return int(found.group(1)) if found else 0

    def log_tail(self, lines: int = 25) -> str:
        """The daemon's last log lines (without gRPC chatter)."""
        with contextlib.suppress(OSError):
            text = self.log.read_text(errors="replace").splitlines()
            return "\n".join([line for line in text if "module=grpc" not in line][-lines:])
        return "(no log)"

    def _import_image(self) -> None:
        """`docker import` through the API: a tar of the root file system as the image."""
        rootfs = self.folder / "rootfs"
        (rootfs / "bin").mkdir(parents=True)
        (rootfs / "tmp").mkdir(mode=0o1777)
        shutil.copy(str(_busybox()), rootfs / "bin" / "busybox")
        for applet in DOCKER_APPLETS:
            (rootfs / "bin" / applet).symlink_to("busybox")
        archive = self.folder / "busybox.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".")
        target = f"/images/create?fromSrc=-&repo={REPOSITORY}&tag={TAG}"
        status, answer = _request(self.socket_path, "POST", target, archive.read_bytes())
        if status != 200 or b'"error"' in answer:
            raise DockerStartError(f"importing the image failed: {status} {answer[-300:]!r}")
        shutil.rmtree(rootfs)
        archive.unlink()

    def stop(self) -> None:
        """Remove the containers, stop the daemon and its containerd, delete everything."""
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                _, listed = _request(self.socket_path, "GET", "/containers/json?all=true", None, 10)
                for container in json.loads(listed):
                    target = f"/containers/{container['Id']}?force=true&v=true"
                    _request(self.socket_path, "DELETE", target, None, 20)
            self._process.terminate()
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        self._process = None
        purge(self.folder)


def purge(folder: Path) -> None:
    """Kill, unmount and delete whatever a daemon in `folder` left (also after a crash)."""
    cgroups = _cgroups(f"/{folder.name}")
    deadline = time.monotonic() + 10
    # Until nothing lives: the daemons, the shims, the containers' processes (and whatever a
    # dying shim might still spawn). Killed ones are zombies until their new parent reaps them.
    while pids := {
        pid for pid in (*processes_mentioning(str(folder)), *_cgroup_pids(cgroups)) if alive(pid)
    }:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for mount in _mounts_under(folder):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
    containerd_socket = folder / "exec" / "containerd" / "containerd.sock"
    with contextlib.suppress(OSError):
        for container in (folder / "data" / "containers").iterdir():
            shim = f"{containerd_socket}/{NAMESPACE}/{container.name}"
            (SHIM_SOCKETS / hashlib.sha256(shim.encode()).hexdigest()).unlink(missing_ok=True)
    for group in sorted(cgroups, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            group.rmdir()
    shutil.rmtree(folder, ignore_errors=True)


def purge_stale() -> None:
    """Purge the folders of earlier runs whose test process is gone (a crash, a kill -9)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((folder / "owner").read_text())
        except OSError, ValueError:
            # No owner yet: a run being set up right now, unless the folder is old.
            if time.time() - folder.stat().st_mtime < 600:
                continue
            owner = 0
        if owner and Path(f"/proc/{owner}").exists():
            continue
        purge(folder)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _cgroups(parent: str) -> list[Path]:
    """Our cgroup parent in every hierarchy (v1 controllers, v2), and everything below it."""
    root = Path("/sys/fs/cgroup")
    tops = [root / parent.lstrip("/"), *root.glob(f"*/{parent.lstrip('/')}")]
    found: list[Path] = []
    for top in tops:
        if top.is_dir():
            found.extend(p for p in top.rglob("*") if p.is_dir())
            found.append(top)
    return found


def _cgroup_pids(cgroups: list[Path]) -> set[int]:
    pids: set[int] = set()
    for group in cgroups:
        with contextlib.suppress(OSError, ValueError):
            pids.update(int(p) for p in (group / "cgroup.procs").read_text().split())
    return pids


def processes_mentioning(text: str) -> Iterator[int]:
    """Processes (dockerd, its containerd, the shims) whose command line names `text`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if text.encode() in (entry / "cmdline").read_bytes():
                yield int(entry.name)


def _mounts_under(folder: Path) -> list[str]:
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    return sorted((m for m in mounts if m.startswith(str(folder))), reverse=True)


def _answers(path: Path) -> bool:
    try:
        return _request(path, "GET", "/_ping", None, 2)[0] == 200
    except OSError, http.client.HTTPException:
        return False


class DockerEngine(Engine):
    """What a test does to Docker directly, as the `docker` command would.

    The Engine API calls are Podman's (its compat API mirrors Docker's); only the session, the
    health checks (Docker runs them itself, on their interval) and the events differ.
    """

    def __init__(self, daemon: DockerDaemon, *, remove_on_exit: bool = True) -> None:
        """Talk to `daemon` over its socket; remove every container on exit unless told not."""
        # Not Engine.__init__: there is no Podman service behind it (see __aenter__).
        self.daemon = daemon
        self.remove_on_exit = remove_on_exit
        self._session: aiohttp.ClientSession | None = None

    @override
    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.UnixConnector(path=str(self.daemon.socket_path))
        )
        return self

    @override
    async def create(
        self,
        name: str,
        command: list[str] | None = None,
        *,
        labels: dict[str, str] | None = None,
        healthcheck: bool = False,
        healthy: bool = True,
        start: bool = True,
        interval: float = 0.2,
        memory: int | None = None,
    ) -> str:
        """Create (and start) a busybox container.

        A health check runs every `interval` seconds; `memory` limits the memory (bytes).
        """
        body: dict[str, Any] = {
            "Image": IMAGE,
            "Cmd": command or SERVICE_COMMAND,
            "Labels": labels or {},
            "HostConfig": {"NetworkMode": "none"},
        }
        if memory is not None:
            body["HostConfig"] |= {"Memory": memory, "MemorySwap": -1}
        if healthcheck:
            test = ["CMD", "true" if healthy else "false"]
            body["Healthcheck"] = {"Test": test, "Interval": int(interval * 1e9), "Retries": 1}
        created = await self.call("POST", "/containers/create", body, name=name)
        if start:
            await self.call("POST", f"/containers/{name}/start")
        return str(created["Id"])

    async def events(
        self, name: str, action: str, count: int = 1, seconds: float = 10
    ) -> list[str]:
        """Wait for `count` events of `name` whose action starts with `action`; their actions.

        Events are replayed from the container's creation, so those that already came count.
        """
        created = (await self.call("GET", f"/containers/{name}/json"))["Created"]
        since = str(int(_unix(created)) - 1)
        filters = json.dumps({"container": [name], "event": [action]})
        found: list[str] = []
        async with (
            asyncio.timeout(seconds),
            self._open().get(
                "http://d/events", params={"since": since, "filters": filters}
            ) as response,
        ):
            async for line in response.content:
                found.append(str(json.loads(line).get("status", "")))
                if len(found) == count:
                    return found
        raise AssertionError("the event stream ended")  # pragma: no cover - dockerd stopped

    async def wait_health(self, name: str) -> str:
        """Docker runs the probes itself: the status its first one gave (`healthy`...)."""
        (status,) = await self.events(name, "health_status")
        return status.removeprefix("health_status: ")

    async def logs_until(self, name: str, text: bytes, seconds: float = 10) -> None:
        """Follow the container's output until `text` appears."""
        params = {"stdout": "1", "stderr": "1", "follow": "1"}
        async with (
            asyncio.timeout(seconds),
            self._open().get(f"http://d/containers/{name}/logs", params=params) as response,
        ):
            await response.content.readuntil(text)

    @override
    async def run_healthcheck(self, name: str) -> int:
        """Docker probes on its own: the first probe's outcome, as an exit status."""
        return 0 if await self.wait_health(name) == "healthy" else 1

    async def stats(self, name: str) -> dict[str, Any]:
        """One stats sample, as the integration reads it."""
        params = {"stream": "false", "one-shot": "true"}
        return dict(await self.call("GET", f"/containers/{name}/stats", **params))


def _unix(value: str) -> float:
    return datetime.fromisoformat(value[:26].rstrip("Z") + "+00:00").timestamp()


class SharedDocker:
    """One daemon for every test module that needs Docker in a session."""

    def __init__(self) -> None:
        """Nothing runs until the first `acquire`."""
        self.users = 0
        self.daemon: DockerDaemon | None = None

    def acquire(self) -> DockerDaemon:
        """Start the daemon on first use; DockerStartError says why it cannot run."""
        if self.daemon is None:
            daemon = DockerDaemon()
            daemon.start()
            self.daemon = daemon
        self.users += 1
        return self.daemon

    def release(self) -> None:
        """Stop and clean up after the last user."""
        self.users -= 1
        if self.users == 0 and self.daemon is not None:
            self.daemon.stop()
            self.daemon = None


SHARED: Final = SharedDocker()
