"""Plausible, deterministic usage figures for simulated guests and nodes.

Every figure is a pure function of the seed, the guest's vmid, the figure tick (pvestatd refreshes
every 10 s in PVE, so figures move in ticks) and the guest's uptime: the same seed and the same
clock always give the same numbers, and nothing needs a background task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

_MASK: Final = (1 << 64) - 1


def noise(seed: int, *parts: int) -> float:
    """A deterministic value in [0, 1) for the seed and the integer parts (splitmix64 mixing)."""
    state = seed & _MASK
    for part in parts:
        state = _mix(state ^ (part & _MASK))
    return (state >> 11) / float(1 << 53)


def _mix(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


@dataclass(frozen=True, slots=True)
class UsageProfile:
    """How busy one guest is on average; drawn once from the seed and its vmid."""

    cpu_load: float  # mean fraction of its vCPUs
    memory_share: float  # mean fraction of its memory
    disk_share: float  # fraction of its root disk in use (containers report it)
    net_in_rate: float  # bytes per second
    net_out_rate: float
    disk_read_rate: float
    disk_write_rate: float

    @classmethod
    def draw(cls, seed: int, vmid: int) -> UsageProfile:
        """The profile for a vmid under a seed."""

        def draw(channel: int) -> float:
            return noise(seed, vmid, channel)

        return cls(
            # Most homelab guests idle; a few are busy.
            cpu_load=0.005 + 0.6 * draw(1) ** 3,
            memory_share=0.25 + 0.55 * draw(2),
            disk_share=0.1 + 0.7 * draw(3),
            net_in_rate=200 + 400_000 * draw(4) ** 3,
            net_out_rate=100 + 250_000 * draw(5) ** 3,
            disk_read_rate=1_000 + 2_000_000 * draw(6) ** 3,
            disk_write_rate=1_000 + 1_000_000 * draw(7) ** 3,
        )


@dataclass(frozen=True, slots=True)
class GuestFigures:
    """What PVE reports about a guest's usage at one moment."""

    cpu: float
    mem: int
    disk: int
    netin: int
    netout: int
    diskread: int
    diskwrite: int
    uptime: int


STOPPED: Final = GuestFigures(
    cpu=0.0, mem=0, disk=0, netin=0, netout=0, diskread=0, diskwrite=0, uptime=0
)


def running_figures(
    *,
    seed: int,
    vmid: int,
    profile: UsageProfile,
    tick: int,
    uptime: float,
    memory: int,
    disk_size: int,
    reports_disk: bool,
) -> GuestFigures:
    """Figures of a running guest at a figure tick after `uptime` seconds."""
    wobble_cpu = noise(seed, vmid, tick, 11)
    wobble_mem = noise(seed, vmid, tick, 12) - 0.5
    seconds = max(0, int(uptime))
    return GuestFigures(
        cpu=round(min(1.0, profile.cpu_load * (0.4 + 1.2 * wobble_cpu)), 6),
        mem=int(memory * min(1.0, max(0.05, profile.memory_share + 0.08 * wobble_mem))),
        # Without the guest agent PVE cannot see inside a VM's disk and reports 0.
        disk=int(disk_size * profile.disk_share) if reports_disk else 0,
        # Counters grow with uptime at the guest's own rate, so they never go backwards.
        netin=int(profile.net_in_rate * seconds),
        netout=int(profile.net_out_rate * seconds),
        diskread=int(profile.disk_read_rate * seconds),
        diskwrite=int(profile.disk_write_rate * seconds),
        uptime=seconds,
    )
