"""Handlers for the cluster-wide views: version, resources, status, nodes, and access.

Also the node commands (reboot, shutdown) of `POST /nodes/{node}/status`.
"""

from __future__ import annotations

from typing import Final

from .access import AuthenticationError
from .calls import ApiCall, Handler
from .errors import PveError
from .model import (
    GIB,
    KERNEL_RELEASE,
    PVE_RELEASE,
    PVE_REPOID,
    PVE_VERSION,
    Cluster,
    Guest,
    Node,
)
from .schema import JsonValue

type Row = dict[str, str | int | float]

_KERNEL_BUILD: Final = "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)"
_STANDARD_ACL_PATHS: Final = ("/", "/access", "/nodes", "/pool", "/sdn", "/storage", "/vms")


def version(_call: ApiCall) -> JsonValue:
    """GET /version."""
    return {"version": PVE_VERSION, "release": PVE_RELEASE, "repoid": PVE_REPOID}


def cluster_resources(call: ApiCall) -> JsonValue:
    """GET /cluster/resources: guests, nodes, storages and SDN zones the caller may see."""
    kind = call.optional_text("type")
    cluster = call.cluster
    rows: list[Row] = []
    if kind in (None, "vm"):
        rows.extend(
            guest_row(cluster, guest)
            # PVE sorts the vmids as strings (1000 before 101).
            for guest in sorted(cluster.guests.values(), key=lambda guest: str(guest.vmid))
            if call.allows(f"/vms/{guest.vmid}", "VM.Audit")
        )
    if kind in (None, "node"):
        rows.extend(
            node_row(cluster, node, with_stats=call.allows(f"/nodes/{node.name}", "Sys.Audit"))
            for node in cluster.nodes.values()
        )
    if kind in (None, "storage"):
        rows.extend(
            _storage_row(cluster, node, storage_id)
            for node in cluster.nodes.values()
            for storage_id in cluster.storages
            if call.allows(f"/storage/{storage_id}", "Datastore.Audit")
            or call.allows(f"/storage/{storage_id}", "Datastore.AllocateSpace")
        )
    if kind in (None, "sdn") and call.allows("/sdn/zones/localnetwork", "SDN.Audit"):
        rows.extend(
            {
                "id": f"sdn/{node.name}/localnetwork",
                "type": "sdn",
                "sdn": "localnetwork",
                "node": node.name,
                "status": "ok" if node.online else "unknown",
            }
            for node in cluster.nodes.values()
        )
    return rows


def guest_row(cluster: Cluster, guest: Guest) -> Row:
    """A guest as `/cluster/resources` lists it."""
    node = cluster.nodes[guest.node]
    figures = cluster.guest_figures(guest)
    status = guest.status if node.online or node.stale_guests else "unknown"
    row: Row = {
        "id": f"{guest.guest_type}/{guest.vmid}",
        "type": guest.guest_type,
        "vmid": guest.vmid,
        "name": guest.name,
        "node": guest.node,
        "status": status,
        "template": int(guest.template),
        "maxcpu": guest.cores,
        "maxmem": guest.memory,
        "maxdisk": guest.disk_size,
        "cpu": figures.cpu,
        "mem": figures.mem,
        "disk": figures.disk,
        "netin": figures.netin,
        "netout": figures.netout,
        "diskread": figures.diskread,
        "diskwrite": figures.diskwrite,
        "uptime": figures.uptime,
    }
    if guest.guest_type == "qemu":
        row["memhost"] = figures.mem
    if guest.lock:
        row["lock"] = guest.lock
    if guest.tags:
        row["tags"] = guest.tags
    return row


def node_row(cluster: Cluster, node: Node, *, with_stats: bool) -> Row:
    """A node as `/cluster/resources` lists it (stats only for callers with Sys.Audit).

    Like PVE: an offline node keeps its capacities but loses its usage figures.
    """
    row: Row = {
        "id": f"node/{node.name}",
        "type": "node",
        "node": node.name,
        "status": "online" if node.online else "offline",
        "level": "",
    }
    if with_stats:
        row |= {"maxcpu": node.maxcpu, "maxmem": node.maxmem, "maxdisk": node.rootfs}
    if with_stats and node.online:
        figures = cluster.node_figures(node)
        row |= {
            "cpu": figures.cpu,
            "mem": figures.mem,
            "disk": figures.disk,
            "uptime": figures.uptime,
        }
    row["cgroup-mode"] = 2
    return row


def _storage_row(cluster: Cluster, node: Node, storage_id: str) -> Row:
    storage = cluster.storages[storage_id]
    row: Row = {
        "id": f"storage/{node.name}/{storage_id}",
        "type": "storage",
        "storage": storage_id,
        "node": node.name,
        "status": "unknown",
        "plugintype": storage.storage_type,
        "content": storage.content,
        "shared": int(storage.shared),
    }
    # Usage comes from the node's broadcasts, stale ones included, like its guests' status.
    if node.online or node.stale_guests:
        row["status"] = "available"
        row["disk"] = cluster.storage_used(storage, node.name)
        row["maxdisk"] = storage.total
    return row


