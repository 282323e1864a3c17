"""The daily report's backup section: the same figures as `backup_health`, in the text."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.pbs import PbsSimulator


@pytest.fixture
def pbs_options() -> dict[str, Any]:
    """A freshness of one hour: every seeded group (up to a day old) is stale."""
    return {"freshness_hours": 1, "backup_timeout": 1}


async def _call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def test_daily_report_lists_backups_and_stale_guests(
    hass: HomeAssistant, pbs: PbsSimulator, setup_pbs: MockConfigEntry
) -> None:
    """Made, failed, verified and stale come from the servers' daily health."""
    health = await _call(hass, "backup_health")
    report = await _call(hass, "generate_report", kind="daily", sections=["backups"])
    backups = report["sections"]["backups"]
    for key in ("backups_made", "backups_failed", "verified", "verification_failed"):
        assert backups[key] == health[key]
    assert backups["stale_guests"] == health["stale_guests"]
    text = "\n".join(report["text"])
    assert f"Made {health['backups_made']} · failed {health['backups_failed']}" in text
    assert len(health["stale_guests"]) == 3
    assert text.count("Stale: ") == 3
