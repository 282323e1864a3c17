"""One poll of a UniFi site: three requests (`stat/health`, `stat/sta`, `stat/device`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, LOGGER
from .client import (
    UnifiAuthError,
    UnifiClient,
    UnifiError,
    UnifiRateLimitError,
    UnifiSiteError,
)
from .const import POLL_INTERVAL
from .models import SiteStatus, parse_clients, parse_devices, parse_wan

if TYPE_CHECKING:
    from ...runtime import HomelabAgentsConfigEntry


class UnifiCoordinator(DataUpdateCoordinator[SiteStatus]):
    """Polls one site with a constant number of requests, whatever its size."""

    config_entry: HomelabAgentsConfigEntry

    def __init__(
        self, hass: HomeAssistant, config_entry: HomelabAgentsConfigEntry, client: UnifiClient
    ) -> None:
        """Poll the site behind `client`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} unifi",
            update_interval=POLL_INTERVAL,
        )
        self.client = client

    async def _async_update_data(self) -> SiteStatus:
        polled_at = dt_util.utcnow()
        try:
            health = await self.client.site_get("stat/health")
            stations = await self.client.site_get("stat/sta")
            devices = await self.client.site_get("stat/device")
        except UnifiAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="unifi_auth_failed"
            ) from err
        except UnifiRateLimitError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="unifi_rate_limited",
                translation_placeholders={"seconds": f"{err.retry_after:.0f}"},
                retry_after=err.retry_after,
            ) from err
        except UnifiSiteError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="unifi_site_missing",
                translation_placeholders={"site": self.config_entry.data["site"]},
            ) from err
        except UnifiError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="unifi_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        return SiteStatus(
            polled_at=polled_at,
            wan=parse_wan(health),
            clients=parse_clients(stations),
            devices=parse_devices(devices),
        )
