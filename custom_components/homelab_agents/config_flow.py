"""Config flow: a menu of homelab source kinds, then each kind's own steps (in `flows/`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.core import callback

from .const import CONF_KIND, DOMAIN, IMPLEMENTED_KINDS, SourceKind
from .flows.alertmanager import AlertmanagerFlowMixin, AlertmanagerOptionsFlow
from .flows.backup import PbsFlowMixin, PbsOptionsFlow
from .flows.cloudflare import CloudflareFlowMixin, CloudflareOptionsFlow
from .flows.docker import DockerFlowMixin, DockerOptionsFlow
from .flows.pihole import PiholeFlowMixin, PiholeOptionsFlow
from .flows.proxmox import ProxmoxFlowMixin, ProxmoxOptionsFlow
from .flows.tailscale import TailscaleFlowMixin, TailscaleOptionsFlow
from .flows.unifi import UnifiFlowMixin, UnifiOptionsFlow


class HomelabAgentsConfigFlow(
    AlertmanagerFlowMixin,
    ProxmoxFlowMixin,
    PbsFlowMixin,
    DockerFlowMixin,
    PiholeFlowMixin,
    TailscaleFlowMixin,
    CloudflareFlowMixin,
    UnifiFlowMixin,
    ConfigFlow,
    domain=DOMAIN,
):
    """Connect one homelab system per entry."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Options of the entry's kind."""
        return OPTIONS_FLOWS[config_entry.data[CONF_KIND]]()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what kind of system to connect."""
        return self.async_show_menu(
            step_id="user", menu_options=[kind.value for kind in IMPLEMENTED_KINDS]
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The system refused the stored credentials: the kind's own reauth step asks anew."""
        step: Callable[[], Awaitable[ConfigFlowResult]] = getattr(
            self, f"async_step_reauth_{entry_data[CONF_KIND]}"
        )
        return await step()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change how Home Assistant reaches the same system, in the kind's own step."""
        kind = self._get_reconfigure_entry().data[CONF_KIND]
        step: Callable[[dict[str, Any] | None], Awaitable[ConfigFlowResult]] = getattr(
            self, f"async_step_reconfigure_{kind}"
        )
        return await step(user_input)


# Each kind's options flow.
OPTIONS_FLOWS: dict[str, Callable[[], OptionsFlow]] = {
    SourceKind.ALERTMANAGER: AlertmanagerOptionsFlow,
    SourceKind.PROXMOX_VE: ProxmoxOptionsFlow,
    SourceKind.PROXMOX_BACKUP: PbsOptionsFlow,
    SourceKind.DOCKER: DockerOptionsFlow,
    SourceKind.PIHOLE: PiholeOptionsFlow,
    SourceKind.TAILSCALE: TailscaleOptionsFlow,
    SourceKind.CLOUDFLARE: CloudflareOptionsFlow,
    SourceKind.UNIFI: UnifiOptionsFlow,
}
