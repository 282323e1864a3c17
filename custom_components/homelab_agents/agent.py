"""The homelab as an LLM API: tools for HA's conversation agents and, via mcp_server, MCP clients.

Tools call the integration's own service actions with the caller's context, so validation,
translated errors and confirmations are the same as everywhere else: a destructive tool only
records a request bound to the user (or conversation device) and returns an id and a summary
to read back; nothing runs until the same requester confirms. Results are bounded so agents
stay within their context, errors come back as tool results, and every call fires
`homelab_agents_agent_action` for audit.
"""

from __future__ import annotations

from typing import Any, Final, cast

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, llm
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType
import probatio

from .confirm import async_get_confirmations
from .const import CONF_AGENT_CONTROL_FOR_USERS, DOMAIN, SourceKind
from .service_targets import loaded_entries

API_ID: Final = DOMAIN
API_NAME: Final = "Homelab"
EVENT_AGENT_ACTION: Final = f"{DOMAIN}_agent_action"
MAX_ALERTS: Final = 20
MAX_GUESTS: Final = 50

READ: Final = llm.ToolAnnotations(read_only=True, destructive=False, idempotent=True)
CONTROL: Final = llm.ToolAnnotations(read_only=False, destructive=False, open_world=True)
GUARDED: Final = llm.ToolAnnotations(read_only=False, destructive=True, open_world=True)

_GUEST = {
    probatio.Optional("vmid", description="The guest's VM ID, e.g. 101"): cv.positive_int,
    probatio.Optional("name", description="The guest's name, e.g. 'nextcloud'"): cv.string,
}


def homelab_summary(hass: HomeAssistant) -> dict[str, Any]:
    """Clusters, guests, alerts, pending confirmations and network sources in a few numbers."""
    from .agent_network import network_summary  # noqa: PLC0415 - it builds on this module

    clusters: list[dict[str, Any]] = []
    for entry in loaded_entries(hass, SourceKind.PROXMOX_VE):
        data = entry.runtime_data.coordinator.data
        clusters.append(
            {
                "cluster": data.name,
                "quorate": data.quorate is not False,
                "nodes_online": sum(n.online for n in data.nodes.values()),
                "nodes": len(data.nodes),
                "guests_running": sum(g.running for g in data.guests.values()),
                "guests": len(data.guests),
                "offline_nodes": sorted(n for n, node in data.nodes.items() if not node.online),
            }
        )
    firing: dict[str, int] = {}
    unacknowledged = 0
    pipeline_problems = []
    for entry in loaded_entries(hass, SourceKind.ALERTMANAGER):
        runtime = entry.runtime_data
        for alert in runtime.store.active.values():
            severity = alert.severity or "none"
            firing[severity] = firing.get(severity, 0) + 1
            unacknowledged += alert.acknowledged_by is None
        health = runtime.pipeline_health(dt_util.utcnow())
        if health.problem:
            pipeline_problems.append(health.reason)
    return {
        "clusters": clusters,
        "alerts_firing": sum(firing.values()),
        "alerts_by_severity": firing,
        "alerts_unacknowledged": unacknowledged,
        "alert_pipeline_problems": pipeline_problems,
        "pending_confirmations": len(async_get_confirmations(hass).pending()),
        "network_sources": network_summary(hass),
    }


def _prompt(hass: HomeAssistant) -> str:
    from .agent_network import network_prompt  # noqa: PLC0415 - it builds on this module

    summary = homelab_summary(hass)
    parts = [
        (
            "You can watch and operate the user's homelab (Proxmox VE clusters, Prometheus "
            "Alertmanager alerts) with the homelab tools."
        )
    ]
    parts.extend(
        (
            f"Cluster {cluster['cluster']}: {cluster['nodes_online']}/{cluster['nodes']} nodes "
            f"online, {cluster['guests_running']}/{cluster['guests']} guests running"
            f"{'' if cluster['quorate'] else ', NO QUORUM'}."
        )
        for cluster in summary["clusters"]
    )
    parts.append(
        f"Alerts firing: {summary['alerts_firing']} "
        f"({summary['alerts_unacknowledged']} unacknowledged)."
    )
    parts.extend(network_prompt(summary["network_sources"]))
    parts.append(
        "Hard stop and reset never run directly: request_destructive_action returns an "
        "action id and a summary; read the summary back to the user and call confirm_action "
        "only after they clearly agree. Never confirm on your own."
    )
    return " ".join(parts)


