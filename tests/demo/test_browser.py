"""Headless Chromium against scripts/demo: log in, see guests and alerts, acknowledge one.

Starts the real demo (simulators, a real Alertmanager, a real Home Assistant with the
frontend) in a temporary folder, then drives Debian's Chromium through chromedriver.
Screenshots go to artifacts/ for people to look at.
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


LEAF_TEXTS = (
    "return deepAll(document, '*')"
    ".map((e) => (e.shadowRoot || e.childElementCount) ? '' : e.textContent).join('\\n');"
)


def _texts(browser: WebDriver) -> str:
    return str(browser.execute_script(DEEP + LEAF_TEXTS))


def test_dashboard_shows_the_homelab_and_acknowledges_with_a_click(
    demo: str, browser: WebDriver
) -> None:
    """Log in, open the dashboard, see guests and alerts, tick an alert off."""
    ARTIFACTS.mkdir(exist_ok=True)
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
