"""Constants shared across homelab_agents."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
import logging
from typing import Final

DOMAIN: Final = "homelab_agents"
LOGGER = logging.getLogger(__package__)

CONF_KIND: Final = "kind"


class SourceKind(StrEnum):
    """The kinds of homelab system a config entry can connect; the config flow's menu ids."""

    ALERTMANAGER = "alertmanager"
    PROXMOX_VE = "proxmox_ve"
    PROXMOX_BACKUP = "proxmox_backup"
    DOCKER = "docker"
    PIHOLE = "pihole"
    TAILSCALE = "tailscale"
    CLOUDFLARE = "cloudflare"
    UNIFI = "unifi"


# Kinds the config flow offers, in the menu's order.
IMPLEMENTED_KINDS: Final = (
    SourceKind.ALERTMANAGER,
    SourceKind.PROXMOX_VE,
    SourceKind.PROXMOX_BACKUP,
    SourceKind.DOCKER,
    SourceKind.PIHOLE,
    SourceKind.TAILSCALE,
    SourceKind.CLOUDFLARE,
    SourceKind.UNIFI,
)

# Network sources: each keeps an anomaly monitor (baselines in its own store file).
NETWORK_KINDS: Final = (
    SourceKind.PIHOLE,
    SourceKind.TAILSCALE,
    SourceKind.CLOUDFLARE,
    SourceKind.UNIFI,
)

# Alertmanager entry data and options.
CONF_WEBHOOK_ID: Final = "webhook_id"
CONF_WEBHOOK_TOKEN: Final = "webhook_token"  # noqa: S105
CONF_REQUIRE_TOKEN: Final = "require_token"  # noqa: S105
CONF_CLUSTER_PEERS: Final = "cluster_peers"
CONF_RECEIVER: Final = "receiver"
CONF_RECONCILE_INTERVAL: Final = "reconcile_interval"
CONF_HEARTBEAT_TIMEOUT: Final = "heartbeat_timeout"
CONF_WATCHDOG_ALERT: Final = "watchdog_alert"
CONF_HISTORY_DAYS: Final = "history_days"

DEFAULT_RECEIVER: Final = "home-assistant"
DEFAULT_RECONCILE_INTERVAL: Final = 60  # seconds
DEFAULT_HEARTBEAT_TIMEOUT: Final = 15  # minutes
DEFAULT_WATCHDOG_ALERT: Final = ""
DEFAULT_HISTORY_DAYS: Final = 7
HISTORY_MAX_OCCURRENCES: Final = 1000

# Webhook bodies above this are refused with 413 before they are read. Alertmanager's
# `max_alerts` in the suggested receiver keeps real payloads far below it (about 2 KiB an alert).
WEBHOOK_MAX_BODY_BYTES: Final = 4 * 1024 * 1024
SUGGESTED_MAX_ALERTS: Final = 500

REQUEST_TIMEOUT: Final = timedelta(seconds=10)
STORE_SAVE_DELAY: Final = 10  # seconds; bounds disk writes during alert storms

SEVERITIES: Final = ("critical", "warning", "info")

# Proxmox VE entry data and options.
CONF_TOKEN_ID: Final = "token_id"  # noqa: S105
CONF_TOKEN_SECRET: Final = "token_secret"  # noqa: S105
CONF_TASK_TIMEOUT: Final = "task_timeout"
DEFAULT_PROXMOX_PORT: Final = 8006
DEFAULT_TASK_TIMEOUT: Final = 300  # seconds; PVE's own shutdown timeout is 180 s
CONF_CONFIRMATION_MINUTES: Final = "confirmation_minutes"
DEFAULT_CONFIRMATION_MINUTES: Final = 5
CONF_PLANNED_SILENCES: Final = "planned_silences"

# Proxmox Backup Server entry data and options.
CONF_FINGERPRINT: Final = "fingerprint"
CONF_FINGERPRINTS: Final = "fingerprints"  # every certificate this server has been seen with
CONF_FRESHNESS_HOURS: Final = "freshness_hours"
CONF_BACKUP_TIMEOUT: Final = "backup_timeout"
DEFAULT_PBS_PORT: Final = 8007
DEFAULT_FRESHNESS_HOURS: Final = 26  # a daily job plus two hours of slack
DEFAULT_BACKUP_TIMEOUT: Final = 120  # minutes; backups, verifications and restores run long
CONF_AGENT_CONTROL_FOR_USERS: Final = "agent_control_for_users"

# Reports: sent with the report's data each time `generate_report` made one.
SIGNAL_REPORT_GENERATED: Final = f"{DOMAIN}_report_generated"
