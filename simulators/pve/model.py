"""The state of a simulated PVE cluster: nodes, guests, storages, quorum, clock and tasks.

Tests drive it directly (`set_node_online`, `add_guest`, `migrate_guest`, `script_next_task`,
...); the HTTP handlers read it, start tasks on it and power nodes off and on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
import random
import time
from typing import Final, Literal

from simulators.backup_link import BackupTarget

from .archives import BackupCatalog
from .figures import STOPPED, GuestFigures, UsageProfile, noise, running_figures
from .tasks import TaskBoard, TaskOutcome

type GuestType = Literal["qemu", "lxc"]
type GuestStatus = Literal["running", "stopped"]
type NodeCommand = Literal["reboot", "shutdown"]

GIB: Final = 1024**3
MIB: Final = 1024**2
TIB: Final = 1024**4
PVE_VERSION: Final = "9.1.3"
PVE_RELEASE: Final = "9.1"
PVE_REPOID: Final = "e5010dc8"
KERNEL_RELEASE: Final = "6.17.2-1-pve"

# Names a homelab would give its guests; repeated ones get a number suffix.
_SERVICE_NAMES: Final = (
    "pihole",
    "nextcloud",
    "jellyfin",
    "gitea",
    "homeassistant",
    "grafana",
    "prometheus",
    "unifi",
    "vaultwarden",
    "paperless",
    "immich",
    "traefik",
    "wireguard",
    "minecraft",
    "k3s-server",
    "k3s-agent",
    "postgres",
    "mqtt",
    "frigate",
    "syncthing",
)


@dataclass(slots=True)
class Node:
    """A cluster member."""

    name: str
    nodeid: int
    ip: str
    maxcpu: int = 16
    maxmem: int = 64 * GIB
    rootfs: int = 100 * GIB
    booted_at: float = 0.0  # cluster clock
    online: bool = True
    offline_since: float | None = None  # cluster clock
    stale_guests: bool = True  # while offline: guests keep their last status in resources
    ssl_fingerprint: str = ""  # of the node's API certificate, as `/nodes` shows it
    # Set while a node command has it down: the guests it starts again when it boots.
    resume_guests: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class NodePowerCommand:
    """A node command `POST /nodes/{node}/status` accepted, as `Cluster.node_power_log` keeps it."""

    node: str
    command: NodeCommand
    user: str  # the caller's full auth id, e.g. `root@pam!homelab`
    time: float  # epoch seconds (shifted by `advance_clock` like every cluster timestamp)


@dataclass(slots=True)
class Storage:
    """A storage definition; `target` links a `pbs` storage to its PBS datastore."""

    storage: str
    storage_type: str  # PVE's plugin type: dir, lvmthin, nfs, pbs
    content: str  # comma-separated content types
    shared: bool
    total: int
    target: BackupTarget | None = None

    def holds(self, content: str) -> bool:
        """Whether this storage accepts a content type such as `backup`."""
        return content in self.content.split(",")


@dataclass(slots=True, kw_only=True)
class Guest:
    """A qemu VM or an lxc container."""

    vmid: int
    guest_type: GuestType
    name: str
    node: str
    cores: int
    memory: int  # bytes
    disk_size: int  # bytes of the root disk
    swap: int = 0  # bytes, containers only
    status: GuestStatus = "stopped"
    paused: bool = False  # a suspended VM: status stays "running", qmpstatus is "paused"
    lock: str | None = None
    tags: str = ""
    template: bool = False
    started_at: float | None = None  # cluster clock
    pid: int = 0
    profile: UsageProfile
    # The figures of one tick, cached by `Cluster.guest_figures` (-1: none yet).
    figures_tick: int = field(default=-1, repr=False)
    tick_figures: GuestFigures = field(default=STOPPED, repr=False)

    @property
    def kind_label(self) -> str:
        """`VM` or `CT`, as PVE's messages name guests."""
        return "VM" if self.guest_type == "qemu" else "CT"


@dataclass(frozen=True, slots=True)
class NodeFigures:
    """Usage of a node at one moment."""

    cpu: float
    mem: int
    disk: int
    uptime: int


