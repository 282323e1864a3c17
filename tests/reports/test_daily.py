"""The daily summary: alerts, guests, nodes, failed tasks and backups, figure by figure."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.homelab_agents.alertmanager.models import AlertStatus, IncomingAlert
from custom_components.homelab_agents.alertmanager.runtime import AlertmanagerRuntime
from custom_components.homelab_agents.const import DOMAIN
from simulators.pve import FaultKind, PveSimulator
from simulators.pve.tasks import TaskOutcome

from .conftest import ReportCaller


def _alert(fingerprint: str, name: str, starts_at: datetime, status: AlertStatus) -> IncomingAlert:
    return IncomingAlert(
        fingerprint=fingerprint,
        status=status,
        starts_at=starts_at,
        ends_at=None,
        labels={"alertname": name, "severity": "critical", "instance": "pve1"},
        annotations={},
        generator_url="http://prometheus/graph",
    )


async def test_daily_report_counts_every_figure(
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    mock_config_entry: MockConfigEntry,
    generate_report: ReportCaller,
) -> None:
    """Fired, resolved and open alerts, guests, nodes, a failed start and a shutdown."""
    await async_setup_component(hass, "http", {})
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    store = mock_config_entry.runtime_data
    assert isinstance(store, AlertmanagerRuntime)
    end = dt_util.utcnow().replace(microsecond=0)
    hour = timedelta(hours=1)
    firing, resolved = AlertStatus.FIRING, AlertStatus.RESOLVED
    apply = store.store.async_apply_webhook
    # Fired 2 h ago, still open.
    apply([_alert("a1", "HighCPU", end - 2 * hour, firing)], "g", 0, end - 2 * hour)
    # Fired 3 h ago, resolved 1 h ago.
    apply([_alert("a2", "HighCPU", end - 3 * hour, firing)], "g", 0, end - 3 * hour)
    apply([_alert("a2", "HighCPU", end - 3 * hour, resolved)], "g", 0, end - hour)
    # Fired 30 h ago and still open: open, but not fired today.
    apply([_alert("a3", "DiskFull", end - 30 * hour, firing)], "g", 0, end - 30 * hour)
    # Fired and resolved the day before: not in the report at all.
    apply([_alert("a4", "HighCPU", end - 26 * hour, firing)], "g", 0, end - 26 * hour)
    apply([_alert("a4", "HighCPU", end - 26 * hour, resolved)], "g", 0, end - 25 * hour)

    running = sorted(g.vmid for g in pve.cluster.guests.values() if g.status == "running")
    shut, failing = running[0], running[1]
    await hass.services.async_call(
        DOMAIN, "shutdown_guest", {"vmid": shut}, blocking=True, return_response=True
    )
    pve.cluster.script_next_task(failing, TaskOutcome.failing("disk I/O error"))
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN, "reboot_guest", {"vmid": failing}, blocking=True, return_response=True
        )
    runtime = setup_proxmox.runtime_data
    await runtime.coordinator.async_refresh()

    report = await generate_report(kind="daily", period_end=dt_util.utcnow() + timedelta(seconds=1))
    sections = report["sections"]
    alerts = sections["alerts"]
    assert (alerts["fired"], alerts["resolved"], alerts["open"]) == (2, 1, 2)
    assert alerts["noisiest"] == [{"alertname": "HighCPU", "count": 2}]
    assert [a["alertname"] for a in alerts["open_alerts"]] == ["DiskFull", "HighCPU"]
    guests = [g for g in pve.cluster.guests.values() if not g.template]
    assert sections["guests"]["running"] == sum(g.status == "running" for g in guests)
    assert sections["guests"]["stopped"] == sum(g.status == "stopped" for g in guests)
    assert [(c["vmid"], c["change"]) for c in sections["guests"]["changes"]] == [
        (shut, "shut down")
    ]
    assert [(t["vmid"], t["type"], t["status"]) for t in sections["tasks"]] == [
        (failing, "qmreboot", "disk I/O error")
    ]
    assert [n["node"] for n in sections["nodes"]] == sorted(pve.cluster.nodes)
    assert all(n["online"] and n["cpu"] is not None for n in sections["nodes"])
    assert sections["backups"] is None
    text = "\n".join(report["text"])
    assert "Fired 2 · resolved 1 · open 2" in text
    assert "Noisiest: HighCPU x2" in text
    assert "No Proxmox Backup Server connected." in text
    assert "disk I/O error" in report["markdown"]


async def test_new_install_gives_an_empty_report(
    hass: HomeAssistant, generate_report: ReportCaller
) -> None:
    """No entries at all: every section says so instead of failing."""
    await async_setup_component(hass, DOMAIN, {})
    daily = await generate_report(kind="daily")
    sections = daily["sections"]
    assert sections["alerts"]["fired"] == sections["alerts"]["open"] == 0
    assert sections["guests"] == {"running": 0, "stopped": 0, "other": 0, "changes": []}
    assert sections["nodes"] == sections["tasks"] == []
    assert "No Alertmanager connected." in daily["text"][0]
    assert "No Proxmox VE cluster connected." in daily["text"][0]
    weekly = await generate_report(kind="weekly")
    assert weekly["sections"] == {}
    assert "the recorder is not running" in weekly["text"][0]
    monthly = await generate_report(kind="monthly", parse_mode="plain_text")
    assert monthly["statistics"] is False
    assert "the recorder is not running" in monthly["markdown"]


async def test_sections_and_template(hass: HomeAssistant, generate_report: ReportCaller) -> None:
    """Only the sections asked for; a template replaces the layout."""
    await async_setup_component(hass, DOMAIN, {})
    report = await generate_report(
        kind="daily",
        sections=["alerts"],
        template="{{ report.kind }}: {{ report.sections.alerts.open }} open",
    )
    assert list(report["sections"]) == ["alerts"]
    assert report["text"] == ["daily: 0 open"]
    with pytest.raises(HomeAssistantError, match="could not be rendered"):
        await generate_report(kind="daily", template="{{ report.nope.deeper }}")


async def test_offline_node_and_unreadable_tasks_still_give_a_report(
    hass: HomeAssistant,
    pve: PveSimulator,
    setup_proxmox: MockConfigEntry,
    generate_report: ReportCaller,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A node offline is named; tasks Proxmox does not answer for are left out with a warning."""
    offline = sorted(pve.cluster.nodes)[-1]
    pve.cluster.set_node_online(offline, online=False)
    await setup_proxmox.runtime_data.coordinator.async_refresh()
    pve.faults.inject("*/cluster/tasks", FaultKind.HTTP_500)
    report = await generate_report(kind="daily", parse_mode="markdownv2")
    node = next(n for n in report["sections"]["nodes"] if n["node"] == offline)
    assert (node["online"], node["cpu"], node["memory"]) == (False, None, None)
    assert report["sections"]["guests"]["other"] == len(pve.cluster.guests_on(offline))
    assert report["sections"]["tasks"] == []
    assert f"{offline}: OFFLINE" in report["text"][0]
    assert "Could not read the tasks of Proxmox VE homelab" in caplog.text


