"""The demo homelab: simulators, a real Alertmanager and a real Home Assistant, wired together.

Run through scripts/demo. Starts the Proxmox VE and PBS simulators (in this process), a real
Alertmanager (Debian package) and Home Assistant with .demo/config, completes onboarding
through HA's HTTP API, creates the integration's entries through the config flow API, points
Alertmanager at the webhook, keeps a few demo alerts firing, and prints where to log in.
Ctrl-C stops everything it started. A second run reuses .demo and starts quickly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from simulators.pbs import PbsSimulator  # noqa: E402
from simulators.pbs.datastore import DatastoreConfig  # noqa: E402
from simulators.pve import PveSimulator  # noqa: E402

DEMO_USER = "demo"
DEMO_PASSWORD = "homelab-demo"  # noqa: S105 - a documented demo login on 127.0.0.1 only
CLIENT_ID = "http://127.0.0.1:8123/"
HA_URL = "http://127.0.0.1:8123"
PVE_PORT = 18006
PBS_PORT = 18007
ALERTMANAGER_PORT = 19093
PVE_SECRET = "demo-pve-token-secret"  # noqa: S105 - simulator token, fixed so entries survive runs
PBS_SECRET = "demo-pbs-token-secret"  # noqa: S105
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
        """Stop every process started, newest first."""
        for process in reversed(self.processes):
            process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

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
        async with self.session.get(f"{HA_URL}/api/onboarding") as response:
            steps = {step["step"]: step["done"] for step in await response.json()}
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

    async def ensure_entries(self, pve: PveSimulator) -> None:
        """Create the integration's entries through the config flow API, once."""
        entries = await self.api("GET", "/api/config/config_entries/entry?domain=homelab_agents")
        titles = {entry["title"] for entry in entries}
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

    async def _flow(self, kind: str, data: dict[str, Any]) -> None:
        flow = await self.api(
            "POST", "/api/config/config_entries/flow", {"handler": "homelab_agents"}
        )
        flow = await self.api(
            "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", {"next_step_id": kind}
        )
        result = await self.api("POST", f"/api/config/config_entries/flow/{flow['flow_id']}", data)
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
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await pbs.start()
    await pve.start()
    demo.start_alertmanager()
    demo.start_home_assistant()
    keeper: asyncio.Task[None] | None = None
    try:
        log("waiting for Home Assistant (the first start takes a minute)")
        await demo.wait_for(f"{HA_URL}/api/onboarding")
        await demo.wait_for(f"http://127.0.0.1:{ALERTMANAGER_PORT}/-/ready")
        await demo.log_in()
        await demo.keep_http_config()
        await demo.ensure_entries(pve)
        await demo.point_alertmanager()
        keeper = asyncio.create_task(demo.keep_alerts_firing())
        log(f"ready: {HA_URL}/homelab-demo/homelab")
        log(f"log in as '{DEMO_USER}' with password '{DEMO_PASSWORD}'")
        log(f"Proxmox VE simulator: {pve.url}  PBS simulator: {pbs.url}")
        log(f"Alertmanager: http://127.0.0.1:{ALERTMANAGER_PORT}   (Ctrl-C stops everything)")
        if ready_file is not None:
            ready = json.dumps({"url": HA_URL, "token": demo.token})
            await asyncio.to_thread(ready_file.write_text, ready)
        await stop.wait()
    finally:
        if keeper is not None:
            keeper.cancel()
        demo.stop()
        await pve.stop()
        await pbs.stop()
        log("stopped")


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
