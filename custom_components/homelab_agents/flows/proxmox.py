"""Config-flow steps of the Proxmox VE kind: connect, reauth, reconfigure, options."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant
import probatio

from ..const import (
    CONF_AGENT_CONTROL_FOR_USERS,
    CONF_CONFIRMATION_MINUTES,
    CONF_KIND,
    CONF_PLANNED_SILENCES,
    CONF_TASK_TIMEOUT,
    CONF_TOKEN_ID,
    CONF_TOKEN_SECRET,
    DEFAULT_CONFIRMATION_MINUTES,
    DEFAULT_PROXMOX_PORT,
    DEFAULT_TASK_TIMEOUT,
    LOGGER,
    SourceKind,
)
from ..proxmox.client import (
    ProxmoxAuthError,
    ProxmoxClient,
    ProxmoxConnectionError,
    ProxmoxError,
    ProxmoxPermissionError,
    ProxmoxTlsError,
)
from ..proxmox.runtime import credentials_from
from .common import (
    PASSWORD_SELECTOR as _PASSWORD,
    SingleFormOptionsFlow,
    clean_data as _clean,
    number_box,
)

PROXMOX_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_HOST): str,
        probatio.Required(CONF_PORT, default=DEFAULT_PROXMOX_PORT): probatio.All(
            number_box(1, 65535), probatio.Coerce(int)
        ),
        probatio.Required(CONF_USERNAME, default="root@pam"): str,
        probatio.Optional(CONF_TOKEN_ID): str,
        probatio.Optional(CONF_TOKEN_SECRET): _PASSWORD,
        probatio.Optional(CONF_PASSWORD): _PASSWORD,
        probatio.Required(CONF_VERIFY_SSL, default=True): bool,
    }
)
PROXMOX_REAUTH_SCHEMA = probatio.Schema(
    {
        probatio.Optional(CONF_TOKEN_SECRET): _PASSWORD,
        probatio.Optional(CONF_PASSWORD): _PASSWORD,
    }
)
# What the integration needs to read the cluster; power actions also need VM.PowerMgmt.
REQUIRED_PRIVILEGES = (("/", "Sys.Audit"), ("/vms", "VM.Audit"))
PROXMOX_OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_TASK_TIMEOUT, default=DEFAULT_TASK_TIMEOUT): probatio.All(
            number_box(10, 3600), probatio.Coerce(int)
        ),
        probatio.Required(
            CONF_CONFIRMATION_MINUTES, default=DEFAULT_CONFIRMATION_MINUTES
        ): probatio.All(number_box(1, 60), probatio.Coerce(int)),
        probatio.Required(CONF_PLANNED_SILENCES, default=True): bool,
        probatio.Required(CONF_AGENT_CONTROL_FOR_USERS, default=False): bool,
    }
)


async def _probe_proxmox(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[str | None, dict[str, str], dict[str, str]]:
    """Check credentials and privileges; returns (unique id, errors, error placeholders)."""
    if "@" not in data[CONF_USERNAME]:
        return None, {CONF_USERNAME: "invalid_username"}, {}
    has_token = bool(data.get(CONF_TOKEN_ID)) and bool(data.get(CONF_TOKEN_SECRET))
    if not has_token and not data.get(CONF_PASSWORD):
        return None, {"base": "missing_credentials"}, {}
    client = ProxmoxClient(hass, credentials_from(data))
    try:
        status = await client.call("get", "cluster/status")
        permissions = await client.call("get", "access/permissions")
    except ProxmoxAuthError:
        return None, {"base": "invalid_auth"}, {}
    except ProxmoxTlsError:
        return None, {"base": "ssl_error"}, {}
    except ProxmoxPermissionError as err:
        return None, {"base": "missing_privilege"}, {"privilege": str(err)}
    except ProxmoxConnectionError:
        return None, {"base": "cannot_connect"}, {}
    except ProxmoxError:
        return None, {"base": "not_proxmox"}, {}
    except Exception:  # noqa: BLE001
        LOGGER.exception("Unexpected error while checking Proxmox VE")
        return None, {"base": "unknown"}, {}
    for path, privilege in REQUIRED_PRIVILEGES:
        if not _has_privilege(permissions, path, privilege):
            return None, {"base": "missing_privilege"}, {"privilege": f"{privilege} on {path}"}
    return _proxmox_identity(status), {}, {}


def _has_privilege(permissions: Any, path: str, privilege: str) -> bool:
    """Whether the privilege holds on `path` (granted there or on a parent)."""
    if not isinstance(permissions, dict):
        return False
    parts = path.strip("/").split("/") if path != "/" else []
    candidates = ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(bool((permissions.get(p) or {}).get(privilege)) for p in candidates)


def _proxmox_identity(status: Any) -> str:
    """The cluster's name, or the node's for a stand-alone node; never the host string."""
    entries = status if isinstance(status, list) else []
    for item in entries:
        if item.get("type") == "cluster" and item.get("name"):
            return f"cluster:{item['name']}"
    for item in entries:
        if item.get("type") == "node" and item.get("local"):
            return f"node:{item['name']}"
    return f"node:{entries[0]['name']}" if entries else "node:unknown"


class ProxmoxFlowMixin(ConfigFlow):
    """Connect a Proxmox VE cluster (or stand-alone node) with a token or a password."""

    async def async_step_proxmox_ve(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect a Proxmox VE cluster (or stand-alone node)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            unique_id, errors, placeholders = await _probe_proxmox(self.hass, user_input)
            if unique_id is not None:
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_configured()
                data = _clean(dict(user_input))
                data[CONF_KIND] = SourceKind.PROXMOX_VE.value
                return self.async_create_entry(
                    title=f"Proxmox VE {unique_id.split(':', 1)[1]}", data=data
                )
        return self.async_show_form(
            step_id="proxmox_ve",
            data_schema=self.add_suggested_values_to_schema(PROXMOX_SCHEMA, user_input),
            errors=errors,
            description_placeholders=placeholders or {"privilege": ""},
        )

    async def async_step_reauth_proxmox_ve(self) -> ConfigFlowResult:
        """Proxmox VE refused the stored token or password."""
        return await self.async_step_reauth_proxmox()

    async def async_step_reauth_proxmox(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new token secret (or password) of the same user."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders = {"title": entry.title, "username": entry.data[CONF_USERNAME]}
        if user_input is not None:
            unique_id, errors, extra = await _probe_proxmox(
                self.hass, {**entry.data, **_clean(user_input)}
            )
            placeholders.update(extra)
            if unique_id is not None:
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_mismatch(reason="wrong_cluster")
                return self.async_update_reload_and_abort(entry, data_updates=_clean(user_input))
        return self.async_show_form(
            step_id="reauth_proxmox",
            data_schema=PROXMOX_REAUTH_SCHEMA,
            description_placeholders={"privilege": "", **placeholders},
            errors=errors,
        )

    async def async_step_reconfigure_proxmox_ve(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Reconfigure under the step id the texts use."""
        return await self.async_step_reconfigure_proxmox(user_input)

    async def async_step_reconfigure_proxmox(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change host, port, TLS or credentials of the same Proxmox VE cluster."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            unique_id, errors, placeholders = await _probe_proxmox(self.hass, user_input)
            if unique_id is not None:
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_mismatch(reason="wrong_cluster")
                data = {CONF_KIND: SourceKind.PROXMOX_VE.value, **_clean(user_input)}
                return self.async_update_reload_and_abort(entry, data=data)
        suggested = user_input or {
            k: v
            for k, v in entry.data.items()
            if k not in (CONF_PASSWORD, CONF_TOKEN_SECRET, CONF_KIND)
        }
        return self.async_show_form(
            step_id="reconfigure_proxmox",
            data_schema=self.add_suggested_values_to_schema(PROXMOX_SCHEMA, suggested),
            errors=errors,
            description_placeholders=placeholders or {"privilege": ""},
        )


class ProxmoxOptionsFlow(SingleFormOptionsFlow):
    """Task wait, confirmation window, planned silences and assistant control."""

    step_id = "proxmox_options"
    schema = PROXMOX_OPTIONS_SCHEMA
    async_step_proxmox_options = SingleFormOptionsFlow.form