class Cluster:
    """A PVE cluster's state and the knobs tests turn."""

    def __init__(
        self,
        *,
        name: str = "homelab",
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
    ) -> None:
        """Build `nodes` nodes `pve1..N`, each with `guests_per_node` guests (vmids from 100).

        `guests`, when given, is the cluster's total instead, spread evenly over the nodes.
        Storages: `local` (dir) and `local-lvm` (lvmthin) on every node, `storages` shared NFS
        storages `nas1..N`, and one `pbs` storage per entry of `backup_targets`.
        `node_power_delay` (default: `task_duration`) is how long a node command takes to bring
        the node down, and a reboot again to bring it back.
        """
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.name = name
        self.seed = seed
        self.figure_period = figure_period
        self._clock_offset = 0.0
        # Figure ticks count from here, so a seed gives the same figures in every run.
        self._epoch = time.monotonic()
        self._frozen_at: float | None = None
        self._quorate_override: bool | None = None
        self._scripted: dict[int, deque[TaskOutcome]] = {}
        self._pids = iter(range(2000, 1 << 22, 7))
        self.tasks = TaskBoard(task_duration, self.wall_time)
        self.node_power_delay = task_duration if node_power_delay is None else node_power_delay
        self.node_power_log: list[NodePowerCommand] = []
        self._power_timers: dict[str, asyncio.TimerHandle] = {}
        self.backups = BackupCatalog()
        self.nodes: dict[str, Node] = {}
        self.guests: dict[int, Guest] = {}
        self.storages: dict[str, Storage] = {}
        layout = random.Random(seed)
        for number in range(1, nodes + 1):
            node = Node(
                name=f"pve{number}",
                nodeid=number,
                ip=f"192.168.10.{10 + number}",
                booted_at=self._epoch - layout.uniform(2, 40) * 86400,
            )
            self.nodes[node.name] = node
        self._add_storages(storages, backup_targets or {})
        for index, node_name in enumerate(self.nodes):
            count = guests_per_node
            if guests is not None:
                count = guests // nodes + (1 if index < guests % nodes else 0)
            for _ in range(count):
                self._add_layout_guest(layout, node_name)
        if freeze_figures:
            self.set_figures_frozen(True)

    def _add_storages(self, shared: int, backup_targets: Mapping[str, BackupTarget]) -> None:
        definitions = [
            Storage("local", "dir", "iso,vztmpl,backup", shared=False, total=100 * GIB),
            Storage("local-lvm", "lvmthin", "images,rootdir", shared=False, total=TIB),
            *(
                Storage(f"nas{n}", "nfs", "images,backup,iso", shared=True, total=8 * TIB)
                for n in range(1, shared + 1)
            ),
            *(
                Storage(storage_id, "pbs", "backup", shared=True, total=4 * TIB, target=target)
                for storage_id, target in backup_targets.items()
            ),
        ]
        self.storages = {storage.storage: storage for storage in definitions}

    def _add_layout_guest(self, layout: random.Random, node: str) -> None:
        vmid = self.next_free_vmid()
        container = layout.random() < 0.35
        service = _SERVICE_NAMES[(vmid - 100) % len(_SERVICE_NAMES)]
        round_number = (vmid - 100) // len(_SERVICE_NAMES)
        guest = self.add_guest(
            vmid=vmid,
            node=node,
            guest_type="lxc" if container else "qemu",
            name=service if round_number == 0 else f"{service}-{round_number + 1}",
            status="running" if layout.random() < 0.8 else "stopped",
            cores=layout.choice((1, 2, 4)) if container else layout.choice((2, 4, 8)),
            memory=layout.choice((512, 1024, 2048, 4096)) * MIB
            if container
            else layout.choice((2, 4, 8, 16)) * GIB,
            disk_size=layout.choice((8, 16, 32, 64)) * GIB
            if container
            else layout.choice((32, 64, 128, 256)) * GIB,
        )
        if guest.started_at is not None:
            # Guests of a homelab have mostly been up since their node booted.
            guest.started_at = self.nodes[node].booted_at + layout.uniform(60, 3600)

    # --- clock -------------------------------------------------------------------------------

    def now(self) -> float:
        """The cluster clock (monotonic seconds, shifted by `advance_clock`)."""
        return time.monotonic() + self._clock_offset

    def wall_time(self) -> float:
        """Epoch seconds, shifted by `advance_clock` like the cluster clock."""
        return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the cluster's clocks forward: uptimes grow and figures move on."""
        self._clock_offset += seconds

    def set_figures_frozen(self, frozen: bool) -> None:
        """Freeze usage figures and uptimes where they are (or let them move again)."""
        self._frozen_at = self.now() if frozen else None

    @property
    def figures_frozen(self) -> bool:
        """Whether usage figures are frozen."""
        return self._frozen_at is not None

    def _figure_time(self, node: Node) -> float:
        if not node.online and node.offline_since is not None:
            return node.offline_since
        return self._frozen_at if self._frozen_at is not None else self.now()

    # --- nodes and quorum --------------------------------------------------------------------

    def node(self, name: str) -> Node:
        """The node with this name (KeyError if there is none)."""
        return self.nodes[name]

    def set_node_online(self, node: str, online: bool = True, *, stale_guests: bool = True) -> None:
        """Take a node offline or bring it back.

        While offline, the node shows `offline` in `/cluster/resources` and `online: 0` in
        `/cluster/status`, calls proxied to it answer 595, and its guests keep being listed with
        their last known status and figures (`stale_guests=True`, what stale cluster data shows)
        or with status `unknown` (`stale_guests=False`).

        This overrides a node command still under way (its pending step is dropped). Bringing
        back a node that a node command took down boots it: a fresh uptime, and the guests that
        ran before it went down run again with fresh uptimes.
        """
        self._cancel_power_timer(node)
        self._set_online(self.nodes[node], online, stale_guests=stale_guests)

    def _set_online(self, member: Node, online: bool, *, stale_guests: bool) -> None:
        if member.online == online:
            member.stale_guests = stale_guests
            return
        member.online = online
        member.stale_guests = stale_guests
        member.offline_since = None if online else self._figure_time(member)
        for guest in self.guests_on(member.name):
            guest.figures_tick = -1
        if online and member.resume_guests is not None:
            self._boot(member, member.resume_guests)

    def _boot(self, member: Node, resume: frozenset[int]) -> None:
        member.resume_guests = None
        member.booted_at = self.now()
        for guest in self.guests_on(member.name):
            if guest.vmid in resume:
                self.power_on(guest)

    def power_node(self, node: str, command: NodeCommand, *, user: str) -> NodePowerCommand:
        """Run a node command as `POST /nodes/{node}/status` does, and log it.

        It returns at once; `node_power_delay` seconds later the node goes offline (its guests
        shown as for any offline node). A `reboot` brings it back after another delay, with the
        guests that ran before running again; after a `shutdown` it stays offline until
        `set_node_online(node, True)`. While a command is under way, further ones are logged but
        change nothing. Needs the running event loop.
        """
        member = self.nodes[node]
        if not member.online:
            raise ValueError(f"node {node!r} is offline")
        entry = NodePowerCommand(node=node, command=command, user=user, time=self.wall_time())
        self.node_power_log.append(entry)
        if node not in self._power_timers:
            self._power_timers[node] = asyncio.get_running_loop().call_later(
                self.node_power_delay, self._power_off, member, command
            )
        return entry

    def _power_off(self, member: Node, command: NodeCommand) -> None:
        self._power_timers.pop(member.name, None)
        resume = frozenset(
            guest.vmid for guest in self.guests_on(member.name) if guest.status == "running"
        )
        self._set_online(member, False, stale_guests=member.stale_guests)
        member.resume_guests = resume
        if command == "reboot":
            self._power_timers[member.name] = asyncio.get_running_loop().call_later(
                self.node_power_delay, self._power_back_on, member
            )

    def _power_back_on(self, member: Node) -> None:
        self._power_timers.pop(member.name, None)
        self._set_online(member, True, stale_guests=member.stale_guests)

    @property
    def node_commands_pending(self) -> list[str]:
        """The nodes with a node command under way (going down, or rebooting), by name."""
        return sorted(self._power_timers)

    def _cancel_power_timer(self, node: str) -> None:
        timer = self._power_timers.pop(node, None)
        if timer is not None:
            timer.cancel()

    def cancel_node_commands(self) -> None:
        """Drop the pending steps of node commands (the simulator is stopping)."""
        for node in list(self._power_timers):
            self._cancel_power_timer(node)

    def set_quorate(self, quorate: bool | None) -> None:
        """Force quorum on or off; None returns to the majority rule over online nodes."""
        self._quorate_override = quorate

    @property
    def quorate(self) -> bool:
        """Whether the cluster has quorum (writes need it)."""
        if self._quorate_override is not None:
            return self._quorate_override
        online = sum(1 for node in self.nodes.values() if node.online)
        return online * 2 > len(self.nodes)

    @property
    def local_node(self) -> Node:
        """The node whose pveproxy answers the API (the first one)."""
        return next(iter(self.nodes.values()))

    # --- guests ------------------------------------------------------------------------------

    def guest(self, vmid: int) -> Guest:
        """The guest with this vmid (KeyError if there is none)."""
        return self.guests[vmid]

    def guests_on(self, node: str) -> list[Guest]:
        """The guests on a node, by vmid."""
        return sorted(
            (guest for guest in self.guests.values() if guest.node == node),
            key=lambda guest: guest.vmid,
        )

    def next_free_vmid(self) -> int:
        """The lowest unused vmid from 100, as `/cluster/nextid` would answer."""
        vmid = 100
        while vmid in self.guests:
            vmid += 1
        return vmid

    def add_guest(
        self,
        *,
        node: str = "pve1",
        guest_type: GuestType = "qemu",
        vmid: int | None = None,
        name: str | None = None,
        status: GuestStatus = "running",
        cores: int = 2,
        memory: int = 2 * GIB,
        disk_size: int = 32 * GIB,
        tags: str = "",
        template: bool = False,
    ) -> Guest:
        """Add a guest (the next free vmid unless given) and return it."""
        if node not in self.nodes:
            raise KeyError(f"no node {node!r}")
        vmid = self.next_free_vmid() if vmid is None else vmid
        if vmid in self.guests:
            raise ValueError(f"vmid {vmid} already exists")
        guest = Guest(
            vmid=vmid,
            guest_type=guest_type,
            name=name or f"{'vm' if guest_type == 'qemu' else 'ct'}{vmid}",
            node=node,
            cores=cores,
            memory=memory,
            disk_size=disk_size,
            swap=512 * MIB if guest_type == "lxc" else 0,
            tags=tags,
            template=template,
            profile=UsageProfile.draw(self.seed, vmid),
        )
        self.guests[vmid] = guest
        if status == "running":
            self.power_on(guest)
        return guest

    def remove_guest(self, vmid: int) -> Guest:
        """Remove a guest and return it."""
        return self.guests.pop(vmid)

    def migrate_guest(self, vmid: int, node: str) -> Guest:
        """Move a guest to another node, keeping its status (as a live migration does)."""
        if node not in self.nodes:
            raise KeyError(f"no node {node!r}")
        guest = self.guests[vmid]
        guest.node = node
        guest.figures_tick = -1
        return guest

    def power_on(self, guest: Guest) -> None:
        """Mark a guest running with a fresh uptime and process id."""
        guest.status = "running"
        guest.paused = False
        guest.started_at = self.now()
        guest.pid = next(self._pids)
        guest.figures_tick = -1

    def power_off(self, guest: Guest) -> None:
        """Mark a guest stopped."""
        guest.status = "stopped"
        guest.paused = False
        guest.started_at = None
        guest.pid = 0

    def script_next_task(self, vmid: int, outcome: TaskOutcome) -> None:
        """Make the next task for this guest end as scripted (queued, one per task)."""
        self._scripted.setdefault(vmid, deque()).append(outcome)

    def take_outcome(self, *vmids: int) -> TaskOutcome:
        """The scripted outcome for a task touching these guests (the first scripted), or OK."""
        for vmid in vmids:
            queue = self._scripted.get(vmid)
            if queue:
                return queue.popleft()
        return TaskOutcome.ok()

    # --- figures -----------------------------------------------------------------------------

    def guest_figures(self, guest: Guest, *, live: bool = False) -> GuestFigures:
        """Usage figures of a guest (its node's last known ones while the node is offline).

        By default the figures of the current figure tick, as pvestatd broadcasts them to
        `/cluster/resources`; `live=True` gives the exact uptime a node's own API reports.
        """
        if guest.status != "running" or guest.started_at is None:
            return STOPPED
        moment = self._figure_time(self.nodes[guest.node])
        tick = self._tick(moment)
        if not live:
            if guest.figures_tick == tick:
                return guest.tick_figures
            moment = max(guest.started_at, self._epoch + tick * self.figure_period)
        figures = running_figures(
            seed=self.seed,
            vmid=guest.vmid,
            profile=guest.profile,
            tick=tick,
            uptime=moment - guest.started_at,
            memory=guest.memory,
            disk_size=guest.disk_size,
            reports_disk=guest.guest_type == "lxc",
        )
        if not live:
            guest.figures_tick = tick
            guest.tick_figures = figures
        return figures

    def _tick(self, moment: float) -> int:
        return int((moment - self._epoch) // self.figure_period)

    def node_figures(self, node: Node) -> NodeFigures:
        """Usage figures of a node, made of its running guests' figures plus its own overhead."""
        moment = self._figure_time(node)
        tick = self._tick(moment)
        cpu_used = 0.0
        mem_used = 2 * GIB
        for guest in self.guests_on(node.name):
            figures = self.guest_figures(guest)
            cpu_used += figures.cpu * guest.cores
            mem_used += figures.mem
        base = 0.01 + 0.02 * noise(self.seed, node.nodeid, tick, 21)
        return NodeFigures(
            cpu=round(min(1.0, base + cpu_used / node.maxcpu), 6),
            mem=min(node.maxmem, mem_used),
            disk=int(node.rootfs * (0.12 + 0.1 * noise(self.seed, node.nodeid, 22))),
            uptime=max(0, int(moment - node.booted_at)),
        )

    def storage_used(self, storage: Storage, node: str) -> int:
        """Bytes used on a storage as seen from a node."""
        if storage.target is not None:
            return sum(snapshot.size for snapshot in storage.target.snapshots())
        if storage.storage_type == "lvmthin":
            return sum(
                int(guest.disk_size * guest.profile.disk_share) for guest in self.guests_on(node)
            )
        share = 0.05 + 0.3 * noise(self.seed, sum(map(ord, storage.storage + node)), 23)
        return int(storage.total * share)
