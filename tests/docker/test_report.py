"""The daily report's containers section, from a real Podman engine."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.const import DOMAIN
from simulators.podman import Engine

from .helpers import refresh, setup_entry


async def _report(hass: HomeAssistant) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "generate_report",
        {"kind": "daily", "sections": ["containers"], "parse_mode": "plain_text"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


async def test_containers_section_counts_and_lists_what_needs_a_look(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry
) -> None:
    """Running/stopped per engine; unhealthy and failed containers listed; a clean exit is not."""
    await engine.create("web")
    await engine.create("db", healthcheck=True, healthy=False)
    await engine.create("job", ["sh", "-c", "exit 3"])
    await engine.create("done", ["true"])
    assert await engine.wait_exited("job") == 3
    assert await engine.wait_exited("done") == 0
    assert await engine.run_healthcheck("db") != 0
    await setup_entry(hass, docker_entry)
    await refresh(hass, docker_entry)

    report = await _report(hass)
    (engine_figures,) = report["sections"]["containers"]["engines"]
    assert engine_figures == {
        "engine": "Docker podman-host",
        "available": True,
        "running": 2,
        "stopped": 2,
        "attention": [
            {"name": "db", "state": "running", "health": "unhealthy", "exit_code": None},
            {"name": "job", "state": "exited", "health": None, "exit_code": 3},
        ],
    }
    text = report["text"][0]
    assert "📦 Containers\nDocker podman-host: running 2 · stopped 2" in text
    assert "db: running, unhealthy" in text
    assert "job: exited, exit code 3" in text
    assert "done:" not in text


async def test_containers_section_without_an_engine(hass: HomeAssistant) -> None:
    """No Docker entry: the section says so."""
    assert await async_setup_component(hass, DOMAIN, {})
    report = await _report(hass)
    assert report["sections"]["containers"] is None
    assert "No Docker engine connected." in report["text"][0]
