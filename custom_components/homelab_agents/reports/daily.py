"""The daily summary's figures: alerts, guests, nodes, failed tasks and backups."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from homeassistant.core import HomeAssistant

from ..alertmanager.models import Alert
from ..backup.runtime import async_backup_health, loaded_backup_servers
from ..const import LOGGER, SourceKind
from ..proxmox.client import ProxmoxError
from ..proxmox.tasks import TaskOutcome, outcome_of
from ..service_targets import loaded_runtimes
from .models import TOP_ALERTS, ReportPeriod, clip

if TYPE_CHECKING:
    from ..alertmanager.runtime import AlertmanagerRuntime
    from ..proxmox.runtime import ProxmoxRuntime

# Proxmox task types that change a guest's power state, and what they did.
POWER_TASKS = {
    "qmstart": "started",
    "vzstart": "started",
    "qmstop": "stopped",
    "vzstop": "stopped",
    "qmshutdown": "shut down",
    "vzshutdown": "shut down",
    "qmreboot": "rebooted",
    "vzreboot": "rebooted",
    "qmreset": "reset",
    "qmsuspend": "suspended",
    "vzsuspend": "suspended",
    "qmresume": "resumed",
    "vzresume": "resumed",
}


def loaded_clusters(hass: HomeAssistant) -> list[ProxmoxRuntime]:
    """The Proxmox VE entries that run now."""
    return cast("list[ProxmoxRuntime]", loaded_runtimes(hass, SourceKind.PROXMOX_VE))


def alerts_section(hass: HomeAssistant, period: ReportPeriod) -> dict[str, Any]:
    """Occurrences that fired or resolved in the period, those open at its end, the noisiest."""
    runtimes = cast("list[AlertmanagerRuntime]", loaded_runtimes(hass, SourceKind.ALERTMANAGER))
    occurrences: list[Alert] = []
    for runtime in runtimes:
        occurrences += runtime.store.active.values()
        occurrences += runtime.store.history.values()
    fired = [a for a in occurrences if period.start < a.starts_at <= period.end]
    resolved = [
        a
        for a in occurrences
        if a.resolved_at is not None and period.start < a.resolved_at <= period.end
    ]
    still_open = sorted(
        (
            a
            for a in occurrences
            if a.starts_at <= period.end and (a.resolved_at is None or a.resolved_at > period.end)
        ),
        key=lambda a: (a.starts_at, a.alertname),
    )
    noisiest = Counter(clip(a.alertname) for a in fired).most_common()
    noisiest.sort(key=lambda item: (-item[1], item[0]))
    return {
        "sources": len(runtimes),
        "fired": len(fired),
        "resolved": len(resolved),
        "open": len(still_open),
        "noisiest": [{"alertname": name, "count": count} for name, count in noisiest[:TOP_ALERTS]],
        "open_alerts": [
            {
                "alertname": clip(a.alertname),
                "severity": a.severity,
                "instance": clip(a.labels.get("instance")) or None,
                "since": a.starts_at.isoformat(),
            }
            for a in still_open
        ],
    }


def guests_section(clusters: list[ProxmoxRuntime]) -> dict[str, Any]:
    """Guests running and stopped now (templates left out)."""
    running = stopped = other = 0
    for runtime in clusters:
        for guest in runtime.coordinator.data.guests.values():
            if guest.template:
                continue
            if guest.running:
                running += 1
            elif guest.status == "stopped":
                stopped += 1
            else:
                other += 1
    return {"running": running, "stopped": stopped, "other": other}


def nodes_section(clusters: list[ProxmoxRuntime]) -> list[dict[str, Any]]:
    """Each node's health now: online, CPU, memory, root file system."""
    return [
        {
            "cluster": runtime.coordinator.data.name,
            "node": node.name,
            "online": node.online,
            "cpu": _percent(node.cpu, 1),
            "memory": _percent(node.mem, node.maxmem),
            "root_fs": _percent(node.disk, node.maxdisk),
            "uptime_days": None if node.uptime is None else round(node.uptime / 86400, 1),
        }
        for runtime in clusters
        for node in sorted(runtime.coordinator.data.nodes.values(), key=lambda n: n.name)
    ]


def _percent(used: float | None, total: float | None) -> float | None:
    if used is None or not total:
        return None
    return round(used / total * 100, 1)


async def tasks_section(
    clusters: list[ProxmoxRuntime], period: ReportPeriod
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Failed tasks and guest power changes that ended in the period, from `/cluster/tasks`."""
    failed: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for runtime in clusters:
        try:
            tasks = await runtime.client.call("get", "cluster/tasks")
        except ProxmoxError as err:
            LOGGER.warning("Could not read the tasks of %s: %s", runtime.entry.title, err)
            continue
        guests = runtime.coordinator.data.guests
        for task in tasks if isinstance(tasks, list) else []:
            status, ended = task.get("status"), task.get("endtime")
            if not isinstance(status, str) or not isinstance(ended, int):
                continue
            when = datetime.fromtimestamp(ended, UTC)
            if not period.start < when <= period.end:
                continue
            task_type = str(task.get("type"))
            task_id = str(task.get("id") or "")
            vmid = int(task_id) if task_id.isdigit() else None
            guest = guests.get(vmid) if vmid is not None else None
            row = {
                "cluster": runtime.coordinator.data.name,
                "node": str(task.get("node")),
                "type": task_type,
                "vmid": vmid,
                "guest": clip(guest.name) if guest and guest.name else None,
                "ended": when.isoformat(),
            }
            if outcome_of(status) is TaskOutcome.ERROR:
                failed.append({**row, "status": clip(status)})
            elif task_type in POWER_TASKS and vmid is not None:
                changes.append({**row, "change": POWER_TASKS[task_type]})
    failed.sort(key=lambda t: str(t["ended"]))
    changes.sort(key=lambda t: str(t["ended"]))
    return failed, changes


async def backups_section(hass: HomeAssistant) -> dict[str, Any] | None:
    """The last 24 hours of every backup server, or None without one."""
    servers = loaded_backup_servers(hass)
    if not servers:
        return None
    health = await async_backup_health(hass, servers)
    return dict(health.as_dict())
