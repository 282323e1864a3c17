"""The Proxmox simulator fixtures, shared with the agent tests."""

from __future__ import annotations

from ..proxmox.conftest import (  # noqa: F401
    proxmox_entry,
    proxmox_options,
    pve,
    setup_proxmox,
    simulator_size,
)
