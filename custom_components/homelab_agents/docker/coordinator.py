"""One refresh of a Docker host: the container list in one request, the rest only when needed.

Per poll (every 30 s):
- `GET /containers/json?all=true`: every container's state, whatever their number;
- two health-filtered lists (`health=unhealthy`, `health=starting`) only when a container has
  a health check and the engine does not show health in the list's status text (Podman);
- `GET /containers/{id}/json` only for a container that is new or changed state;
- `GET /containers/{id}/stats` (one per container: the Engine API has no bulk stats) only for
  running containers whose CPU or memory entity is enabled, once per stats interval (default
  5 minutes), plus once at the poll after a container's first sample so CPU can be computed.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
import time
from typing import TYPE_CHECKING, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from ..const import DOMAIN, LOGGER
from .client import DockerClient, DockerError, gather_bounded
from .models import (
    Container,
    ContainerDetails,
    ContainerStats,
    EngineSnapshot,
    ListedContainer,
    engine_identity,
    parse_details,
    parse_listed,
    parse_stats,
    pick_current,
)

if TYPE_CHECKING:
    from ..runtime import HomelabAgentsConfigEntry

POLL_INTERVAL: Final = timedelta(seconds=30)
STATS: Final = "stats"
DETAILS: Final = "details"


class DockerCoordinator(DataUpdateCoordinator[EngineSnapshot]):
    """Polls one engine; entities say which per-container figures they need."""

    config_entry: HomelabAgentsConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: HomelabAgentsConfigEntry,
        client: DockerClient,
        stats_interval: timedelta | None,
    ) -> None:
        """Poll the engine behind `client`; `stats_interval` None reads no stats at all."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} docker",
            update_interval=POLL_INTERVAL,
        )
        self.client = client
        self.stats_interval = stats_interval
        self.engine_id = ""
        self.engine_name = ""
        self.engine_version = ""
        self._wanted: dict[str, Counter[str]] = {STATS: Counter(), DETAILS: Counter()}
        self._details: dict[str, tuple[str, ContainerDetails]] = {}  # id -> (listed state, ...)
        self._stats: dict[str, ContainerStats] = {}  # by key
        self._last_stats_round: float | None = None

    @callback
    def want(self, kind: str, key: str) -> None:
        """An enabled entity of container `key` needs `kind` (stats or details) refreshed."""
        self._wanted[kind][key] += 1

    @callback
    def release(self, kind: str, key: str) -> None:
        """The entity went away (disabled, removed, unloaded)."""
        self._wanted[kind][key] -= 1
        if self._wanted[kind][key] <= 0:
            del self._wanted[kind][key]

    async def _async_setup(self) -> None:
        """Who the engine is: read once."""
        try:
            info = await self.client.info()
            version = await self.client.version()
        except DockerError as err:
            raise _failed(err) from err
        self.engine_id = engine_identity(version, info) or ""
        self.engine_name = str(info.get("Name") or "")
        self.engine_version = str(version.get("Version") or "")

    async def _async_update_data(self) -> EngineSnapshot:
        before = self.client.requests
        try:
            rows = [
                row
                for item in await self.client.containers()
                if (row := parse_listed(item)) is not None
            ]
            current = pick_current(rows)
            stats_round = self._stats_round_due()
            details = await self._read_details(current, stats_round)
            health = await self._read_health(current, details)
        except DockerError as err:
            raise _failed(err) from err
        await self._read_stats(current, stats_round)
        containers = {
            key: Container(
                listed=row,
                details=details.get(row.id),
                health=health.get(key),
                stats=self._stats.get(key),
            )
            for key, row in current.items()
        }
        return EngineSnapshot(
            engine_id=self.engine_id,
            name=self.engine_name,
            version=self.engine_version,
            containers=containers,
            requests=self.client.requests - before,
        )

    def _stats_round_due(self) -> bool:
        if self.stats_interval is None:
            return False
        now = time.monotonic()
        last = self._last_stats_round
        if last is None or now - last >= self.stats_interval.total_seconds() - 1:
            self._last_stats_round = now
            return True
        return False

    async def _read_details(
        self, current: dict[str, ListedContainer], stats_round: bool
    ) -> dict[str, ContainerDetails]:
        """Inspect what is new or changed state (and, per stats round, what entities need)."""
        wanted = self._wanted[DETAILS]
        stale = [
            row
            for row in current.values()
            if (cached := self._details.get(row.id)) is None
            or cached[0] != row.state
            or (stats_round and row.running and row.key in wanted)
        ]
        answers = await gather_bounded([self.client.inspect(row.id) for row in stale])
        for row, answer in zip(stale, answers, strict=True):
            # A container removed since the list has no details this time.
            if isinstance(answer, dict):
                self._details[row.id] = (row.state, parse_details(answer))
        ids = {row.id for row in current.values()}
        self._details = {k: v for k, v in self._details.items() if k in ids}
        return {k: v[1] for k, v in self._details.items()}

    async def _read_health(
        self, current: dict[str, ListedContainer], details: dict[str, ContainerDetails]
    ) -> dict[str, str]:
        """Health of every container with a health check, in at most two more requests."""
        # Only a running container's health means something (engines keep the last one).
        checked = {
            key: row
            for key, row in current.items()
            if row.running and (d := details.get(row.id)) is not None and d.has_healthcheck
        }
        health = {key: h for key, row in checked.items() if (h := row.listed_health)}
        unknown = {key: row for key, row in checked.items() if key not in health}
        if not unknown:
            return health
        unhealthy = {c.get("Id") for c in await self.client.containers(health="unhealthy")}
        starting = {c.get("Id") for c in await self.client.containers(health="starting")}
        for key, row in unknown.items():
            if row.id in unhealthy:
                health[key] = "unhealthy"
            elif row.id in starting:
                health[key] = "starting"
            else:
                health[key] = "healthy"
        return health

    async def _read_stats(self, current: dict[str, ListedContainer], stats_round: bool) -> None:
        """Stats of running containers whose figures are shown, when due."""
        if self.stats_interval is None:
            self._stats.clear()
            return
        wanted = self._wanted[STATS]
        due = [
            row
            for key, row in current.items()
            if row.running
            and key in wanted
            and (
                stats_round
                or (sample := self._stats.get(key)) is None
                or sample.container_id != row.id
                or sample.first
            )
        ]
        answers = await gather_bounded([self.client.stats(row.id) for row in due])
        now = time.monotonic()
        for row, answer in zip(due, answers, strict=True):
            if isinstance(answer, dict):
                self._stats[row.key] = parse_stats(answer, now, self._stats.get(row.key))
            else:
                # No stale figures: unknown until the next read works.
                self._stats.pop(row.key, None)
                LOGGER.debug("No stats for container %s: %s", row.name, answer)
        running = {key for key, row in current.items() if row.running}
        self._stats = {k: v for k, v in self._stats.items() if k in running}


def _failed(err: DockerError) -> UpdateFailed:
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="docker_unreachable",
        translation_placeholders={"error": str(err) or type(err).__name__},
    )
