"""Headless Chromium against scripts/demo: guests and alerts, containers and the network.

Starts the real demo (simulators, a real Podman engine as the Docker host, a real Alertmanager,
a real Home Assistant with the frontend) in a temporary folder, then drives Debian's Chromium
through chromedriver: acknowledges an alert with a click, reads the containers' and network
sources' figures and starts a stopped container from its switch. Screenshots go to artifacts/
for people to look at.
"""

from __future__ import annotations

from collections.abc import Generator
from http.client import HTTPConnection
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from simulators.podman import podman_available

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
HA = "http://127.0.0.1:8123"
# Elements of HA's frontend live in nested shadow roots: search through all of them.
DEEP = """
function deepAll(root, selector, found) {
  found = found || [];
  root.querySelectorAll(selector).forEach((e) => found.push(e));
  root.querySelectorAll('*').forEach((e) => {
    if (e.shadowRoot) deepAll(e.shadowRoot, selector, found);
  });
  return found;
}
"""

pytestmark = pytest.mark.timeout(400)


def _wait(predicate: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.25)
    raise AssertionError(f"{what} not seen within {seconds:.0f} s")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Generator[str]:
    """scripts/demo in a fresh folder; yields an API token once it says it is ready."""
    state = tmp_path_factory.mktemp("demo")
    ready = state / "ready.json"
    log = (state / "demo.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "demo.py"),
            "--state-dir",
            str(state),
            "--ready-file",
            str(ready),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        _wait(lambda: ready.exists() or process.poll() is not None, 240, "the demo")
        if process.poll() is not None:
            raise AssertionError((state / "demo.log").read_text()[-3000:])
        yield json.loads(ready.read_text())["token"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _state(token: str, entity_id: str) -> str:
    connection = HTTPConnection("127.0.0.1", 8123, timeout=10)
    try:
        connection.request(
            "GET", f"/api/states/{entity_id}", headers={"Authorization": f"Bearer {token}"}
        )
        return str(json.loads(connection.getresponse().read())["state"])
    finally:
        connection.close()


@pytest.fixture
def browser() -> Generator[WebDriver]:
    """Debian's headless Chromium."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1800,1100",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def _deep(browser: WebDriver, selector: str) -> list[WebElement]:
    return list(browser.execute_script(DEEP + f"return deepAll(document, {selector!r});"))


# Every text node's text, also where an element mixes text with child elements (as the
# state of an entities card's row does).
TEXTS = """
return deepAll(document, '*').map((e) => Array.from(e.childNodes)
  .filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join(' ')).join('\\n');
"""


def _texts(browser: WebDriver) -> str:
    return str(browser.execute_script(DEEP + TEXTS))


def _log_in(browser: WebDriver) -> None:
    browser.get(f"{HA}/")
    inputs = _wait(
        lambda: (
            {e.get_attribute("name"): e for e in _deep(browser, "input")}.get("password")
            and {e.get_attribute("name"): e for e in _deep(browser, "input")}
        ),
        180,
        "the login form",
    )
    inputs["username"].send_keys("demo")
    inputs["password"].send_keys("homelab-demo", Keys.ENTER)
    _wait(lambda: "/auth/" not in browser.current_url, 30, "the logged-in page")


def test_dashboard_shows_the_homelab_and_acknowledges_with_a_click(
    demo: str, browser: WebDriver
) -> None:
    """Log in, open the dashboard, see guests and alerts, tick an alert off."""
    ARTIFACTS.mkdir(exist_ok=True)
    _log_in(browser)
    browser.get(f"{HA}/homelab-demo/homelab")
    _wait(lambda: "vaultwarden" in _texts(browser), 180, "the guests")
    items = _wait(
        lambda: [
            i for i in _deep(browser, "ha-check-list-item") if "DiskWillFillIn24Hours" in i.text
        ],
        180,
        "the alerts",
    )
    page = _texts(browser)
    for guest in ("pihole", "grafana", "nextcloud"):
        assert guest in page
    assert "HostHighCpuLoad" in page
    assert "Without backup" in page  # backups with their freshness
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    assert _state(demo, "sensor.alertmanager_127_0_0_1_acknowledged_alerts") == "0"

    checkbox = browser.execute_script(
        "const i = arguments[0]; return (i.shadowRoot && i.shadowRoot.querySelector('ha-checkbox'))"
        " || i.querySelector('ha-checkbox') || i;",
        items[0],
    )
    checkbox.click()  # a real click, as a person makes it
    _wait(
        lambda: _state(demo, "sensor.alertmanager_127_0_0_1_acknowledged_alerts") == "1",
        30,
        "the acknowledgement",
    )
    _wait(lambda: "Completed" in _texts(browser), 30, "the ticked alert")
    browser.save_screenshot(str(ARTIFACTS / "dashboard-acknowledged.png"))


def _shown(browser: WebDriver, token: str, entity_id: str, unit: str) -> bool:
    """The sensor's current value, formatted as the frontend shows it, is on the page."""
    return f"{int(float(_state(token, entity_id))):,} {unit}" in _texts(browser)


# The switch inside an entities card's row for an entity (rows keep their config in `_config`).
ROW_SWITCH = """
const row = deepAll(document, 'hui-toggle-entity-row')
  .find((r) => (r._config || {}).entity === arguments[0]);
return row ? deepAll(row.shadowRoot, 'ha-switch')[0] : null;
"""


def test_network_view_shows_every_source(demo: str, browser: WebDriver) -> None:
    """The second view: Pi-hole, Tailscale, Cloudflare and UniFi figures, anomaly sensors."""
    ARTIFACTS.mkdir(exist_ok=True)
    _log_in(browser)
    browser.get(f"{HA}/homelab-demo/network")
    # Figures as the sources report them (read again at each look: they move with time).
    _wait(
        lambda: _shown(browser, demo, "sensor.pi_hole_pihole_queries_today", "queries"),
        60,
        "the Pi-hole's queries today",
    )
    _wait(
        lambda: _shown(browser, demo, "sensor.homelab_example_requests_24_h", "requests"),
        60,
        "the Cloudflare zone's requests",
    )
    # The "lab" tunnel, UniFi's WAN, Tailscale's devices.
    expected = ("Degraded", "Connected", "Online devices", "Network anomalies")
    _wait(lambda: all(text in _texts(browser) for text in expected), 30, "the states")
    assert int(_state(demo, "sensor.tailscale_tail4e2a_ts_net_online_devices")) > 0
    assert _state(demo, "switch.pi_hole_pihole_blocking") == "on"
    assert float(_state(demo, "sensor.unifi_udm_pro_default_wan_latency")) > 0
    for source in (
        "pi_hole_pihole",
        "tailscale_tail4e2a_ts_net",
        "cloudflare_homelab",
        "unifi_udm_pro_default",
    ):
        assert _state(demo, f"binary_sensor.{source}_network_anomaly") in ("on", "off")
    _wait(lambda: "backup-job" in _texts(browser), 30, "the containers")
    browser.save_screenshot(str(ARTIFACTS / "dashboard-network.png"))


def test_containers_show_and_start_from_the_dashboard(demo: str, browser: WebDriver) -> None:
    """The Docker host's counts and switches; a click on a stopped container's switch starts it."""
    assert podman_available(), "the demo's Docker host needs Podman: run scripts/setup"
    _log_in(browser)
    browser.get(f"{HA}/homelab-demo/network")
    expected = ("backup-job", "mealie", "Unhealthy", "Healthy", "Running")  # immich fails its check
    _wait(lambda: all(text in _texts(browser) for text in expected), 60, "the containers")
    assert _state(demo, "sensor.docker_apps_running_containers") == "4"
    assert _state(demo, "sensor.docker_apps_unhealthy_containers") == "1"
    assert _state(demo, "sensor.backup_job_state") == "exited"
    assert _state(demo, "switch.paperless") == "on"
    assert _state(demo, "switch.mealie") == "off"

    switch = browser.execute_script(DEEP + ROW_SWITCH, "switch.mealie")
    assert switch is not None
    switch.click()  # start the stopped container, as a person does
    _wait(lambda: _state(demo, "sensor.mealie_state") == "running", 30, "the started container")
    _wait(
        lambda: _state(demo, "sensor.docker_apps_running_containers") == "5",
        30,
        "the running count",
    )
    _wait(
        lambda: browser.execute_script(DEEP + ROW_SWITCH, "switch.mealie").get_property("checked"),
        30,
        "the switch turned on",
    )
