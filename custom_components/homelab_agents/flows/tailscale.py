"""Config-flow steps of a Tailscale tailnet: API key or OAuth client, reauth, reconfigure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.core import HomeAssistant
import probatio
from yarl import URL

from ..const import CONF_KIND, LOGGER, SourceKind
from ..network.monitor import MONITOR_OPTIONS_SCHEMA
from ..network.tailscale.client import (
    TailscaleAuthError,
    TailscaleError,
    TailscaleNotFoundError,
    TailscalePermissionError,
    TailscaleRateLimitError,
)
from ..network.tailscale.const import (
    CONF_API_KEY,
    CONF_API_URL,
    CONF_EXPIRY_DAYS,
    CONF_OAUTH_CLIENT_ID,
    CONF_OAUTH_CLIENT_SECRET,
    CONF_ONLINE_MINUTES,
    CONF_TAILNET,
    DEFAULT_API_URL,
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_ONLINE_MINUTES,
    DEFAULT_TAILNET,
)
from ..network.tailscale.models import tailnet_identity
from ..network.tailscale.runtime import client_for
from .common import PASSWORD_SELECTOR, URL_SELECTOR, SingleFormOptionsFlow, clean_data, number_box

if TYPE_CHECKING:
    _Base = ConfigFlow
else:
    _Base = object

CREDENTIAL_KEYS: Final = (CONF_API_KEY, CONF_OAUTH_CLIENT_ID, CONF_OAUTH_CLIENT_SECRET)

_CREDENTIALS: Final = {
    probatio.Optional(CONF_API_KEY): PASSWORD_SELECTOR,
    probatio.Optional(CONF_OAUTH_CLIENT_ID): str,
    probatio.Optional(CONF_OAUTH_CLIENT_SECRET): PASSWORD_SELECTOR,
}
TAILSCALE_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(CONF_TAILNET, default=DEFAULT_TAILNET): str,
        **_CREDENTIALS,
        # Another control server (or a test double) speaking the same API.
        probatio.Optional(CONF_API_URL, default=DEFAULT_API_URL): URL_SELECTOR,
    }
)
TAILSCALE_REAUTH_SCHEMA: Final = probatio.Schema(_CREDENTIALS)
TAILSCALE_OPTIONS_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(CONF_ONLINE_MINUTES, default=DEFAULT_ONLINE_MINUTES): probatio.All(
            number_box(1, 1440), probatio.Coerce(int)
        ),
        probatio.Required(CONF_EXPIRY_DAYS, default=DEFAULT_EXPIRY_DAYS): probatio.All(
            number_box(1, 90), probatio.Coerce(int)
        ),
    }
).extend(MONITOR_OPTIONS_SCHEMA.schema)


async def probe_tailscale(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[str | None, dict[str, str]]:
    """List the tailnet's devices once; returns (tailnet identity, form errors)."""
    has_key = bool(data.get(CONF_API_KEY))
    has_oauth = bool(data.get(CONF_OAUTH_CLIENT_ID)) and bool(data.get(CONF_OAUTH_CLIENT_SECRET))
    if has_key == has_oauth:
        return None, {"base": "tailscale_credentials_needed"}
    url = URL(data.get(CONF_API_URL) or DEFAULT_API_URL)
    if url.scheme not in ("http", "https") or not url.host:
        return None, {"base": "tailscale_invalid_url"}
    try:
        devices = await client_for(hass, data).devices()
    except TailscaleAuthError:
        return None, {"base": "tailscale_invalid_auth"}
    except TailscalePermissionError:
        return None, {"base": "tailscale_missing_scope"}
    except TailscaleNotFoundError:
        return None, {"base": "tailnet_not_found"}
    except TailscaleRateLimitError:
        return None, {"base": "tailscale_rate_limited"}
    except TailscaleError:
        return None, {"base": "tailscale_cannot_connect"}
    except Exception:  # noqa: BLE001
        LOGGER.exception("Unexpected error while checking Tailscale")
        return None, {"base": "unknown"}
    identity = tailnet_identity(devices)
    tailnet = str(data.get(CONF_TAILNET) or DEFAULT_TAILNET)
    if identity is None and tailnet != DEFAULT_TAILNET:
        identity = f"tailnet:{tailnet.casefold()}"
    if identity is None:
        return None, {"base": "tailnet_empty"}
    return identity, {}


