"""The demo homelab: simulators, a real Alertmanager and a real Home Assistant, wired together.

Run through scripts/demo. Starts the Proxmox VE, PBS, Pi-hole, Tailscale, Cloudflare and UniFi
simulators (in this process), a real Podman engine as the Docker host (its storage and socket
under .demo/podman, a few busybox containers), a real Alertmanager (Debian package) and Home
Assistant with .demo/config, completes onboarding through HA's HTTP API, creates the
integration's entries through the config flow API, points Alertmanager at the webhook, keeps a
few demo alerts firing, and prints where to log in. Ctrl-C stops everything it started (the
Podman service and the containers' conmon processes included). A second run reuses .demo, its
entries and containers, and starts quickly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json
import os
from pathlib import Path
import re
import shutil
import signal
import subprocess
import sys
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulators.backup_link import BackupSnapshot  # noqa: E402
from simulators.cloudflare import CloudflareSimulator  # noqa: E402
from simulators.pbs import PbsSimulator  # noqa: E402
from simulators.pbs.datastore import DatastoreConfig  # noqa: E402
from simulators.pihole import DEFAULT_APP_PASSWORD, PiholeSimulator  # noqa: E402
from simulators.podman import (  # noqa: E402
    SERVICE_COMMAND,
    Engine,
    PodmanService,
    PodmanStorage,
    podman_available,
)
from simulators.pve import PveSimulator  # noqa: E402
from simulators.tailscale import DEFAULT_API_KEY, TailscaleSimulator  # noqa: E402
from simulators.unifi import UnifiSimulator  # noqa: E402

DEMO_USER = "demo"
DEMO_PASSWORD = "homelab-demo"  # noqa: S105 - a documented demo login on 127.0.0.1 only
CLIENT_ID = "http://127.0.0.1:8123/"
HA_URL = "http://127.0.0.1:8123"
ONBOARDING_STEPS = ("user", "core_config", "analytics", "integration")
PVE_PORT = 18006
PBS_PORT = 18007
ALERTMANAGER_PORT = 19093
PIHOLE_PORT = 18080
TAILSCALE_PORT = 18081
CLOUDFLARE_PORT = 18082
UNIFI_PORT = 18443
PVE_SECRET = "demo-pve-token-secret"  # noqa: S105 - simulator token, fixed so entries survive runs
PBS_SECRET = "demo-pbs-token-secret"  # noqa: S105
CLOUDFLARE_TOKEN = "demo-cloudflare-api-token-0123456789abcdef"  # noqa: S105
# The Docker host's containers (busybox stand-ins): name -> what the demo makes of it. Names
# differ from the Proxmox guests', whose switches are named after them too.
DEMO_CONTAINERS: dict[str, dict[str, Any]] = {
    "paperless": {"labels": {"com.docker.compose.project": "documents"}},
    # Its health check fails: one unhealthy container.
    "immich": {
        "labels": {"com.docker.compose.project": "photos"},
        "healthcheck": True,
        "healthy": False,
    },
    "uptime-kuma": {},
    "postgres": {"labels": {"com.docker.compose.project": "documents"}, "healthcheck": True},
    # Stopped (exit code 0): start it from the dashboard.
    "mealie": {"stopped": True},
    # A nightly job whose last run failed.
    "backup-job": {"command": ["sh", "-c", "echo 'backup failed: disk full' >&2; exit 1"]},
}
# The engine's host name (the service runs in a UTS namespace of its own): the entry's title is
# "Docker apps", so entity ids such as sensor.docker_apps_running_containers are the same on
# every machine.
DOCKER_HOSTNAME = "apps"
HEALTHCHECK_INTERVAL = 30  # seconds; Podman's own timers need systemd, absent here
# Alerts that keep firing while the demo runs; vmid labels map them to simulated guests.
DEMO_ALERTS = [
    {
        "alertname": "HostHighCpuLoad",
        "severity": "warning",
        "instance": "nextcloud:9100",
        "vmid": "101",
    },
    {"alertname": "DiskWillFillIn24Hours", "severity": "critical", "instance": "pve2:9100"},
    {"alertname": "BackupStale", "severity": "warning", "instance": "grafana:9100", "vmid": "105"},
    {"alertname": "Watchdog", "severity": "none", "instance": "prometheus:9090"},
]


def log(message: str) -> None:
    """Progress for the person running the demo."""
    print(f"demo: {message}", flush=True)


class Demo:
    """Everything the demo starts, so that it can stop it all."""

    def __init__(self, state_dir: Path, session: aiohttp.ClientSession) -> None:
        """Keep everything under `state_dir`; talk HTTP through `session`."""
        self.state_dir = state_dir
        self.config = state_dir / "config"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.session = session
        self.token = ""
        self.podman: PodmanService | None = None

    # Files

    def prepare_config(self) -> None:
        """Fresh configuration and dashboard each run; entries and history are kept."""
        self.config.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "demo" / "configuration.yaml", self.config / "configuration.yaml")
        (self.config / "dashboards").mkdir(exist_ok=True)
        shutil.copyfile(
            ROOT / "dashboards" / "homelab.yaml", self.config / "dashboards" / "homelab.yaml"
        )
        automations = self.config / "automations.yaml"
        if not automations.exists():
            automations.write_text("[]\n")
        components = self.config / "custom_components"
        components.mkdir(exist_ok=True)
        link = components / "homelab_agents"
        if not link.is_symlink():
            if link.exists():
                shutil.rmtree(link)
            link.symlink_to(ROOT / "custom_components" / "homelab_agents")

    # Processes

    def start_alertmanager(self) -> None:
        """A real Alertmanager; its receiver is written once HA's webhook exists."""
        folder = self.state_dir / "alertmanager"
        folder.mkdir(exist_ok=True)
        config = folder / "alertmanager.yml"
        if not config.exists():
            config.write_text(_alertmanager_config(None))
        binary = shutil.which(os.environ.get("ALERTMANAGER_BIN", "prometheus-alertmanager"))
        if binary is None:
            raise SystemExit("prometheus-alertmanager is missing: run scripts/setup")
        self.processes.append(
            subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.path={folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{ALERTMANAGER_PORT}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ],
                stdout=subprocess.DEVNULL,
                stderr=(folder / "alertmanager.log").open("ab"),
            )
        )

    def start_home_assistant(self) -> None:
        """Home Assistant with the demo configuration; its log goes to .demo/home-assistant.log."""
        # HA installs missing requirements with uv; an interpreter chosen for *our* setup
        # (UV_PYTHON, as CI sets it) would send them outside the virtual environment.
        env = {k: v for k, v in os.environ.items() if k not in ("UV_PYTHON", "UV_SYSTEM_PYTHON")}
        env |= {"PYTHONPATH": str(ROOT), "VIRTUAL_ENV": sys.prefix}
        self.processes.append(
            subprocess.Popen(
                [str(Path(sys.executable).with_name("hass")), "-c", str(self.config)],
                stdout=(self.state_dir / "home-assistant.log").open("ab"),
                stderr=subprocess.STDOUT,
                env=env,
            )
        )

    def stop(self) -> None:
        """Stop every process started, newest first; then the containers and their engine."""
        for process in reversed(self.processes):
            process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.stop_podman()

    # The Docker host: a real Podman engine

    def start_podman(self) -> PodmanService | None:
        """`podman system service` on .demo/podman/podman.sock, with the busybox image.

        Returns None (and says why) when Podman, runc or busybox are missing.
        """
        if not podman_available():
            log("podman, runc or busybox is missing: the demo runs without the Docker host")
            return None
        storage = PodmanStorage(self.state_dir / "podman")
        storage.prepare()
        socket_path = storage.folder / "podman.sock"
        socket_path.unlink(missing_ok=True)  # left by a run that was killed
        service = PodmanService(storage, socket_path, hostname=DOCKER_HOSTNAME)
        try:
            service.start()
        except RuntimeError:
            service.stop()
            log("the Podman service did not start: the demo runs without the Docker host")
            return None
        self.podman = service
        return service

    def stop_podman(self) -> None:
        """Stop the service and every container (their conmon processes with them); keep them."""
        if self.podman is not None:
            self.podman.stop()
            self.podman.storage.stop_all()
            self.podman = None

    # Home Assistant over HTTP

    async def wait_for(self, url: str, seconds: float = 180) -> None:
        """Until `url` answers (any status below 500)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with self.session.get(url) as response:
                    if response.status < 500:
                        return
            if any(p.poll() is not None for p in self.processes):
                raise SystemExit("a demo process exited; see .demo/home-assistant.log")
            await asyncio.sleep(0.5)
        raise SystemExit(f"{url} did not answer in {seconds:.0f} s")

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call HA's REST API as the demo user."""
        async with self.session.request(
            method,
            f"{HA_URL}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise SystemExit(f"{method} {path}: {response.status} {text}")
            return json.loads(text) if text else None

    async def log_in(self) -> None:
        """Onboard on the first run; afterwards log in with the demo password."""
        steps = await self._onboarding_steps()
        if not steps.get("user"):
            log("onboarding Home Assistant")
            async with self.session.post(
                f"{HA_URL}/api/onboarding/users",
                json={
                    "client_id": CLIENT_ID,
                    "name": "Demo",
                    "username": DEMO_USER,
                    "password": DEMO_PASSWORD,
                    "language": "en",
                },
            ) as response:
                code = (await response.json())["auth_code"]
        else:
            code = await self._login_code()
        async with self.session.post(
            f"{HA_URL}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
        ) as response:
            self.token = (await response.json())["access_token"]
        for step, path, body in (
            ("core_config", "/api/onboarding/core_config", {}),
            ("analytics", "/api/onboarding/analytics", {}),
            (
                "integration",
                "/api/onboarding/integration",
                {"client_id": CLIENT_ID, "redirect_uri": f"{CLIENT_ID}?auth_callback=1"},
            ),
        ):
            if not steps.get(step):
                await self.api("POST", path, body)

    async def _onboarding_steps(self) -> dict[str, bool]:
        """Which onboarding steps are done.

        Once all are, Home Assistant no longer serves /api/onboarding (404), so a complete
        onboarding is read from its storage; otherwise wait until the API answers.
        """
        store = self.config / ".storage" / "onboarding"
        done = set(json.loads(store.read_text())["data"]["done"]) if store.exists() else set()
        if set(ONBOARDING_STEPS) <= done:
            return dict.fromkeys(ONBOARDING_STEPS, True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while loop.time() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with self.session.get(f"{HA_URL}/api/onboarding") as response:
                    if response.status == 200:
                        return {step["step"]: step["done"] for step in await response.json()}
            await asyncio.sleep(0.5)
        raise SystemExit("Home Assistant's onboarding API did not answer")

    async def wait_until_running(self, seconds: float = 180) -> None:
        """Until Home Assistant has started (its config API and integrations are loaded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with self.session.get(
                    f"{HA_URL}/api/config", headers={"Authorization": f"Bearer {self.token}"}
                ) as response:
                    if response.status == 200 and (await response.json())["state"] == "RUNNING":
                        return
            await asyncio.sleep(0.5)
        raise SystemExit(f"Home Assistant did not finish starting in {seconds:.0f} s")

    async def keep_http_config(self) -> None:
        """Confirm the HTTP settings from configuration.yaml (127.0.0.1 only).

        HA 2026.10 moves `http:` from YAML into its storage as a pending change that reverts
        unless confirmed; the demo confirms it rather than leave a dialog and a revert timer.
        """
        async with self.session.ws_connect(f"{HA_URL}/api/websocket") as socket:
            await socket.receive_json()  # auth_required
            await socket.send_json({"type": "auth", "access_token": self.token})
            await socket.receive_json()  # auth_ok
            await socket.send_json({"id": 1, "type": "http/config/promote"})
            await socket.receive_json()  # an error when nothing is pending, which is fine

    async def _login_code(self) -> str:
        async with self.session.post(
            f"{HA_URL}/auth/login_flow",
            json={
                "client_id": CLIENT_ID,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{CLIENT_ID}?auth_callback=1",
            },
        ) as response:
            flow = await response.json()
        async with self.session.post(
            f"{HA_URL}/auth/login_flow/{flow['flow_id']}",
            json={"client_id": CLIENT_ID, "username": DEMO_USER, "password": DEMO_PASSWORD},
        ) as response:
            result = await response.json()
        if result.get("type") != "create_entry":
            raise SystemExit(f"demo login failed: {result}")
        return str(result["result"])

    async def ensure_entries(self, pve: PveSimulator, network: NetworkSimulators) -> None:
        """Create the integration's entries through the config flow API, once."""
        entries = await self.api("GET", "/api/config/config_entries/entry?domain=homelab_agents")
        titles = {entry["title"] for entry in entries}
        await self._ensure_network_entries(titles, network)
        if self.podman is not None and not any(title.startswith("Docker") for title in titles):
            log("adding the Docker host entry (Podman)")
            await self._flow("docker", {"url": self.podman.url, "verify_ssl": True})
        if not any(title.startswith("Alertmanager") for title in titles):
            log("adding the Alertmanager entry")
            await self._flow(
                "alertmanager",
                {
                    "url": f"http://127.0.0.1:{ALERTMANAGER_PORT}",
                    "verify_ssl": True,
                    "require_token": True,
                },
            )
        if not any(title.startswith("Proxmox VE") for title in titles):
            log("adding the Proxmox VE entry")
            await self._flow(
                "proxmox_ve",
                {
                    "host": "127.0.0.1",
                    "port": PVE_PORT,
                    "username": pve.token.user,
                    "token_id": pve.token.token_id,
                    "token_secret": PVE_SECRET,
                    "verify_ssl": False,
                },
            )
        if not any(title.startswith("Proxmox Backup") for title in titles):
            log("adding the Proxmox Backup Server entry")
            await self._flow(
                "proxmox_backup",
                {
                    "host": "127.0.0.1",
                    "port": PBS_PORT,
                    "username": "root@pam",
                    "token_id": "demo",
                    "token_secret": PBS_SECRET,
                    "verify_ssl": False,
                },
            )

    async def _ensure_network_entries(self, titles: set[str], network: NetworkSimulators) -> None:
        wanted: list[tuple[str, str, str, dict[str, Any]]] = [
            (
                "Pi-hole",
                "pihole",
                "Pi-hole",
                {"url": network.pihole.url, "password": DEFAULT_APP_PASSWORD, "verify_ssl": True},
            ),
            (
                "Tailscale",
                "tailscale",
                "Tailscale",
                {"tailnet": "-", "api_key": DEFAULT_API_KEY, "api_url": network.tailscale.url},
            ),
            (
                "Cloudflare",
                "cloudflare",
                "Cloudflare",
                {"api_token": CLOUDFLARE_TOKEN, "api_url": network.cloudflare.api_url},
            ),
            (
                "UniFi",
                "unifi",
                "UniFi",
                {
                    "host": "127.0.0.1",
                    "port": UNIFI_PORT,
                    "username": network.unifi.username,
                    "password": network.unifi.password,
                    "site": "default",
                    "verify_ssl": False,
                },
            ),
        ]
        for prefix, kind, name, data in wanted:
            if not any(title.startswith(prefix) for title in titles):
                log(f"adding the {name} entry")
                await self._flow(kind, data)

    async def _flow(self, kind: str, data: dict[str, Any]) -> None:
        flow = await self.api(
            "POST", "/api/config/config_entries/flow", {"handler": "homelab_agents"}
        )
        flow = await self.api(
            "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", {"next_step_id": kind}
        )
        result = await self.api("POST", f"/api/config/config_entries/flow/{flow['flow_id']}", data)
        if result.get("type") == "abort" and result.get("reason") == "already_configured":
            return  # an entry of the same source under another title
        if result.get("type") != "create_entry":
            raise SystemExit(f"the {kind} flow did not create an entry: {result}")

    async def webhook_target(self) -> tuple[str, str | None]:
        """The webhook URL and token, as the entry's options show them to a person."""
        entries = await self.api("GET", "/api/config/config_entries/entry?domain=homelab_agents")
        entry = next(e for e in entries if e["title"].startswith("Alertmanager"))
        flow = await self.api(
            "POST", "/api/config/config_entries/options/flow", {"handler": entry["entry_id"]}
        )
        await self.api("DELETE", f"/api/config/config_entries/options/flow/{flow['flow_id']}")
        snippet = flow["description_placeholders"]["snippet"]
        url = re.search(r'url: "([^"]+)"', snippet)
        token = re.search(r'credentials: "([^"]+)"', snippet)
        if url is None:
            raise SystemExit("the Alertmanager entry shows no webhook URL")
        return url.group(1), token.group(1) if token else None

    async def point_alertmanager(self) -> None:
        """Write the receiver the entry shows and reload Alertmanager."""
        url, token = await self.webhook_target()
        url = url.replace("HOME_ASSISTANT_HOST", "127.0.0.1")
        config = self.state_dir / "alertmanager" / "alertmanager.yml"
        config.write_text(_alertmanager_config((url, token)))
        async with self.session.post(f"http://127.0.0.1:{ALERTMANAGER_PORT}/-/reload") as response:
            if response.status != 200:
                raise SystemExit(f"Alertmanager refused its configuration: {await response.text()}")

    async def keep_health_checked(self) -> None:
        """Run the containers' health checks now and then, as Podman's systemd timers would."""
        while self.podman is not None:
            storage = self.podman.storage
            for name, spec in DEMO_CONTAINERS.items():
                if spec.get("healthcheck"):
                    process = await asyncio.create_subprocess_exec(
                        *storage.command("healthcheck", "run", name),
                        env=storage.env,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    )
                    await process.wait()
            await asyncio.sleep(HEALTHCHECK_INTERVAL)

    async def keep_alerts_firing(self) -> None:
        """Re-post the demo alerts before Alertmanager would resolve them."""
        while True:
            now = datetime.now(UTC)
            alerts = [
                {
                    "labels": labels,
                    "annotations": {"summary": f"{labels['alertname']} on {labels['instance']}"},
                    "startsAt": (now - timedelta(minutes=10)).isoformat(),
                    "endsAt": (now + timedelta(minutes=5)).isoformat(),
                    "generatorURL": "http://prometheus.demo:9090/alerts",
                }
                for labels in DEMO_ALERTS
            ]
            with contextlib.suppress(aiohttp.ClientError):
                async with self.session.post(
                    f"http://127.0.0.1:{ALERTMANAGER_PORT}/api/v2/alerts", json=alerts
                ):
                    pass
            await asyncio.sleep(60)


def seed_backups(pve: PveSimulator, pbs: PbsSimulator) -> None:
    """A week of nightly backups of the simulated guests, with the usual troubles.

    gitea's backups stopped three days ago (stale), grafana's newest backup failed
    verification, and vaultwarden was never backed up.
    """
    store = pbs.datastore("store1")
    midnight = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    for guest in pve.cluster.guests.values():
        if guest.name == "vaultwarden":
            continue
        days = range(3, 10) if guest.name == "gitea" else range(7)
        for day in days:
            when = midnight - timedelta(days=day + (midnight > datetime.now(UTC)))
            failed = guest.name == "grafana" and day == 0
            store.add_snapshot(
                BackupSnapshot(
                    backup_type="vm" if guest.guest_type == "qemu" else "ct",
                    backup_id=str(guest.vmid),
                    backup_time=int(when.timestamp()) + guest.vmid,
                    size=(2 + guest.vmid % 7) * 1_000_000_000,
                    notes=guest.name or "",
                    verify_state="failed" if failed else "ok",
                )
            )


async def ensure_containers(service: PodmanService) -> None:
    """Create the demo's containers once; on later runs start the ones meant to run."""
    async with Engine(service, remove_on_exit=False) as engine:
        existing = {
            name.lstrip("/"): container
            for container in await engine.call("GET", "/containers/json", all="true")
            for name in container["Names"]
        }
        for name, spec in DEMO_CONTAINERS.items():
            command = spec.get("command")
            if name not in existing:
                await engine.create(
                    name,
                    command or SERVICE_COMMAND,
                    labels=spec.get("labels"),
                    healthcheck=bool(spec.get("healthcheck")),
                    healthy=spec.get("healthy", True),
                )
                if spec.get("stopped"):
                    await engine.call("POST", f"/containers/{name}/stop", t="5")
                elif command:
                    await engine.wait_exited(name)
            elif not spec.get("stopped") and not command and existing[name]["State"] != "running":
                await engine.call("POST", f"/containers/{name}/start")
        for name, spec in DEMO_CONTAINERS.items():
            if spec.get("healthcheck"):
                await engine.run_healthcheck(name)


@dataclass
class NetworkSimulators:
    """The four network sources' simulators, on fixed ports so entries survive runs."""

    pihole: PiholeSimulator
    tailscale: TailscaleSimulator
    cloudflare: CloudflareSimulator
    unifi: UnifiSimulator

    @classmethod
    def build(cls) -> NetworkSimulators:
        """A household's DNS filter, tailnet, Cloudflare account and UniFi site."""
        cloudflare = CloudflareSimulator(seed=5, port=CLOUDFLARE_PORT)
        account = cloudflare.add_account("Homelab")
        cloudflare.add_zone(account, "homelab.example", requests_per_hour=2_000)
        cloudflare.add_zone(account, "photos.homelab.example", requests_per_hour=600)
        cloudflare.add_tunnel(account, "home", status="healthy")
        cloudflare.add_tunnel(account, "lab", status="degraded")
        token = cloudflare.add_token()
        # A fixed secret, so that the entry made on the first run keeps working.
        del cloudflare.tokens[token.value]
        token.value = CLOUDFLARE_TOKEN
        cloudflare.tokens[token.value] = token
        return cls(
            pihole=PiholeSimulator(hostname="pihole", seed=3, port=PIHOLE_PORT),
            tailscale=TailscaleSimulator(seed=7, port=TAILSCALE_PORT),
            cloudflare=cloudflare,
            unifi=UnifiSimulator(seed=4, clients=24, port=UNIFI_PORT),
        )

    async def start(self) -> None:
        """Listen on the fixed ports."""
        for simulator in self._all():
            await simulator.start()

    async def stop(self) -> None:
        """Stop listening."""
        for simulator in reversed(self._all()):
            await simulator.stop()

    def _all(self) -> list[Any]:
        return [self.pihole, self.tailscale, self.cloudflare, self.unifi]


def _alertmanager_config(target: tuple[str, str | None] | None) -> str:
    lines = [
        "route:",
        "  receiver: home-assistant",
        "  group_by: ['alertname']",
        "  group_wait: 1s",
        "  group_interval: 10s",
        "  repeat_interval: 4h",
        "receivers:",
        "  - name: home-assistant",
    ]
    if target is not None:
        url, token = target
        lines += ["    webhook_configs:", f'      - url: "{url}"', "        send_resolved: true"]
        lines += ["        max_alerts: 500"]
        if token:
            lines += [
                "        http_config:",
                "          authorization:",
                "            type: Bearer",
                f'            credentials: "{token}"',
            ]
    return "\n".join(lines) + "\n"


async def run(state_dir: Path, ready_file: Path | None) -> None:
    """Start everything, wire it, and wait for Ctrl-C (or SIGTERM)."""
    async with aiohttp.ClientSession() as session:
        await _run(Demo(state_dir, session), ready_file)


async def _run(demo: Demo, ready_file: Path | None) -> None:
    demo.prepare_config()
    pbs = PbsSimulator(
        datastores={"store1": DatastoreConfig(total=4_000_000_000_000, seed_guests=False)},
        seed=7,
        port=PBS_PORT,
        task_duration=2,
    )
    pve = PveSimulator(
        nodes=3,
        guests_per_node=3,
        storages=1,
        seed=2,
        port=PVE_PORT,
        task_duration=2,
        token_secret=PVE_SECRET,
        backup_targets={"pbs-store": pbs.datastore("store1")},
    )
    pbs.add_token("root@pam", "demo", secret=PBS_SECRET)
    seed_backups(pve, pbs)
    network = NetworkSimulators.build()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await pbs.start()
    await pve.start()
    await network.start()
    demo.start_alertmanager()
    demo.start_home_assistant()
    # The engine and its containers get ready while Home Assistant starts.
    docker = asyncio.create_task(_prepare_docker(demo))
    keepers: list[asyncio.Task[None]] = []
    try:
        log("waiting for Home Assistant (the first start takes a minute)")
        await demo.wait_for(f"{HA_URL}/api/onboarding")
        await demo.wait_for(f"http://127.0.0.1:{ALERTMANAGER_PORT}/-/ready")
        await demo.log_in()
        await demo.wait_until_running()
        await demo.keep_http_config()
        await docker
        await demo.ensure_entries(pve, network)
        await demo.point_alertmanager()
        keepers = [
            asyncio.create_task(demo.keep_alerts_firing()),
            asyncio.create_task(demo.keep_health_checked()),
        ]
        log(f"ready: {HA_URL}/homelab-demo/homelab")
        log(f"log in as '{DEMO_USER}' with password '{DEMO_PASSWORD}'")
        log(f"Proxmox VE simulator: {pve.url}  PBS simulator: {pbs.url}")
        log(
            f"Pi-hole: {network.pihole.url}  Tailscale API: {network.tailscale.url}  "
            f"Cloudflare API: {network.cloudflare.api_url}  UniFi: {network.unifi.url}"
        )
        if demo.podman is not None:
            log(f"Docker host (Podman): {demo.podman.url}")
        log(f"Alertmanager: http://127.0.0.1:{ALERTMANAGER_PORT}   (Ctrl-C stops everything)")
        if ready_file is not None:
            ready = json.dumps({"url": HA_URL, "token": demo.token})
            await asyncio.to_thread(ready_file.write_text, ready)
        await stop.wait()
    finally:
        for keeper in keepers:
            keeper.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await docker  # a thread cannot be cancelled: let it finish, then stop what it began
        demo.stop()
        await network.stop()
        await pve.stop()
        await pbs.stop()
        log("stopped")


async def _prepare_docker(demo: Demo) -> None:
    service = await asyncio.to_thread(demo.start_podman)
    if service is None:
        return
    try:
        await ensure_containers(service)
    except (RuntimeError, aiohttp.ClientError) as err:
        log(f"the demo containers could not be set up ({err}): running without the Docker host")
        await asyncio.to_thread(demo.stop_podman)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".demo")
    parser.add_argument("--ready-file", type=Path, help="written (with an API token) when ready")
    args = parser.parse_args()
    args.state_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args.state_dir.resolve(), args.ready_file))


if __name__ == "__main__":
    main()
