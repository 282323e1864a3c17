"""One poll of a Pi-hole.

Requests per poll: two (`/api/stats/summary`, `/api/dns/blocking`), plus two more once per
10-minute slot (`/api/history` and `/api/history/clients?N=50`, which give the blocked ratio and
per-client query counts of the newest complete slot for the anomaly monitor) — 2.2 a minute
on average, on one reused session.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, LOGGER
from .client import PiholeAuthError, PiholeClient, PiholeError, PiholeRateLimitError
from .models import SLOT_SECONDS, PiholeData, TrafficSlot, parse_blocking, parse_slot, parse_summary
from .samples import CLIENT_METRICS

if TYPE_CHECKING:
    from ...runtime import HomelabAgentsConfigEntry

POLL_INTERVAL: Final = timedelta(minutes=1)


class PiholeCoordinator(DataUpdateCoordinator[PiholeData]):
    """Polls one Pi-hole; history only when a new 10-minute slot can have completed."""

    config_entry: HomelabAgentsConfigEntry

    def __init__(
        self, hass: HomeAssistant, config_entry: HomelabAgentsConfigEntry, client: PiholeClient
    ) -> None:
        """Poll the Pi-hole behind `client`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} pihole",
            update_interval=POLL_INTERVAL,
        )
        self.client = client
        self._history_boundary: int | None = None
        self._slot: TrafficSlot | None = None

    async def _async_update_data(self) -> PiholeData:
        now = dt_util.utcnow()
        boundary = int(now.timestamp() // SLOT_SECONDS * SLOT_SECONDS)
        try:
            summary = parse_summary(await self.client.get("/stats/summary"))
            blocking = parse_blocking(await self.client.get("/dns/blocking"))
            if boundary != self._history_boundary:
                history = await self.client.get("/history")
                clients = await self.client.get("/history/clients", {"N": str(CLIENT_METRICS)})
                self._slot = parse_slot(history, clients, now.timestamp()) or self._slot
                self._history_boundary = boundary
        except PiholeAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="pihole_auth_failed"
            ) from err
        except PiholeRateLimitError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="pihole_rate_limited",
                translation_placeholders={"seconds": f"{err.retry_after:.0f}"},
                retry_after=err.retry_after,
            ) from err
        except PiholeError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="pihole_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        return PiholeData(polled_at=now, summary=summary, blocking=blocking, slot=self._slot)
