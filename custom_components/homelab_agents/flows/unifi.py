"""Config-flow steps of a UniFi Network site: connect, reauth, reconfigure, options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
import probatio

from ..const import CONF_KIND, LOGGER, SourceKind
from ..network.monitor import MONITOR_OPTIONS_SCHEMA
from ..network.unifi.client import (
    SiteRef,
    UnifiAuthError,
    UnifiClient,
    UnifiConnectionError,
    UnifiError,
    UnifiRateLimitError,
    UnifiTlsError,
)
from ..network.unifi.const import (
    CONF_CONTROLLER_ID,
    CONF_SITE,
    CONF_TRACK_CLIENTS,
    DEFAULT_PORT,
    DEFAULT_SITE,
    DEFAULT_TRACK_CLIENTS,
)
from ..network.unifi.runtime import client_session, credentials_from, login_blocks
from .common import PASSWORD_SELECTOR, SingleFormOptionsFlow, clean_data, number_box

if TYPE_CHECKING:
    _Base = ConfigFlow
else:
    _Base = object


def _connection_schema(password: probatio.Required | probatio.Optional) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_HOST): str,
            probatio.Required(CONF_PORT, default=DEFAULT_PORT): probatio.All(
                number_box(1, 65535), probatio.Coerce(int)
            ),
            probatio.Required(CONF_USERNAME): str,
            password: PASSWORD_SELECTOR,
            probatio.Required(CONF_SITE, default=DEFAULT_SITE): str,
            probatio.Required(CONF_VERIFY_SSL, default=True): bool,
        }
    )


UNIFI_SCHEMA: Final = _connection_schema(probatio.Required(CONF_PASSWORD))
# Reconfigure: the password may be left empty to keep the stored one.
UNIFI_RECONFIGURE_SCHEMA: Final = _connection_schema(probatio.Optional(CONF_PASSWORD))
UNIFI_REAUTH_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(CONF_USERNAME): str,
        probatio.Required(CONF_PASSWORD): PASSWORD_SELECTOR,
    }
)
UNIFI_OPTIONS_SCHEMA: Final = probatio.Schema(
    {probatio.Required(CONF_TRACK_CLIENTS, default=DEFAULT_TRACK_CLIENTS): bool}
).extend(MONITOR_OPTIONS_SCHEMA.schema)


def _find_site(sites: list[SiteRef], wanted: str) -> SiteRef | None:
    """The site by its short name (as in URLs), its description (as the UI shows) or id."""
    folded = wanted.strip().casefold()
    for site in sites:
        if folded in (site.name.casefold(), site.site_id.casefold()):
            return site
    return next((site for site in sites if site.desc.casefold() == folded), None)


async def probe_unifi(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[tuple[str, SiteRef, str] | None, dict[str, str]]:
    """Log in, find the site, read its controller's id, log out.

    Returns ((unique id, site, controller name), {}) or (None, form errors).
    """
    session = client_session(hass, bool(data[CONF_VERIFY_SSL]))
    credentials = credentials_from({**data, CONF_SITE: DEFAULT_SITE})
    client = UnifiClient(session, credentials, login_blocks(hass))
    try:
        site = _find_site(await client.sites(), str(data[CONF_SITE]))
        if site is None:
            return None, {CONF_SITE: "unifi_unknown_site"}
        sysinfo = await client.get(f"s/{site.name}/stat/sysinfo")
    except UnifiAuthError:
        return None, {"base": "unifi_invalid_auth"}
    except UnifiRateLimitError:
        return None, {"base": "unifi_rate_limited"}
    except UnifiTlsError:
        return None, {"base": "ssl_error"}
    except UnifiConnectionError:
        return None, {"base": "unifi_cannot_connect"}
    except UnifiError:
        return None, {"base": "unifi_not_network"}
    except Exception:  # noqa: BLE001
        LOGGER.exception("Unexpected error while checking the UniFi Network application")
        return None, {"base": "unknown"}
    finally:
        await client.logout()
        session.detach()
    info = sysinfo[0] if sysinfo else {}
    controller = str(info.get("anonymous_controller_id") or "")
    name = str(info.get("name") or info.get("hostname") or data[CONF_HOST])
    # The site's id is unique per controller; the controller's id tells controllers apart.
    return (f"{controller or data[CONF_HOST]}/{site.site_id}", site, name), {}


def _entry_data(data: dict[str, Any], site: SiteRef, unique_id: str) -> dict[str, Any]:
    cleaned = clean_data(data)
    cleaned[CONF_KIND] = SourceKind.UNIFI.value
    cleaned[CONF_SITE] = site.name
    cleaned[CONF_CONTROLLER_ID] = unique_id.rsplit("/", 1)[0]
    return cleaned


class UnifiFlowMixin(_Base):
    """The `unifi` menu choice and its reauth and reconfigure steps."""

    async def async_step_unifi(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect one site of a UniFi console or Network application."""
        errors: dict[str, str] = {}
        if user_input is not None:
            found, errors = await probe_unifi(self.hass, user_input)
            if found is not None:
                unique_id, site, name = found
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=f"UniFi {name} ({site.desc or site.name})",
                    data=_entry_data(user_input, site, unique_id),
                )
        return self.async_show_form(
            step_id="unifi",
            data_schema=self.add_suggested_values_to_schema(UNIFI_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reauth_unifi(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the password (or another account) of the same site."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **user_input}
            found, errors = await probe_unifi(self.hass, data)
            if found is not None:
                await self.async_set_unique_id(found[0])
                self._abort_if_unique_id_mismatch(reason="wrong_controller")
                return self.async_update_reload_and_abort(entry, data_updates=user_input)
        return self.async_show_form(
            step_id="reauth_unifi",
            data_schema=self.add_suggested_values_to_schema(
                UNIFI_REAUTH_SCHEMA, {CONF_USERNAME: entry.data[CONF_USERNAME]}
            ),
            description_placeholders={"title": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure_unifi(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change host, port, TLS or account of the same site."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = clean_data(user_input)
            data.setdefault(CONF_PASSWORD, entry.data[CONF_PASSWORD])
            found, errors = await probe_unifi(self.hass, data)
            if found is not None:
                unique_id, site, _ = found
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_mismatch(reason="wrong_controller")
                return self.async_update_reload_and_abort(
                    entry, data=_entry_data(data, site, unique_id)
                )
        suggested = user_input or {
            k: v for k, v in entry.data.items() if k not in (CONF_PASSWORD, CONF_KIND)
        }
        return self.async_show_form(
            step_id="reconfigure_unifi",
            data_schema=self.add_suggested_values_to_schema(UNIFI_RECONFIGURE_SCHEMA, suggested),
            errors=errors,
        )


class UnifiOptionsFlow(SingleFormOptionsFlow):
    """Client presence tracking and the anomaly monitor's sensitivity and alerts."""

    step_id = "unifi_options"
    schema = UNIFI_OPTIONS_SCHEMA
    async_step_unifi_options = SingleFormOptionsFlow.form
