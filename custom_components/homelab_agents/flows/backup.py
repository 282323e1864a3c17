"""Config-flow steps of the Proxmox Backup Server kind.

Connect with certificate pinning, reauth, reconfigure, options.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import (
    CONF_HOST,
    CONF_PORT,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant
import probatio

from ..backup.client import (
    certificate_fingerprint,
    normalise_fingerprint,
    pbs_credentials_from,
    server_identity,
)
from ..const import (
    CONF_BACKUP_TIMEOUT,
    CONF_FINGERPRINT,
    CONF_FINGERPRINTS,
    CONF_FRESHNESS_HOURS,
    CONF_KIND,
    CONF_TOKEN_ID,
    CONF_TOKEN_SECRET,
    DEFAULT_BACKUP_TIMEOUT,
    DEFAULT_FRESHNESS_HOURS,
    DEFAULT_PBS_PORT,
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
from .common import (
    PASSWORD_SELECTOR as _PASSWORD,
    SingleFormOptionsFlow,
    clean_data as _clean,
    number_box,
)

PBS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_HOST): str,
        probatio.Required(CONF_PORT, default=DEFAULT_PBS_PORT): probatio.All(
            number_box(1, 65535), probatio.Coerce(int)
        ),
        probatio.Required(CONF_USERNAME, default="root@pam"): str,
        probatio.Required(CONF_TOKEN_ID): str,
        probatio.Required(CONF_TOKEN_SECRET): _PASSWORD,
        probatio.Required(CONF_VERIFY_SSL, default=True): bool,
        probatio.Optional(CONF_FINGERPRINT): str,
    }
)
PBS_REAUTH_SCHEMA = probatio.Schema({probatio.Required(CONF_TOKEN_SECRET): _PASSWORD})
# Reading datastores and snapshots; verification also needs Datastore.Verify.
# Reading datastores and snapshots; verification also needs Datastore.Verify.
PBS_PRIVILEGE = "Datastore.Audit"
# What the integration needs to read the cluster; power actions also need VM.PowerMgmt.
PBS_OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_FRESHNESS_HOURS, default=DEFAULT_FRESHNESS_HOURS): probatio.All(
            number_box(1, 720), probatio.Coerce(int)
        ),
        probatio.Required(CONF_BACKUP_TIMEOUT, default=DEFAULT_BACKUP_TIMEOUT): probatio.All(
            number_box(1, 1440), probatio.Coerce(int)
        ),
    }
)


async def _probe_pbs(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[str | None, dict[str, str], dict[str, str]]:
    """Check a PBS token; returns (certificate fingerprint, errors, error placeholders)."""
    if "@" not in data[CONF_USERNAME]:
        return None, {CONF_USERNAME: "invalid_username"}, {}
    pinned = None
    if data.get(CONF_FINGERPRINT):
        pinned = normalise_fingerprint(data[CONF_FINGERPRINT])
        if pinned is None:
            return None, {CONF_FINGERPRINT: "invalid_fingerprint"}, {}
    try:
        presented = await hass.async_add_executor_job(
            certificate_fingerprint, data[CONF_HOST], int(data[CONF_PORT])
        )
    except OSError:
        return None, {"base": "cannot_connect"}, {}
    if pinned is not None and pinned != presented:
        return None, {"base": "fingerprint_mismatch"}, {"fingerprint": presented}
    client = ProxmoxClient(hass, pbs_credentials_from({**data, CONF_FINGERPRINT: pinned}))
    try:
        await client.call("get", "version")
        permissions = await client.call("get", "access/permissions")
    except ProxmoxAuthError:
        return None, {"base": "invalid_auth"}, {}
    except ProxmoxTlsError:
        return None, {"base": "ssl_error"}, {"fingerprint": presented}
    except ProxmoxPermissionError as err:
        return None, {"base": "missing_privilege"}, {"privilege": str(err)}
    except ProxmoxConnectionError:
        return None, {"base": "cannot_connect"}, {}
    except ProxmoxError:
        return None, {"base": "not_pbs"}, {}
    except Exception:  # noqa: BLE001
        LOGGER.exception("Unexpected error while checking Proxmox Backup Server")
        return None, {"base": "unknown"}, {}
    if not _can_audit_datastores(permissions):
        return None, {"base": "missing_privilege"}, {"privilege": f"{PBS_PRIVILEGE} on /datastore"}
    return presented, {}, {}


def _can_audit_datastores(permissions: Any) -> bool:
    """Datastore.Audit on /, /datastore, or at least one datastore."""
    if not isinstance(permissions, dict):
        return False
    return any(
        bool((privileges or {}).get(PBS_PRIVILEGE))
        for path, privileges in permissions.items()
        if path in ("/", "/datastore") or path.startswith("/datastore/")
    )


def _pbs_placeholders(extra: dict[str, str]) -> dict[str, str]:
    return {"privilege": "", "fingerprint": "", **extra}


class PbsFlowMixin(ConfigFlow):
    """Connect a Proxmox Backup Server with an API token, pinning its certificate if asked."""

    async def async_step_proxmox_backup(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect a Proxmox Backup Server with an API token."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            presented, errors, placeholders = await _probe_pbs(self.hass, user_input)
            if presented is not None:
                await self.async_set_unique_id(server_identity(presented))
                self._abort_if_unique_id_configured()
                if self._fingerprint_configured(presented):
                    return self.async_abort(reason="already_configured")
                data = _clean(dict(user_input))
                if CONF_FINGERPRINT in data:
                    data[CONF_FINGERPRINT] = presented
                data[CONF_KIND] = SourceKind.PROXMOX_BACKUP.value
                data[CONF_FINGERPRINTS] = [presented]
                return self.async_create_entry(
                    title=f"Proxmox Backup Server {user_input[CONF_HOST]}", data=data
                )
        return self.async_show_form(
            step_id="proxmox_backup",
            data_schema=self.add_suggested_values_to_schema(PBS_SCHEMA, user_input),
            errors=errors,
            description_placeholders=_pbs_placeholders(placeholders),
        )

    def _fingerprint_configured(self, fingerprint: str) -> bool:
        """A server whose renewed certificate an entry already accepted."""
        return any(
            fingerprint in entry.data.get(CONF_FINGERPRINTS, ())
            for entry in self._async_current_entries(include_ignore=False)
        )

    async def async_step_reauth_proxmox_backup(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new secret of the same PBS token."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders = {
            "title": entry.title,
            "token": f"{entry.data[CONF_USERNAME]}!{entry.data[CONF_TOKEN_ID]}",
        }
        extra: dict[str, str] = {}
        if user_input is not None:
            presented, errors, extra = await _probe_pbs(self.hass, {**entry.data, **user_input})
            if presented is not None:
                if presented not in entry.data[CONF_FINGERPRINTS]:
                    return self.async_abort(reason="wrong_server")
                return self.async_update_reload_and_abort(entry, data_updates=user_input)
        return self.async_show_form(
            step_id="reauth_proxmox_backup",
            data_schema=PBS_REAUTH_SCHEMA,
            description_placeholders={**_pbs_placeholders(extra), **placeholders},
            errors=errors,
        )

    async def async_step_reconfigure_proxmox_backup(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change how Home Assistant reaches the same PBS; a new certificate must be pinned."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            presented, errors, placeholders = await _probe_pbs(self.hass, user_input)
            known: list[str] = list(entry.data[CONF_FINGERPRINTS])
            if presented is not None and presented not in known:
                # The same server with a renewed certificate, or another server: only the
                # user can tell, by pinning the new fingerprint.
                if not user_input.get(CONF_FINGERPRINT):
                    errors = {"base": "certificate_changed"}
                    placeholders = {"fingerprint": presented}
                elif self._fingerprint_configured(presented):
                    return self.async_abort(reason="already_configured")
                else:
                    known.append(presented)
            if not errors and presented is not None:
                data = {CONF_KIND: SourceKind.PROXMOX_BACKUP.value, **_clean(user_input)}
                if CONF_FINGERPRINT in data:
                    data[CONF_FINGERPRINT] = presented
                data[CONF_FINGERPRINTS] = known
                return self.async_update_reload_and_abort(entry, data=data)
        suggested = user_input or {
            k: v
            for k, v in entry.data.items()
            if k not in (CONF_TOKEN_SECRET, CONF_KIND, CONF_FINGERPRINTS)
        }
        return self.async_show_form(
            step_id="reconfigure_proxmox_backup",
            data_schema=self.add_suggested_values_to_schema(PBS_SCHEMA, suggested),
            errors=errors,
            description_placeholders=_pbs_placeholders(placeholders),
        )


class PbsOptionsFlow(SingleFormOptionsFlow):
    """When a guest's newest backup counts as stale; how long backup tasks are awaited."""

    step_id = "pbs_options"
    schema = PBS_OPTIONS_SCHEMA
    async_step_pbs_options = SingleFormOptionsFlow.form
