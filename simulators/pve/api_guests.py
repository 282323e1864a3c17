"""Handlers for guests: per-node lists, current status, power actions, create and restore."""

from __future__ import annotations

import re
from typing import Final

from .backups import CreateRequest, RestoreRequest, start_create, start_restore
from .calls import ApiCall, Handler
from .endpoints import LXC_POWER_ACTIONS, QEMU_POWER_ACTIONS
from .errors import parameter_error, permission_denied, server_error
from .figures import GuestFigures
from .model import MIB, Guest, GuestType
from .power import start_power_action
from .schema import JsonValue

type GuestEntry = dict[str, str | int | float | dict[str, int]]

QEMU_VERSION: Final = "10.1.2"
MACHINE: Final = "pc-i440fx-10.1+pve0"


def _usage(guest: Guest, figures: GuestFigures) -> GuestEntry:
    entry: GuestEntry = {
        "vmid": guest.vmid,
        "name": guest.name,
        "status": guest.status,
        "cpu": figures.cpu,
        "cpus": guest.cores,
        "mem": figures.mem,
        "maxmem": guest.memory,
        "disk": figures.disk,
        "maxdisk": guest.disk_size,
        "netin": figures.netin,
        "netout": figures.netout,
        "diskread": figures.diskread,
        "diskwrite": figures.diskwrite,
        "uptime": figures.uptime,
    }
    if guest.status == "running":
        entry["pid"] = guest.pid
    if guest.lock:
        entry["lock"] = guest.lock
    if guest.tags:
        entry["tags"] = guest.tags
    if guest.template:
        entry["template"] = 1
    if guest.guest_type == "lxc":
        entry["type"] = "lxc"
        entry["maxswap"] = guest.swap
        entry["swap"] = 0
    else:
        entry["memhost"] = figures.mem
    return entry


def _qemu_details(guest: Guest) -> GuestEntry:
    # What PVE's vmstatus adds when it asks QEMU itself (status/current, or the list with full=1).
    if guest.status != "running":
        return {"qmpstatus": "stopped"}
    return {
        "qmpstatus": "paused" if guest.paused else "running",
        "running-machine": MACHINE,
        "running-qemu": QEMU_VERSION,
    }


def _guest_list(guest_type: GuestType) -> Handler:
    def handle(call: ApiCall) -> JsonValue:
        cluster = call.cluster
        full = call.flag("full")
        entries: list[GuestEntry] = []
        for guest in cluster.guests_on(call.text("node")):
            if guest.guest_type != guest_type or not call.allows(f"/vms/{guest.vmid}", "VM.Audit"):
                continue
            entry = _usage(guest, cluster.guest_figures(guest, live=True))
            if guest_type == "qemu" and full:
                entry |= _qemu_details(guest)
            entries.append(entry)
        return entries

    return handle


def _current_status(guest_type: GuestType) -> Handler:
    def handle(call: ApiCall) -> JsonValue:
        guest = call.guest(guest_type)
        entry = _usage(guest, call.cluster.guest_figures(guest, live=True))
        entry["ha"] = {"managed": 0}
        if guest_type == "qemu":
            entry |= _qemu_details(guest)
        return entry

    return handle


def _power_action(guest_type: GuestType, action: str) -> Handler:
    def handle(call: ApiCall) -> JsonValue:
        guest = call.guest(guest_type)
        skiplock = call.flag("skiplock")
        if skiplock and call.auth_id != "root@pam":
            raise parameter_error({"skiplock": "Only root may use this option."})
        task = start_power_action(
            call.cluster,
            guest,
            action,
            user=call.auth_id,
            force_stop=call.flag("forceStop"),
            skiplock=skiplock,
        )
        return task.upid

    return handle


def _check_allocation(call: ApiCall, vmid: int, *, restoring: bool) -> None:
    # PVE: VM.Allocate on the vmid, or for a restore over an existing guest VM.Backup is enough.
    path = f"/vms/{vmid}"
    if call.allows(path, "VM.Allocate"):
        return
    if restoring and vmid in call.cluster.guests and call.allows(path, "VM.Backup"):
        return
    raise permission_denied(path, "VM.Allocate")


def _check_target_storage(call: ApiCall) -> None:
    storage = call.optional_text("storage")
    if storage is None:
        return
    call.require(f"/storage/{storage}", "Datastore.AllocateSpace")
    if storage not in call.cluster.storages:
        raise server_error(f"storage '{storage}' does not exist")


def _memory_mib(value: str | None, default: int) -> int:
    # qemu's `memory` is a property string (`[current=]<MiB>`), lxc's a plain integer.
    if value is None:
        return default
    match = re.match(r"(?:current=)?(\d+)", value)
    return int(match.group(1)) if match else default


def create_qemu(call: ApiCall) -> JsonValue:
    """POST /nodes/{node}/qemu: restore from `archive`, or create an empty VM."""
    vmid = call.integer("vmid")
    archive = call.optional_text("archive")
    _check_allocation(call, vmid, restoring=archive is not None)
    _check_target_storage(call)
    if archive is not None:
        task = start_restore(
            call.cluster,
            RestoreRequest(
                node=call.text("node"),
                guest_type="qemu",
                vmid=vmid,
                archive=archive,
                force=call.flag("force"),
                start=call.flag("start"),
            ),
            user=call.auth_id,
        )
        return task.upid
    return _create(call, "qemu", name=call.optional_text("name"))


def create_lxc(call: ApiCall) -> JsonValue:
    """POST /nodes/{node}/lxc: restore when `restore=1`, else create from `ostemplate`."""
    vmid = call.integer("vmid")
    restoring = call.flag("restore")
    _check_allocation(call, vmid, restoring=restoring)
    _check_target_storage(call)
    if restoring:
        task = start_restore(
            call.cluster,
            RestoreRequest(
                node=call.text("node"),
                guest_type="lxc",
                vmid=vmid,
                archive=call.text("ostemplate"),
                force=call.flag("force"),
                start=call.flag("start"),
            ),
            user=call.auth_id,
        )
        return task.upid
    return _create(call, "lxc", name=call.optional_text("hostname"))


def _create(call: ApiCall, guest_type: GuestType, *, name: str | None) -> str:
    default_memory = 2048 if guest_type == "qemu" else 512
    task = start_create(
        call.cluster,
        CreateRequest(
            node=call.text("node"),
            guest_type=guest_type,
            vmid=call.integer("vmid"),
            name=name,
            cores=call.optional_integer("cores") or 1,
            memory=_memory_mib(call.optional_text("memory"), default_memory) * MIB,
            start=call.flag("start"),
        ),
        user=call.auth_id,
    )
    return task.upid


HANDLERS: Final[dict[tuple[str, str], Handler]] = {
    ("GET", "/nodes/{node}/qemu"): _guest_list("qemu"),
    ("GET", "/nodes/{node}/lxc"): _guest_list("lxc"),
    ("POST", "/nodes/{node}/qemu"): create_qemu,
    ("POST", "/nodes/{node}/lxc"): create_lxc,
    ("GET", "/nodes/{node}/qemu/{vmid}/status/current"): _current_status("qemu"),
    ("GET", "/nodes/{node}/lxc/{vmid}/status/current"): _current_status("lxc"),
    **{
        ("POST", f"/nodes/{{node}}/qemu/{{vmid}}/status/{action}"): _power_action("qemu", action)
        for action in QEMU_POWER_ACTIONS
    },
    **{
        ("POST", f"/nodes/{{node}}/lxc/{{vmid}}/status/{action}"): _power_action("lxc", action)
        for action in LXC_POWER_ACTIONS
    },
}
