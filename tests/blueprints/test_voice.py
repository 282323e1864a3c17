"""The voice blueprint through HA's automation engine and Assist's default agent."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.alertmanager.payload import parse_payload
from simulators.pve import PveSimulator

from ..alertmanager.payloads import alert, payload


async def _say(hass: HomeAssistant, text: str) -> str:
    result = await hass.services.async_call(
        "conversation",
        "process",
        {"text": text, "language": "en"},
        blocking=True,
        return_response=True,
    )
    return str(result["response"]["speech"]["plain"]["speech"])


@pytest.fixture
async def voice(
    hass: HomeAssistant, init_integration: MockConfigEntry, setup_proxmox: MockConfigEntry
) -> MockConfigEntry:
    """Alertmanager and Proxmox entries plus the voice blueprint as an automation."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(
        hass,
        "automation",
        {"automation": {"use_blueprint": {"path": "homelab_agents/voice_homelab.yaml"}}},
    )
    await hass.async_block_till_done()
    return init_integration


def _fire(entry: MockConfigEntry, *alerts: dict[str, object]) -> None:
    parsed = parse_payload(payload(*alerts))
    entry.runtime_data.store.async_apply_webhook(parsed.alerts, "g", 0, dt_util.utcnow())


async def test_what_alerts_are_firing(hass: HomeAssistant, voice: MockConfigEntry) -> None:
    """Assist lists the firing alerts, and says so when there are none."""
    assert await _say(hass, "what alerts are firing") == "No alerts are firing."
    _fire(voice, alert("00000000000000a1", name="DiskFull"), alert("00000000000000a2"))
    answer = await _say(hass, "what alerts are firing")
    assert answer.startswith("2 alerts are firing: ")
    assert "DiskFull" in answer


async def test_acknowledge_all_alerts(hass: HomeAssistant, voice: MockConfigEntry) -> None:
    """Every unacknowledged firing alert is acknowledged."""
    _fire(voice, alert("00000000000000a1"), alert("00000000000000a2"))
    assert await _say(hass, "acknowledge all alerts") == "Acknowledged 2 alerts."
    assert all(a.acknowledged_by == "voice" for a in voice.runtime_data.store.active.values())
    assert await _say(hass, "acknowledge all alerts") == "There was nothing to acknowledge."


async def test_stop_asks_for_confirmation(
    hass: HomeAssistant, voice: MockConfigEntry, pve: PveSimulator
) -> None:
    """Stop is only requested; "confirm" runs it; an unknown guest is said so."""
    guest = next(g for g in pve.cluster.guests.values() if g.status == "running")
    answer = await _say(hass, f"stop {guest.name}")
    assert answer.endswith("is ready. Say confirm to do it, or cancel.")
    assert pve.cluster.guest(guest.vmid).status == "running"
    assert (
        await _say(hass, "confirm")
        == f"Done: Hard stop of {guest.name} (VM ID {guest.vmid}) on {guest.node}."
    )
    assert pve.cluster.guest(guest.vmid).status == "stopped"
    assert await _say(hass, "confirm") == "There is nothing to confirm."
    assert "could not find" in await _say(hass, "stop nothing-here")


async def test_start_restart_and_status(
    hass: HomeAssistant, voice: MockConfigEntry, pve: PveSimulator
) -> None:
    """Start and restart by name, and a spoken summary of the homelab."""
    stopped = next(g for g in pve.cluster.guests.values() if g.status == "stopped")
    assert await _say(hass, f"start {stopped.name}") == f"{stopped.name} started."
    assert pve.cluster.guest(stopped.vmid).status == "running"
    assert await _say(hass, f"restart {stopped.name}") == f"{stopped.name} restarted."
    total = len(pve.cluster.guests)
    running = sum(g.status == "running" for g in pve.cluster.guests.values())
    assert await _say(hass, "how is the homelab") == (
        f"{running} of {total} guests are running. No alerts are firing."
    )


async def test_cancel(hass: HomeAssistant, voice: MockConfigEntry, pve: PveSimulator) -> None:
    """Cancel drops the pending stop."""
    guest = next(g for g in pve.cluster.guests.values() if g.status == "running")
    await _say(hass, f"stop {guest.name}")
    assert await _say(hass, "cancel") == "Cancelled."
    assert await _say(hass, "confirm") == "There is nothing to confirm."
    assert pve.cluster.guest(guest.vmid).status == "running"