class HomelabTool(llm.Tool):
    """Calls one of the integration's services as the person talking to the agent."""

    integration = DOMAIN
    service: str = ""
    control: bool = False

    def _service(self, args: dict[str, Any]) -> str:
        return self.service

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        return dict(args)

    def _shape(self, response: Any) -> JsonObjectType:
        return dict(response or {"ok": True})

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> llm.ToolResult:
        """Run the service; errors become results the agent can explain."""
        context = llm_context.context
        user_id = context.user_id if context else None
        try:
            # HA's llm helper passes the model's arguments through unchecked.
            args = self.parameters(tool_input.tool_args)
            if self.control:
                await _check_control_allowed(hass, user_id)
            response = await hass.services.async_call(
                DOMAIN,
                self._service(args),
                self._data(args, llm_context),
                blocking=True,
                return_response=True,
                context=context,
            )
            result = llm.ToolResult(data=self._shape(response))
        except (HomeAssistantError, probatio.Invalid) as err:
            result = llm.ToolResult(data={"error": str(err) or type(err).__name__}, error=True)
        hass.bus.async_fire(
            EVENT_AGENT_ACTION,
            {
                "tool": self.name,
                "arguments": tool_input.tool_args,
                "user_id": user_id,
                "assistant": llm_context.assistant,
                "device_id": llm_context.device_id,
                "error": result.error,
            },
            context=context,
        )
        return result


async def _check_control_allowed(hass: HomeAssistant, user_id: str | None) -> None:
    if user_id is None:
        return  # automations and satellites without a user: bound as "system" or device
    user = await hass.auth.async_get_user(user_id)
    if user is not None and user.is_admin:
        return
    if any(
        entry.options.get(CONF_AGENT_CONTROL_FOR_USERS, False)
        for kind in (SourceKind.PROXMOX_VE, SourceKind.DOCKER)
        for entry in loaded_entries(hass, kind)
    ):
        return
    raise HomeAssistantError(translation_domain=DOMAIN, translation_key="agent_control_not_allowed")


class StatusTool(llm.Tool):
    """A summary of the homelab: clusters, guests, alerts, pending confirmations."""

    name = "homelab_status"
    description = (
        "Summary of the homelab: per cluster nodes online, guests running, quorum; alerts "
        "firing by severity and unacknowledged; pending confirmations. Use it first."
    )
    annotations = READ
    integration = DOMAIN

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> llm.ToolResult:
        """Summarise."""
        summary = cast("JsonObjectType", homelab_summary(hass))
        hass.bus.async_fire(
            EVENT_AGENT_ACTION,
            {"tool": self.name, "arguments": {}, "error": False},
            context=llm_context.context,
        )
        return llm.ToolResult(data=summary)


class ListAlertsTool(HomelabTool):
    """Firing (or recent resolved) alerts, most relevant first, at most 20."""

    name = "list_alerts"
    description = (
        "List alerts: firing by default (status: firing, resolved or all), optionally only "
        "one severity. Returns at most 20 with the total; each has a fingerprint to "
        "acknowledge or silence it."
    )
    parameters = probatio.Schema(
        {
            probatio.Optional("status", default="firing"): probatio.In(
                ["firing", "resolved", "all"]
            ),
            probatio.Optional("severity"): cv.string,
        }
    )
    annotations = READ
    service = "list_alerts"

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        return {**args, "limit": MAX_ALERTS}

    def _shape(self, response: Any) -> JsonObjectType:
        alerts = [
            {
                key: alert[key]
                for key in (
                    "fingerprint",
                    "alertname",
                    "severity",
                    "status",
                    "starts_at",
                    "acknowledged_by",
                    "silenced_by",
                )
            }
            | {"summary": alert["annotations"].get("summary", "")[:200]}
            | {"instance": alert["labels"].get("instance")}
            for alert in response["alerts"]
        ]
        return {"alerts": alerts, "shown": len(alerts), "total": response["total"]}


class AcknowledgeTool(HomelabTool):
    """Acknowledge an alert."""

    name = "acknowledge_alert"
    description = "Acknowledge a firing alert by its fingerprint (records who handles it)."
    parameters = probatio.Schema({probatio.Required("fingerprint"): cv.string})
    annotations = CONTROL
    service = "acknowledge_alert"

    def _shape(self, response: Any) -> JsonObjectType:
        alert = response["alert"]
        return {
            "acknowledged": alert["alertname"],
            "by": alert["acknowledged_by"],
            "fingerprint": alert["fingerprint"],
        }


class SilenceTool(HomelabTool):
    """Silence an alert in Alertmanager."""

    name = "silence_alert"
    description = (
        "Silence a firing alert in Alertmanager for some minutes (1 to 525600), with a "
        "comment saying why."
    )
    parameters = probatio.Schema(
        {
            probatio.Required("fingerprint"): cv.string,
            probatio.Required("minutes"): probatio.All(int, probatio.Range(1, 525600)),
            probatio.Optional("comment"): cv.string,
        }
    )
    annotations = CONTROL
    service = "silence_alert"
    control = True

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        data = {"fingerprint": args["fingerprint"], "duration": {"minutes": args["minutes"]}}
        if "comment" in args:
            data["comment"] = args["comment"]
        return data


