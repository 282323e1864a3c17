"""`PveSimulator`: the simulated cluster served over HTTPS on the running event loop."""

from __future__ import annotations

from collections.abc import Mapping
import secrets

from aiohttp import web

from simulators.backup_link import BackupTarget
from simulators.https_server import HttpsSimulator
from simulators.tls import SelfSignedCertificate

from .access import AccessControl, ApiToken, PrivilegeSpec, User
from .app import RequestCounter, ServerState, build_app
from .faults import FaultInjector
from .model import Cluster
from .schema import default_subset


class PveSimulator(HttpsSimulator):
    """A stateful Proxmox VE API server on 127.0.0.1 with a self-signed certificate.

    `certificate` (its `fingerprint_sha256` as PVE shows it) is there from `start()` on.
    """

    def __init__(
        self,
        *,
        nodes: int = 3,
        guests_per_node: int = 4,
        guests: int | None = None,
        storages: int = 0,
        backup_targets: Mapping[str, BackupTarget] | None = None,
        seed: int = 0,
        task_duration: float = 1.0,
        node_power_delay: float | None = None,
        figure_period: float = 10.0,
        freeze_figures: bool = False,
        cluster_name: str = "homelab",
        host: str = "127.0.0.1",
        port: int = 0,
        token_id: str = "homelab",  # noqa: S107 - the token's name, not its secret
        token_secret: str | None = None,
        root_password: str | None = None,
        unauthorized_delay: float = 0.0,
    ) -> None:
        """Build the cluster; nothing listens until `start()`. See the package docstring.

        `guests` (a cluster total) overrides `guests_per_node`. `unauthorized_delay` delays 401
        answers as pveproxy does (3 s there; 0 by default so tests stay fast).
        `node_power_delay` (None: `task_duration`) is how long a node reboot or shutdown takes
        to bring the node down, and a reboot again to bring it back.
        """
        super().__init__()
        self.cluster = Cluster(
            name=cluster_name,
            nodes=nodes,
            guests_per_node=guests_per_node,
            guests=guests,
            storages=storages,
            backup_targets=backup_targets,
            seed=seed,
            task_duration=task_duration,
            node_power_delay=node_power_delay,
            figure_period=figure_period,
            freeze_figures=freeze_figures,
        )
        self.access = AccessControl()
        self.token = self.access.add_token(user="root@pam", token_id=token_id, secret=token_secret)
        self.root_password = root_password or secrets.token_urlsafe(12)
        self.access.add_user("root@pam", self.root_password)
        self.faults = FaultInjector()
        self.requests = RequestCounter()
        self.host = host
        self.unauthorized_delay = unauthorized_delay
        self._requested_port = port

    def add_token(
        self,
        *,
        user: str = "root@pam",
        token_id: str,
        secret: str | None = None,
        privileges: PrivilegeSpec = None,
    ) -> ApiToken:
        """Add an API token; `privileges` None means all, see `PrivilegeSpec` for the forms."""
        return self.access.add_token(
            user=user, token_id=token_id, secret=secret, privileges=privileges
        )

    def add_user(self, user: str, password: str, privileges: PrivilegeSpec = None) -> User:
        """Add a user who logs in with a password (ticket auth)."""
        return self.access.add_user(user, password, privileges)

    async def start(self) -> None:
        """Generate the certificate and listen on `host:port` (port 0: one the OS picks)."""
        await self._server.start(self._application, host=self.host, port=self._requested_port)

    def _application(self, certificate: SelfSignedCertificate) -> web.Application:
        # Nodes report the certificate's fingerprint, as PVE shows it for each node.
        for node in self.cluster.nodes.values():
            node.ssl_fingerprint = certificate.fingerprint_sha256
        state = ServerState(
            cluster=self.cluster,
            access=self.access,
            faults=self.faults,
            requests=self.requests,
            schema=default_subset(),
            unauthorized_delay=self.unauthorized_delay,
        )
        return build_app(state)

    async def stop(self) -> None:
        """Stop listening, end held requests and pending task and node command timers.

        Also removes the certificate.
        """
        self.faults.release()
        self.cluster.tasks.cancel_pending()
        self.cluster.cancel_node_commands()
        await self._server.stop()

    @property
    def port(self) -> int:
        """The port the simulator listens on."""
        return self._server.port

    @property
    def url(self) -> str:
        """The base URL, e.g. `https://127.0.0.1:8006` (the API is below `/api2/json`)."""
        return self._server.url

    @property
    def api_url(self) -> str:
        """The API root, e.g. `https://127.0.0.1:8006/api2/json`."""
        return f"{self.url}/api2/json"
