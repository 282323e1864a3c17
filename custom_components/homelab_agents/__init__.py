"""homelab_agents: run a homelab (alerts, Proxmox, backups, reports) from Home Assistant."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .agent import async_register_llm_api
from .blueprint_installer import async_install_blueprints
from .const import CONF_KIND, DOMAIN, SourceKind
from .runtime import HomelabAgentsConfigEntry, SourceRuntime
from .services import async_setup_services

if TYPE_CHECKING:
    from .backup.runtime import PbsRuntime
    from .docker.runtime import DockerRuntime
    from .network.cloudflare.runtime import CloudflareRuntime
    from .network.tailscale.runtime import TailscaleRuntime
    from .network.unifi.runtime import UnifiRuntime
    from .proxmox.runtime import ProxmoxRuntime

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
    # Each kind's package is imported only when an entry of that kind exists.
    if kind == SourceKind.ALERTMANAGER:
        from .alertmanager.runtime import AlertmanagerRuntime  # noqa: PLC0415

        alertmanager = AlertmanagerRuntime(hass, entry)
        await alertmanager.async_start()
        return alertmanager
    if kind == SourceKind.PROXMOX_VE:
        from .proxmox.runtime import ProxmoxRuntime  # noqa: PLC0415

        proxmox = ProxmoxRuntime(hass, entry)
        await proxmox.async_start()
        return proxmox
    if kind == SourceKind.PROXMOX_BACKUP:
        from .backup.runtime import PbsRuntime  # noqa: PLC0415

        backup_server = PbsRuntime(hass, entry)
        await backup_server.async_start()
        return backup_server
    if kind == SourceKind.DOCKER:
        from .docker.runtime import DockerRuntime  # noqa: PLC0415

        docker_host = DockerRuntime(hass, entry)
        await docker_host.async_start()
        return docker_host
    if kind == SourceKind.TAILSCALE:
        from .network.tailscale.runtime import TailscaleRuntime  # noqa: PLC0415

        tailnet = TailscaleRuntime(hass, entry)
        await tailnet.async_start()
        return tailnet
    if kind == SourceKind.CLOUDFLARE:
        from .network.cloudflare.runtime import CloudflareRuntime  # noqa: PLC0415

        cloudflare = CloudflareRuntime(hass, entry)
        await cloudflare.async_start()
        return cloudflare
    if kind == SourceKind.PIHOLE:
        from .network.pihole.runtime import PiholeRuntime  # noqa: PLC0415

        pihole = PiholeRuntime(hass, entry)
        await pihole.async_start()
        return pihole
    if kind == SourceKind.UNIFI:
        from .network.unifi.runtime import UnifiRuntime  # noqa: PLC0415

        unifi = UnifiRuntime(hass, entry)
        await unifi.async_start()
        return unifi
    # An entry made by a newer release of the integration, after a downgrade.
    raise ConfigEntryError(
        translation_domain=DOMAIN,
        translation_key="unsupported_kind",
        translation_placeholders={"kind": str(kind)},
    )


async def async_unload_entry(hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> bool:
    """Unload platforms, then stop the source."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, entry.runtime_data.platforms)
    if unloaded:
        await entry.runtime_data.async_unload()
    return unloaded


# Network source kinds keep learned anomaly baselines in their own store file.
_NETWORK_KINDS = (SourceKind.PIHOLE, SourceKind.TAILSCALE, SourceKind.CLOUDFLARE, SourceKind.UNIFI)


async def async_remove_entry(hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
    """Delete what a removed entry stored of its own."""
    if entry.data[CONF_KIND] in _NETWORK_KINDS:
        from .network.monitor import async_remove_monitor_store  # noqa: PLC0415

        await async_remove_monitor_store(hass, entry.entry_id)
    if entry.data[CONF_KIND] == SourceKind.UNIFI:
        from .network.unifi.runtime import async_remove_history  # noqa: PLC0415

        await async_remove_history(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: HomelabAgentsConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device whose guest no longer exists (or any stale one)."""
    if entry.data[CONF_KIND] == SourceKind.TAILSCALE and entry.runtime_data is not None:
        return not cast("TailscaleRuntime", entry.runtime_data).device_is_current(device)
    if entry.data[CONF_KIND] == SourceKind.PROXMOX_BACKUP and entry.runtime_data is not None:
        return not cast("PbsRuntime", entry.runtime_data).device_is_current(device)
    if entry.data[CONF_KIND] == SourceKind.DOCKER and entry.runtime_data is not None:
        return not cast("DockerRuntime", entry.runtime_data).device_is_current(device)
    if entry.data[CONF_KIND] == SourceKind.CLOUDFLARE and entry.runtime_data is not None:
        return not cast("CloudflareRuntime", entry.runtime_data).device_is_current(device)
    if entry.data[CONF_KIND] == SourceKind.UNIFI and entry.runtime_data is not None:
        return not cast("UnifiRuntime", entry.runtime_data).device_is_current(device)
    if entry.data[CONF_KIND] != SourceKind.PROXMOX_VE or entry.runtime_data is None:
        return True
    runtime = cast("ProxmoxRuntime", entry.runtime_data)
    vmid = runtime.vmid_of_device(device)
    return vmid is not None and vmid not in runtime.coordinator.data.guests
