"""Config flow: a menu of homelab source kinds, then each kind's own steps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
import secrets
from typing import Any

from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
    OptionsFlowWithReload,
)
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import NumberSelector
import probatio
from yarl import URL

from .alertmanager.client import (
    AlertmanagerAuthError,
    AlertmanagerConnectionError,
    AlertmanagerError,
    AlertmanagerStatus,
    AlertmanagerTlsError,
)
from .alertmanager.receiver_config import receiver_snippet, webhook_url
from .alertmanager.runtime import client_for
from .backup.client import (
    certificate_fingerprint,
    normalise_fingerprint,
    pbs_credentials_from,
    server_identity,
)
from .const import (
    CONF_AGENT_CONTROL_FOR_USERS,
    CONF_BACKUP_TIMEOUT,
    CONF_CLUSTER_PEERS,
    CONF_CONFIRMATION_MINUTES,
    CONF_FINGERPRINT,
    CONF_FINGERPRINTS,
    CONF_FRESHNESS_HOURS,
    CONF_HEARTBEAT_TIMEOUT,
    CONF_HISTORY_DAYS,
    CONF_KIND,
    CONF_PLANNED_SILENCES,
    CONF_RECEIVER,
    CONF_RECONCILE_INTERVAL,
    CONF_REQUIRE_TOKEN,
    CONF_TASK_TIMEOUT,
    CONF_TOKEN_ID,
    CONF_TOKEN_SECRET,
    CONF_WATCHDOG_ALERT,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_TOKEN,
    DEFAULT_BACKUP_TIMEOUT,
    DEFAULT_CONFIRMATION_MINUTES,
    DEFAULT_FRESHNESS_HOURS,
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_PBS_PORT,
    DEFAULT_PROXMOX_PORT,
    DEFAULT_RECEIVER,
    DEFAULT_RECONCILE_INTERVAL,
    DEFAULT_TASK_TIMEOUT,
    DEFAULT_WATCHDOG_ALERT,
    DOMAIN,
    IMPLEMENTED_KINDS,
    LOGGER,
    SourceKind,
)
from .flows.cloudflare import CloudflareFlowMixin, CloudflareOptionsFlow
from .flows.common import (
    PASSWORD_SELECTOR as _PASSWORD,
    URL_SELECTOR as _URL,
    SingleFormOptionsFlow,
    clean_data as _clean,
    number_box,
)
from .flows.docker import DockerFlowMixin, DockerOptionsFlow
from .flows.pihole import PiholeFlowMixin, PiholeOptionsFlow
from .flows.tailscale import TailscaleFlowMixin, TailscaleOptionsFlow
from .flows.unifi import UnifiFlowMixin, UnifiOptionsFlow
from .proxmox.client import (
    ProxmoxAuthError,
    ProxmoxClient,
    ProxmoxConnectionError,
    ProxmoxError,
    ProxmoxPermissionError,
    ProxmoxTlsError,
)
from .proxmox.runtime import credentials_from

ALERTMANAGER_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_URL): _URL,
        probatio.Required(CONF_VERIFY_SSL, default=True): bool,
        probatio.Required(CONF_REQUIRE_TOKEN, default=True): bool,
        probatio.Optional(CONF_USERNAME): str,
        probatio.Optional(CONF_PASSWORD): _PASSWORD,
    }
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
PBS_PRIVILEGE = "Datastore.Audit"
# What the integration needs to read the cluster; power actions also need VM.PowerMgmt.
REQUIRED_PRIVILEGES = (("/", "Sys.Audit"), ("/vms", "VM.Audit"))
REAUTH_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_USERNAME): str,
        probatio.Required(CONF_PASSWORD): _PASSWORD,
    }
)


def _minutes(low: int, high: int) -> NumberSelector:
    return number_box(low, high)


PROXMOX_OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_TASK_TIMEOUT, default=DEFAULT_TASK_TIMEOUT): probatio.All(
            _minutes(10, 3600), probatio.Coerce(int)
        ),
        probatio.Required(
            CONF_CONFIRMATION_MINUTES, default=DEFAULT_CONFIRMATION_MINUTES
        ): probatio.All(_minutes(1, 60), probatio.Coerce(int)),
        probatio.Required(CONF_PLANNED_SILENCES, default=True): bool,
        probatio.Required(CONF_AGENT_CONTROL_FOR_USERS, default=False): bool,
    }
)
PBS_OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_FRESHNESS_HOURS, default=DEFAULT_FRESHNESS_HOURS): probatio.All(
            _minutes(1, 720), probatio.Coerce(int)
        ),
        probatio.Required(CONF_BACKUP_TIMEOUT, default=DEFAULT_BACKUP_TIMEOUT): probatio.All(
            _minutes(1, 1440), probatio.Coerce(int)
        ),
    }
)
OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_RECEIVER, default=DEFAULT_RECEIVER): str,
        probatio.Required(
            CONF_RECONCILE_INTERVAL, default=DEFAULT_RECONCILE_INTERVAL
        ): probatio.All(_minutes(10, 3600), probatio.Coerce(int)),
        probatio.Required(CONF_HEARTBEAT_TIMEOUT, default=DEFAULT_HEARTBEAT_TIMEOUT): probatio.All(
            _minutes(1, 1440), probatio.Coerce(int)
        ),
        probatio.Optional(CONF_WATCHDOG_ALERT, default=DEFAULT_WATCHDOG_ALERT): str,
        probatio.Required(CONF_HISTORY_DAYS, default=DEFAULT_HISTORY_DAYS): probatio.All(
            _minutes(1, 90), probatio.Coerce(int)
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


class HomelabAgentsConfigFlow(
    DockerFlowMixin,
    TailscaleFlowMixin,
    CloudflareFlowMixin,
    PiholeFlowMixin,
    UnifiFlowMixin,
    ConfigFlow,
    domain=DOMAIN,
):
    """Connect one homelab system per entry."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Options of the entry's kind."""
        return OPTIONS_FLOWS[config_entry.data[CONF_KIND]]()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what kind of system to connect."""
        return self.async_show_menu(
            step_id="user", menu_options=[kind.value for kind in IMPLEMENTED_KINDS]
        )

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

    def _cluster_configured(self, peers: list[str]) -> bool:
        return any(
            set(entry.data.get(CONF_CLUSTER_PEERS, ())) & set(peers)
            for entry in self._async_current_entries(include_ignore=False)
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The system refused the stored credentials."""
        if entry_data[CONF_KIND] == SourceKind.PROXMOX_VE:
            return await self.async_step_reauth_proxmox()
        if entry_data[CONF_KIND] == SourceKind.PROXMOX_BACKUP:
            return await self.async_step_reauth_proxmox_backup()
        if entry_data[CONF_KIND] == SourceKind.ALERTMANAGER:
            return await self.async_step_reauth_confirm()
        step: Callable[[], Awaitable[ConfigFlowResult]] = getattr(
            self, f"async_step_reauth_{entry_data[CONF_KIND]}"
        )
        return await step()

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

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change how Home Assistant reaches the same system."""
        entry = self._get_reconfigure_entry()
        if entry.data[CONF_KIND] == SourceKind.PROXMOX_VE:
            return await self.async_step_reconfigure_proxmox(user_input)
        if entry.data[CONF_KIND] == SourceKind.PROXMOX_BACKUP:
            return await self.async_step_reconfigure_proxmox_backup(user_input)
        if entry.data[CONF_KIND] != SourceKind.ALERTMANAGER:
            step: Callable[[dict[str, Any] | None], Awaitable[ConfigFlowResult]] = getattr(
                self, f"async_step_reconfigure_{entry.data[CONF_KIND]}"
            )
            return await step(user_input)
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


class ProxmoxOptionsFlow(SingleFormOptionsFlow):
    """Task wait, confirmation window, planned silences and assistant control."""

    step_id = "proxmox_options"
    schema = PROXMOX_OPTIONS_SCHEMA
    async_step_proxmox_options = SingleFormOptionsFlow.form


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
OPTIONS_FLOWS: dict[str, Callable[[], OptionsFlow]] = {
    SourceKind.ALERTMANAGER: AlertmanagerOptionsFlow,
    SourceKind.PROXMOX_VE: ProxmoxOptionsFlow,
    SourceKind.PROXMOX_BACKUP: PbsOptionsFlow,
    SourceKind.CLOUDFLARE: CloudflareOptionsFlow,
    SourceKind.TAILSCALE: TailscaleOptionsFlow,
    SourceKind.DOCKER: DockerOptionsFlow,
    SourceKind.PIHOLE: PiholeOptionsFlow,
    SourceKind.UNIFI: UnifiOptionsFlow,
}
