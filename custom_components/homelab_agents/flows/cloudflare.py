"""Config-flow steps of a Cloudflare account: API token, account choice, reauth, reconfigure.

One entry per Cloudflare account (unique id: the account id), so a new token for the same
account replaces the old one, and a token of several accounts adds the one chosen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, cast

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.util import dt as dt_util
import probatio
from yarl import URL

from ..const import CONF_KIND, LOGGER, SourceKind
from ..network.cloudflare.client import (
    CloudflareAuthError,
    CloudflareClient,
    CloudflareConnectionError,
    CloudflareError,
    CloudflarePermissionError,
    CloudflareRateLimitError,
)
from ..network.cloudflare.const import (
    CONF_ACCOUNT_ID,
    CONF_API_TOKEN,
    CONF_API_URL,
    CONF_POLL_INTERVAL,
    CONF_ZONES,
    DEFAULT_API_URL,
    DEFAULT_POLL_MINUTES,
    MAX_POLL_MINUTES,
    MIN_POLL_MINUTES,
)
from ..network.cloudflare.coordinator import hour_start
from ..network.cloudflare.models import CloudflareAccount
from ..network.cloudflare.runtime import CloudflareRuntime, client_for
from ..network.monitor import MONITOR_OPTIONS_SCHEMA
from .common import PASSWORD_SELECTOR, URL_SELECTOR, clean_data, number_box

if TYPE_CHECKING:
    _Base = ConfigFlow
else:
    _Base = object

CLOUDFLARE_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(CONF_API_TOKEN): PASSWORD_SELECTOR,
        # Cloudflare's API, or a test double speaking it.
        probatio.Optional(CONF_API_URL, default=DEFAULT_API_URL): URL_SELECTOR,
    }
)
CLOUDFLARE_RECONFIGURE_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(CONF_API_TOKEN): PASSWORD_SELECTOR,
        probatio.Required(CONF_API_URL, default=DEFAULT_API_URL): URL_SELECTOR,
    }
)
CLOUDFLARE_REAUTH_SCHEMA: Final = probatio.Schema(
    {probatio.Required(CONF_API_TOKEN): PASSWORD_SELECTOR}
)

type Probe = tuple[list[CloudflareAccount] | None, dict[str, str], dict[str, str]]


async def probe_cloudflare(hass: HomeAssistant, data: dict[str, Any]) -> Probe:
    """Verify the token and list its accounts; returns (accounts, errors, placeholders)."""
    url = URL(data.get(CONF_API_URL) or DEFAULT_API_URL)
    if url.scheme not in ("http", "https") or not url.host:
        return None, {"base": "cloudflare_invalid_url"}, {}
    client = client_for(hass, data)
    try:
        await client.verify_token()
        accounts = await client.accounts()
    except Exception as err:  # noqa: BLE001 - mapped to a form error
        errors, placeholders = _form_error(err)
        return None, errors, placeholders
    if not accounts:
        return None, {"base": "cloudflare_no_account"}, {}
    return accounts, {}, {}


async def check_account(
    client: CloudflareClient, account_id: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Read what polling reads (zones, one hour of analytics, tunnels); (errors, placeholders)."""
    try:
        zones = await client.zones(account_id)
        if zones:
            since = hour_start(dt_util.utcnow())
            await client.hourly_traffic([zones[0].id], since, 1)
        await client.tunnels(account_id)
    except Exception as err:  # noqa: BLE001 - mapped to a form error
        return _form_error(err)
    return {}, {}


def _form_error(err: Exception) -> tuple[dict[str, str], dict[str, str]]:
    if isinstance(err, CloudflareAuthError):
        return {"base": "cloudflare_invalid_token"}, {}
    if isinstance(err, CloudflarePermissionError):
        return {"base": "cloudflare_missing_permission"}, {"permission": err.permission}
    if isinstance(err, CloudflareRateLimitError):
        return {"base": "cloudflare_rate_limited"}, {"seconds": f"{err.retry_after:.0f}"}
    if isinstance(err, CloudflareConnectionError):
        return {"base": "cloudflare_cannot_connect"}, {}
    if isinstance(err, CloudflareError):
        return {"base": "cloudflare_unexpected_answer"}, {}
    LOGGER.exception("Unexpected error while checking Cloudflare", exc_info=err)
    return {"base": "unknown"}, {}


def _placeholders(extra: dict[str, str]) -> dict[str, str]:
    return {"permission": "", "seconds": "", **extra}


