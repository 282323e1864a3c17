"""The cluster as one poll sees it: nodes, guests and storages parsed from /cluster/resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

GUEST_TYPES = ("qemu", "lxc")


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """A cluster node."""

    name: str
    online: bool
    cpu: float | None  # fraction of all cores, 0..1
    mem: int | None
    maxmem: int | None
    disk: int | None  # root file system
    maxdisk: int | None
    uptime: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Guest:
    """A VM (qemu) or container (lxc)."""

    vmid: int
    guest_type: str
    node: str
    name: str | None
    status: str | None  # running, stopped, paused; None when Proxmox does not know
    template: bool
    cpu: float | None
    mem: int | None
    maxmem: int | None
    disk: int | None
    maxdisk: int | None
    netin: int | None  # bytes since start (counters)
    netout: int | None
    uptime: int | None

    @property
    def running(self) -> bool:
        """Whether the guest runs (a paused VM is not running for power purposes)."""
        return self.status == "running"


@dataclass(frozen=True, slots=True, kw_only=True)
class Storage:
    """A storage as one node sees it (shared storages appear once per node)."""

    storage: str
    node: str
    shared: bool
    available: bool
    used: int | None
    total: int | None
    plugin_type: str | None
    content: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSnapshot:
    """Everything one poll learned, with per-guest network rates from the previous poll."""

    name: str
    quorate: bool | None
    polled_at: datetime
    nodes: dict[str, Node]
    guests: dict[int, Guest]
    storages: dict[str, Storage]  # keyed by storage_key()
    net_rates: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    boot_times: dict[str, datetime] = field(default_factory=dict)  # "node/x", "guest/101"


def storage_key(storage: Storage) -> str:
    """A shared storage is one device for the cluster; a local one belongs to its node."""
    return storage.storage if storage.shared else f"{storage.node}/{storage.storage}"


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def parse_resources(
    resources: list[dict[str, Any]],
    status: list[dict[str, Any]],
    polled_at: datetime,
    previous: ClusterSnapshot | None,
) -> ClusterSnapshot:
    """Build a snapshot; guests on offline nodes are not reported running (stale data)."""
    nodes: dict[str, Node] = {}
    for item in resources:
        if item.get("type") == "node" and item.get("node"):
            online = item.get("status") == "online"
            nodes[item["node"]] = Node(
                name=item["node"],
                online=online,
                cpu=_float(item.get("cpu")) if online else None,
                mem=_int(item.get("mem")) if online else None,
                maxmem=_int(item.get("maxmem")),
                disk=_int(item.get("disk")) if online else None,
                maxdisk=_int(item.get("maxdisk")),
                uptime=_int(item.get("uptime")) if online else None,
            )
    guests: dict[int, Guest] = {}
    storages: dict[str, Storage] = {}
    for item in resources:
        kind = item.get("type")
        if kind in GUEST_TYPES and _int(item.get("vmid")) is not None and item.get("node"):
            node = nodes.get(item["node"])
            trusted = node is not None and node.online
            guest = Guest(
                vmid=int(item["vmid"]),
                guest_type=kind,
                node=item["node"],
                name=item.get("name"),
                status=item.get("status") if trusted else None,
                template=bool(item.get("template")),
                cpu=_float(item.get("cpu")) if trusted else None,
                mem=_int(item.get("mem")) if trusted else None,
                maxmem=_int(item.get("maxmem")),
                disk=_int(item.get("disk")) if trusted else None,
                maxdisk=_int(item.get("maxdisk")),
                netin=_int(item.get("netin")) if trusted else None,
                netout=_int(item.get("netout")) if trusted else None,
                uptime=_int(item.get("uptime")) if trusted else None,
            )
            guests[guest.vmid] = guest
        elif kind == "storage" and item.get("storage") and item.get("node"):
            storage = Storage(
                storage=item["storage"],
                node=item["node"],
                shared=bool(item.get("shared")),
                available=item.get("status") == "available",
                used=_int(item.get("disk")),
                total=_int(item.get("maxdisk")),
                plugin_type=item.get("plugintype"),
                content=item.get("content"),
            )
            key = storage_key(storage)
            # A shared storage: keep the view of a node that is online and sees it.
            current = storages.get(key)
            if current is None or (not current.available and storage.available):
                storages[key] = storage
    name, quorate = _cluster_identity(status, nodes)
    return ClusterSnapshot(
        name=name,
        quorate=quorate,
        polled_at=polled_at,
        nodes=nodes,
        guests=guests,
        storages=storages,
        net_rates=_net_rates(guests, polled_at, previous),
        boot_times=_boot_times(nodes, guests, polled_at, previous),
    )


def _cluster_identity(
    status: list[dict[str, Any]], nodes: dict[str, Node]
) -> tuple[str, bool | None]:
    for item in status:
        if item.get("type") == "cluster":
            return str(item.get("name")), bool(item.get("quorate"))
    # A stand-alone node has no cluster entry: it is its own (quorate) cluster.
    local = [i.get("name") for i in status if i.get("type") == "node" and i.get("local")]
    name = str(local[0]) if local else (min(nodes) if nodes else "proxmox")
    return name, None


def _net_rates(
    guests: dict[int, Guest], polled_at: datetime, previous: ClusterSnapshot | None
) -> dict[int, tuple[float | None, float | None]]:
    if previous is None:
        return {}
    elapsed = (polled_at - previous.polled_at).total_seconds()
    if elapsed <= 0:
        return dict(previous.net_rates)
    rates: dict[int, tuple[float | None, float | None]] = {}
    for vmid, guest in guests.items():
        before = previous.guests.get(vmid)
        if before is None or not guest.running:
            continue
        rates[vmid] = (
            _rate(before.netin, guest.netin, elapsed),
            _rate(before.netout, guest.netout, elapsed),
        )
    return rates


def _rate(before: int | None, after: int | None, elapsed: float) -> float | None:
    if before is None or after is None or after < before:
        return None  # counters reset when a guest restarts
    return round((after - before) / elapsed, 1)


# Uptimes in /cluster/resources lag by up to a statistics period, so a boot time computed from
# them wobbles; a change smaller than this is the same boot.
_BOOT_TOLERANCE = timedelta(minutes=2)


def _boot_times(
    nodes: dict[str, Node],
    guests: dict[int, Guest],
    polled_at: datetime,
    previous: ClusterSnapshot | None,
) -> dict[str, datetime]:
    uptimes = {f"node/{name}": node.uptime for name, node in nodes.items()}
    uptimes |= {f"guest/{vmid}": g.uptime for vmid, g in guests.items() if g.running}
    known = previous.boot_times if previous is not None else {}
    boot_times: dict[str, datetime] = {}
    for key, uptime in uptimes.items():
        if not uptime:
            continue
        boot = (polled_at - timedelta(seconds=uptime)).replace(microsecond=0)
        before = known.get(key)
        boot_times[key] = before if before and abs(boot - before) < _BOOT_TOLERANCE else boot
    return boot_times
