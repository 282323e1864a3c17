"""Both simulators linked like a homelab: PVE backs up to a `pbs` storage on the PBS simulator.

The PBS datastore `store1` is seeded with a few guests' daily backups; the PVE cluster has those
guests (same VM IDs, types and names) plus one guest nobody backs up.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.backup.client import server_identity
from custom_components.homelab_agents.const import DOMAIN
from simulators.pbs import PbsSimulator
from simulators.pve import PveSimulator

UNPROTECTED_VMID = 120
PBS_STORAGE = "pbs-store"


@pytest.fixture
async def pbs() -> AsyncGenerator[PbsSimulator]:
    """A backup server with three guests' backups (four daily snapshots each)."""
    async with PbsSimulator(guests=3, snapshots_per_guest=4, seed=3, task_duration=0.05) as sim:
        yield sim


@pytest.fixture
async def pve(pbs: PbsSimulator) -> AsyncGenerator[PveSimulator]:
    """A cluster whose guests back up to the PBS simulator's `store1`."""
    async with PveSimulator(
        nodes=2,
        guests_per_node=0,
        backup_targets={PBS_STORAGE: pbs.datastore("store1")},
        task_duration=0.05,
        freeze_figures=True,
        seed=2,
    ) as sim:
        for index, group in enumerate(pbs.datastore("store1").groups()):
            sim.cluster.add_guest(
                node=f"pve{index % 2 + 1}",
                guest_type="qemu" if group.backup_type == "vm" else "lxc",
                vmid=int(group.backup_id),
                name=group.snapshots[-1].notes,
                status="running",
            )
        sim.cluster.add_guest(node="pve2", vmid=UNPROTECTED_VMID, name="scratch", status="stopped")
        yield sim


@pytest.fixture
def pbs_options() -> dict[str, Any]:
    """Options of the PBS entry: seeded backups are up to a day and a bit old."""
    return {"freshness_hours": 48, "backup_timeout": 1}


def pbs_entry_for(pbs: PbsSimulator, options: dict[str, Any] | None = None) -> MockConfigEntry:
    """An entry with the simulator's token and its pinned certificate."""
    fingerprint = pbs.certificate.fingerprint_sha256
    return MockConfigEntry(
        domain=DOMAIN,
        title="Proxmox Backup Server 127.0.0.1",
        unique_id=server_identity(fingerprint),
        data={
            "kind": "proxmox_backup",
            "host": pbs.host,
            "port": pbs.port,
            "username": pbs.token.user,
            "token_id": pbs.token.token_name,
            "token_secret": pbs.token.secret,
            "verify_ssl": False,
            "fingerprint": fingerprint,
            "fingerprints": [fingerprint],
        },
        options=options or {},
    )


@pytest.fixture
def pbs_entry(pbs: PbsSimulator, pbs_options: dict[str, Any]) -> MockConfigEntry:
    """The PBS entry."""
    return pbs_entry_for(pbs, pbs_options)


@pytest.fixture
def proxmox_options() -> dict[str, Any]:
    """Options of the Proxmox VE entry."""
    return {"task_timeout": 5}


@pytest.fixture
def proxmox_entry(pve: PveSimulator, proxmox_options: dict[str, Any]) -> MockConfigEntry:
    """The Proxmox VE entry of the cluster."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Proxmox VE homelab",
        unique_id="cluster:homelab",
        data={
            "kind": "proxmox_ve",
            "host": pve.host,
            "port": pve.port,
            "username": pve.token.user,
            "token_id": pve.token.token_id,
            "token_secret": pve.token.secret,
            "verify_ssl": False,
        },
        options=proxmox_options,
    )


@pytest.fixture
async def setup_proxmox(hass: HomeAssistant, proxmox_entry: MockConfigEntry) -> MockConfigEntry:
    """The Proxmox VE entry, set up."""
    proxmox_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(proxmox_entry.entry_id)
    await hass.async_block_till_done()
    return proxmox_entry


@pytest.fixture
async def setup_pbs(
    hass: HomeAssistant, setup_proxmox: MockConfigEntry, pbs_entry: MockConfigEntry
) -> MockConfigEntry:
    """The PBS entry set up after the cluster's."""
    pbs_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(pbs_entry.entry_id)
    await hass.async_block_till_done()
    return pbs_entry