def _only_one_credential(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the credential that is used; the other kind's fields go."""
    cleaned = clean_data(data)
    if cleaned.get(CONF_API_KEY):
        cleaned.pop(CONF_OAUTH_CLIENT_ID, None)
        cleaned.pop(CONF_OAUTH_CLIENT_SECRET, None)
    return cleaned


class TailscaleFlowMixin(_Base):
    """The `tailscale` menu choice and its reauth and reconfigure steps."""

    async def async_step_tailscale(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect a tailnet with an API key or an OAuth client."""
        errors: dict[str, str] = {}
        if user_input is not None:
            identity, errors = await probe_tailscale(self.hass, user_input)
            if identity is not None:
                await self.async_set_unique_id(identity)
                self._abort_if_unique_id_configured()
                data = _only_one_credential(user_input)
                data[CONF_KIND] = SourceKind.TAILSCALE.value
                return self.async_create_entry(title=f"Tailscale {identity}", data=data)
        return self.async_show_form(
            step_id="tailscale",
            data_schema=self.add_suggested_values_to_schema(TAILSCALE_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reauth_tailscale(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API key or OAuth client secret of the same tailnet."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            base = {k: v for k, v in entry.data.items() if k not in CREDENTIAL_KEYS}
            data = _only_one_credential({**base, **user_input})
            identity, errors = await probe_tailscale(self.hass, data)
            if identity is not None:
                await self.async_set_unique_id(identity)
                self._abort_if_unique_id_mismatch(reason="wrong_tailnet")
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_tailscale",
            data_schema=self.add_suggested_values_to_schema(
                TAILSCALE_REAUTH_SCHEMA,
                {CONF_OAUTH_CLIENT_ID: entry.data.get(CONF_OAUTH_CLIENT_ID)},
            ),
            description_placeholders={"title": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure_tailscale(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the API URL, the tailnet's name or the credentials of the same tailnet."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = clean_data(user_input)
            # Secrets are not shown again: left empty, the stored one of the same kind stays.
            if not data.get(CONF_API_KEY) and not data.get(CONF_OAUTH_CLIENT_SECRET):
                if data.get(CONF_OAUTH_CLIENT_ID):
                    if data[CONF_OAUTH_CLIENT_ID] == entry.data.get(CONF_OAUTH_CLIENT_ID):
                        data[CONF_OAUTH_CLIENT_SECRET] = entry.data[CONF_OAUTH_CLIENT_SECRET]
                elif entry.data.get(CONF_API_KEY):
                    data[CONF_API_KEY] = entry.data[CONF_API_KEY]
            data = _only_one_credential(data)
            identity, errors = await probe_tailscale(self.hass, data)
            if identity is not None:
                await self.async_set_unique_id(identity)
                self._abort_if_unique_id_mismatch(reason="wrong_tailnet")
                data[CONF_KIND] = SourceKind.TAILSCALE.value
                return self.async_update_reload_and_abort(entry, data=data)
        suggested = user_input or {
            k: v
            for k, v in entry.data.items()
            if k not in (CONF_API_KEY, CONF_OAUTH_CLIENT_SECRET, CONF_KIND)
        }
        return self.async_show_form(
            step_id="reconfigure_tailscale",
            data_schema=self.add_suggested_values_to_schema(TAILSCALE_SCHEMA, suggested),
            errors=errors,
        )


class TailscaleOptionsFlow(SingleFormOptionsFlow):
    """When a node counts as online, which key expiries to warn about, anomaly alerts."""

    step_id = "tailscale_options"
    schema = TAILSCALE_OPTIONS_SCHEMA
    async_step_tailscale_options = SingleFormOptionsFlow.form
