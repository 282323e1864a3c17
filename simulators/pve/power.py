"""Guest power actions: PVE's checks before the task, and the state change when it ends OK."""

from __future__ import annotations

from typing import Final

from .errors import server_error
from .model import Cluster, Guest
from .tasks import Task, TaskError

_TASK_PREFIX: Final = {"qemu": "qm", "lxc": "vz"}


def start_power_action(
    cluster: Cluster, guest: Guest, action: str, *, user: str, force_stop: bool, skiplock: bool
) -> Task:
    """Check a power action as PVE's API does before forking the worker, then start its task."""
    _check_before_fork(guest, action, force_stop=force_stop)
    vmid = guest.vmid
    guest_type = guest.guest_type
    node = guest.node

    def apply(_task: Task) -> None:
        current = cluster.guests.get(vmid)
        if current is None or current.node != node or current.guest_type != guest_type:
            config_dir = "qemu-server" if guest_type == "qemu" else "lxc"
            raise TaskError(
                f"Configuration file 'nodes/{node}/{config_dir}/{vmid}.conf' does not exist"
            )
        _check_in_worker(current, action, skiplock=skiplock)
        _apply(cluster, current, action)

    return cluster.tasks.start(
        node=node,
        task_type=f"{_TASK_PREFIX[guest_type]}{action}",
        task_id=str(vmid),
        user=user,
        outcome=cluster.take_outcome(vmid),
        work=apply,
    )


def _check_before_fork(guest: Guest, action: str, *, force_stop: bool) -> None:
    # These checks answer the POST itself with a 500; the rest fail the task.
    vmid = guest.vmid
    running = guest.status == "running"
    if guest.guest_type == "lxc":
        if action == "start" and running:
            raise server_error(f"CT {vmid} already running")
        if action == "resume" and running and not guest.paused:
            raise server_error(f"CT {vmid} already running")
        if action == "reboot" and not running:
            # sic: pve-container says "VM" here.
            raise server_error(f"VM {vmid} not running")
        if action != "start" and not running:
            raise server_error(f"CT {vmid} not running")
        return
    if action in ("shutdown", "reboot") and guest.paused and not force_stop:
        raise server_error("VM is paused - cannot shutdown")
    if action in ("reboot", "reset", "suspend", "resume") and not running:
        raise server_error(f"VM {vmid} not running")


def _check_in_worker(guest: Guest, action: str, *, skiplock: bool) -> None:
    if guest.lock and not skiplock:
        raise TaskError(f"{guest.kind_label} is locked ({guest.lock})")
    if action == "start" and guest.template:
        kind = "vm" if guest.guest_type == "qemu" else "CT"
        raise TaskError(f"you can't start a {kind} if it's a template")
    if action == "start" and guest.status == "running":
        raise TaskError(f"VM {guest.vmid} already running")


def _apply(cluster: Cluster, guest: Guest, action: str) -> None:
    match action:
        case "start" | "reboot" | "reset":
            # A reboot or reset restarts the guest: fresh uptime and counters.
            cluster.power_on(guest)
        case "stop" | "shutdown":
            if guest.status == "running":
                cluster.power_off(guest)
        case "suspend":
            guest.paused = True
        case "resume":
            guest.paused = False
