"""One poll of the tailnet: a single devices request, whatever the tailnet's size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, LOGGER
from .client import (
    TailscaleAuthError,
    TailscaleClient,
    TailscaleError,
    TailscaleNotFoundError,
    TailscalePermissionError,
    TailscaleRateLimitError,
)
from .const import POLL_INTERVAL
from .models import TailnetSnapshot, parse_devices

if TYPE_CHECKING:
    from ...runtime import HomelabAgentsConfigEntry


class TailscaleCoordinator(DataUpdateCoordinator[TailnetSnapshot]):
    """Polls `GET /api/v2/tailnet/{tailnet}/devices` once per interval."""

    config_entry: HomelabAgentsConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: HomelabAgentsConfigEntry,
        client: TailscaleClient,
    ) -> None:
        """Poll the tailnet behind `client`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} tailscale",
            update_interval=POLL_INTERVAL,
        )
        self.client = client

    async def _async_update_data(self) -> TailnetSnapshot:
        try:
            raw = await self.client.devices()
        except (TailscaleAuthError, TailscalePermissionError) as err:
            # A key that expired or was revoked, or one without `devices:core:read`: only
            # new credentials help.
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="tailscale_auth_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        except TailscaleRateLimitError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="tailscale_rate_limited",
                translation_placeholders={"seconds": f"{err.retry_after:.0f}"},
                retry_after=err.retry_after,
            ) from err
        except TailscaleNotFoundError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="tailnet_not_found",
                translation_placeholders={"tailnet": self.client.tailnet},
            ) from err
        except TailscaleError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="tailscale_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        return parse_devices(raw, dt_util.utcnow())
