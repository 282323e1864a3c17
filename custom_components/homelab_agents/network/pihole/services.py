"""Pi-hole service actions: disable blocking for a while, and the top domains and clients."""

from __future__ import annotations

from datetime import timedelta
from typing import Final, cast

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, service
import probatio

from ...const import CONF_KIND, DOMAIN, SourceKind
from .runtime import MAX_LISTED, PiholeRuntime, loaded_piholes

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_DURATION: Final = "duration"
ATTR_COUNT: Final = "count"
MAX_DISABLE: Final = timedelta(days=1)

DISABLE_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Required(ATTR_DURATION): cv.positive_time_period,
    }
)
STATISTICS_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_COUNT, default=10): probatio.All(
            probatio.Coerce(int), probatio.Range(1, MAX_LISTED)
        ),
    }
)


@callback
def async_setup_pihole_services(hass: HomeAssistant) -> None:
    """Register the Pi-hole service actions."""

    async def disable_blocking(call: ServiceCall) -> ServiceResponse:
        duration: timedelta = call.data[ATTR_DURATION]
        if not timedelta(seconds=1) <= duration <= MAX_DISABLE:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="pihole_invalid_duration"
            )
        runtime = _pihole(hass, call)
        blocking = await runtime.async_set_blocking(False, duration)
        return {"blocking": blocking.state, "timer": blocking.timer}

    async def statistics(call: ServiceCall) -> ServiceResponse:
        return await _pihole(hass, call).async_statistics(call.data[ATTR_COUNT])

    hass.services.async_register(
        DOMAIN,
        "disable_pihole_blocking",
        disable_blocking,
        DISABLE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        "get_pihole_statistics",
        statistics,
        STATISTICS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )


def _pihole(hass: HomeAssistant, call: ServiceCall) -> PiholeRuntime:
    """The entry the call names, or the only Pi-hole entry."""
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        entry = service.async_get_config_entry(hass, DOMAIN, entry_id)
        if entry.data.get(CONF_KIND) != SourceKind.PIHOLE:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_pihole_entry",
                translation_placeholders={"entry_title": entry.title},
            )
        return cast("PiholeRuntime", entry.runtime_data)
    piholes = loaded_piholes(hass)
    if not piholes:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_pihole_entry")
    if len(piholes) > 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="pihole_entry_needed"
        )
    return piholes[0]
