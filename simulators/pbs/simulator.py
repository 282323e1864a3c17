"""PbsSimulator: the simulated Proxmox Backup Server, its state and its HTTPS server."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Collection, Mapping
import random
import time
from typing import Final
import uuid

from aiohttp import web

from simulators.https_server import HttpsSimulator
from simulators.tls import SelfSignedCertificate

from .access import ADMIN, Access, ApiToken, User, acl_from
from .app import PbsApi, PbsVersion
from .datastore import Datastore, DatastoreConfig
from .faults import Faults
from .schema import load_subset
from .seeding import DAY, seed_guests
from .tasks import Task, WorkerTasks

DEFAULT_DATASTORES: Final[Mapping[str, int]] = {"store1": 2_000_000_000_000}
DEFAULT_USER: Final = "root@pam"
DEFAULT_PASSWORD: Final = "pbs-simulator"  # noqa: S105 - the simulator's published login
DEFAULT_TOKEN_NAME: Final = "homelab"  # noqa: S105 - a token's name, not its secret

type Privileges = Collection[str] | Mapping[str, Collection[str]]
"""Privilege names granted on `/`, or ACL path to privilege names."""


class PbsSimulator(HttpsSimulator):
    """A stateful Proxmox Backup Server REST API on 127.0.0.1 over HTTPS.

    See the package docstring (`simulators.pbs`) for the whole Python API; `certificate` is the
    self-signed certificate served since `start()`.
    """

    def __init__(
        self,
        *,
        datastores: Mapping[str, int | DatastoreConfig] = DEFAULT_DATASTORES,
        guests: int = 10,
        snapshots_per_guest: int = 14,
        seed: int = 0,
        task_duration: float = 0.5,
        node: str = "pbs",
        host: str = "127.0.0.1",
        port: int = 0,
        unauthorized_delay: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Build the state; nothing listens until `start()`.

        `datastores` maps names to a total size in bytes or a DatastoreConfig. Each datastore
        with `seed_guests` gets `guests` VMs/containers with `snapshots_per_guest` daily
        snapshots, deterministic by `seed`. Tasks take `task_duration` seconds unless scripted.
        """
        super().__init__()
        self.host = host
        # The port to listen on; after `start()` the one listened on (a restart reuses it).
        self.port = port
        self.node = node
        self.clock = clock
        self.faults = Faults()
        self.requests: Counter[tuple[str, str]] = Counter()
        rng = random.Random(seed)
        self.tasks = WorkerTasks(
            node=node,
            pid=rng.randint(600, 4000),
            pstart=rng.randint(2_000, 900_000),
            duration=task_duration,
        )
        self.access = Access()
        self.user = DEFAULT_USER
        self.password = DEFAULT_PASSWORD
        self.access.add_user(self.user, self.password, acl_from({"/": ADMIN}))
        secret = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.token = self.add_token(DEFAULT_USER, DEFAULT_TOKEN_NAME, secret=secret)
        self.datastores: dict[str, Datastore] = {}
        now = clock()
        for name, sizing in datastores.items():
            config = (
                sizing if isinstance(sizing, DatastoreConfig) else DatastoreConfig(total=sizing)
            )
            seeded = config.seed_guests and guests > 0 and snapshots_per_guest > 0
            created = now - (snapshots_per_guest + 1) * DAY if seeded else now
            store = Datastore(name, config, tasks=self.tasks, created=created, clock=clock)
            if seeded:
                seed_guests(
                    store,
                    self.tasks,
                    random.Random(f"{seed}:{name}"),
                    guests=guests,
                    snapshots_per_guest=snapshots_per_guest,
                    now=now,
                )
            self.datastores[name] = store
        self.unauthorized_delay = unauthorized_delay
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        """`https://127.0.0.1:PORT` (without /api2/json)."""
        return f"https://{self.host}:{self.port}"

    def datastore(self, name: str) -> Datastore:
        """A datastore by name; it is also the BackupTarget for a PVE `pbs` storage."""
        return self.datastores[name]

    def add_token(
        self,
        user: str,
        token_name: str,
        privileges: Privileges = ADMIN,
        *,
        secret: str | None = None,
    ) -> ApiToken:
        """Create an API token; `privileges` on `/`, or a mapping of ACL path to privileges."""
        acl = acl_from(privileges if isinstance(privileges, Mapping) else {"/": privileges})
        return self.access.add_token(user, token_name, secret or str(uuid.uuid4()), acl)

    def add_user(self, userid: str, password: str, privileges: Privileges = ADMIN) -> User:
        """Create a user for ticket (password) login."""
        acl = acl_from(privileges if isinstance(privileges, Mapping) else {"/": privileges})
        return self.access.add_user(userid, password, acl)

    async def wait_for_task(self, upid: str) -> Task:
        """Sleep until a task has ended; wrap in `asyncio.timeout` for one that may never end."""
        task = self.tasks.get(upid)
        if task is None:
            raise KeyError(upid)
        while task.running:
            ends_at = task.ends_at if task.ends_at is not None else float("inf")
            await asyncio.sleep(min(max(ends_at - self.clock(), 0.0), 0.05))
            self.tasks.settle(self.clock())
        return task

    async def start(self) -> None:
        """Generate a certificate and serve HTTPS on host:port (port 0 picks a free one)."""
        self.port = await self._server.start(self._application, host=self.host, port=self.port)

    def _application(self, certificate: SelfSignedCertificate) -> web.Application:
        # A fresh event per start: an event belongs to the loop that first waits on it.
        self._stopping = asyncio.Event()
        api = PbsApi(
            access=self.access,
            tasks=self.tasks,
            datastores=self.datastores,
            faults=self.faults,
            requests=self.requests,
            schema=load_subset(),
            clock=self.clock,
            stopping=self._stopping,
            version=PbsVersion(),
            unauthorized_delay=self.unauthorized_delay,
        )
        return api.application()

    async def stop(self) -> None:
        """Release held requests, close every connection and remove the certificate."""
        if self._stopping is not None:
            self._stopping.set()
        await self._server.stop()
