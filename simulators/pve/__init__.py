"""A stateful Proxmox VE API simulator over HTTPS, for tests, benchmarks and the demo.

It serves the `/api2/json` endpoints listed in `simulators.pve.endpoints` with PVE's envelope
(`{"data": ...}`; errors as `{"data": null[, "errors": {...}]}` with the message in the HTTP status
line, which proxmoxer surfaces as the reason), checks parameters and permissions against the
official schema subset in `simulators/schemas/pve-api-subset.json`, and keeps state: guests start
and stop through tasks, backups land in PBS datastores, nodes reboot, shut down or go offline,
quorum goes away.

Start it on the running event loop::

    sim = PveSimulator(
        nodes=3,                 # pve1..pve3; pve1 is the node answering the API
        guests_per_node=4,       # or guests=N for a cluster total; vmids from 100
        storages=2,              # shared NFS storages nas1..nas2 (besides local, local-lvm)
        backup_targets={"pbs-store": target},  # one `pbs` storage per BackupTarget
        task_duration=0.05,      # seconds every task runs
        node_power_delay=None,   # node reboot/shutdown: seconds until down (and back); None:
                                 #   task_duration
        seed=1,                  # layout, names and figures
        figure_period=10.0,      # figures in /cluster/resources move in these ticks
        freeze_figures=False,
        cluster_name="homelab", host="127.0.0.1", port=0,   # 0: the OS picks a port
        token_id="homelab", token_secret=None, root_password=None,  # None: random
        unauthorized_delay=0.0,  # pveproxy waits 3 s before a 401
    )
    await sim.start()            # HTTPS with a fresh self-signed certificate
    sim.url, sim.api_url, sim.host, sim.port
    sim.certificate.fingerprint_sha256       # "AB:CD:..." as PVE shows it
    sim.token                    # ApiToken: .user "root@pam", .token_id, .secret, .auth_id,
                                 #   .header (the Authorization header value)
    sim.root_password            # root@pam's password, for ticket logins
    sim.add_token(user="root@pam", token_id="ro", secret=None, privileges={"VM.Audit"})
    sim.add_user("alice@pve", "secret", privileges={"/": {"Sys.Audit"}, "/vms/101": {...}})
    await sim.stop()             # also: async with PveSimulator(...) as sim:

Privileges (`privileges=`): None grants everything (Administrator on `/`); a set of privilege
names applies on `/`; a mapping of ACL path to privileges is an ACL where the most specific path
decides (`{"/": {"Sys.Audit", "Datastore.Audit"}}` sees nodes and storages but no guests).

The cluster model (`sim.cluster`, a `Cluster`):
    nodes (`cluster.nodes`), guests (`cluster.guests`, `guest(vmid)`, `guests_on(node)`),
    storages (`cluster.storages`), tasks (`cluster.tasks`: get(upid), on_node(node),
    everywhere()), vzdump archives (`cluster.backups`);
    set_node_online(node, online=True, *, stale_guests=True)  offline: 595 on proxied calls,
        guests keep their last status (or `unknown` with stale_guests=False)
    set_quorate(True | False | None)   None: a majority of online nodes decides
    node commands (`POST /nodes/{node}/status`, command=reboot|shutdown, Sys.PowerMgmt on
        /nodes/{node}): answer null at once (no task); `node_power_delay` seconds later the node
        goes offline as with set_node_online(node, False); a reboot brings it back after another
        delay with a fresh uptime and the guests that ran before running again (fresh uptimes);
        after a shutdown it stays offline until set_node_online(node, True), which boots it the
        same way. Further commands while one is under way are logged but change nothing;
        set_node_online drops a command's pending step.
    node_power_log   the accepted node commands, oldest first: `NodePowerCommand` with .node,
        .command ("reboot"|"shutdown"), .user (auth id), .time (epoch seconds)
    node_commands_pending   nodes whose command is still under way;  node_power_delay (settable)
    power_node(node, "reboot"|"shutdown", user=) -> NodePowerCommand   what the POST does
    add_guest(node=, guest_type="qemu"|"lxc", vmid=, name=, status=, cores=, memory=,
              disk_size=, tags=, template=) -> Guest
    remove_guest(vmid);  migrate_guest(vmid, node)
    script_next_task(vmid, TaskOutcome.ok() | .with_warnings(n) | .failing("msg") | .never())
    set_figures_frozen(bool);  advance_clock(seconds)

Faults (`sim.faults`): inject(pattern, kind, count=1, delay=None, method=None, message=None)
with kind a `FaultKind` (http_500, http_595, http_596, http_401, slow, timeout, drop) and an
fnmatch pattern on the path below /api2/json; count=None never runs out; clear() removes them
and releases held requests.

Counters (`sim.requests`): `sim.requests["GET /cluster/resources"]`, `.total()`, `.reset()`.

Stand-alone: `python -m simulators.pve --nodes 3 --guests 200 [--port 8006] [--seed N]`.
"""

from __future__ import annotations

from .access import ApiToken, PrivilegeSpec, User
from .app import RequestCounter
from .faults import Fault, FaultInjector, FaultKind
from .model import Cluster, Guest, Node, NodePowerCommand, Storage
from .schema import SchemaSubset, default_subset
from .simulator import PveSimulator
from .tasks import Task, TaskOutcome

__all__ = [
    "ApiToken",
    "Cluster",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "Guest",
    "Node",
    "NodePowerCommand",
    "PrivilegeSpec",
    "PveSimulator",
    "RequestCounter",
    "SchemaSubset",
    "Storage",
    "Task",
    "TaskOutcome",
    "User",
    "default_subset",
]
