"""UnifiSimulator: the simulated UniFi Network application and its HTTPS server."""

from __future__ import annotations

from collections.abc import Callable
import random
import time
from typing import Final
import uuid

from aiohttp import web

from simulators.https_server import HttpsSimulator
from simulators.tls import SelfSignedCertificate

from .app import ControllerState, Site, UnifiApi
from .network import Network

DEFAULT_USERNAME: Final = "homeassistant"
DEFAULT_PASSWORD: Final = "unifi-simulator"  # noqa: S105 - the simulator's published login


def _wall_clock() -> float:
    # `time.time` looked up per call, so that frozen time in tests applies.
    return time.time()


class UnifiSimulator(HttpsSimulator):
    """A stateful UniFi Network application on 127.0.0.1 over HTTPS (see `simulators.unifi`)."""

    def __init__(
        self,
        *,
        unifi_os: bool = True,
        seed: int = 0,
        clients: int = 16,
        sites: tuple[str, ...] = ("default",),
        login_limit: int = 5,
        login_retry_after: int | None = 60,
        session_ttl: float = 7_200.0,
        utc_offset_hours: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Build the site; nothing listens until `start()`. The clock defaults to `time.time`."""
        super().__init__()
        self.host = host
        self.port = port
        self.username = DEFAULT_USERNAME
        self.password = DEFAULT_PASSWORD
        rng = random.Random(seed)
        self.network = Network(seed=seed, clients=clients, utc_offset_hours=utc_offset_hours)
        self.state = ControllerState(
            network=self.network,
            clock=clock or _wall_clock,
            unifi_os=unifi_os,
            users={self.username: self.password},
            sites={
                name: Site(
                    site_id=f"{rng.getrandbits(96):024x}",
                    name=name,
                    desc="Default" if name == "default" else name.title(),
                )
                for name in sites
            },
            controller_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            hostname="udm-pro" if unifi_os else "unifi-controller",
            version="9.0.114" if unifi_os else "8.6.9",
            login_limit=login_limit,
            login_retry_after=login_retry_after,
            session_ttl=session_ttl,
        )

    @property
    def url(self) -> str:
        """`https://127.0.0.1:PORT`."""
        return f"https://{self.host}:{self.port}"

    @property
    def controller_id(self) -> str:
        """The controller's `anonymous_controller_id`."""
        return self.state.controller_id

    def site_id(self, name: str = "default") -> str:
        """A site's `_id`."""
        return self.state.sites[name].site_id

    @property
    def now(self) -> float:
        """The simulator's clock."""
        return self.state.clock()

    @property
    def counters(self) -> dict[str, int]:
        """logins, login_attempts, login_failures, rate_limited, logouts."""
        return dict(self.state.counters)

    def requests_to(self, suffix: str) -> int:
        """How many requests reached paths ending in `suffix` (e.g. `stat/health`)."""
        return sum(n for path, n in self.state.requests.items() if path.endswith(suffix))

    def expire_sessions(self) -> None:
        """Every session ends, as after a controller restart: the next request gets 401."""
        self.state.sessions.clear()

    def rotate_csrf_tokens(self) -> None:
        """Each session's next answer carries a new CSRF token (`X-Updated-CSRF-Token`)."""
        self.state.rotate_csrf = set(self.state.sessions)

    def change_password(self, password: str) -> None:
        """The account's password changes: logins with the old one fail."""
        self.password = password
        self.state.users[self.username] = password

    def set_available(self, available: bool) -> None:
        """A console that is rebooting answers 502 to everything."""
        self.state.available = available

    async def start(self) -> None:
        """Generate a certificate and serve HTTPS on host:port (port 0 picks a free one)."""
        self.port = await self._server.start(self._application, host=self.host, port=self.port)

    def _application(self, certificate: SelfSignedCertificate) -> web.Application:
        return UnifiApi(self.state).application()

    async def stop(self) -> None:
        """Close every connection and remove the certificate."""
        await self._server.stop()
