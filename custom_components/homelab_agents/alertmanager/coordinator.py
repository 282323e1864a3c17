"""Reconciliation: make the alert store match what Alertmanager itself holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from .client import AlertmanagerAuthError, AlertmanagerClient, AlertmanagerError
from .store import AlertStore

if TYPE_CHECKING:
    from .. import HomelabAgentsConfigEntry


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The outcome of the last successful reconciliation."""

    finished_at: datetime
    alerts: int
    silences: int


class AlertmanagerCoordinator(DataUpdateCoordinator[Reconciliation]):
    """Reads Alertmanager's alerts and silences on start and at a fixed interval."""

    config_entry: HomelabAgentsConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: HomelabAgentsConfigEntry,
        *,
        client: AlertmanagerClient,
        store: AlertStore,
        receiver: str,
        interval: timedelta,
    ) -> None:
        """Reconcile `store` with the Alertmanager behind `client`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=config_entry,
            name=f"{DOMAIN} alertmanager",
            update_interval=interval,
        )
        self.client = client
        self._store = store
        self._receiver = receiver

    async def _async_update_data(self) -> Reconciliation:
        requested_at = dt_util.utcnow()
        try:
            alerts = await self.client.alerts(self._receiver)
            silences = await self.client.silences()
        except AlertmanagerAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="alertmanager_auth_failed"
            ) from err
        except AlertmanagerError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="alertmanager_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        now = dt_util.utcnow()
        self._store.async_apply_reconciliation(alerts, silences, requested_at, now)
        return Reconciliation(finished_at=now, alerts=len(alerts), silences=len(silences))