class ListGuestsTool(HomelabTool):
    """VMs and containers, filtered, at most 50."""

    name = "list_guests"
    description = (
        "List VMs and containers with VM ID, name, node, status, CPU and memory. Filters: "
        "node, status (running, stopped, paused), name (part of it). At most 50 with the total."
    )
    parameters = probatio.Schema(
        {
            probatio.Optional("node"): cv.string,
            probatio.Optional("status"): probatio.In(["running", "stopped", "paused"]),
            probatio.Optional("name"): cv.string,
        }
    )
    annotations = READ
    service = "list_guests"

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        return {**args, "limit": MAX_GUESTS}

    def _shape(self, response: Any) -> JsonObjectType:
        return {
            "guests": response["guests"],
            "shown": response["count"],
            "total": response["total"],
        }


class PowerTool(HomelabTool):
    """Start, shut down or reboot a guest (not destructive: graceful)."""

    parameters = probatio.Schema(_GUEST)
    annotations = CONTROL
    control = True


def _power_tool(name: str, service: str, description: str) -> PowerTool:
    tool = PowerTool()
    tool.name = name
    tool.service = service
    tool.description = description
    return tool


class RequestDestructiveTool(HomelabTool):
    """Request a hard stop or reset: returns an id and a summary to read back."""

    name = "request_destructive_action"
    description = (
        "Request a hard stop (power cut) or reset of a guest. It does NOT run: it returns an "
        "action_id and a summary. Read the summary back to the user, and only after they "
        "agree call confirm_action with the action_id. It expires after the entry's "
        "confirmation window (5 minutes by default)."
    )
    parameters = probatio.Schema(
        {probatio.Required("action"): probatio.In(["stop", "reset"]), **_GUEST}
    )
    annotations = GUARDED
    control = True

    def _service(self, args: dict[str, Any]) -> str:
        return f"{args['action']}_guest"

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        data = {k: v for k, v in args.items() if k != "action"}
        return data | _requester(llm_context)

    def _shape(self, response: Any) -> JsonObjectType:
        return {
            **response,
            "next_step": "Read the summary to the user; call confirm_action only if they agree.",
        }


class ConfirmTool(HomelabTool):
    """Confirm a requested destructive action (only the user's own)."""

    name = "confirm_action"
    description = (
        "Confirm a requested destructive action by its action_id, only after the user "
        "explicitly agreed to the summary. Returns the outcome."
    )
    parameters = probatio.Schema({probatio.Required("action_id"): cv.string})
    annotations = GUARDED
    service = "confirm_action"
    control = True

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        return dict(args) | _requester(llm_context)

    def _shape(self, response: Any) -> JsonObjectType:
        return {
            "state": response["state"],
            "summary": response["summary"],
            "result": response.get("result"),
        }


class CancelTool(ConfirmTool):
    """Cancel a requested destructive action."""

    name = "cancel_action"
    description = "Cancel a requested destructive action by its action_id."
    annotations = CONTROL
    service = "cancel_action"
    control = False


def _requester(llm_context: llm.LLMContext) -> dict[str, str]:
    """A conversation without a user is bound to its device (a voice satellite)."""
    context = llm_context.context
    if context is not None and context.user_id:
        return {}
    return {"requester": f"{llm_context.assistant}:{llm_context.device_id or 'unknown'}"}


class ListBackupsTool(HomelabTool):
    """Recent backups from Proxmox Backup Server, newest first, at most 20."""

    name = "list_backups"
    description = (
        "List backups (newest first), optionally of one guest (vmid): time, size, "
        "verification state and the volid a restore needs. At most 20 with the total."
    )
    parameters = probatio.Schema(
        {probatio.Optional("vmid", description="Only this guest's backups"): cv.positive_int}
    )
    annotations = READ
    service = "list_backups"

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        return {**args, "limit": MAX_ALERTS}


class BackupGuestTool(HomelabTool):
    """Back a guest up now to Proxmox Backup Server."""

    name = "backup_guest"
    description = (
        "Back up a guest now (snapshot mode) to Proxmox Backup Server and wait for the "
        "task; returns its result."
    )
    parameters = probatio.Schema(
        {
            probatio.Required("vmid"): cv.positive_int,
            probatio.Optional("notes", description="A note stored with the backup"): cv.string,
        }
    )
    annotations = CONTROL
    service = "backup_guest"
    control = True


