"""Config-flow steps of a Pi-hole v6: URL and (app) password, reauth, reconfigure, options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
import probatio
from yarl import URL

from ..const import CONF_KIND, LOGGER, SourceKind
from ..network.monitor import MONITOR_OPTIONS_SCHEMA
from ..network.pihole.client import (
    PiholeAuthError,
    PiholeError,
    PiholeNotPiholeError,
    PiholeRateLimitError,
)
from ..network.pihole.models import host_identity, host_name
from ..network.pihole.runtime import client_for
from .common import PASSWORD_SELECTOR, URL_SELECTOR, SingleFormOptionsFlow, clean_data

if TYPE_CHECKING:
    _Base = ConfigFlow
else:
    _Base = object

PIHOLE_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(CONF_URL): URL_SELECTOR,
        probatio.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
        probatio.Required(CONF_VERIFY_SSL, default=True): bool,
    }
)
PIHOLE_REAUTH_SCHEMA: Final = probatio.Schema({probatio.Required(CONF_PASSWORD): PASSWORD_SELECTOR})
PIHOLE_OPTIONS_SCHEMA: Final = probatio.Schema(MONITOR_OPTIONS_SCHEMA.schema)


async def probe_pihole(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[str | None, str, dict[str, str]]:
    """Log in once and read the host; returns (unique id, host name, form errors)."""
    url = URL(data[CONF_URL])
    if url.scheme not in ("http", "https") or not url.host:
        return None, "", {CONF_URL: "invalid_url"}
    client = client_for(hass, data)
    try:
        host = await client.async_check()
    except PiholeAuthError:
        return None, "", {"base": "pihole_invalid_auth"}
    except PiholeRateLimitError as err:
        if err.seats:
            return None, "", {"base": "pihole_seats_exceeded"}
        return None, "", {"base": "pihole_rate_limited"}
    except PiholeNotPiholeError:
        return None, "", {"base": "not_pihole"}
    except PiholeError:
        return None, "", {"base": "pihole_cannot_connect"}
    except Exception:  # noqa: BLE001
        LOGGER.exception("Unexpected error while checking Pi-hole")
        return None, "", {"base": "unknown"}
    finally:
        # The flow's session must not hold one of the Pi-hole's few seats.
        await client.async_logout()
    identity = host_identity(host)
    if identity is None:
        return None, "", {"base": "not_pihole"}
    return identity, host_name(host), {}


class PiholeFlowMixin(_Base):
    """The `pihole` menu choice and its reauth and reconfigure steps."""

    async def async_step_pihole(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect a Pi-hole v6."""
        errors: dict[str, str] = {}
        if user_input is not None:
            identity, name, errors = await probe_pihole(self.hass, user_input)
            if identity is not None:
                await self.async_set_unique_id(identity)
                self._abort_if_unique_id_configured()
                data = clean_data(user_input)
                data[CONF_KIND] = SourceKind.PIHOLE.value
                return self.async_create_entry(title=f"Pi-hole {name}", data=data)
        return self.async_show_form(
            step_id="pihole",
            data_schema=self.add_suggested_values_to_schema(PIHOLE_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reauth_pihole(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new (app) password of the same Pi-hole."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **user_input}
            identity, _, errors = await probe_pihole(self.hass, data)
            if identity is not None:
                await self.async_set_unique_id(identity)
                self._abort_if_unique_id_mismatch(reason="wrong_pihole")
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_pihole",
            data_schema=PIHOLE_REAUTH_SCHEMA,
            description_placeholders={"title": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure_pihole(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the URL, TLS check or password of the same Pi-hole."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = clean_data(user_input)
            # The password is not shown again: left empty, the stored one stays.
            if not data.get(CONF_PASSWORD) and entry.data.get(CONF_PASSWORD):
                data[CONF_PASSWORD] = entry.data[CONF_PASSWORD]
            identity, _, errors = await probe_pihole(self.hass, data)
            if identity is not None:
                await self.async_set_unique_id(identity)
                self._abort_if_unique_id_mismatch(reason="wrong_pihole")
                data[CONF_KIND] = SourceKind.PIHOLE.value
                return self.async_update_reload_and_abort(entry, data=data)
        suggested = user_input or {
            k: v for k, v in entry.data.items() if k not in (CONF_PASSWORD, CONF_KIND)
        }
        return self.async_show_form(
            step_id="reconfigure_pihole",
            data_schema=self.add_suggested_values_to_schema(PIHOLE_SCHEMA, suggested),
            errors=errors,
        )


class PiholeOptionsFlow(SingleFormOptionsFlow):
    """How sensitive anomaly detection is, and whether anomalies raise alerts."""

    step_id = "pihole_options"
    schema = PIHOLE_OPTIONS_SCHEMA
    async_step_pihole_options = SingleFormOptionsFlow.form
