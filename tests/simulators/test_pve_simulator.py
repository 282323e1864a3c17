"""The PVE simulator, exercised over real HTTPS with proxmoxer as the integration will use it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
import importlib.util
import json
from pathlib import Path
import signal
import sys
import time
from typing import Any

from proxmoxer import AuthenticationError, ProxmoxAPI, ResourceException
import pytest
import requests

from simulators.backup_link import BackupSnapshot
from simulators.pve import FaultKind, NodePowerCommand, PveSimulator, TaskOutcome
from simulators.pve.access import ALL_PRIVILEGES, ApiToken
from simulators.pve.endpoints import SERVED_ENDPOINTS
from simulators.pve.schema import SUBSET_PATH, default_subset, validate

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "reference" / "pve-api-schema.json"
PBS_SNAPSHOT_TIME = 1_795_000_000  # a backup of VM 101 the PBS datastore already holds
PBS_VOLID = "pbs-store:backup/vm/101/2026-11-18T11:06:40Z"

# The simulator's certificate is self-signed, like a fresh PVE install's.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@dataclass
class FakeDatastore:
    """A PBS datastore behind the `pbs-store` storage (the BackupTarget protocol)."""

    datastore: str = "homelab"
    capacity: int = 10 * 1024**4
    stored: list[BackupSnapshot] = field(default_factory=list)

    def snapshots(self) -> list[BackupSnapshot]:
        """Newest first, as the protocol says."""
        return sorted(self.stored, key=lambda snapshot: snapshot.backup_time, reverse=True)

    def add_snapshot(self, snapshot: BackupSnapshot) -> None:
        """Keep a snapshot a vzdump task made."""
        self.stored.append(snapshot)

    def has_room_for(self, size: int) -> bool:
        """Whether the backup fits under the capacity."""
        return sum(snapshot.size for snapshot in self.stored) + size <= self.capacity


@pytest.fixture
def datastore() -> FakeDatastore:
    return FakeDatastore(
        stored=[
            BackupSnapshot(
                backup_type="vm",
                backup_id="101",
                backup_time=PBS_SNAPSHOT_TIME,
                size=3 * 1024**3,
                notes="nextcloud nightly\nsecond line",
                verify_state="ok",
                protected=True,
            )
        ]
    )


@pytest.fixture
async def sim(datastore: FakeDatastore) -> AsyncGenerator[PveSimulator]:
    simulator = PveSimulator(
        nodes=3,
        guests_per_node=4,
        storages=1,
        task_duration=0.05,
        # Seed 4 puts running VMs and containers on every node.
        seed=4,
        backup_targets={"pbs-store": datastore},
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


class Clients:
    """proxmoxer clients for a simulator; their sessions are closed after the test."""

    def __init__(self, simulator: PveSimulator) -> None:
        """Make clients for this simulator."""
        self.simulator = simulator
        self._made: list[ProxmoxAPI] = []

    def token(self, token: ApiToken | None = None, timeout: float = 5) -> ProxmoxAPI:
        """A client authenticating with an API token (the simulator's own by default)."""
        token = token or self.simulator.token
        return self._keep(
            ProxmoxAPI(
                self.simulator.host,
                port=self.simulator.port,
                user=token.user,
                token_name=token.token_id,
                token_value=token.secret,
                verify_ssl=False,
                timeout=timeout,
            )
        )

    async def password(self, user: str, password: str) -> ProxmoxAPI:
        """A client that logged in with a password and holds a ticket."""
        # The constructor logs in over HTTP, so it must not block the simulator's loop.
        api = await asyncio.to_thread(
            ProxmoxAPI,
            self.simulator.host,
            port=self.simulator.port,
            user=user,
            password=password,
            verify_ssl=False,
        )
        return self._keep(api)

    def _keep(self, api: ProxmoxAPI) -> ProxmoxAPI:
        self._made.append(api)
        return api

    def close(self) -> None:
        """Close every client's HTTP session."""
        for api in self._made:
            api._store["session"].close()


@pytest.fixture
def clients(sim: PveSimulator) -> Iterator[Clients]:
    made = Clients(sim)
    yield made
    made.close()


@pytest.fixture
def api(clients: Clients) -> ProxmoxAPI:
    return clients.token()


async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking proxmoxer call off the loop the simulator serves on."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def failure(function: Callable[..., Any], *args: Any, **kwargs: Any) -> ResourceException:
    """Run a call that must fail and return proxmoxer's exception."""
    with pytest.raises(ResourceException) as caught:
        await call(function, *args, **kwargs)
    return caught.value


async def wait_for_task(api: ProxmoxAPI, node: str, upid: str) -> dict[str, Any]:
    """Poll a task's status until it stops."""
    deadline = time.monotonic() + 3
    while True:
        status: dict[str, Any] = await call(api.nodes(node).tasks(upid).status.get)
        if status["status"] == "stopped":
            return status
        assert time.monotonic() < deadline, f"task {upid} did not finish"
        await asyncio.sleep(0.02)


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll a condition on the simulator's state until it holds."""
    deadline = time.monotonic() + 3
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.005)


def raw_get(simulator: PveSimulator, path: str, **kwargs: Any) -> requests.Response:
    """GET without proxmoxer, trusting the simulator's own certificate."""
    certificate = str(simulator.certificate.cert_path)
    return requests.get(f"{simulator.api_url}{path}", verify=certificate, timeout=5, **kwargs)


def raw_post(simulator: PveSimulator, path: str, **kwargs: Any) -> requests.Response:
    """POST without proxmoxer, trusting the simulator's own certificate."""
    certificate = str(simulator.certificate.cert_path)
    return requests.post(f"{simulator.api_url}{path}", verify=certificate, timeout=5, **kwargs)


def first_guest(simulator: PveSimulator, guest_type: str, node: str = "pve1") -> int:
    return next(
        guest.vmid
        for guest in simulator.cluster.guests_on(node)
        if guest.guest_type == guest_type and guest.status == "running"
    )


# --- authentication and permissions --------------------------------------------------------


