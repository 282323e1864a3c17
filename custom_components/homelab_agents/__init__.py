"""homelab_agents: run a homelab (alerts, Proxmox, backups, reports) from Home Assistant."""

from __future__ import annotations

from typing import Protocol

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .agent import async_register_llm_api
from .blueprint_installer import async_install_blueprints
from .const import CONF_KIND, DOMAIN, NETWORK_KINDS, SourceKind
from .runtime import HomelabAgentsConfigEntry, SourceRuntime
from .services import async_setup_services

__all__ = ["HomelabAgentsConfigEntry"]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the domain's service actions and install its blueprints."""
    async_setup_services(hass)
    async_register_llm_api(hass)
    await async_install_blueprints(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> bool:
    """Start the source the entry connects, then its platforms."""
    runtime = await _async_start_source(hass, entry)
    entry.runtime_data = runtime
    await hass.config_entries.async_forward_entry_setups(entry, runtime.platforms)
    return True


async def _async_start_source(
    hass: HomeAssistant, entry: HomelabAgentsConfigEntry
) -> SourceRuntime:
    kind = entry.data[CONF_KIND]
    runtime_class = _runtime_class(kind)
    if runtime_class is None:
        # An entry made by a newer release of the integration, after a downgrade.
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="unsupported_kind",
            translation_placeholders={"kind": str(kind)},
        )
    runtime = runtime_class(hass, entry)
    await runtime.async_start()
    return runtime


class _StartableRuntime(SourceRuntime, Protocol):
    def __init__(self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None: ...

    async def async_start(self) -> None: ...


def _runtime_class(kind: str) -> type[_StartableRuntime] | None:
    """The runtime of a kind; each kind's package is imported only when an entry needs it."""
    if kind == SourceKind.ALERTMANAGER:
        from .alertmanager.runtime import AlertmanagerRuntime  # noqa: PLC0415

        return AlertmanagerRuntime
    if kind == SourceKind.PROXMOX_VE:
        from .proxmox.runtime import ProxmoxRuntime  # noqa: PLC0415

        return ProxmoxRuntime
    if kind == SourceKind.PROXMOX_BACKUP:
        from .backup.runtime import PbsRuntime  # noqa: PLC0415

        return PbsRuntime
    if kind == SourceKind.DOCKER:
        from .docker.runtime import DockerRuntime  # noqa: PLC0415

        return DockerRuntime
    if kind == SourceKind.PIHOLE:
        from .network.pihole.runtime import PiholeRuntime  # noqa: PLC0415

        return PiholeRuntime
    if kind == SourceKind.TAILSCALE:
        from .network.tailscale.runtime import TailscaleRuntime  # noqa: PLC0415

        return TailscaleRuntime
    if kind == SourceKind.CLOUDFLARE:
        from .network.cloudflare.runtime import CloudflareRuntime  # noqa: PLC0415

        return CloudflareRuntime
    if kind == SourceKind.UNIFI:
        from .network.unifi.runtime import UnifiRuntime  # noqa: PLC0415

        return UnifiRuntime
    return None


async def async_unload_entry(hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> bool:
    """Unload platforms, then stop the source."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, entry.runtime_data.platforms)
    if unloaded:
        await entry.runtime_data.async_unload()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
    """Delete what a removed entry stored of its own."""
    if entry.data[CONF_KIND] in NETWORK_KINDS:  # their learned anomaly baselines
        from .network.monitor import async_remove_monitor_store  # noqa: PLC0415

        await async_remove_monitor_store(hass, entry.entry_id)
    if entry.data[CONF_KIND] == SourceKind.UNIFI:
        from .network.unifi.runtime import async_remove_history  # noqa: PLC0415

        await async_remove_history(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: HomelabAgentsConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device whose object (guest, container, zone…) no longer exists."""
    runtime: SourceRuntime | None = getattr(entry, "runtime_data", None)
    return runtime is None or not runtime.device_is_current(device)