class CloudflareFlowMixin(_Base):
    """The `cloudflare` menu choice, its account choice, reauth and reconfigure steps."""

    _cloudflare_data: dict[str, Any]
    _cloudflare_accounts: list[CloudflareAccount]

    async def async_step_cloudflare(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect a Cloudflare account with an API token."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            accounts, errors, placeholders = await probe_cloudflare(self.hass, user_input)
            if accounts is not None:
                self._cloudflare_data = clean_data(user_input)
                self._cloudflare_accounts = accounts
                if len(accounts) > 1:
                    return await self.async_step_cloudflare_account()
                return await self._create_cloudflare(accounts[0])
        return self.async_show_form(
            step_id="cloudflare",
            data_schema=self.add_suggested_values_to_schema(CLOUDFLARE_SCHEMA, user_input),
            errors=errors,
            description_placeholders=_placeholders(placeholders),
        )

    async def async_step_cloudflare_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose which of the token's accounts this entry follows."""
        if user_input is not None:
            chosen = next(
                a for a in self._cloudflare_accounts if a.id == user_input[CONF_ACCOUNT_ID]
            )
            return await self._create_cloudflare(chosen)
        options = [SelectOptionDict(value=a.id, label=a.name) for a in self._cloudflare_accounts]
        return self.async_show_form(
            step_id="cloudflare_account",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_ACCOUNT_ID): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                    )
                }
            ),
        )

    async def _create_cloudflare(self, account: CloudflareAccount) -> ConfigFlowResult:
        await self.async_set_unique_id(account.id)
        self._abort_if_unique_id_configured()
        client = client_for(self.hass, self._cloudflare_data)
        errors, placeholders = await check_account(client, account.id)
        if errors:
            return self.async_show_form(
                step_id="cloudflare",
                data_schema=self.add_suggested_values_to_schema(
                    CLOUDFLARE_SCHEMA, self._cloudflare_data
                ),
                errors=errors,
                description_placeholders=_placeholders(placeholders),
            )
        data = {
            **self._cloudflare_data,
            CONF_ACCOUNT_ID: account.id,
            CONF_KIND: SourceKind.CLOUDFLARE.value,
        }
        return self.async_create_entry(title=f"Cloudflare {account.name}", data=data)

    async def _probe_same_account(
        self, account_id: str, data: dict[str, Any]
    ) -> tuple[bool, dict[str, str], dict[str, str]]:
        """Whether the token works for the entry's account; (wrong account, errors, details)."""
        accounts, errors, placeholders = await probe_cloudflare(self.hass, data)
        if accounts is None:
            return False, errors, placeholders
        if account_id not in {account.id for account in accounts}:
            return True, {}, {}
        errors, placeholders = await check_account(client_for(self.hass, data), account_id)
        return False, errors, placeholders

    async def async_step_reauth_cloudflare(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API token of the same account."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **user_input}
            wrong, errors, placeholders = await self._probe_same_account(
                entry.data[CONF_ACCOUNT_ID], data
            )
            if wrong:
                return self.async_abort(reason="wrong_account")
            if not errors:
                return self.async_update_reload_and_abort(entry, data_updates=user_input)
        return self.async_show_form(
            step_id="reauth_cloudflare",
            data_schema=CLOUDFLARE_REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={"title": entry.title, **_placeholders(placeholders)},
        )

    async def async_step_reconfigure_cloudflare(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the API URL or token of the same account (an empty token keeps the old)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **clean_data(user_input)}
            wrong, errors, placeholders = await self._probe_same_account(
                entry.data[CONF_ACCOUNT_ID], data
            )
            if wrong:
                return self.async_abort(reason="wrong_account")
            if not errors:
                return self.async_update_reload_and_abort(entry, data=data)
        suggested = user_input or {CONF_API_URL: entry.data.get(CONF_API_URL, DEFAULT_API_URL)}
        return self.async_show_form(
            step_id="reconfigure_cloudflare",
            data_schema=self.add_suggested_values_to_schema(
                CLOUDFLARE_RECONFIGURE_SCHEMA, suggested
            ),
            errors=errors,
            description_placeholders=_placeholders(placeholders),
        )


class CloudflareOptionsFlow(OptionsFlowWithReload):
    """Zones to follow, poll interval and anomaly alerts."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Start at the Cloudflare form (its texts live under its own step id)."""
        return await self.async_step_cloudflare_options()

    async def async_step_cloudflare_options(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the options, or save them."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        entry = self.config_entry
        zones: dict[str, str] = {zone_id: zone_id for zone_id in entry.options.get(CONF_ZONES, ())}
        if entry.state is ConfigEntryState.LOADED:
            runtime = cast("CloudflareRuntime", entry.runtime_data)
            zones |= {zone.id: zone.name for zone in runtime.coordinator.all_zones}
        choices = [
            SelectOptionDict(value=zone_id, label=name)
            for zone_id, name in sorted(zones.items(), key=lambda item: item[1])
        ]
        schema = probatio.Schema(
            {
                probatio.Optional(CONF_ZONES, default=[]): SelectSelector(
                    SelectSelectorConfig(options=choices, multiple=True)
                ),
                probatio.Required(CONF_POLL_INTERVAL, default=DEFAULT_POLL_MINUTES): probatio.All(
                    number_box(MIN_POLL_MINUTES, MAX_POLL_MINUTES), probatio.Coerce(int)
                ),
            }
        ).extend(MONITOR_OPTIONS_SCHEMA.schema)
        return self.async_show_form(
            step_id="cloudflare_options",
            data_schema=self.add_suggested_values_to_schema(schema, entry.options),
        )
