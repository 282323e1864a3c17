"""Planned-action silences: alerts about a guest HA is stopping or rebooting stay quiet.

While Home Assistant shuts down, reboots, stops or resets a guest (and later backs one up),
every loaded Alertmanager entry gets silences for that guest, expired again shortly after the
action ends. An alert names a guest when its labels say so:
- `vmid` equals the guest's VM ID, or
- `instance` is the guest's name, optionally with a domain and/or a port
  (`pihole`, `pihole:9100`, `pihole.lan:9100`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
import re
from typing import TYPE_CHECKING, Final, cast

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .alertmanager.client import AlertmanagerError
from .const import CONF_KIND, DOMAIN, LOGGER, SourceKind

if TYPE_CHECKING:
    from .alertmanager.runtime import AlertmanagerRuntime

# Exporters need a moment to answer again after a reboot; expiring at once would let the
# alerts of that moment through.
EXPIRY_GRACE: Final = timedelta(minutes=2)
CREATED_BY: Final = "Home Assistant (planned action)"


@dataclass(frozen=True, slots=True)
class PlannedSilence:
    """A silence created in one Alertmanager entry."""

    runtime: AlertmanagerRuntime
    silence_id: str


def guest_matchers(vmid: int, name: str | None) -> list[list[dict[str, object]]]:
    """One matcher set per way an alert can name the guest (each becomes a silence)."""
    sets: list[list[dict[str, object]]] = [
        [{"name": "vmid", "value": str(vmid), "isRegex": False, "isEqual": True}]
    ]
    if name:
        sets.append(
            [
                {
                    "name": "instance",
                    "value": rf"{re.escape(name)}(\..+)?(:[0-9]+)?",
                    "isRegex": True,
                    "isEqual": True,
                }
            ]
        )
    return sets


def _alertmanagers(hass: HomeAssistant) -> list[AlertmanagerRuntime]:
    return [
        cast("AlertmanagerRuntime", entry.runtime_data)
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
        and entry.data.get(CONF_KIND) == SourceKind.ALERTMANAGER
    ]


async def async_silence_guest(
    hass: HomeAssistant, vmid: int, name: str | None, action: str, duration: timedelta
) -> list[PlannedSilence]:
    """Silence alerts about the guest in every Alertmanager; failures only log a warning."""
    created: list[PlannedSilence] = []
    now = dt_util.utcnow()
    comment = f"{action} of guest {vmid} ({name or 'unnamed'}) from Home Assistant"
    for runtime in _alertmanagers(hass):
        for matchers in guest_matchers(vmid, name):
            try:
                silence = await runtime.client.create_silence_matching(
                    matchers, now, now + duration + EXPIRY_GRACE, CREATED_BY, comment
                )
            except AlertmanagerError as err:
                LOGGER.warning("Could not silence alerts for guest %s: %s", vmid, err)
                continue
            runtime.store.async_add_silence(silence, None)
            created.append(PlannedSilence(runtime, silence.id))
    return created


@callback
def async_expire_later(hass: HomeAssistant, silences: list[PlannedSilence]) -> None:
    """Expire the silences after the grace period (they also end by themselves)."""
    if not silences:
        return

    async def expire(_now: object) -> None:
        for planned in silences:
            try:
                await planned.runtime.client.expire_silence(planned.silence_id)
            except AlertmanagerError as err:
                LOGGER.debug("Planned silence %s not expired: %s", planned.silence_id, err)
                continue
            planned.runtime.store.async_remove_silence(planned.silence_id)

    # Dropped at shutdown: the silences end by themselves (their duration includes the grace).
    async_call_later(
        hass, EXPIRY_GRACE, HassJob(expire, "expire planned silences", cancel_on_shutdown=True)
    )
