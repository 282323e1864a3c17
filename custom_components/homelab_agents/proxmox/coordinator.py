"""One poll of the whole cluster: /cluster/resources plus /cluster/status, whatever its size."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from .client import ProxmoxAuthError, ProxmoxClient, ProxmoxError
from .models import ClusterSnapshot, parse_resources

if TYPE_CHECKING:
    from ..runtime import HomelabAgentsConfigEntry

POLL_INTERVAL = timedelta(seconds=30)


class ProxmoxCoordinator(DataUpdateCoordinator[ClusterSnapshot]):
    """Polls the cluster with a constant number of requests (two) per interval."""

    config_entry: HomelabAgentsConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: HomelabAgentsConfigEntry,
        client: ProxmoxClient,
        interval: timedelta = POLL_INTERVAL,
    ) -> None:
        """Poll the cluster behind `client`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} proxmox",
            update_interval=interval,
        )
        self.client = client

    async def _async_update_data(self) -> ClusterSnapshot:
        try:
            resources = await self.client.call("get", "cluster/resources")
            status = await self.client.call("get", "cluster/status")
        except ProxmoxAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="proxmox_auth_failed"
            ) from err
        except ProxmoxError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="proxmox_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        if not isinstance(resources, list) or not isinstance(status, list):
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="proxmox_unreachable",
                translation_placeholders={"error": "unexpected answer"},
            )
        return parse_resources(resources, status, dt_util.utcnow(), self.data)