def cluster_status(call: ApiCall) -> JsonValue:
    """GET /cluster/status: the cluster entry, then one entry per node."""
    cluster = call.cluster
    entries: list[Row] = [
        {
            "type": "cluster",
            "id": "cluster",
            "name": cluster.name,
            "nodes": len(cluster.nodes),
            "quorate": int(cluster.quorate),
            "version": len(cluster.nodes) + 1,
        }
    ]
    local = cluster.local_node.name
    entries.extend(
        {
            "type": "node",
            "id": f"node/{node.name}",
            "name": node.name,
            "nodeid": node.nodeid,
            "ip": node.ip,
            "online": int(node.online),
            "local": int(node.name == local),
            "level": "",
        }
        for node in cluster.nodes.values()
    )
    return entries


def nodes(call: ApiCall) -> JsonValue:
    """GET /nodes."""
    rows: list[Row] = []
    for node in call.cluster.nodes.values():
        row = node_row(
            call.cluster, node, with_stats=call.allows(f"/nodes/{node.name}", "Sys.Audit")
        )
        row.pop("cgroup-mode", None)
        if node.ssl_fingerprint:
            row["ssl_fingerprint"] = node.ssl_fingerprint
        rows.append(row)
    return rows


def node_status(call: ApiCall) -> JsonValue:
    """GET /nodes/{node}/status."""
    cluster = call.cluster
    node = cluster.node(call.text("node"))
    figures = cluster.node_figures(node)
    free_memory = node.maxmem - figures.mem
    rootfs_free = node.rootfs - figures.disk
    load = figures.cpu * node.maxcpu
    return {
        "cpu": figures.cpu,
        "wait": 0.0012,
        "idle": 0,
        "uptime": figures.uptime,
        "loadavg": [f"{load:.2f}", f"{load * 0.9:.2f}", f"{load * 0.8:.2f}"],
        "cpuinfo": {
            "cores": node.maxcpu // 2,
            "cpus": node.maxcpu,
            "sockets": 1,
            "model": "Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz",
            "mhz": "2900.000",
            "hvm": "1",
            "user_hz": 100,
        },
        "memory": {
            "total": node.maxmem,
            "used": figures.mem,
            "free": free_memory,
            "available": free_memory,
        },
        "swap": {"total": 8 * GIB, "used": 0, "free": 8 * GIB},
        "rootfs": {
            "total": node.rootfs,
            "used": figures.disk,
            "free": rootfs_free,
            "avail": rootfs_free,
        },
        "ksm": {"shared": 0},
        "pveversion": f"pve-manager/{PVE_VERSION}/{PVE_REPOID}",
        "kversion": f"Linux {KERNEL_RELEASE} {_KERNEL_BUILD} x86_64",
        "current-kernel": {
            "sysname": "Linux",
            "release": KERNEL_RELEASE,
            "version": _KERNEL_BUILD,
            "machine": "x86_64",
        },
        "boot-info": {"mode": "efi", "secureboot": 0},
    }


def node_command(call: ApiCall) -> JsonValue:
    """POST /nodes/{node}/status: reboot or shut down the node; PVE answers null, no task."""
    node = call.text("node")
    match call.text("command"):
        case "reboot":
            call.cluster.power_node(node, "reboot", user=call.auth_id)
        case "shutdown":
            call.cluster.power_node(node, "shutdown", user=call.auth_id)
        case other:  # the schema's enum has refused anything else already
            raise PveError(400, f"unknown node command {other!r}")
    return None


def access_permissions(call: ApiCall) -> JsonValue:
    """GET /access/permissions: the privileges per ACL path of the caller (or of `userid`)."""
    acl = call.caller.acl if call.caller else None
    userid = call.optional_text("userid")
    if userid and userid != call.auth_id:
        call.require("/access", "Sys.Audit")
        token = call.access.tokens.get(userid)
        user = call.access.users.get(userid)
        if token is None and user is None:
            raise PveError(500, f"no such user ('{userid}')")
        acl = token.acl if token else user.acl if user else None
    if acl is None:
        return {}
    requested = call.optional_text("path")
    paths = [requested] if requested else sorted({*acl.entries, *_STANDARD_ACL_PATHS})
    permissions: dict[str, dict[str, int]] = {}
    for path in paths:
        privileges = acl.privileges_at(path)
        if privileges or requested:
            permissions[path] = dict.fromkeys(sorted(privileges), 1)
    return permissions


def access_ticket(call: ApiCall) -> JsonValue:
    """POST /access/ticket: log in with a password (or renew with a ticket)."""
    try:
        ticket = call.access.login(
            call.text("username"), call.text("password"), call.optional_text("realm")
        )
    except AuthenticationError as err:
        raise PveError(401, str(err)) from err
    return {
        "username": ticket.userid,
        "ticket": ticket.ticket,
        "CSRFPreventionToken": ticket.csrf_token,
        "clustername": call.cluster.name,
    }


HANDLERS: Final[dict[tuple[str, str], Handler]] = {
    ("GET", "/version"): version,
    ("GET", "/cluster/resources"): cluster_resources,
    ("GET", "/cluster/status"): cluster_status,
    ("GET", "/nodes"): nodes,
    ("GET", "/nodes/{node}/status"): node_status,
    ("POST", "/nodes/{node}/status"): node_command,
    ("GET", "/access/permissions"): access_permissions,
    ("POST", "/access/ticket"): access_ticket,
}
