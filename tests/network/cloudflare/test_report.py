"""The daily report's network section, from a real Cloudflare entry and its anomaly monitor."""

from __future__ import annotations

from datetime import datetime, timedelta
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.cloudflare import CloudflareSimulator

from ..conftest import MONDAY, polls, query_sample, seasonal


async def _report(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "generate_report",
        {"kind": "daily", "sections": ["network"], "parse_mode": "plain_text", **data},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


async def test_network_section_lists_sources_and_active_anomalies(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    cloudflare: CloudflareSimulator,
    cloudflare_entry: MockConfigEntry,
) -> None:
    """Quiet: the source, reachable, no anomaly; a spike: its explanation; API down: unreachable."""
    freezer.move_to(MONDAY)
    cloudflare_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(cloudflare_entry.entry_id)
    await hass.async_block_till_done()

    report = await _report(hass)
    section = report["sections"]["network"]
    assert section == {
        "sources": [
            {
                "source": "cloudflare",
                "title": "Cloudflare Homelab",
                "available": True,
                "anomalies": [],
            }
        ],
        "anomalies": 0,
    }
    assert "🌐 Network\nAnomalies active 0" in report["text"][0]

    # Two days of a seasonal metric, then a spike far outside it: the monitor flags it.
    monitor = cloudflare_entry.runtime_data.monitor
    rng = random.Random(5)
    moment: datetime = MONDAY
    for moment in polls(MONDAY, timedelta(hours=50)):
        monitor.async_process([query_sample("probe", seasonal(rng, moment, 200))], [], moment)
    spike = moment + timedelta(minutes=10)
    freezer.move_to(spike)
    raised = monitor.async_process([query_sample("probe", 5_000)], [], spike)
    assert len(raised) == 1

    report = await _report(hass)
    (source,) = report["sections"]["network"]["sources"]
    assert report["sections"]["network"]["anomalies"] == 1
    assert source["anomalies"] == [
        {
            "anomaly": "query_rate_spike",
            "label": "Queries from probe",
            "explanation": raised[0].explanation,
            "since": spike.isoformat(),
        }
    ]
    assert f"Cloudflare Homelab: {raised[0].explanation}" in report["text"][0]

    cloudflare.force_rate_limit(600)
    await cloudflare_entry.runtime_data.coordinator.async_refresh()
    report = await _report(hass)
    assert report["sections"]["network"]["sources"][0]["available"] is False
    assert "Cloudflare Homelab: UNREACHABLE" in report["text"][0]


async def test_network_section_without_sources(hass: HomeAssistant) -> None:
    """No network entry: the section says so instead of failing."""
    assert await async_setup_component(hass, DOMAIN, {})
    report = await _report(hass)
    assert report["sections"]["network"] is None
    assert "No network source connected." in report["text"][0]
