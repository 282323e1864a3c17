"""The network sources in the homelab LLM API: status, Pi-hole and Tailscale tools.

`network_status` reads what the Pi-hole, Tailscale, Cloudflare and UniFi entries polled last
and the anomalies their monitors hold; the other tools call the integration's own services
like every tool of `agent`. Only administrators (and conversations without a user, such as
voice satellites and automations) may control network sources: unlike Proxmox VE and Docker
entries, network entries have no option that lets other users control them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, llm
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType
import probatio

from .agent import (
    CONTROL,
    EVENT_AGENT_ACTION,
    GUARDED,
    READ,
    CancelTool,
    ConfirmTool,
    HomelabTool,
    _requester,
)
from .const import CONF_KIND, DOMAIN, NETWORK_KINDS, SourceKind
from .network.cloudflare.models import CloudflareData
from .network.models import Anomaly
from .network.pihole.models import PiholeData
from .network.tailscale.models import TailnetSnapshot
from .network.unifi.models import SiteStatus

KIND_NAMES: Final = {
    SourceKind.PIHOLE: "Pi-hole",
    SourceKind.TAILSCALE: "Tailscale",
    SourceKind.CLOUDFLARE: "Cloudflare",
    SourceKind.UNIFI: "UniFi",
}
MAX_ENTRIES: Final = 12  # network entries in a status
MAX_ANOMALIES: Final = 5  # newest active anomalies per entry
MAX_ZONES: Final = 10  # busiest Cloudflare zones per entry
MAX_TUNNELS: Final = 10  # Cloudflare tunnels per entry, unhealthy first
MAX_NAMES: Final = 10  # names listed in one figure (devices awaiting authorization)
MAX_TEXT: Final = 80  # characters of a title, label or name
MAX_EXPLANATION: Final = 240
MAX_STATISTICS: Final = 25  # rows per list of `pihole_statistics`
MAX_DISABLE_MINUTES: Final = 1440  # Pi-hole's own limit: a day
NEXT_STEP: Final = "Read the summary to the user; call confirm_action only if they agree."

_ENTRY = {
    probatio.Optional(
        "entry_id", description="The entry_id from network_status; needed with several entries"
    ): cv.string
}
_NODE = {
    probatio.Optional("node_id", description="The device's Tailscale node ID"): cv.string,
    probatio.Optional("name", description="The device's name, e.g. 'build-server'"): cv.string,
    **_ENTRY,
}


def _text(value: object, limit: int = MAX_TEXT) -> str:
    text = str(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def network_entries(hass: HomeAssistant) -> list[ConfigEntry[Any]]:
    """The enabled Pi-hole, Tailscale, Cloudflare and UniFi entries, in any state."""
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.disabled_by is None and entry.data.get(CONF_KIND) in NETWORK_KINDS
    ]


def _loaded_kinds(hass: HomeAssistant) -> set[str]:
    return {
        str(entry.data[CONF_KIND])
        for entry in network_entries(hass)
        if entry.state is ConfigEntryState.LOADED
    }


def _anomaly(anomaly: Anomaly) -> dict[str, Any]:
    return {
        "type": anomaly.anomaly.value,
        "label": _text(anomaly.label),
        "explanation": _text(anomaly.explanation, MAX_EXPLANATION),
        "detected_at": anomaly.detected_at.isoformat(),
    }


def _pihole(data: PiholeData) -> dict[str, Any]:
    summary = data.summary
    return {
        "queries_24h": summary.queries_total,
        "blocked_24h": summary.queries_blocked,
        "blocked_percent": summary.percent_blocked,
        "blocking": data.blocking.state,
        "blocking_timer_seconds": (
            None if data.blocking.timer is None else round(data.blocking.timer)
        ),
        "clients_active": summary.clients_active,
    }


def _tailscale(runtime: Any, data: TailnetSnapshot) -> dict[str, Any]:
    now = dt_util.utcnow()
    devices = sorted(data.devices.values(), key=lambda device: device.label)
    waiting = [device.label for device in devices if not device.authorized]
    return {
        "devices": len(devices),
        "devices_online": sum(d.online(now, runtime.online_threshold) for d in devices),
        "awaiting_authorization": len(waiting),
        "awaiting_authorization_names": [_text(name) for name in waiting[:MAX_NAMES]],
        "keys_expiring_soon": sum(
            d.key_expires_within(now, runtime.expiry_window) for d in devices
        ),
        "shared_in": data.shared_in,
    }


def _cloudflare(data: CloudflareData) -> dict[str, Any]:
    zones: list[dict[str, Any]] = []
    for zone_id, zone in data.zones.items():
        totals = data.totals(zone_id)
        zones.append(
            {
                "zone": _text(zone.name),
                "status": zone.status,
                "requests_24h": None if totals is None else totals.requests,
                "threats_24h": None if totals is None else totals.threats,
                "cached_percent": None if totals is None else totals.cached_ratio,
            }
        )
    zones.sort(key=lambda zone: (-(zone["requests_24h"] or 0), zone["zone"]))
    tunnels = sorted(
        data.tunnels.values(), key=lambda tunnel: (tunnel.status == "healthy", tunnel.name)
    )
    return {
        "zones": zones[:MAX_ZONES],
        "zones_total": len(zones),
        "tunnel_states": dict(sorted(Counter(t.status for t in tunnels).items())),
        "tunnels": [
            {"name": _text(t.name), "status": t.status, "connections": t.connections}
            for t in tunnels[:MAX_TUNNELS]
        ],
        "tunnels_total": len(tunnels),
    }


def _mbit(rate: float | None) -> float | None:
    """Bytes per second as Mbit/s."""
    return None if rate is None else round(rate * 8 / 1_000_000, 2)


def _unifi(data: SiteStatus) -> dict[str, Any]:
    wan = data.wan
    return {
        "wan": {True: "up", False: "down", None: "unknown"}[wan.connected],
        "download_mbit_s": _mbit(wan.download),
        "upload_mbit_s": _mbit(wan.upload),
        "latency_ms": None if wan.latency is None else round(wan.latency, 1),
        "clients": len(data.clients),
        "devices_online": data.devices_online,
        "devices_offline": data.devices_offline,
        "firmware_updates": data.firmware_updates,
    }


def _figures(kind: str, runtime: Any) -> dict[str, Any]:
    data = runtime.coordinator.data
    if kind == SourceKind.PIHOLE:
        return _pihole(data)
    if kind == SourceKind.TAILSCALE:
        return _tailscale(runtime, data)
    if kind == SourceKind.CLOUDFLARE:
        return _cloudflare(data)
    return _unifi(data)


def _entry_status(entry: ConfigEntry[Any]) -> dict[str, Any]:
    kind = str(entry.data[CONF_KIND])
    status: dict[str, Any] = {
        "kind": kind,
        "title": _text(entry.title),
        "entry_id": entry.entry_id,
    }
    if entry.state is not ConfigEntryState.LOADED:
        # Setup failed or is retrying: there is no poll to show.
        return status | {"reachable": False, "state": entry.state.value}
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    active = runtime.monitor.active
    status |= {
        "reachable": coordinator.last_update_success,
        "polled_at": coordinator.data.polled_at.isoformat(),
        # The last successful poll's figures (stale while unreachable).
        **_figures(kind, runtime),
        "anomalies": [_anomaly(anomaly) for anomaly in reversed(active[-MAX_ANOMALIES:])],
        "anomalies_total": len(active),
    }
    return status


def network_status(hass: HomeAssistant) -> dict[str, Any]:
    """Every network entry: reachability, key figures and active anomalies (bounded)."""
    entries = network_entries(hass)
    return {
        "sources": [_entry_status(entry) for entry in entries[:MAX_ENTRIES]],
        "sources_total": len(entries),
    }


def network_summary(hass: HomeAssistant) -> list[dict[str, Any]]:
    """One line per network entry for the homelab summary: reachable, anomalies."""
    summary = []
    for entry in network_entries(hass)[:MAX_ENTRIES]:
        loaded = entry.state is ConfigEntryState.LOADED
        summary.append(
            {
                "kind": str(entry.data[CONF_KIND]),
                "title": _text(entry.title),
                "reachable": loaded and entry.runtime_data.coordinator.last_update_success,
                "anomalies": len(entry.runtime_data.monitor.active) if loaded else 0,
            }
        )
    return summary


def _described(source: dict[str, Any]) -> str:
    state = "reachable" if source["reachable"] else "UNREACHABLE"
    if source["anomalies"]:
        state += f", {source['anomalies']} active anomalies"
    return f"{source['title']} ({state})"


def network_prompt(summary: list[dict[str, Any]]) -> list[str]:
    """Sentences for the API prompt about the network sources of `network_summary`."""
    if not summary:
        return []
    described = ", ".join(_described(source) for source in summary)
    return [f"Network sources: {described}. network_status tells their figures and anomalies."]


async def _check_network_control_allowed(hass: HomeAssistant, user_id: str | None) -> None:
    """Administrators only: network entries have no option letting other users control."""
    if user_id is None:
        return  # automations and satellites without a user: bound as "system" or device
    user = await hass.auth.async_get_user(user_id)
    if user is not None and user.is_admin:
        return
    raise HomeAssistantError(
        translation_domain=DOMAIN, translation_key="agent_network_control_not_allowed"
    )


def _audit(
    hass: HomeAssistant,
    tool: llm.Tool,
    tool_input: llm.ToolInput,
    llm_context: llm.LLMContext,
    error: bool,
) -> None:
    context = llm_context.context
    hass.bus.async_fire(
        EVENT_AGENT_ACTION,
        {
            "tool": tool.name,
            "arguments": tool_input.tool_args,
            "user_id": context.user_id if context else None,
            "assistant": llm_context.assistant,
            "device_id": llm_context.device_id,
            "error": error,
        },
        context=context,
    )


class NetworkStatusTool(llm.Tool):
    """Reachability, key figures and active anomalies of every network source."""

    name = "network_status"
    description = (
        "Status of the network sources: per Pi-hole, Tailscale tailnet, Cloudflare account "
        "and UniFi site whether it is reachable, its key figures (Pi-hole queries, blocked "
        "share and blocking; Tailscale devices online and awaiting authorization; Cloudflare "
        "requests and threats per zone and tunnel states; UniFi WAN, throughput, latency, "
        "clients) and its active anomalies with an explanation each."
    )
    annotations = READ
    integration = DOMAIN

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> llm.ToolResult:
        """Read what the entries polled last."""
        _audit(hass, self, tool_input, llm_context, error=False)
        return llm.ToolResult(data=network_status(hass))


class NetworkTool(HomelabTool):
    """A network service call; `admin_only` tools change something."""

    admin_only: bool = False

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        data = {key: value for key, value in args.items() if key != "entry_id"}
        if "entry_id" in args:
            data["config_entry_id"] = args["entry_id"]
        return data

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> llm.ToolResult:
        """Check the arguments, refuse control to users who are not administrators, call."""
        context = llm_context.context
        try:
            args = self.parameters(tool_input.tool_args)
            if self.admin_only:
                await _check_network_control_allowed(hass, context.user_id if context else None)
        except (HomeAssistantError, probatio.Invalid) as err:
            _audit(hass, self, tool_input, llm_context, error=True)
            return llm.ToolResult(data={"error": str(err)}, error=True)
        return await super().async_call(hass, replace(tool_input, tool_args=args), llm_context)


class PiholeStatisticsTool(NetworkTool):
    """Top domains and clients of a Pi-hole."""

    name = "pihole_statistics"
    description = (
        "Pi-hole statistics of the last 24 hours: top permitted domains, top blocked domains "
        "and top clients (count each, 1 to 25, default 10), with total and blocked queries."
    )
    parameters = probatio.Schema(
        {
            probatio.Optional("count", default=10): probatio.All(
                probatio.Coerce(int), probatio.Range(1, MAX_STATISTICS)
            ),
            **_ENTRY,
        }
    )
    annotations = READ
    service = "get_pihole_statistics"

    def _shape(self, response: Any) -> JsonObjectType:
        lists = ("top_permitted_domains", "top_blocked_domains", "top_clients")
        shaped: JsonObjectType = {
            key: response[key] for key in ("queries_total", "queries_blocked")
        }
        for key in lists:
            shaped[key] = [
                {
                    name: _text(value) if isinstance(value, str) else value
                    for name, value in row.items()
                }
                for row in response[key][:MAX_STATISTICS]
            ]
        return shaped


class DisablePiholeBlockingTool(NetworkTool):
    """Pause Pi-hole's blocking for some minutes; it turns itself back on."""

    name = "disable_pihole_blocking"
    description = (
        "Disable Pi-hole's ad and tracker blocking for some minutes (1 to 1440); Pi-hole "
        "enables it again by itself afterwards. Administrators only."
    )
    parameters = probatio.Schema(
        {
            probatio.Required("minutes"): probatio.All(int, probatio.Range(1, MAX_DISABLE_MINUTES)),
            **_ENTRY,
        }
    )
    annotations = CONTROL
    service = "disable_pihole_blocking"
    admin_only = True

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        data = super()._data(args, llm_context)
        return data | {"duration": {"minutes": data.pop("minutes")}}

    def _shape(self, response: Any) -> JsonObjectType:
        timer = response["timer"]
        return {
            "blocking": response["blocking"],
            "enabled_again_in_seconds": None if timer is None else round(timer),
        }


