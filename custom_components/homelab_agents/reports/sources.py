"""The daily summary's container and network figures, from the loaded Docker and network entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, cast

from homeassistant.core import HomeAssistant

from ..const import CONF_KIND, NETWORK_KINDS, SourceKind
from ..service_targets import loaded_entries
from .models import clip

if TYPE_CHECKING:
    from ..docker.runtime import DockerRuntime

# States that need a look: not running although they once ran, restarting, or dead.
_TROUBLE: Final = ("restarting", "dead")


def _loaded(hass: HomeAssistant, kinds: tuple[SourceKind, ...]) -> list[tuple[str, str, Any]]:
    return [
        (entry.data[CONF_KIND], entry.title, entry.runtime_data)
        for kind in kinds
        for entry in loaded_entries(hass, kind)
    ]


def containers_section(hass: HomeAssistant) -> dict[str, Any] | None:
    """Per Docker engine: running and stopped counts, unhealthy and troubled containers."""
    engines = _loaded(hass, (SourceKind.DOCKER,))
    if not engines:
        return None
    result: list[dict[str, Any]] = []
    for _kind, title, runtime in engines:
        docker = cast("DockerRuntime", runtime)
        containers = docker.coordinator.data.containers.values()
        attention = [
            {
                "name": clip(c.name),
                "state": c.listed.state,
                "health": c.health,
                "exit_code": c.exit_code,
            }
            for c in containers
            if c.health == "unhealthy"
            or c.listed.state in _TROUBLE
            or (c.listed.state == "exited" and c.exit_code not in (None, 0))
        ]
        attention.sort(key=lambda c: str(c["name"]))
        result.append(
            {
                "engine": clip(title),
                "available": docker.coordinator.last_update_success,
                "running": sum(c.listed.state == "running" for c in containers),
                "stopped": sum(c.listed.state != "running" for c in containers),
                "attention": attention,
            }
        )
    return {"engines": result}


def network_section(hass: HomeAssistant) -> dict[str, Any] | None:
    """Per network source: reachable or not, and the anomalies active now with explanations."""
    sources = _loaded(hass, NETWORK_KINDS)
    if not sources:
        return None
    result: list[dict[str, Any]] = []
    for kind, title, runtime in sources:
        anomalies = [
            {
                "anomaly": anomaly.anomaly.value,
                "label": clip(anomaly.label),
                "explanation": clip(anomaly.explanation),
                "since": anomaly.detected_at.isoformat(),
            }
            for anomaly in runtime.monitor.active
        ]
        anomalies.sort(key=lambda a: str(a["since"]))
        result.append(
            {
                "source": kind,
                "title": clip(title),
                "available": runtime.coordinator.last_update_success,
                "anomalies": anomalies,
            }
        )
    return {"sources": result, "anomalies": sum(len(s["anomalies"]) for s in result)}
