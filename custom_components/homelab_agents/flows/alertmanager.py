"""Config-flow steps of the Alertmanager kind: connect, reauth, reconfigure, options."""

from __future__ import annotations

import secrets
from typing import Any

from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import (
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant
import probatio
from yarl import URL

from ..alertmanager.client import (
    AlertmanagerAuthError,
    AlertmanagerConnectionError,
    AlertmanagerError,
    AlertmanagerStatus,
    AlertmanagerTlsError,
)
from ..alertmanager.receiver_config import receiver_snippet, webhook_url
from ..alertmanager.runtime import client_for
from ..const import (
    CONF_CLUSTER_PEERS,
    CONF_HEARTBEAT_TIMEOUT,
    CONF_HISTORY_DAYS,
    CONF_KIND,
    CONF_RECEIVER,
    CONF_RECONCILE_INTERVAL,
    CONF_REQUIRE_TOKEN,
    CONF_WATCHDOG_ALERT,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_TOKEN,
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_RECEIVER,
    DEFAULT_RECONCILE_INTERVAL,
    DEFAULT_WATCHDOG_ALERT,
    LOGGER,
    SourceKind,
)
from .common import (
    PASSWORD_SELECTOR as _PASSWORD,
    URL_SELECTOR as _URL,
    clean_data as _clean,
    number_box,
)

ALERTMANAGER_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_URL): _URL,
        probatio.Required(CONF_VERIFY_SSL, default=True): bool,
        probatio.Required(CONF_REQUIRE_TOKEN, default=True): bool,
        probatio.Optional(CONF_USERNAME): str,
        probatio.Optional(CONF_PASSWORD): _PASSWORD,
    }
)
REAUTH_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_USERNAME): str,
        probatio.Required(CONF_PASSWORD): _PASSWORD,
    }
)
OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_RECEIVER, default=DEFAULT_RECEIVER): str,
        probatio.Required(
            CONF_RECONCILE_INTERVAL, default=DEFAULT_RECONCILE_INTERVAL
        ): probatio.All(number_box(10, 3600), probatio.Coerce(int)),
        probatio.Required(CONF_HEARTBEAT_TIMEOUT, default=DEFAULT_HEARTBEAT_TIMEOUT): probatio.All(
            number_box(1, 1440), probatio.Coerce(int)
        ),
        probatio.Optional(CONF_WATCHDOG_ALERT, default=DEFAULT_WATCHDOG_ALERT): str,
        probatio.Required(CONF_HISTORY_DAYS, default=DEFAULT_HISTORY_DAYS): probatio.All(
            number_box(1, 90), probatio.Coerce(int)
        ),
    }
)


