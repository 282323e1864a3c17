"""One poll of a Proxmox Backup Server: usage of every datastore, then each one's snapshots.

Requests per poll: one for all datastores' usage, plus two per datastore (its snapshots and its
garbage collection), however many backups there are.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..proxmox.client import ProxmoxAuthError, ProxmoxClient, ProxmoxError, ProxmoxPermissionError
from .models import BackupGroup, BackupInventory, Datastore, parse_datastore, parse_snapshots

if TYPE_CHECKING:
    from ..runtime import HomelabAgentsConfigEntry

# Backups happen a few times a day; this still shows a finished one within minutes (and
# actions started from Home Assistant refresh at once).
POLL_INTERVAL = timedelta(minutes=5)


class PbsCoordinator(DataUpdateCoordinator[BackupInventory]):
    """Polls a PBS with a constant number of requests per datastore."""

    config_entry: HomelabAgentsConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: HomelabAgentsConfigEntry,
        client: ProxmoxClient,
        interval: timedelta = POLL_INTERVAL,
    ) -> None:
        """Poll the server behind `client`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} proxmox backup",
            update_interval=interval,
        )
        self.client = client

    async def _async_update_data(self) -> BackupInventory:
        polled_at = dt_util.utcnow()
        datastores: dict[str, Datastore] = {}
        groups: dict[str, BackupGroup] = {}
        try:
            usage = await self.client.call("get", "status/datastore-usage")
            for row in _rows(usage):
                store = str(row["store"])
                snapshots = await self.client.call("get", f"admin/datastore/{store}/snapshots")
                gc = await self._gc_status(store)
                datastores[store] = parse_datastore(row, gc, polled_at)
                # Thousands of rows: parsed off the event loop.
                groups |= await self.hass.async_add_executor_job(
                    parse_snapshots, store, _rows(snapshots)
                )
        except ProxmoxAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="pbs_auth_failed"
            ) from err
        except ProxmoxError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="pbs_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        return BackupInventory(polled_at=polled_at, datastores=datastores, groups=groups)

    async def _gc_status(self, store: str) -> dict[str, Any] | None:
        try:
            gc = await self.client.call("get", f"admin/datastore/{store}/gc")
        except ProxmoxPermissionError:
            return None  # a token with Datastore.Backup only: usage without GC results
        return gc if isinstance(gc, dict) else None


def _rows(answer: Any) -> list[dict[str, Any]]:
    return [row for row in answer or () if isinstance(row, dict)]