async def test_token_reads_the_cluster(sim: PveSimulator, api: ProxmoxAPI) -> None:
    version = await call(api.version.get)
    resources = await call(api.cluster.resources.get)

    assert version["release"] == "9.1"
    assert {row["type"] for row in resources} == {"node", "storage", "qemu", "lxc", "sdn"}
    assert sum(row["type"] in ("qemu", "lxc") for row in resources) == 12
    assert [row["node"] for row in resources if row["type"] == "node"] == ["pve1", "pve2", "pve3"]


async def test_wrong_token_secret_is_refused_with_401(sim: PveSimulator, clients: Clients) -> None:
    wrong = ApiToken(sim.token.user, sim.token.token_id, "not-the-secret", sim.token.acl)

    error = await failure(clients.token(wrong).cluster.resources.get)

    assert error.status_code == 401
    assert error.content == "invalid token value!"


async def test_unknown_token_and_missing_credentials_are_refused(sim: PveSimulator) -> None:
    unknown = await call(
        raw_get, sim, "/version", headers={"Authorization": "PVEAPIToken=root@pam!nope=x"}
    )
    anonymous = await call(raw_get, sim, "/version")

    assert (unknown.status_code, unknown.reason) == (
        401,
        "no such token 'nope' for user 'root@pam'",
    )
    assert (anonymous.status_code, anonymous.reason) == (401, "No ticket")
    assert anonymous.json() == {"data": None}


async def test_password_login_gets_a_ticket_that_needs_csrf_on_writes(
    sim: PveSimulator, clients: Clients
) -> None:
    sim.add_user("alice@pve", "correct horse")
    alice = await clients.password("alice@pve", "correct horse")
    vmid = first_guest(sim, "qemu")

    upid = await call(alice.nodes("pve1").qemu(vmid).status.reboot.post)
    ticket, csrf = alice.get_tokens()
    without_csrf = await call(
        raw_post,
        sim,
        f"/nodes/pve1/qemu/{vmid}/status/reboot",
        cookies={"PVEAuthCookie": ticket},
    )
    with_csrf = await call(
        raw_post,
        sim,
        f"/nodes/pve1/qemu/{vmid}/status/reboot",
        cookies={"PVEAuthCookie": ticket},
        headers={"CSRFPreventionToken": csrf},
    )

    assert ":qmreboot:" in upid
    assert upid.endswith(":alice@pve:")
    assert (without_csrf.status_code, without_csrf.reason) == (
        401,
        "Permission denied - invalid csrf token",
    )
    assert with_csrf.status_code == 200


async def test_unauthorized_delay_slows_only_refused_calls() -> None:
    simulator = PveSimulator(nodes=1, guests_per_node=1, unauthorized_delay=0.3)
    await simulator.start()
    try:
        started = time.monotonic()
        refused = await call(raw_get, simulator, "/version")
        refused_after = time.monotonic() - started
        started = time.monotonic()
        allowed = await call(
            raw_get, simulator, "/version", headers={"Authorization": simulator.token.header}
        )
        allowed_after = time.monotonic() - started
    finally:
        await simulator.stop()

    assert (refused.status_code, allowed.status_code) == (401, 200)
    assert refused_after >= 0.3
    assert allowed_after < 0.3


async def test_wrong_password_fails_the_login(sim: PveSimulator, clients: Clients) -> None:
    with pytest.raises(AuthenticationError, match="code: 401"):
        await clients.password("root@pam", "wrong")


async def test_token_without_power_privilege_gets_403_naming_path_and_privilege(
    sim: PveSimulator, clients: Clients
) -> None:
    token = sim.add_token(token_id="nopower", privileges=ALL_PRIVILEGES - {"VM.PowerMgmt"})
    vmid = first_guest(sim, "qemu")

    error = await failure(clients.token(token).nodes("pve1").qemu(vmid).status.stop.post)

    assert error.status_code == 403
    assert error.content == f"Permission check failed (/vms/{vmid}, VM.PowerMgmt)"
    assert sim.cluster.guest(vmid).status == "running"


async def test_privilege_separated_token_sees_nodes_and_storages_but_no_guests(
    sim: PveSimulator, clients: Clients
) -> None:
    token = sim.add_token(token_id="monitor", privileges={"/": {"Sys.Audit", "Datastore.Audit"}})
    monitor = clients.token(token)

    resources = await call(monitor.cluster.resources.get)
    qemu = await call(monitor.nodes("pve1").qemu.get)
    permissions = await call(monitor.access.permissions.get)

    assert {row["type"] for row in resources} == {"node", "storage"}
    assert all("cpu" in row for row in resources if row["type"] == "node")
    assert qemu == []
    assert permissions == {
        path: {"Datastore.Audit": 1, "Sys.Audit": 1}
        for path in ("/", "/access", "/nodes", "/pool", "/sdn", "/storage", "/vms")
    }


async def test_acl_on_one_guest_shows_only_that_guest(sim: PveSimulator, clients: Clients) -> None:
    vmid = first_guest(sim, "lxc")
    token = sim.add_token(token_id="one", privileges={"/vms": set(), f"/vms/{vmid}": {"VM.Audit"}})

    resources = await call(clients.token(token).cluster.resources.get, type="vm")

    assert [row["vmid"] for row in resources] == [vmid]


# --- power actions and tasks ---------------------------------------------------------------


