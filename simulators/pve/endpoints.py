"""The (method, path template) pairs the PVE simulator serves, below `/api2/json`.

The schema subset generator reads this list, so the subset holds exactly what is served.
"""

from __future__ import annotations

from typing import Final

QEMU_POWER_ACTIONS: Final = ("start", "stop", "shutdown", "reboot", "reset", "suspend", "resume")
# PVE has no reset for containers (there is no `/nodes/{node}/lxc/{vmid}/status/reset`).
LXC_POWER_ACTIONS: Final = ("start", "stop", "shutdown", "reboot", "suspend", "resume")

SERVED_ENDPOINTS: Final[tuple[tuple[str, str], ...]] = (
    ("GET", "/version"),
    ("GET", "/cluster/resources"),
    ("GET", "/cluster/status"),
    ("GET", "/cluster/tasks"),
    ("GET", "/access/permissions"),
    ("POST", "/access/ticket"),
    ("GET", "/nodes"),
    ("GET", "/nodes/{node}/status"),
    ("POST", "/nodes/{node}/status"),
    ("GET", "/nodes/{node}/qemu"),
    ("POST", "/nodes/{node}/qemu"),
    ("GET", "/nodes/{node}/lxc"),
    ("POST", "/nodes/{node}/lxc"),
    ("GET", "/nodes/{node}/qemu/{vmid}/status/current"),
    ("GET", "/nodes/{node}/lxc/{vmid}/status/current"),
    *(("POST", f"/nodes/{{node}}/qemu/{{vmid}}/status/{action}") for action in QEMU_POWER_ACTIONS),
    *(("POST", f"/nodes/{{node}}/lxc/{{vmid}}/status/{action}") for action in LXC_POWER_ACTIONS),
    ("GET", "/nodes/{node}/tasks"),
    ("GET", "/nodes/{node}/tasks/{upid}/status"),
    ("GET", "/nodes/{node}/tasks/{upid}/log"),
    ("POST", "/nodes/{node}/vzdump"),
    ("GET", "/nodes/{node}/storage"),
    ("GET", "/nodes/{node}/storage/{storage}/status"),
    ("GET", "/nodes/{node}/storage/{storage}/content"),
)
