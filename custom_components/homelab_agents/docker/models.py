"""What the engine tells about its containers, parsed into typed, immutable snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import re
from typing import Any, Final

from homeassistant.util import dt as dt_util

CONTAINER_STATES: Final = [
    "created",
    "running",
    "restarting",
    "paused",
    "exited",
    "removing",
    "dead",
]
HEALTH_STATES: Final = ["healthy", "unhealthy", "starting"]
# States the engine counts as "not running" on the host device.
STOPPED_STATES: Final = frozenset({"created", "exited", "dead"})

COMPOSE_PROJECT: Final = "com.docker.compose.project"
COMPOSE_SERVICE: Final = "com.docker.compose.service"
COMPOSE_NUMBER: Final = "com.docker.compose.container-number"

_EXIT_CODE = re.compile(r"^Exited \((-?\d+)\)")
_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


def engine_identity(version: dict[str, Any], info: dict[str, Any]) -> str | None:
    """What stays the same for one engine: Docker's persisted engine ID.

    Podman answers a new random ID at every `/info`, so a Podman engine is known by its host
    name and storage root instead (`podman:<host>:<root>`).
    """
    components = version.get("Components") or []
    if any("podman" in str(c.get("Name", "")).lower() for c in components if isinstance(c, dict)):
        name, root = info.get("Name"), info.get("DockerRootDir")
        return f"podman:{name}:{root}" if name and root else None
    return str(info["ID"]) if info.get("ID") else None


def container_key(name: str, labels: dict[str, str]) -> str:
    """The container's stable identity, kept when compose re-creates it.

    Compose containers: project, service and replica number (`compose:web/app/1`), so a
    re-created container (new ID, briefly a second container while the old one is renamed)
    and a renamed project layout keep their device. Others: their name (`name:pihole`).
    """
    project = labels.get(COMPOSE_PROJECT)
    service = labels.get(COMPOSE_SERVICE)
    if project and service:
        return f"compose:{project}/{service}/{labels.get(COMPOSE_NUMBER) or '1'}"
    return f"name:{name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ListedContainer:
    """One row of `/containers/json`."""

    id: str
    name: str
    key: str
    image: str
    state: str
    status: str
    created: int
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        """Running (paused containers are not)."""
        return self.state == "running"

    @property
    def listed_exit_code(self) -> int | None:
        """The exit code in the status text (`Exited (3) 2 minutes ago`)."""
        match = _EXIT_CODE.match(self.status)
        return int(match.group(1)) if match else None

    @property
    def listed_health(self) -> str | None:
        """Docker shows health in the status text; Podman does not."""
        match = _HEALTH.search(self.status)
        if match is None:
            return None
        return "starting" if match.group(1) == "health: starting" else match.group(1)


def parse_listed(item: dict[str, Any]) -> ListedContainer | None:
    """A list row, or None when it lacks an id or a name."""
    names = item.get("Names") or []
    name = str(names[0]).lstrip("/") if names else ""
    if not item.get("Id") or not name:
        return None
    labels = {str(k): str(v) for k, v in (item.get("Labels") or {}).items()}
    return ListedContainer(
        id=str(item["Id"]),
        name=name,
        key=container_key(name, labels),
        image=str(item.get("Image") or ""),
        state=str(item.get("State") or "").lower(),
        status=str(item.get("Status") or ""),
        created=int(item.get("Created") or 0),
        labels=labels,
    )


def pick_current(rows: list[ListedContainer]) -> dict[str, ListedContainer]:
    """One container per identity: while compose re-creates one, the running (or newest) wins."""
    chosen: dict[str, ListedContainer] = {}
    for row in rows:
        other = chosen.get(row.key)
        if other is None or (row.running, row.created) > (other.running, other.created):
            chosen[row.key] = row
    return chosen


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerDetails:
    """From `/containers/{id}/json`, read when a container appears or changes state."""

    container_id: str
    state: str
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    restart_count: int
    has_healthcheck: bool
    health: str | None
    error: str | None


def _time(value: Any) -> datetime | None:
    if not value or str(value).startswith("0001-01-01"):
        return None
    parsed = dt_util.parse_datetime(re.sub(r"(\.\d{6})\d+", r"\1", str(value)))
    return None if parsed is None else dt_util.as_utc(parsed)


def parse_details(answer: dict[str, Any]) -> ContainerDetails:
    """Inspect output, tolerant of Podman's and older engines' gaps."""
    state = answer.get("State") or {}
    config = answer.get("Config") or {}
    health = (state.get("Health") or {}).get("Status") or None
    test = (config.get("Healthcheck") or {}).get("Test") or []
    has_healthcheck = bool(test) and test[0] != "NONE"
    return ContainerDetails(
        container_id=str(answer.get("Id") or ""),
        state=str(state.get("Status") or "").lower(),
        started_at=_time(state.get("StartedAt")),
        finished_at=_time(state.get("FinishedAt")),
        exit_code=state.get("ExitCode") if isinstance(state.get("ExitCode"), int) else None,
        restart_count=int(answer.get("RestartCount") or 0),
        has_healthcheck=has_healthcheck,
        health=health if has_healthcheck and health in HEALTH_STATES else None,
        error=str(state.get("Error") or "") or None,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerStats:
    """One stats sample: CPU over the time since the previous sample, memory now."""

    container_id: str
    read_at: float  # monotonic seconds
    cpu_total: int
    system_total: int
    online_cpus: int
    cpu_percent: float | None
    memory_used: int | None
    memory_limit: int | None
    first: bool  # no earlier sample: CPU needs the next one


def parse_stats(
    answer: dict[str, Any], read_at: float, previous: ContainerStats | None
) -> ContainerStats:
    """CPU % as `docker stats` computes it, over the engine's pre-sample or our previous one."""
    cpu = answer.get("cpu_stats") or {}
    usage = cpu.get("cpu_usage") or {}
    total = int(usage.get("total_usage") or 0)
    system = int(cpu.get("system_cpu_usage") or 0)
    cpus = int(cpu.get("online_cpus") or len(usage.get("percpu_usage") or [])) or 1
    sample_id = str(answer.get("id") or answer.get("Id") or "")
    pre = answer.get("precpu_stats") or {}
    pre_system = int(pre.get("system_cpu_usage") or 0)
    if pre_system:
        pre_total = int((pre.get("cpu_usage") or {}).get("total_usage") or 0)
    elif previous is not None and previous.container_id == sample_id:
        pre_total, pre_system = previous.cpu_total, previous.system_total
    else:
        pre_total = pre_system = 0
    first = not pre_system
    cpu_percent = None
    if pre_system and system > pre_system and total >= pre_total:
        cpu_percent = round((total - pre_total) / (system - pre_system) * cpus * 100, 2)
    memory = answer.get("memory_stats") or {}
    in_use = memory.get("usage")
    used = None
    if isinstance(in_use, int):
        details = memory.get("stats") or {}
        # As `docker stats`: the page cache the kernel can drop does not count as used. Under
        # cgroup v1 that is `total_inactive_file` (its `inactive_file` leaves out the
        # container's nested cgroups, which `usage` includes); v2 has only `inactive_file`.
        cache = int(details.get("total_inactive_file", details.get("inactive_file")) or 0)
        used = in_use - cache if cache < in_use else in_use
    limit = memory.get("limit")
    return ContainerStats(
        container_id=sample_id,
        read_at=read_at,
        cpu_total=total,
        system_total=system,
        online_cpus=cpus,
        cpu_percent=cpu_percent,
        memory_used=used,
        memory_limit=limit if isinstance(limit, int) and limit > 0 else None,
        first=first,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Container:
    """A container as entities show it: list row, details and the latest stats."""

    listed: ListedContainer
    details: ContainerDetails | None
    health: str | None
    stats: ContainerStats | None

    @property
    def name(self) -> str:
        """The container's name."""
        return self.listed.name

    @property
    def state(self) -> str | None:
        """One of CONTAINER_STATES, or None for something new."""
        return self.listed.state if self.listed.state in CONTAINER_STATES else None

    @property
    def exit_code(self) -> int | None:
        """The last exit code, for a container that is not running."""
        if self.listed.running:
            return None
        if (code := self.listed.listed_exit_code) is not None:
            return code
        return None if self.details is None else self.details.exit_code

    @property
    def has_healthcheck(self) -> bool:
        """Whether a health check is defined (from the details)."""
        return self.details is not None and self.details.has_healthcheck


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineSnapshot:
    """The engine and every container, from one refresh."""

    engine_id: str
    name: str
    version: str
    containers: dict[str, Container]  # by stable key
    requests: int  # made by this refresh

    def by_name(self, name: str) -> Container | None:
        """A container by its name (or full or short ID)."""
        for container in self.containers.values():
            if name in (container.name, container.listed.id) or (
                len(name) >= 12 and container.listed.id.startswith(name)
            ):
                return container
        return None