async def test_stop_changes_status_only_when_its_task_ends_ok(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    vmid = first_guest(sim, "qemu")
    guest = api.nodes("pve1").qemu(vmid)

    upid = await call(guest.status.stop.post)
    during = await call(guest.status.current.get)
    task = await wait_for_task(api, "pve1", upid)
    after = await call(guest.status.current.get)

    assert upid.startswith("UPID:pve1:")
    assert f":qmstop:{vmid}:root@pam!homelab:" in upid
    assert during["status"] == "running"
    assert task["exitstatus"] == "OK"
    assert (after["status"], after["uptime"], after["qmpstatus"]) == ("stopped", 0, "stopped")


async def test_scripted_warnings_end_the_task_with_warnings_and_still_act(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    vmid = first_guest(sim, "lxc")
    sim.cluster.script_next_task(vmid, TaskOutcome.with_warnings(2))

    upid = await call(api.nodes("pve1").lxc(vmid).status.shutdown.post)
    task = await wait_for_task(api, "pve1", upid)
    log = await call(api.nodes("pve1").tasks(upid).log.get)

    assert task["exitstatus"] == "WARNINGS: 2"
    assert log[-1] == {"n": 3, "t": "TASK WARNINGS: 2"}
    assert sim.cluster.guest(vmid).status == "stopped"


async def test_scripted_error_fails_the_task_and_leaves_the_guest(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    vmid = first_guest(sim, "qemu")
    sim.cluster.script_next_task(vmid, TaskOutcome.failing("VM quit/powerdown failed"))

    upid = await call(api.nodes("pve1").qemu(vmid).status.shutdown.post)
    task = await wait_for_task(api, "pve1", upid)
    log = await call(api.nodes("pve1").tasks(upid).log.get)

    assert task["exitstatus"] == "VM quit/powerdown failed"
    assert log == [{"n": 1, "t": "TASK ERROR: VM quit/powerdown failed"}]
    assert sim.cluster.guest(vmid).status == "running"


async def test_never_finishing_task_keeps_running(sim: PveSimulator, api: ProxmoxAPI) -> None:
    vmid = first_guest(sim, "qemu")
    sim.cluster.script_next_task(vmid, TaskOutcome.never())

    upid = await call(api.nodes("pve1").qemu(vmid).status.stop.post)
    await asyncio.sleep(0.2)
    status = await call(api.nodes("pve1").tasks(upid).status.get)
    active = await call(api.nodes("pve1").tasks.get, source="active")

    assert status["status"] == "running"
    assert "exitstatus" not in status
    assert [task["upid"] for task in active] == [upid]
    assert sim.cluster.guest(vmid).status == "running"


async def test_suspended_vm_is_running_with_qmpstatus_paused(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    vmid = first_guest(sim, "qemu")
    guest = api.nodes("pve1").qemu(vmid)

    await wait_for_task(api, "pve1", await call(guest.status.suspend.post))
    suspended = await call(guest.status.current.get)
    listed = await call(api.nodes("pve1").qemu.get, full=1)
    shutdown = await failure(guest.status.shutdown.post)
    await wait_for_task(api, "pve1", await call(guest.status.resume.post))
    resumed = await call(guest.status.current.get)

    assert (suspended["status"], suspended["qmpstatus"]) == ("running", "paused")
    assert next(row for row in listed if row["vmid"] == vmid)["qmpstatus"] == "paused"
    assert (shutdown.status_code, shutdown.content) == (500, "VM is paused - cannot shutdown")
    assert (resumed["status"], resumed["qmpstatus"]) == ("running", "running")


async def test_actions_on_the_wrong_state_fail_as_pve_does(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    stopped = sim.cluster.add_guest(node="pve1", status="stopped")
    container = first_guest(sim, "lxc")

    reboot = await failure(api.nodes("pve1").qemu(stopped.vmid).status.reboot.post)
    start_running = await failure(api.nodes("pve1").lxc(container).status.start.post)
    reset_lxc = await failure(api.nodes("pve1").lxc(container).status.reset.post)
    elsewhere = await failure(api.nodes("pve2").qemu(stopped.vmid).status.current.get)

    assert (reboot.status_code, reboot.content) == (500, f"VM {stopped.vmid} not running")
    assert start_running.content == f"CT {container} already running"
    assert reset_lxc.status_code == 501
    assert elsewhere.content == (
        f"Configuration file 'nodes/pve2/qemu-server/{stopped.vmid}.conf' does not exist"
    )


async def test_task_lists_filter_like_pve(sim: PveSimulator, api: ProxmoxAPI) -> None:
    vm, ct = first_guest(sim, "qemu"), first_guest(sim, "lxc")
    sim.cluster.script_next_task(vm, TaskOutcome.failing("boom"))
    failed = await call(api.nodes("pve1").qemu(vm).status.reset.post)
    ok = await call(api.nodes("pve1").lxc(ct).status.reboot.post)
    await wait_for_task(api, "pve1", failed)
    await wait_for_task(api, "pve1", ok)

    everything = await call(api.nodes("pve1").tasks.get)
    errors = await call(api.nodes("pve1").tasks.get, errors=1)
    limited = await call(api.nodes("pve1").tasks.get, limit=1)
    by_vmid = await call(api.nodes("pve1").tasks.get, vmid=ct)
    in_future = await call(api.nodes("pve1").tasks.get, since=int(time.time()) + 3600)
    cluster_wide = await call(api.cluster.tasks.get)

    assert {task["upid"] for task in everything} == {failed, ok}
    assert [(task["upid"], task["status"]) for task in errors] == [(failed, "boom")]
    assert len(limited) == 1
    assert [task["upid"] for task in by_vmid] == [ok]
    assert in_future == []
    assert {task["upid"] for task in cluster_wide} == {failed, ok}


async def test_unknown_and_malformed_upids(sim: PveSimulator, api: ProxmoxAPI) -> None:
    unknown = "UPID:pve1:00001234:00005678:6566F0A1:qmstart:100:root@pam:"

    status = await failure(api.nodes("pve1").tasks(unknown).status.get)
    log = await call(api.nodes("pve1").tasks(unknown).log.get)
    malformed = await failure(api.nodes("pve1").tasks("nonsense").status.get)

    assert (status.status_code, status.errors) == (400, {"upid": "no such task"})
    assert log == [{"n": 1, "t": "unable to open file - No such file or directory"}]
    assert (malformed.status_code, malformed.errors) == (
        400,
        {"upid": "unable to parse worker upid"},
    )


async def test_task_entries_split_the_token_off_the_user(
    sim: PveSimulator, api: ProxmoxAPI, clients: Clients
) -> None:
    vmid = first_guest(sim, "qemu")
    other = sim.add_token(token_id="other", privileges={"/vms": {"VM.PowerMgmt", "VM.Audit"}})

    upid = await call(api.nodes("pve1").qemu(vmid).status.reboot.post)
    status = await wait_for_task(api, "pve1", upid)
    others_view = await failure(clients.token(other).nodes("pve1").tasks(upid).status.get)
    others_list = await call(clients.token(other).nodes("pve1").tasks.get)

    assert (status["user"], status["tokenid"]) == ("root@pam", "homelab")
    assert others_view.content == "Permission check failed (/nodes/pve1, Sys.Audit)"
    assert others_list == []


# --- cluster faults: offline nodes and quorum ----------------------------------------------


async def test_offline_node_keeps_stale_running_guests_and_answers_595(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    stale = [g.vmid for g in sim.cluster.guests_on("pve2") if g.status == "running"]
    sim.cluster.set_node_online("pve2", False)

    resources = await call(api.cluster.resources.get)
    status = await call(api.cluster.status.get)
    proxied = await failure(api.nodes("pve2").qemu.get)
    sim.cluster.set_node_online("pve2", False, stale_guests=False)
    unknown = await call(api.cluster.resources.get, type="vm")

    node = next(row for row in resources if row["id"] == "node/pve2")
    assert (node["status"], node["maxcpu"]) == ("offline", 16)
    assert "uptime" not in node
    assert stale
    assert {row["status"] for row in resources if row.get("vmid") in stale} == {"running"}
    assert next(row for row in status if row["name"] == "pve2")["online"] == 0
    assert status[0]["quorate"] == 1
    assert (proxied.status_code, proxied.content) == (595, "No route to host")
    assert {row["status"] for row in unknown if row["node"] == "pve2"} == {"unknown"}


async def test_losing_quorum_refuses_writes_but_not_reads(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    vmid = first_guest(sim, "qemu")
    sim.cluster.set_node_online("pve2", False)
    sim.cluster.set_node_online("pve3", False)

    refused = await failure(api.nodes("pve1").qemu(vmid).status.stop.post)
    status = await call(api.cluster.status.get)
    sim.cluster.set_quorate(True)
    allowed = await call(api.nodes("pve1").qemu(vmid).status.stop.post)

    assert (refused.status_code, refused.content) == (500, "cluster not ready - no quorum?")
    assert status[0]["quorate"] == 0
    assert ":qmstop:" in allowed


async def test_unknown_node_fails_its_hostname_lookup(sim: PveSimulator, api: ProxmoxAPI) -> None:
    error = await failure(api.nodes("pve9").status.get)

    assert error.status_code == 500
    assert error.content.startswith("hostname lookup 'pve9' failed")


# --- node power commands -------------------------------------------------------------------


async def test_node_reboot_goes_offline_and_comes_back_with_its_running_guests(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    cluster = sim.cluster
    cluster.node_power_delay = 0.2  # room to look at the node while it is down
    guests = cluster.guests_on("pve2")
    ran = {
        guest.vmid: (guest.started_at, guest.pid) for guest in guests if guest.status == "running"
    }
    idle = {guest.vmid for guest in guests if guest.status == "stopped"}
    uptime_before = (await call(api.nodes("pve2").status.get))["uptime"]

    answer = await call(api.nodes("pve2").status.post, command="reboot")
    online_at_once = cluster.node("pve2").online
    again = await call(api.nodes("pve2").status.post, command="shutdown")
    await wait_until(lambda: not cluster.node("pve2").online, "pve2 is down")
    down = await call(api.cluster.resources.get)
    proxied = await failure(api.nodes("pve2").qemu.get)
    pending_while_down = cluster.node_commands_pending
    await wait_until(lambda: cluster.node("pve2").online, "pve2 is back")
    status = await call(api.nodes("pve2").status.get)
    back = await call(api.nodes("pve2").qemu.get) + await call(api.nodes("pve2").lxc.get)

    assert (answer, again, online_at_once) == (None, None, True)
    assert [(entry.node, entry.command, entry.user) for entry in cluster.node_power_log] == [
        ("pve2", "reboot", "root@pam!homelab"),
        ("pve2", "shutdown", "root@pam!homelab"),
    ]
    assert abs(cluster.node_power_log[0].time - time.time()) < 5
    assert next(row for row in down if row["id"] == "node/pve2")["status"] == "offline"
    assert ran
    assert {row["status"] for row in down if row.get("vmid") in ran} == {"running"}
    assert (proxied.status_code, proxied.content) == (595, "No route to host")
    assert pending_while_down == ["pve2"]
    assert status["uptime"] < min(5, uptime_before)
    assert {row["vmid"] for row in back if row["status"] == "running"} == set(ran)
    assert {row["vmid"] for row in back if row["status"] == "stopped"} == idle
    for vmid, (started_at, pid) in ran.items():
        guest = cluster.guest(vmid)
        assert started_at is not None
        assert guest.started_at is not None
        assert guest.started_at > started_at
        assert guest.pid != pid
    assert all(row["uptime"] < 5 for row in back if row["vmid"] in ran)
    assert cluster.node_commands_pending == []


async def test_node_shutdown_stays_offline_until_a_test_brings_it_back(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    cluster = sim.cluster
    ran = [guest.vmid for guest in cluster.guests_on("pve3") if guest.status == "running"]

    await call(api.nodes("pve3").status.post, command="shutdown")
    await wait_until(lambda: not cluster.node("pve3").online, "pve3 is down")
    await asyncio.sleep(3 * cluster.node_power_delay)
    still_down = next(row for row in await call(api.nodes.get) if row["node"] == "pve3")
    unreachable = await failure(api.nodes("pve3").status.post, command="reboot")
    quorate = (await call(api.cluster.status.get))[0]["quorate"]
    cluster.set_node_online("pve3", True)
    status = await call(api.nodes("pve3").status.get)
    rows = await call(api.cluster.resources.get, type="vm")

    assert still_down["status"] == "offline"
    assert (unreachable.status_code, unreachable.content) == (595, "No route to host")
    assert quorate == 1
    assert [entry.command for entry in cluster.node_power_log] == ["shutdown"]
    assert cluster.node_commands_pending == []
    assert status["uptime"] < 5
    assert ran
    assert all(
        (row["status"], row["uptime"] < 5) == ("running", True)
        for row in rows
        if row["vmid"] in ran
    )


async def test_node_commands_need_sys_powermgmt_on_the_node(
    sim: PveSimulator, clients: Clients
) -> None:
    powerless = sim.add_token(token_id="nopower", privileges=ALL_PRIVILEGES - {"Sys.PowerMgmt"})
    one_node = sim.add_token(token_id="pve2only", privileges={"/nodes/pve2": {"Sys.PowerMgmt"}})

    denied = await failure(clients.token(powerless).nodes("pve1").status.post, command="reboot")
    elsewhere = await failure(clients.token(one_node).nodes("pve1").status.post, command="shutdown")
    allowed = await call(clients.token(one_node).nodes("pve2").status.post, command="shutdown")
    await wait_until(lambda: not sim.cluster.node("pve2").online, "pve2 is down")

    assert (denied.status_code, denied.content) == (
        403,
        "Permission check failed (/nodes/pve1, Sys.PowerMgmt)",
    )
    assert elsewhere.content == "Permission check failed (/nodes/pve1, Sys.PowerMgmt)"
    assert allowed is None
    assert sim.cluster.node_power_log == [
        NodePowerCommand(
            node="pve2",
            command="shutdown",
            user="root@pam!pve2only",
            time=sim.cluster.node_power_log[0].time,
        )
    ]
    assert sim.cluster.node("pve1").online


async def test_node_commands_refused_without_quorum_or_a_valid_command(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    sim.cluster.set_quorate(False)
    no_quorum = await failure(api.nodes("pve1").status.post, command="reboot")
    sim.cluster.set_quorate(None)
    unknown = await failure(api.nodes("pve1").status.post, command="halt")
    missing = await failure(api.nodes("pve1").status.post)

    assert (no_quorum.status_code, no_quorum.content) == (500, "cluster not ready - no quorum?")
    assert unknown.errors == {
        "command": "value 'halt' does not have a value in the enumeration 'reboot, shutdown'"
    }
    assert missing.errors == {"command": "property is missing and it is not optional"}
    assert sim.cluster.node_power_log == []
    assert sim.cluster.node_commands_pending == []


async def test_set_node_online_overrides_a_node_command_under_way(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    cluster = sim.cluster
    cluster.node_power_delay = 0.1

    await call(api.nodes("pve2").status.post, command="reboot")
    cluster.set_node_online("pve2", False, stale_guests=False)
    pending = cluster.node_commands_pending
    await asyncio.sleep(0.25)

    assert pending == []
    assert not cluster.node("pve2").online
    assert cluster.node("pve2").resume_guests is None


# --- injected faults -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        (FaultKind.HTTP_500, 500, "internal error (injected fault)"),
        (FaultKind.HTTP_595, 595, "No route to host"),
        (FaultKind.HTTP_596, 596, "Connection timed out"),
        (FaultKind.HTTP_401, 401, "authentication failure"),
    ],
)
async def test_http_faults_answer_the_next_matching_requests(
    sim: PveSimulator, api: ProxmoxAPI, kind: FaultKind, status: int, reason: str
) -> None:
    sim.faults.inject("/cluster/*", kind, count=2)

    first = await failure(api.cluster.resources.get)
    second = await failure(api.cluster.status.get)
    unaffected = await call(api.version.get)
    recovered = await call(api.cluster.resources.get)

    assert (first.status_code, first.content) == (status, reason)
    assert second.status_code == status
    assert unaffected["version"]
    assert recovered
    assert sim.faults.pending == []


async def test_slow_fault_delays_the_answer(sim: PveSimulator, api: ProxmoxAPI) -> None:
    sim.faults.inject("/version", "slow", delay=0.3)

    started = time.monotonic()
    version = await call(api.version.get)

    assert time.monotonic() - started >= 0.3
    assert version["release"] == "9.1"


async def test_timeout_fault_never_answers_within_the_client_timeout(
    sim: PveSimulator, clients: Clients
) -> None:
    sim.faults.inject("/cluster/resources", FaultKind.TIMEOUT, method="GET")
    impatient = clients.token(timeout=0.3)

    with pytest.raises(requests.exceptions.ReadTimeout):
        await call(impatient.cluster.resources.get)
    sim.faults.clear()


async def test_drop_fault_closes_the_connection_without_a_response(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    sim.faults.inject("/nodes/*/status", FaultKind.DROP, count=None)

    with pytest.raises(requests.exceptions.ConnectionError):
        await call(api.nodes("pve1").status.get)
    with pytest.raises(requests.exceptions.ConnectionError):
        await call(api.nodes("pve2").status.get)
    sim.faults.clear()
    assert (await call(api.nodes("pve1").status.get))["pveversion"].startswith("pve-manager/9")


# --- dynamic guests and figures ------------------------------------------------------------


async def test_guests_can_be_added_migrated_and_removed(sim: PveSimulator, api: ProxmoxAPI) -> None:
    added = sim.cluster.add_guest(node="pve3", guest_type="lxc", name="adguard")

    listed = await call(api.nodes("pve3").lxc.get)
    sim.cluster.migrate_guest(added.vmid, "pve1")
    migrated = await call(api.cluster.resources.get, type="vm")
    sim.cluster.remove_guest(added.vmid)
    removed = await call(api.cluster.resources.get, type="vm")

    assert added.vmid == 112
    assert any(row["vmid"] == added.vmid and row["name"] == "adguard" for row in listed)
    assert next(row for row in migrated if row["vmid"] == added.vmid)["node"] == "pve1"
    assert all(row["vmid"] != added.vmid for row in removed)


async def test_figures_move_with_the_clock_unless_frozen(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    vmid = first_guest(sim, "qemu")

    def guest_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return next(row for row in rows if row.get("vmid") == vmid)

    before = guest_row(await call(api.cluster.resources.get))
    sim.cluster.advance_clock(60)
    later = guest_row(await call(api.cluster.resources.get))
    sim.cluster.set_figures_frozen(True)
    frozen = await call(api.cluster.resources.get)
    sim.cluster.advance_clock(600)
    still_frozen = await call(api.cluster.resources.get)

    assert later["uptime"] == before["uptime"] + 60
    assert later["netin"] > before["netin"]
    assert frozen == still_frozen


async def test_layout_and_figures_are_deterministic_for_a_seed() -> None:
    def snapshot(seed: int) -> list[tuple[int, str, str, str, float]]:
        simulator = PveSimulator(nodes=2, guests_per_node=5, seed=seed, freeze_figures=True)
        cluster = simulator.cluster
        return [
            (
                guest.vmid,
                guest.name,
                guest.guest_type,
                guest.status,
                cluster.guest_figures(guest).cpu,
            )
            for guest in cluster.guests.values()
        ]

    assert snapshot(7) == snapshot(7)
    assert snapshot(7) != snapshot(8)


async def test_two_thousand_guests_answer_quickly() -> None:
    simulator = PveSimulator(nodes=4, guests_per_node=500, seed=3)
    await simulator.start()
    try:
        started = time.monotonic()
        response = await call(
            raw_get,
            simulator,
            "/cluster/resources",
            headers={"Authorization": simulator.token.header},
        )
        elapsed = time.monotonic() - started
    finally:
        await simulator.stop()

    rows = response.json()["data"]
    assert sum(row["type"] in ("qemu", "lxc") for row in rows) == 2000
    assert elapsed < 1.0


# --- backups and restores ------------------------------------------------------------------


async def test_vzdump_to_pbs_adds_a_snapshot_when_the_task_ends(
    sim: PveSimulator, api: ProxmoxAPI, datastore: FakeDatastore
) -> None:
    vmid = first_guest(sim, "qemu")
    name = sim.cluster.guest(vmid).name

    upid = await call(
        api.nodes("pve1").vzdump.post,
        vmid=str(vmid),
        storage="pbs-store",
        mode="snapshot",
        **{"notes-template": "{{guestname}} on {{node}}\\nvmid {{vmid}}"},
    )
    locked = sim.cluster.guest(vmid).lock
    task = await wait_for_task(api, "pve1", upid)

    assert f":vzdump:{vmid}:" in upid
    assert locked == "backup"
    assert task["exitstatus"] == "OK"
    assert sim.cluster.guest(vmid).lock is None
    made = datastore.snapshots()[0]
    assert (made.backup_type, made.backup_id) == ("vm", str(vmid))
    assert made.notes == f"{name} on pve1\nvmid {vmid}"


async def test_backup_lock_fails_power_tasks_on_the_guest(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    vmid = first_guest(sim, "qemu")
    sim.cluster.script_next_task(vmid, TaskOutcome.never())
    await call(api.nodes("pve1").vzdump.post, vmid=vmid, storage="pbs-store")

    upid = await call(api.nodes("pve1").qemu(vmid).status.shutdown.post)
    task = await wait_for_task(api, "pve1", upid)
    listed = await call(api.cluster.resources.get, type="vm")

    assert task["exitstatus"] == "VM is locked (backup)"
    assert next(row for row in listed if row["vmid"] == vmid)["lock"] == "backup"
    assert sim.cluster.guest(vmid).status == "running"


async def test_vzdump_to_a_full_datastore_fails_the_job(
    sim: PveSimulator, api: ProxmoxAPI, datastore: FakeDatastore
) -> None:
    datastore.capacity = 0
    vmid = first_guest(sim, "lxc")

    upid = await call(api.nodes("pve1").vzdump.post, vmid=str(vmid), storage="pbs-store")
    task = await wait_for_task(api, "pve1", upid)
    log = await call(api.nodes("pve1").tasks(upid).log.get)

    assert task["exitstatus"] == "job errors"
    assert any("No space left on device" in line["t"] for line in log)
    assert len(datastore.stored) == 1


async def test_vzdump_needs_backup_privilege_and_a_backup_storage(
    sim: PveSimulator, clients: Clients
) -> None:
    vmid = first_guest(sim, "qemu")
    token = sim.add_token(token_id="nobackup", privileges=ALL_PRIVILEGES - {"VM.Backup"})
    admin = clients.token()

    denied = await failure(clients.token(token).nodes("pve1").vzdump.post, vmid=str(vmid))
    wrong_storage = await failure(admin.nodes("pve1").vzdump.post, vmid=vmid, storage="local-lvm")
    nothing = await failure(admin.nodes("pve1").vzdump.post, storage="local")

    assert denied.content == f"Permission check failed (/vms/{vmid}, VM.Backup)"
    assert wrong_storage.content == "storage 'local-lvm' does not support backups"
    assert nothing.errors == {"vmid": "property is missing and it is not optional"}


async def test_storage_content_lists_pbs_snapshots_and_local_archives(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    vmid = first_guest(sim, "lxc")
    upid = await call(api.nodes("pve1").vzdump.post, vmid=vmid, storage="local", protected=1)
    await wait_for_task(api, "pve1", upid)

    pbs = await call(api.nodes("pve1").storage("pbs-store").content.get, content="backup")
    pbs_other_vm = await call(api.nodes("pve1").storage("pbs-store").content.get, vmid=vmid)
    local = await call(api.nodes("pve1").storage("local").content.get, content="backup")
    local_elsewhere = await call(api.nodes("pve2").storage("local").content.get, content="backup")
    images = await call(api.nodes("pve1").storage("local-lvm").content.get, content="rootdir")

    assert pbs == [
        {
            "volid": PBS_VOLID,
            "content": "backup",
            "ctime": PBS_SNAPSHOT_TIME,
            "format": "pbs-vm",
            "size": 3 * 1024**3,
            "subtype": "qemu",
            "vmid": 101,
            "notes": "nextcloud nightly",
            "protected": 1,
            "verification": {"state": "ok", "upid": pbs[0]["verification"]["upid"]},
        }
    ]
    assert pbs[0]["verification"]["upid"].startswith("UPID:pbs:")
    assert pbs_other_vm == []
    assert len(local) == 1
    assert local[0]["volid"].startswith(f"local:backup/vzdump-lxc-{vmid}-")
    assert (local[0]["format"], local[0]["protected"]) == ("tar.zst", 1)
    assert local_elsewhere == []
    assert vmid in {row["vmid"] for row in images}
    assert {row["content"] for row in images} == {"rootdir"}


async def test_restore_a_vm_from_pbs_into_a_new_vmid(sim: PveSimulator, api: ProxmoxAPI) -> None:
    upid = await call(
        api.nodes("pve2").qemu.post, vmid=900, archive=PBS_VOLID, storage="local-lvm", start=1
    )
    before = await call(api.cluster.resources.get, type="vm")
    task = await wait_for_task(api, "pve2", upid)
    after = await call(api.cluster.resources.get, type="vm")

    assert ":qmrestore:900:" in upid
    assert all(row["vmid"] != 900 for row in before)
    assert task["exitstatus"] == "OK"
    restored = next(row for row in after if row["vmid"] == 900)
    assert (restored["node"], restored["type"], restored["status"]) == ("pve2", "qemu", "running")
    assert restored["name"] == sim.cluster.guest(101).name


async def test_restore_over_an_existing_vm_follows_force(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    running = first_guest(sim, "qemu")
    stopped = sim.cluster.add_guest(node="pve1", status="stopped", name="old")

    without_force = await failure(api.nodes("pve1").qemu.post, vmid=stopped.vmid, archive=PBS_VOLID)
    while_running = await failure(
        api.nodes("pve1").qemu.post, vmid=running, archive=PBS_VOLID, force=1
    )
    upid = await call(api.nodes("pve1").qemu.post, vmid=stopped.vmid, archive=PBS_VOLID, force=1)
    locked = sim.cluster.guest(stopped.vmid).lock
    task = await wait_for_task(api, "pve1", upid)

    assert without_force.content == (
        f"unable to restore VM {stopped.vmid} - VM {stopped.vmid} already exists on node 'pve1'"
    )
    assert while_running.content == f"unable to restore VM {running} - vm is running"
    assert locked == "create"
    assert task["exitstatus"] == "OK"
    assert sim.cluster.guest(stopped.vmid).lock is None


async def test_restore_a_container_from_a_local_archive(sim: PveSimulator, api: ProxmoxAPI) -> None:
    vmid = first_guest(sim, "lxc")
    name = sim.cluster.guest(vmid).name
    await wait_for_task(
        api, "pve1", await call(api.nodes("pve1").vzdump.post, vmid=vmid, storage="local")
    )
    archive = (await call(api.nodes("pve1").storage("local").content.get, content="backup"))[0]

    upid = await call(api.nodes("pve1").lxc.post, vmid=950, ostemplate=archive["volid"], restore=1)
    task = await wait_for_task(api, "pve1", upid)
    restored = await call(api.nodes("pve1").lxc(950).status.current.get)

    assert ":vzrestore:950:" in upid
    assert task["exitstatus"] == "OK"
    assert (restored["name"], restored["status"]) == (name, "stopped")


# --- counters, parameters and the schema ---------------------------------------------------


async def test_requests_are_counted_by_route(sim: PveSimulator, api: ProxmoxAPI) -> None:
    sim.requests.reset()
    await call(api.cluster.resources.get)
    await call(api.nodes("pve1").qemu(first_guest(sim, "qemu")).status.current.get)
    await call(api.nodes("pve2").qemu(first_guest(sim, "qemu", "pve2")).status.current.get)

    assert sim.requests == {
        "GET /cluster/resources": 1,
        "GET /nodes/{node}/qemu/{vmid}/status/current": 2,
    }
    assert sim.requests.total() == 3


async def test_bad_parameters_are_refused_as_pve_does(sim: PveSimulator, api: ProxmoxAPI) -> None:
    bad_type = await failure(api.cluster.resources.get, type="guests")
    unknown = await failure(api.version.get, verbose=1)
    not_a_number = await failure(api.nodes("pve1").qemu("abc").status.current.get)

    assert bad_type.status_code == 400
    assert bad_type.content == "Parameter verification failed."
    assert bad_type.errors == {
        "type": "value 'guests' does not have a value in the enumeration 'vm, storage, node, sdn'"
    }
    assert unknown.errors == {
        "verbose": "property is not defined in schema and the schema does not allow "
        "additional properties"
    }
    assert not_a_number.errors == {"vmid": "type check ('integer') failed - got 'abc'"}


async def test_every_served_endpoint_answers_as_its_schema_says(
    sim: PveSimulator, api: ProxmoxAPI
) -> None:
    cluster = sim.cluster
    node = api.nodes("pve1")
    actions = {
        ("qemu", action): cluster.add_guest(
            node="pve1", status="stopped" if action == "start" else "running"
        ).vmid
        for action in ("start", "stop", "shutdown", "reboot", "reset", "suspend", "resume")
    } | {
        ("lxc", action): cluster.add_guest(
            node="pve1", guest_type="lxc", status="stopped" if action == "start" else "running"
        ).vmid
        for action in ("start", "stop", "shutdown", "reboot", "suspend", "resume")
    }
    for guest_type in ("qemu", "lxc"):
        cluster.guest(actions[guest_type, "resume"]).paused = True
    vm, ct = first_guest(sim, "qemu"), first_guest(sim, "lxc")
    cluster.script_next_task(vm, TaskOutcome.never())
    running_upid = await call(node.vzdump.post, vmid=vm, storage="local")
    finished_upid = await call(node.vzdump.post, vmid=ct, storage="nas1")
    await wait_for_task(api, "pve1", finished_upid)

    def power(guest_type: str, action: str) -> Callable[[], Any]:
        status = getattr(node, guest_type)(actions[guest_type, action]).status
        post: Callable[[], Any] = getattr(status, action).post
        return post

    fetches: dict[tuple[str, str], list[Callable[[], Any]]] = {
        ("GET", "/version"): [api.version.get],
        ("GET", "/cluster/resources"): [
            api.cluster.resources.get,
            *(lambda kind=kind: api.cluster.resources.get(type=kind) for kind in ("vm", "node")),
        ],
        ("GET", "/cluster/status"): [api.cluster.status.get],
        ("GET", "/cluster/tasks"): [api.cluster.tasks.get],
        ("GET", "/access/permissions"): [
            api.access.permissions.get,
            lambda: api.access.permissions.get(path="/vms/100"),
        ],
        ("POST", "/access/ticket"): [
            lambda: api.access.ticket.post(username="root@pam", password=sim.root_password)
        ],
        ("GET", "/nodes"): [api.nodes.get],
        ("GET", "/nodes/{node}/status"): [node.status.get],
        # pve3 goes down shortly after; nothing below asks it anything.
        ("POST", "/nodes/{node}/status"): [
            lambda: api.nodes("pve3").status.post(command="reboot"),
            lambda: api.nodes("pve3").status.post(command="shutdown"),
        ],
        ("GET", "/nodes/{node}/qemu"): [node.qemu.get, lambda: node.qemu.get(full=1)],
        ("POST", "/nodes/{node}/qemu"): [
            lambda: node.qemu.post(vmid=990, archive=PBS_VOLID),
            lambda: node.qemu.post(vmid=991, name="fresh", memory="4096", cores=2),
        ],
        ("GET", "/nodes/{node}/lxc"): [node.lxc.get],
        ("POST", "/nodes/{node}/lxc"): [
            lambda: node.lxc.post(
                vmid=992, ostemplate="local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst"
            )
        ],
        ("GET", "/nodes/{node}/qemu/{vmid}/status/current"): [
            node.qemu(vm).status.current.get,
            node.qemu(actions["qemu", "start"]).status.current.get,
        ],
        ("GET", "/nodes/{node}/lxc/{vmid}/status/current"): [
            node.lxc(ct).status.current.get,
            node.lxc(actions["lxc", "start"]).status.current.get,
        ],
        **{
            ("POST", f"/nodes/{{node}}/{guest_type}/{{vmid}}/status/{action}"): [
                power(guest_type, action)
            ]
            for guest_type, action in actions
        },
        ("GET", "/nodes/{node}/tasks"): [
            node.tasks.get,
            lambda: node.tasks.get(source="all", errors=1),
        ],
        ("GET", "/nodes/{node}/tasks/{upid}/status"): [
            node.tasks(running_upid).status.get,
            node.tasks(finished_upid).status.get,
        ],
        ("GET", "/nodes/{node}/tasks/{upid}/log"): [
            node.tasks(running_upid).log.get,
            node.tasks(finished_upid).log.get,
        ],
        ("POST", "/nodes/{node}/vzdump"): [lambda: node.vzdump.post(all=1, storage="local")],
        ("GET", "/nodes/{node}/storage"): [node.storage.get, lambda: node.storage.get(format=1)],
        ("GET", "/nodes/{node}/storage/{storage}/status"): [
            node.storage(storage).status.get for storage in cluster.storages
        ],
        ("GET", "/nodes/{node}/storage/{storage}/content"): [
            node.storage(storage).content.get for storage in cluster.storages
        ],
    }
    subset = default_subset()

    assert set(fetches) == set(SERVED_ENDPOINTS)
    for (method, path), requests_for_endpoint in fetches.items():
        for fetch in requests_for_endpoint:
            data = await call(fetch)
            if subset.endpoint(method, path).returns.get("type") == "null":
                assert data is None, (method, path, data)
            else:
                assert data not in (None, [], {}), (method, path)
            assert subset.validate_response(method, path, data) == [], (method, path, data)


def test_validator_reports_what_breaks_the_schema() -> None:
    subset = default_subset()
    returns = subset.endpoint("GET", "/cluster/status").returns

    problems = validate(
        [
            {"type": "cluster", "id": "cluster", "name": "homelab", "quorate": 2},
            {"type": "member", "id": "node/pve1", "name": "pve1", "online": "yes"},
            {"type": "node", "name": "pve2"},
        ],
        returns,
    )
    task_problems = subset.validate_response("GET", "/nodes/{node}/tasks/{upid}/status", {})
    version_problems = subset.validate_response(
        "GET", "/version", {"version": "9.1.3", "release": "9.1", "repoid": "zz"}
    )

    assert problems == [
        "data[0].quorate: expected boolean, got int 2",
        'data[1].online: expected boolean, got str "yes"',
        "data[1].type: 'member' is not one of ['cluster', 'node']",
        "data[2].id: required property is missing",
    ]
    assert "data.upid: required property is missing" in task_problems
    assert version_problems == ["data.repoid: 'zz' does not match '[0-9a-fA-F]{8,64}'"]


@pytest.mark.skipif(not REFERENCE.exists(), reason="the PVE reference schema is not checked out")
def test_committed_schema_subset_is_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location(
        "pve_schema_subset", REPO / "scripts" / "pve_schema_subset.py"
    )
    assert spec is not None
    assert spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)

    assert generator.generate(REFERENCE) == SUBSET_PATH.read_text(encoding="utf-8")
    subset = json.loads(SUBSET_PATH.read_text(encoding="utf-8"))
    served = {(method, path) for path, methods in subset["paths"].items() for method in methods}
    assert served == set(SERVED_ENDPOINTS)


async def test_stand_alone_command_prints_how_to_connect() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators.pve",
        "--nodes",
        "2",
        "--guests",
        "7",
        "--port",
        "0",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(20):
            while not lines or not lines[-1].startswith("Ctrl-C"):
                lines.append((await process.stdout.readline()).decode().strip())
    finally:
        process.send_signal(signal.SIGINT)
        await process.wait()

    banner = "\n".join(lines)
    assert "PVE simulator for cluster 'homelab' at https://127.0.0.1:" in banner
    assert "2 nodes, 7 guests" in banner
    assert "token id:     homelab" in banner
    assert "Authorization: PVEAPIToken=root@pam!homelab=" in banner
    assert "certificate SHA-256 fingerprint:" in banner
    assert process.returncode == 0
