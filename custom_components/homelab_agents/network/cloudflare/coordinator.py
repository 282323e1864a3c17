"""One poll of a Cloudflare account: its tunnels and one analytics query for all its zones.

Requests per poll: 2 (the tunnel list and one GraphQL query), plus the zone list once an hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, LOGGER
from .client import (
    CloudflareAuthError,
    CloudflareClient,
    CloudflareError,
    CloudflarePermissionError,
    CloudflareRateLimitError,
)
from .const import HOURS_SHOWN, ZONE_LIST_INTERVAL
from .models import CloudflareData, CloudflareZone

if TYPE_CHECKING:
    from ...runtime import HomelabAgentsConfigEntry


def hour_start(moment: datetime) -> datetime:
    """The start of the hour `moment` falls in."""
    return moment.replace(minute=0, second=0, microsecond=0)


class CloudflareCoordinator(DataUpdateCoordinator[CloudflareData]):
    """Polls one account with a fixed number of requests, whatever its number of zones."""

    config_entry: HomelabAgentsConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: HomelabAgentsConfigEntry,
        client: CloudflareClient,
        *,
        account_id: str,
        included: set[str],
        interval: timedelta,
    ) -> None:
        """Poll the account; `included` limits the zones shown (empty: all of them)."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} cloudflare",
            update_interval=interval,
        )
        self.client = client
        self.account_id = account_id
        self.included = included
        self._zones: list[CloudflareZone] | None = None
        self._zones_listed_at: datetime | None = None

    async def _async_update_data(self) -> CloudflareData:
        now = dt_util.utcnow()
        try:
            zones = await self._current_zones(now)
            tunnels = await self.client.tunnels(self.account_id)
            since = hour_start(now) - timedelta(hours=HOURS_SHOWN - 1)
            traffic = (
                await self.client.hourly_traffic([z.id for z in zones], since, HOURS_SHOWN)
                if zones
                else {}
            )
        except CloudflareAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="cloudflare_auth_failed"
            ) from err
        except CloudflareRateLimitError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cloudflare_rate_limited",
                translation_placeholders={"seconds": f"{err.retry_after:.0f}"},
                retry_after=err.retry_after,
            ) from err
        except CloudflarePermissionError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cloudflare_missing_permission",
                translation_placeholders={"permission": err.permission},
            ) from err
        except CloudflareError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cloudflare_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        return CloudflareData(
            polled_at=now,
            zones={zone.id: zone for zone in zones},
            tunnels={tunnel.id: tunnel for tunnel in tunnels},
            traffic=traffic,
        )

    async def _current_zones(self, now: datetime) -> list[CloudflareZone]:
        """The included zones, from a zone list read at most once an hour."""
        if (
            self._zones is None
            or self._zones_listed_at is None
            or now - self._zones_listed_at >= ZONE_LIST_INTERVAL
        ):
            self._zones = await self.client.zones(self.account_id)
            self._zones_listed_at = now
        return [z for z in self._zones if not self.included or z.id in self.included]

    @property
    def all_zones(self) -> list[CloudflareZone]:
        """Every zone of the account in the latest zone list (for the options)."""
        return list(self._zones or ())
