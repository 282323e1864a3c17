"""Service actions of the domain, registered once in `async_setup`; each kind adds its own."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback

from .alertmanager.services import async_setup_alertmanager_services
from .backup.services import async_setup_backup_services
from .confirm_services import async_setup_confirm_services
from .docker.services import async_setup_docker_services
from .network.pihole.services import async_setup_pihole_services
from .network.tailscale.services import async_setup_tailscale_services
from .proxmox.services import async_setup_proxmox_services
from .reports.services import async_setup_report_services


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every service action of the integration."""
    async_setup_alertmanager_services(hass)
    async_setup_proxmox_services(hass)
    async_setup_backup_services(hass)
    async_setup_confirm_services(hass)
    async_setup_docker_services(hass)
    async_setup_pihole_services(hass)
    async_setup_report_services(hass)
    async_setup_tailscale_services(hass)
