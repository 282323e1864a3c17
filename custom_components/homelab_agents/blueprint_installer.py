"""Installs the integration's blueprints into the user's config, never over their copies."""

from __future__ import annotations

from pathlib import Path
import shutil

from homeassistant.core import HomeAssistant

from .const import DOMAIN, LOGGER

SHIPPED = Path(__file__).parent / "blueprints"


def _install(source_root: Path, target_root: Path) -> list[str]:
    installed: list[str] = []
    for source in sorted(source_root.rglob("*.yaml")):
        target = target_root / source.relative_to(source_root)
        if target.exists():
            continue  # the user's copy, perhaps edited: theirs to keep
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        installed.append(str(target.relative_to(target_root)))
    return installed


async def async_install_blueprints(hass: HomeAssistant) -> None:
    """Copy missing blueprints to config/blueprints (automation/homelab_agents/...)."""
    try:
        installed = await hass.async_add_executor_job(
            _install, SHIPPED, Path(hass.config.path("blueprints"))
        )
    except OSError as err:
        LOGGER.warning("Could not install the %s blueprints: %s", DOMAIN, err)
        return
    if installed:
        LOGGER.info("Installed blueprints: %s", ", ".join(installed))