async def _probe(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[AlertmanagerStatus | None, dict[str, str]]:
    """Ask Alertmanager for its status; returns it or the form errors to show."""
    url = URL(data[CONF_URL])
    if url.scheme not in ("http", "https") or not url.host:
        return None, {CONF_URL: "invalid_url"}
    try:
        return await client_for(hass, data).status(), {}
    except AlertmanagerAuthError:
        return None, {"base": "invalid_auth"}
    except AlertmanagerTlsError:
        return None, {"base": "ssl_error"}
    except AlertmanagerConnectionError:
        return None, {"base": "cannot_connect"}
    except AlertmanagerError:
        return None, {"base": "not_alertmanager"}
    except Exception:  # noqa: BLE001
        LOGGER.exception("Unexpected error while checking Alertmanager")
        return None, {"base": "unknown"}


def _identity(status: AlertmanagerStatus, url: str) -> str:
    """Unique id: the cluster peer's name, or the URL for a stand-alone Alertmanager."""
    if status.cluster_status != "disabled" and status.peer_name:
        return status.peer_name
    parsed = URL(url.rstrip("/"))
    return str(parsed.with_user(None).with_query(None).with_fragment(None)).lower()


class AlertmanagerFlowMixin(ConfigFlow):
    """Connect a Prometheus Alertmanager (cluster); the webhook's id and token are made here."""

    async def async_step_alertmanager(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect a Prometheus Alertmanager (cluster)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            status, errors = await _probe(self.hass, user_input)
            if status is not None:
                await self.async_set_unique_id(_identity(status, user_input[CONF_URL]))
                self._abort_if_unique_id_configured()
                if self._cluster_configured(status.peers):
                    return self.async_abort(reason="already_configured")
                data = _clean(dict(user_input))
                data[CONF_KIND] = SourceKind.ALERTMANAGER.value
                data[CONF_WEBHOOK_ID] = webhook.async_generate_id()
                data[CONF_CLUSTER_PEERS] = status.peers
                if user_input[CONF_REQUIRE_TOKEN]:
                    data[CONF_WEBHOOK_TOKEN] = secrets.token_urlsafe(32)
                url = webhook_url(self.hass, data[CONF_WEBHOOK_ID])
                return self.async_create_entry(
                    title=f"Alertmanager {URL(user_input[CONF_URL]).host}",
                    data=data,
                    description=SourceKind.ALERTMANAGER.value,
                    description_placeholders={
                        "webhook_url": url,
                        "snippet": receiver_snippet(
                            url, data.get(CONF_WEBHOOK_TOKEN), DEFAULT_RECEIVER
                        ),
                    },
                )
        return self.async_show_form(
            step_id="alertmanager",
            data_schema=self.add_suggested_values_to_schema(ALERTMANAGER_SCHEMA, user_input),
            errors=errors,
        )

    def _cluster_configured(self, peers: list[str]) -> bool:
        return any(
            set(entry.data.get(CONF_CLUSTER_PEERS, ())) & set(peers)
            for entry in self._async_current_entries(include_ignore=False)
        )

    async def async_step_reauth_alertmanager(self) -> ConfigFlowResult:
        """Alertmanager (or its proxy) refused the stored credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for new credentials and check them."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            _, errors = await _probe(self.hass, {**entry.data, **user_input})
            if not errors:
                return self.async_update_reload_and_abort(entry, data_updates=user_input)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                REAUTH_SCHEMA, {CONF_USERNAME: entry.data.get(CONF_USERNAME)}
            ),
            description_placeholders={"title": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure_alertmanager(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the URL, TLS check, credentials or token of the same Alertmanager."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            status, errors = await _probe(self.hass, user_input)
            if status is not None:
                known_peers = set(entry.data.get(CONF_CLUSTER_PEERS, ()))
                new_id = _identity(status, user_input[CONF_URL])
                if known_peers and not known_peers & {*status.peers, new_id}:
                    return self.async_abort(reason="wrong_alertmanager")
                await self.async_set_unique_id(new_id)
                if new_id != entry.unique_id:
                    self._abort_if_unique_id_configured()
                data = {
                    k: v for k, v in entry.data.items() if k not in (CONF_USERNAME, CONF_PASSWORD)
                }
                data.update(_clean(dict(user_input)))
                data[CONF_CLUSTER_PEERS] = status.peers
                if not user_input[CONF_REQUIRE_TOKEN]:
                    data.pop(CONF_WEBHOOK_TOKEN, None)
                elif CONF_WEBHOOK_TOKEN not in data:
                    data[CONF_WEBHOOK_TOKEN] = secrets.token_urlsafe(32)
                return self.async_update_reload_and_abort(entry, unique_id=new_id, data=data)
        suggested = user_input or {k: v for k, v in entry.data.items() if k != CONF_PASSWORD}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(ALERTMANAGER_SCHEMA, suggested),
            errors=errors,
        )


class AlertmanagerOptionsFlow(OptionsFlowWithReload):
    """Reconciliation, pipeline health and history settings; shows the receiver snippet."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Edit the options."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        entry = self.config_entry
        receiver = entry.options.get(CONF_RECEIVER, DEFAULT_RECEIVER)
        url = webhook_url(self.hass, entry.data[CONF_WEBHOOK_ID])
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, entry.options),
            description_placeholders={
                "webhook_url": url,
                "snippet": receiver_snippet(url, entry.data.get(CONF_WEBHOOK_TOKEN), receiver),
            },
        )


# Each kind's options flow; a kind added in `flows/` registers its own here.