class ReportTool(HomelabTool):
    """A daily, weekly or monthly homelab report as plain text."""

    name = "generate_report"
    description = (
        "Generate the homelab report: daily (last 24 h: alerts, guests, failed tasks, "
        "backups), weekly (CPU/memory/storage trends vs the previous week) or monthly "
        "(energy and cost). Returns the report text."
    )
    parameters = probatio.Schema(
        {probatio.Required("kind"): probatio.In(["daily", "weekly", "monthly"])}
    )
    annotations = READ
    service = "generate_report"

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        return {**args, "parse_mode": "plain_text"}

    def _shape(self, response: Any) -> JsonObjectType:
        # The text is already bounded (Telegram-sized messages); the figures would double it.
        return {"kind": response.get("kind"), "text": "\n\n".join(response["text"])}


class ListContainersTool(HomelabTool):
    """Containers of the Docker hosts, filtered, at most 50."""

    name = "list_containers"
    description = (
        "List Docker containers with host, name, image, state (running, exited, ...), exit "
        "code, health, CPU and memory. Filters: state, name (part of it). At most 50 with "
        "the total."
    )
    parameters = probatio.Schema(
        {
            probatio.Optional("state"): probatio.In(
                ["created", "running", "restarting", "paused", "exited", "removing", "dead"]
            ),
            probatio.Optional("name"): cv.string,
        }
    )
    annotations = READ
    service = "list_containers"

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        return {**args, "limit": MAX_GUESTS}

    def _shape(self, response: Any) -> JsonObjectType:
        return {
            "containers": response["containers"],
            "shown": response["count"],
            "total": response["total"],
        }


class ContainerTool(HomelabTool):
    """Start or restart a container by name."""

    parameters = probatio.Schema(
        {probatio.Required("container", description="The container's name"): cv.string}
    )
    annotations = CONTROL
    control = True


def _container_tool(name: str, description: str) -> ContainerTool:
    tool = ContainerTool()
    tool.name = tool.service = name
    tool.description = description
    return tool


class RequestContainerStopTool(ContainerTool):
    """Request a container stop: returns an id and a summary to read back."""

    name = "request_container_stop"
    description = (
        "Request a stop of a Docker container. It does NOT run: it returns an action_id and "
        "a summary. Read the summary back to the user, and only after they agree call "
        "confirm_action with the action_id. It expires after the entry's confirmation "
        "window (5 minutes by default)."
    )
    annotations = GUARDED
    service = "stop_container"

    def _data(self, args: dict[str, Any], llm_context: llm.LLMContext) -> dict[str, Any]:
        return dict(args) | _requester(llm_context)

    def _shape(self, response: Any) -> JsonObjectType:
        return {
            **response,
            "next_step": "Read the summary to the user; call confirm_action only if they agree.",
        }


class HomelabAPI(llm.API):
    """The LLM API of the integration."""

    async def async_get_api_instance(self, llm_context: llm.LLMContext) -> llm.APIInstance:
        """Tools and a prompt describing the homelab as it is now."""
        tools: list[llm.Tool] = [
            StatusTool(),
            ListAlertsTool(),
            AcknowledgeTool(),
            SilenceTool(),
            ReportTool(),
        ]
        if loaded_entries(self.hass, SourceKind.PROXMOX_VE):
            tools += [
                ListGuestsTool(),
                _power_tool("start_guest", "start_guest", "Start a guest by VM ID or name."),
                _power_tool(
                    "shutdown_guest",
                    "shutdown_guest",
                    "Shut a guest down gracefully (ACPI / init) by VM ID or name.",
                ),
                _power_tool("reboot_guest", "reboot_guest", "Reboot a guest gracefully."),
                RequestDestructiveTool(),
                ConfirmTool(),
                CancelTool(),
            ]
        if loaded_entries(self.hass, SourceKind.PROXMOX_BACKUP):
            tools += [ListBackupsTool(), BackupGuestTool()]
        if loaded_entries(self.hass, SourceKind.DOCKER):
            tools += [
                ListContainersTool(),
                _container_tool("start_container", "Start a Docker container by name."),
                _container_tool(
                    "restart_container", "Restart a Docker container by name (stop, then start)."
                ),
                RequestContainerStopTool(),
            ]
            if not loaded_entries(self.hass, SourceKind.PROXMOX_VE):
                tools += [ConfirmTool(), CancelTool()]
        from .agent_network import network_tools  # noqa: PLC0415 - it builds on this module

        tools += network_tools(self.hass, tools)
        return llm.APIInstance(
            api=self, api_prompt=_prompt(self.hass), llm_context=llm_context, tools=tools
        )


@callback
def async_register_llm_api(hass: HomeAssistant) -> None:
    """Register the API once per Home Assistant instance."""
    llm.async_register_api(hass, HomelabAPI(hass=hass, id=API_ID, name=API_NAME))