class AuthorizeTailscaleDeviceTool(NetworkTool):
    """Approve a device waiting for authorization in the tailnet."""

    name = "authorize_tailscale_device"
    description = (
        "Authorize a Tailscale device that waits for approval (see network_status), by its "
        "name or node_id. Administrators only."
    )
    parameters = probatio.Schema(_NODE)
    annotations = CONTROL
    service = "authorize_tailscale_device"
    admin_only = True


class RequestTailscaleDeleteTool(NetworkTool):
    """Request a device's removal from the tailnet: returns an id and a summary to read back."""

    name = "request_tailscale_device_delete"
    description = (
        "Request that a device be deleted from the Tailscale tailnet, by its name or node_id. "
        "It does NOT run: it returns an action_id and a summary. Read the summary back to the "
        "user, and only after they agree call confirm_action with the action_id. Expires "
        "after 5 minutes. Administrators only."
    )
    parameters = probatio.Schema(_NODE)
    annotations = GUARDED
    service = "delete_tailscale_device"
    admin_only = True

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        return super()._data(args, llm_context) | _requester(llm_context)

    def _shape(self, response: Any) -> JsonObjectType:
        return {**response, "next_step": NEXT_STEP}


def network_tools(hass: HomeAssistant, offered: list[llm.Tool]) -> list[llm.Tool]:
    """The tools for the network entries there are, given the tools `offered` already."""
    if not network_entries(hass):
        return []
    tools: list[llm.Tool] = [NetworkStatusTool()]
    loaded = _loaded_kinds(hass)
    if SourceKind.PIHOLE in loaded:
        tools += [PiholeStatisticsTool(), DisablePiholeBlockingTool()]
    if SourceKind.TAILSCALE in loaded:
        tools += [AuthorizeTailscaleDeviceTool(), RequestTailscaleDeleteTool()]
        if not any(tool.name == ConfirmTool.name for tool in offered):
            tools += [ConfirmTool(), CancelTool()]
    return tools