async def test_last_report_sensor_follows_generated_reports(
    hass: HomeAssistant, setup_proxmox: MockConfigEntry, generate_report: ReportCaller
) -> None:
    """The cluster's "Last report" sensor shows when the last report was made, and which."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, "cluster:homelab_cluster_last_report"
    )
    assert entity_id is not None
    assert hass.states.get(entity_id).state == "unknown"
    report = await generate_report(kind="weekly")
    state = hass.states.get(entity_id)
    assert dt_util.parse_datetime(state.state) == dt_util.parse_datetime(report["generated_at"])
    assert state.attributes["kind"] == "weekly"


async def test_last_report_sensor_is_restored(
    hass: HomeAssistant, proxmox_entry: MockConfigEntry
) -> None:
    """After a restart the sensor still shows the last report."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State("sensor.proxmox_ve_homelab_last_report", "x", {"kind": "monthly"}),
                {
                    "native_value": {
                        "__type": "<class 'datetime.datetime'>",
                        "isoformat": "2026-11-01T08:00:00+00:00",
                    },
                    "native_unit_of_measurement": None,
                },
            )
        ],
    )
    proxmox_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(proxmox_entry.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get("sensor.proxmox_ve_homelab_last_report")
    assert state.state == "2026-11-01T08:00:00+00:00"
    assert state.attributes["kind"] == "monthly"
