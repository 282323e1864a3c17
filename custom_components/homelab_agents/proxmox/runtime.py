"""A Proxmox VE entry while it runs: client, coordinator, dynamic devices, power actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    Platform,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util.json import JsonObjectType

from ..confirm import PendingAction, async_get_confirmations
from ..const import (
    CONF_CONFIRMATION_MINUTES,
    CONF_PLANNED_SILENCES,
    CONF_TASK_TIMEOUT,
    CONF_TOKEN_ID,
    CONF_TOKEN_SECRET,
    DEFAULT_CONFIRMATION_MINUTES,
    DEFAULT_TASK_TIMEOUT,
    DOMAIN,
)
from ..planned_silences import PlannedSilence, async_expire_later, async_silence_guest
from ..runtime import HomelabAgentsConfigEntry
from .client import (
    ProxmoxAuthError,
    ProxmoxClient,
    ProxmoxCredentials,
    ProxmoxError,
    ProxmoxPermissionError,
)
from .coordinator import ProxmoxCoordinator
from .devices import ClusterDevices
from .entities import cluster_entities, guest_entities, node_entities, storage_entities
from .models import ClusterSnapshot, Guest
from .tasks import TaskOutcome, TaskResult, wait_for_task

EVENT_TASK_FINISHED: Final = f"{DOMAIN}_task_finished"
# Actions Home Assistant plans around: alerts about the guest are silenced meanwhile.
PLANNED_ACTIONS: Final = frozenset({"shutdown", "reboot", "stop", "reset"})
ACTION_LABELS: Final = {
    "stop": "Hard stop",
    "reset": "Reset",
    "start": "Start",
    "shutdown": "Shut down",
    "reboot": "Restart",
    "suspend": "Suspend",
    "resume": "Resume",
}
NODE_COMMANDS: Final = {"shutdown": "Shut down node", "reboot": "Reboot node"}


def credentials_from(data: dict[str, Any]) -> ProxmoxCredentials:
    """Connection settings from entry (or flow) data."""
    return ProxmoxCredentials(
        host=data[CONF_HOST],
        port=int(data[CONF_PORT]),
        username=data[CONF_USERNAME],
        verify_ssl=data[CONF_VERIFY_SSL],
        token_id=data.get(CONF_TOKEN_ID) or None,
        token_secret=data.get(CONF_TOKEN_SECRET) or None,
        password=data.get(CONF_PASSWORD) or None,
    )


class ProxmoxRuntime:
    """Everything one Proxmox VE entry runs."""

    platforms: tuple[Platform, ...] = (
        Platform.BINARY_SENSOR,
        Platform.BUTTON,
        Platform.SENSOR,
        Platform.SWITCH,
    )

    def __init__(self, hass: HomeAssistant, entry: HomelabAgentsConfigEntry) -> None:
        """Wire client and coordinator; nothing runs until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.identity = str(entry.unique_id)
        self.client = ProxmoxClient(hass, credentials_from(dict(entry.data)))
        self.coordinator = ProxmoxCoordinator(hass, entry, self.client)
        self.task_timeout = timedelta(
            seconds=entry.options.get(CONF_TASK_TIMEOUT, DEFAULT_TASK_TIMEOUT)
        )
        self.confirmation_ttl = timedelta(
            minutes=entry.options.get(CONF_CONFIRMATION_MINUTES, DEFAULT_CONFIRMATION_MINUTES)
        )
        self.planned_silences = entry.options.get(CONF_PLANNED_SILENCES, True)
        self.web_url = f"https://{entry.data[CONF_HOST]}:{entry.data[CONF_PORT]}/"
        self._adders: dict[str, AddConfigEntryEntitiesCallback] = {}
        self._known_nodes: set[str] = set()
        self._known_guests: set[int] = set()
        self._known_storages: set[str] = set()
        self.devices = ClusterDevices(
            dr.async_get(hass), entry.entry_id, self.identity, entry.title, self.web_url
        )

    async def async_start(self) -> None:
        """First poll (ConfigEntryNotReady while Proxmox is down), then follow changes."""
        await self.coordinator.async_config_entry_first_refresh()
        self.devices.sync(self.coordinator.data)
        self._update_tls_issue()
        self._update_visibility_issue(self.coordinator.data)
        self.entry.async_on_unload(self.coordinator.async_add_listener(self._cluster_changed))

    async def async_unload(self) -> None:
        """Pending confirmations of this entry would act on a stale runtime: cancel them."""
        async_get_confirmations(self.hass).async_cancel_entry(self.entry.entry_id)

    def diagnostics(self) -> dict[str, Any]:
        """Counts and poll state; no guest names beyond ids."""
        data = self.coordinator.data
        return {
            "cluster": data.name,
            "quorate": data.quorate,
            "nodes": {name: node.online for name, node in data.nodes.items()},
            "guests": len(data.guests),
            "running": sum(g.running for g in data.guests.values()),
            "storages": sorted(data.storages),
            "last_update_success": self.coordinator.last_update_success,
            "task_timeout_s": self.task_timeout.total_seconds(),
        }

    # Entities that come and go with the cluster

    @callback
    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add what exists now; later additions come from `_cluster_changed`."""
        self._adders[platform.value] = async_add_entities
        data = self.coordinator.data
        entities: list[Entity] = cluster_entities(self, platform.value)
        for node in data.nodes:
            entities += node_entities(self, platform.value, node)
        for guest in data.guests.values():
            entities += guest_entities(self, platform.value, guest)
        for key in data.storages:
            entities += storage_entities(self, platform.value, key)
        async_add_entities(entities)
        self._known_nodes = set(data.nodes)
        self._known_guests = set(data.guests)
        self._known_storages = set(data.storages)

    @callback
    def _cluster_changed(self) -> None:
        data = self.coordinator.data
        if not self.coordinator.last_update_success:
            return
        self.devices.sync(data)
        self._add_new(data)
        self._remove_vanished(data)
        self._update_visibility_issue(data)

    def _add_new(self, data: ClusterSnapshot) -> None:
        new_nodes = set(data.nodes) - self._known_nodes
        new_guests = set(data.guests) - self._known_guests
        new_storages = set(data.storages) - self._known_storages
        if not (new_nodes or new_guests or new_storages):
            return
        for platform, add in self._adders.items():
            entities: list[Entity] = []
            for node in sorted(new_nodes):
                entities += node_entities(self, platform, node)
            for vmid in sorted(new_guests):
                entities += guest_entities(self, platform, data.guests[vmid])
            for key in sorted(new_storages):
                entities += storage_entities(self, platform, key)
            if entities:
                add(entities)
        self._known_nodes |= new_nodes
        self._known_guests |= new_guests
        self._known_storages |= new_storages

    def _remove_vanished(self, data: ClusterSnapshot) -> None:
        """Deleted guests' devices go; a token that sees no guests at all deletes nothing."""
        if not data.guests and self._known_guests:
            return  # see the no_guests_visible repair
        for vmid in self._known_guests - set(data.guests):
            self.devices.remove_guest(vmid)
        self._known_guests &= set(data.guests)

    def vmid_of_device(self, device: dr.DeviceEntry | dr.ChildDeviceEntry) -> int | None:
        """The guest a device of this entry stands for, if any."""
        return self.devices.vmid_of(device)

    def device_is_current(self, device: dr.DeviceEntry) -> bool:
        """Nodes and storages, and guests the cluster still has (gone guests may be deleted)."""
        vmid = self.vmid_of_device(device)
        return vmid is None or vmid in self.coordinator.data.guests

    # Repairs

    def _update_tls_issue(self) -> None:
        issue_id = f"tls_verification_off_{self.entry.entry_id}"
        if self.entry.data[CONF_VERIFY_SSL]:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="tls_verification_off",
            translation_placeholders={"title": self.entry.title},
        )

    def _update_visibility_issue(self, data: ClusterSnapshot) -> None:
        issue_id = f"no_guests_visible_{self.entry.entry_id}"
        if data.guests or not data.nodes:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="no_guests_visible",
            translation_placeholders={"title": self.entry.title},
        )

    # Power actions

    @callback
    def async_request_confirmed(self, vmid: int, action: str, requester: str) -> PendingAction:
        """Record a guest action that runs only when its requester confirms it.

        Hard stop and reset always come here; other actions when the caller asks first.
        """
        guest = self._guest(vmid)
        label = guest.name or f"guest {vmid}"
        summary = f"{ACTION_LABELS[action]} of {label} (VM ID {vmid}) on {guest.node}"

        async def execute() -> JsonObjectType:
            return {"vmid": vmid, **(await self.async_power(vmid, action)).as_dict()}

        return async_get_confirmations(self.hass).async_request(
            kind=f"{action}_guest",
            summary=summary,
            requester=requester,
            config_entry_id=self.entry.entry_id,
            target={"vmid": vmid, "name": guest.name, "node": guest.node, "action": action},
            execute=execute,
            ttl=self.confirmation_ttl,
        )

    @callback
    def async_request_node_power(self, node: str, command: str, requester: str) -> PendingAction:
        """Shut down or reboot a node: only recorded; it runs on confirmation."""
        if node not in self.coordinator.data.nodes:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_node",
                translation_placeholders={"node": node},
            )
        running = sum(g.running for g in self.coordinator.data.guests.values() if g.node == node)
        summary = f"{NODE_COMMANDS[command]} {node} ({running} running guests)"

        async def execute() -> JsonObjectType:
            await self._call_node(node, command)
            return {"node": node, "command": command, "status": "ok"}

        return async_get_confirmations(self.hass).async_request(
            kind=f"{command}_node",
            summary=summary,
            requester=requester,
            config_entry_id=self.entry.entry_id,
            target={"node": node, "command": command},
            execute=execute,
            ttl=self.confirmation_ttl,
        )

    async def _call_node(self, node: str, command: str) -> None:
        try:
            await self.client.call("post", f"nodes/{node}/status", command=command)
        except ProxmoxPermissionError as err:
            self._raise_privilege_issue(str(err))
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="missing_privilege",
                translation_placeholders={"error": str(err)},
            ) from err
        except ProxmoxError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="node_action_failed",
                translation_placeholders={"command": command, "node": node, "error": str(err)},
            ) from err
        await self.coordinator.async_refresh()

    def _guest(self, vmid: int) -> Guest:
        guest = self.coordinator.data.guests.get(vmid)
        if guest is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_guest",
                translation_placeholders={"vmid": str(vmid)},
            )
        return guest

    async def async_power(self, vmid: int, action: str) -> TaskResult:
        """Run a power action, wait for its task, announce and return it.

        Destructive actions (stop, reset) reach this only through a confirmation.
        """
        guest = self._guest(vmid)
        if action == "reset" and guest.guest_type != "qemu":
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="reset_needs_vm",
                translation_placeholders={"vmid": str(vmid)},
            )
        silences: list[PlannedSilence] = []
        if self.planned_silences and action in PLANNED_ACTIONS:
            silences = await async_silence_guest(
                self.hass, vmid, guest.name, action, self.task_timeout
            )
        try:
            return await self._run_power(guest, action)
        finally:
            async_expire_later(self.hass, silences)

    async def _run_power(self, guest: Guest, action: str) -> TaskResult:
        vmid = guest.vmid
        path = f"nodes/{guest.node}/{guest.guest_type}/{vmid}/status/{action}"
        try:
            upid = await self.client.call("post", path)
        except ProxmoxPermissionError as err:
            self._raise_privilege_issue(str(err))
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="missing_privilege",
                translation_placeholders={"error": str(err)},
            ) from err
        except ProxmoxAuthError as err:
            self.entry.async_start_reauth(self.hass)
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="proxmox_auth_failed"
            ) from err
        except ProxmoxError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="action_failed",
                translation_placeholders={"action": action, "vmid": str(vmid), "error": str(err)},
            ) from err
        ir.async_delete_issue(self.hass, DOMAIN, f"missing_privilege_{self.entry.entry_id}")
        result = await wait_for_task(self.client, guest.node, str(upid), self.task_timeout)
        self.hass.bus.async_fire(
            EVENT_TASK_FINISHED,
            {
                "config_entry_id": self.entry.entry_id,
                "vmid": vmid,
                "name": guest.name,
                "action": action,
                **result.as_dict(),
            },
        )
        # Show the outcome at once (the debounced refresh would wait out its cooldown).
        await self.coordinator.async_refresh()
        if result.outcome is TaskOutcome.ERROR:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="task_failed",
                translation_placeholders={
                    "action": action,
                    "vmid": str(vmid),
                    "error": str(result.exitstatus),
                },
            )
        return result

    def _raise_privilege_issue(self, message: str) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"missing_privilege_{self.entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="missing_privilege",
            translation_placeholders={"title": self.entry.title, "error": message},
        )


async def async_start_proxmox(
    hass: HomeAssistant, entry: HomelabAgentsConfigEntry
) -> ProxmoxRuntime:
    """Create and start the runtime; ConfigEntryNotReady/AuthFailed from the first poll."""
    runtime = ProxmoxRuntime(hass, entry)
    await runtime.async_start()
    return runtime
