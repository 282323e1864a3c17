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

from ..const import (
    CONF_TASK_TIMEOUT,
    CONF_TOKEN_ID,
    CONF_TOKEN_SECRET,
    DEFAULT_TASK_TIMEOUT,
    DOMAIN,
)
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
from .models import ClusterSnapshot
from .tasks import TaskOutcome, TaskResult, wait_for_task

EVENT_TASK_FINISHED: Final = f"{DOMAIN}_task_finished"
POWER_ACTIONS: Final = ("start", "shutdown", "reboot", "suspend", "resume")


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
        """Nothing to flush: state lives in Proxmox."""

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

    async def async_power(self, vmid: int, action: str) -> TaskResult:
        """Run a non-destructive power action, wait for its task, announce and return it."""
        guest = self.coordinator.data.guests.get(vmid)
        if guest is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_guest",
                translation_placeholders={"vmid": str(vmid)},
            )
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
