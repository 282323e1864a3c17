"""PBS entities: datastore figures, per backup group freshness and verification, actions.

Per backup group three entities are enabled by default (last backup, verification state,
problem) plus the "Back up now" button; age, size, count and "Verify" are created disabled.
Entities write state only when what they show changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import math
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, UnitOfInformation, UnitOfTime
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.util import dt as dt_util

from ..entity import ChangeOnlyCoordinatorEntity, device_ref
from ..proxmox.tasks import TaskOutcome
from .coordinator import PbsCoordinator
from .devices import datastore_identifier, group_identifier, server_identifier
from .models import VERIFY_STATES, BackupGroup, Datastore

if TYPE_CHECKING:
    from .runtime import PbsRuntime

GC_STATES = [outcome.value for outcome in (TaskOutcome.OK, TaskOutcome.WARNING, TaskOutcome.ERROR)]
LISTED_GUESTS = 50  # attribute size stays far below the recorder's limit


@dataclass(frozen=True, kw_only=True)
class DatastoreSensorDescription(SensorEntityDescription):
    """A figure of a datastore."""

    value_fn: Callable[[Datastore], Any]
    attributes_fn: Callable[[Datastore], dict[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class GroupSensorDescription(SensorEntityDescription):
    """A figure of a guest's backups."""

    value_fn: Callable[[BackupGroup, datetime], Any]
    attributes_fn: Callable[[BackupGroup], dict[str, Any]] | None = None


def _percent(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole * 100, 1)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


_BYTES: dict[str, Any] = {
    "device_class": SensorDeviceClass.DATA_SIZE,
    "native_unit_of_measurement": UnitOfInformation.BYTES,
    "suggested_unit_of_measurement": UnitOfInformation.GIBIBYTES,
    "suggested_display_precision": 1,
    "state_class": SensorStateClass.MEASUREMENT,
}

DATASTORE_SENSORS: tuple[DatastoreSensorDescription, ...] = (
    DatastoreSensorDescription(
        key="datastore_used", translation_key="datastore_used", value_fn=lambda d: d.used, **_BYTES
    ),
    DatastoreSensorDescription(
        key="datastore_free", translation_key="datastore_free", value_fn=lambda d: d.avail, **_BYTES
    ),
    DatastoreSensorDescription(
        key="datastore_usage",
        translation_key="datastore_usage",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda d: _percent(d.used, d.total),
    ),
    DatastoreSensorDescription(
        key="datastore_size",
        translation_key="datastore_size",
        entity_registry_enabled_default=False,
        value_fn=lambda d: d.total,
        **_BYTES,
    ),
    DatastoreSensorDescription(
        key="estimated_full",
        translation_key="estimated_full",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda d: d.estimated_full,
    ),
    DatastoreSensorDescription(
        key="deduplication",
        translation_key="deduplication",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda d: d.deduplication,
    ),
    DatastoreSensorDescription(
        key="gc_status",
        translation_key="gc_status",
        device_class=SensorDeviceClass.ENUM,
        options=GC_STATES,
        value_fn=lambda d: None if d.gc_outcome is None else d.gc_outcome.value,
        attributes_fn=lambda d: {
            "last_run": _iso(d.gc_ended),
            "message": d.gc_message,
            "removed_bytes": d.gc_removed,
            "pending_bytes": d.gc_pending,
        },
    ),
)

GROUP_SENSORS: tuple[GroupSensorDescription, ...] = (
    GroupSensorDescription(
        key="last_backup",
        translation_key="last_backup",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda g, _: g.newest.time,
    ),
    GroupSensorDescription(
        key="verification",
        translation_key="verification",
        device_class=SensorDeviceClass.ENUM,
        options=list(VERIFY_STATES),
        value_fn=lambda g, _: g.newest.verification,
        attributes_fn=lambda g: {"verified_at": _iso(g.newest.verified_at)},
    ),
    GroupSensorDescription(
        key="backup_age",
        translation_key="backup_age",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        # Whole hours: one state write an hour, not one a poll.
        value_fn=lambda g, now: math.floor((now - g.newest.time).total_seconds() / 3600),
    ),
    GroupSensorDescription(
        key="backup_size",
        translation_key="backup_size",
        entity_registry_enabled_default=False,
        value_fn=lambda g, _: g.newest.size,
        **_BYTES,
    ),
    GroupSensorDescription(
        key="backup_count",
        translation_key="backup_count",
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        value_fn=lambda g, _: len(g.snapshots),
    ),
)

PROBLEM = BinarySensorEntityDescription(
    key="backup_problem",
    translation_key="backup_problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
)
BACK_UP_NOW = ButtonEntityDescription(key="back_up_now", translation_key="back_up_now")
VERIFY_GROUP = ButtonEntityDescription(
    key="verify_backups", translation_key="verify_backups", entity_registry_enabled_default=False
)
VERIFY_DATASTORE = ButtonEntityDescription(key="verify_backups", translation_key="verify_backups")
UNPROTECTED = SensorEntityDescription(
    key="guests_without_backup",
    translation_key="guests_without_backup",
    state_class=SensorStateClass.MEASUREMENT,
)


class PbsEntity(ChangeOnlyCoordinatorEntity[PbsCoordinator]):
    """An entity of the backup server."""

    def __init__(
        self, runtime: PbsRuntime, description: EntityDescription, unique_prefix: str, device: str
    ) -> None:
        """Attach to a device of the server."""
        super().__init__(runtime.coordinator)
        self.runtime = runtime
        self.entity_description = description
        self._attr_unique_id = f"{unique_prefix}_{description.key}"
        self._attr_device_info = device_ref(device)


class DatastoreEntity(PbsEntity):
    """An entity of one datastore."""

    def __init__(self, runtime: PbsRuntime, description: EntityDescription, name: str) -> None:
        """Follow the named datastore."""
        super().__init__(
            runtime,
            description,
            f"{runtime.identity}_datastore_{name}",
            datastore_identifier(runtime.identity, name),
        )
        self.datastore_name = name

    @property
    def datastore(self) -> Datastore | None:
        """The datastore in the latest poll."""
        return self.coordinator.data.datastores.get(self.datastore_name)

    @property
    def available(self) -> bool:
        """Known in the latest successful poll."""
        return super().available and self.datastore is not None


class DatastoreSensor(DatastoreEntity, SensorEntity):
    """A figure of a datastore."""

    entity_description: DatastoreSensorDescription

    @property
    def native_value(self) -> Any:
        """The figure."""
        datastore = self.datastore
        return None if datastore is None else self.entity_description.value_fn(datastore)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details of the figure, where it has any."""
        datastore, attributes_fn = self.datastore, self.entity_description.attributes_fn
        return None if datastore is None or attributes_fn is None else attributes_fn(datastore)


class DatastoreVerifyButton(DatastoreEntity, ButtonEntity):
    """Verify every snapshot of the datastore."""

    async def async_press(self) -> None:
        """Start the verification and wait for it."""
        await self.runtime.async_verify(self.datastore_name, None)


class GroupEntity(PbsEntity):
    """An entity of one guest's backups in one datastore."""

    def __init__(
        self, runtime: PbsRuntime, description: EntityDescription, group: BackupGroup
    ) -> None:
        """Follow the group with this key."""
        key = group.key
        super().__init__(
            runtime,
            description,
            f"{runtime.identity}_group_{key}",
            group_identifier(runtime.identity, key),
        )
        self.key = key

    @property
    def backup_group(self) -> BackupGroup | None:
        """The group in the latest poll."""
        return self.coordinator.data.groups.get(self.key)

    @property
    def available(self) -> bool:
        """Known in the latest successful poll."""
        return super().available and self.backup_group is not None


class GroupSensor(GroupEntity, SensorEntity):
    """A figure of a guest's backups."""

    entity_description: GroupSensorDescription

    @property
    def native_value(self) -> Any:
        """The figure."""
        group = self.backup_group
        if group is None:
            return None
        return self.entity_description.value_fn(group, dt_util.utcnow())

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details of the figure, where it has any."""
        group, attributes_fn = self.backup_group, self.entity_description.attributes_fn
        return None if group is None or attributes_fn is None else attributes_fn(group)


class GroupProblemSensor(GroupEntity, BinarySensorEntity):
    """On when the newest backup is older than the threshold or failed verification."""

    @property
    def is_on(self) -> bool | None:
        """Whether the guest's backups need attention."""
        group = self.backup_group
        return None if group is None else self.runtime.problem_of(group) is not None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Why, and the threshold that applies."""
        group = self.backup_group
        if group is None:
            return None
        return {
            "reason": self.runtime.problem_of(group),
            "threshold_hours": self.runtime.freshness.total_seconds() / 3600,
        }


class BackUpNowButton(GroupEntity, ButtonEntity):
    """Back the guest up now (vzdump through its Proxmox VE cluster)."""

    def __init__(self, runtime: PbsRuntime, group: BackupGroup, vmid: int) -> None:
        """Back up the guest with this VM ID."""
        super().__init__(runtime, BACK_UP_NOW, group)
        self.vmid = vmid

    async def async_press(self) -> None:
        """Run the backup and wait for its task."""
        await self.runtime.async_backup_guest(self.vmid)


class GroupVerifyButton(GroupEntity, ButtonEntity):
    """Verify every snapshot of the guest's backup group."""

    def __init__(self, runtime: PbsRuntime, group: BackupGroup) -> None:
        """Verify this group."""
        super().__init__(runtime, VERIFY_GROUP, group)
        self.scope = (group.datastore, group.backup_type, group.backup_id)

    async def async_press(self) -> None:
        """Run the verification and wait for its task."""
        datastore, backup_type, backup_id = self.scope
        await self.runtime.async_verify(datastore, (backup_type, backup_id))


class GuestsWithoutBackupSensor(PbsEntity, SensorEntity):
    """Guests of the loaded Proxmox VE entries that no backup server has a backup of."""

    def __init__(self, runtime: PbsRuntime) -> None:
        """Attach to the server device."""
        super().__init__(
            runtime,
            UNPROTECTED,
            f"{runtime.identity}_server",
            server_identifier(runtime.identity),
        )

    @property
    def native_value(self) -> int | None:
        """How many; unknown while no Proxmox VE entry is loaded."""
        guests = self.runtime.guests_without_backup()
        return None if guests is None else len(guests)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The first of them by VM ID."""
        guests = self.runtime.guests_without_backup() or []
        return {"guests": [guest.label for guest in guests[:LISTED_GUESTS]]}


def server_entities(runtime: PbsRuntime, platform: str) -> list[Entity]:
    """Entities of the server device."""
    return [GuestsWithoutBackupSensor(runtime)] if platform == "sensor" else []


def datastore_entities(runtime: PbsRuntime, platform: str, name: str) -> list[Entity]:
    """Entities of one datastore."""
    if platform == "sensor":
        return [DatastoreSensor(runtime, d, name) for d in DATASTORE_SENSORS]
    if platform == "button":
        return [DatastoreVerifyButton(runtime, VERIFY_DATASTORE, name)]
    return []


def group_entities(runtime: PbsRuntime, platform: str, group: BackupGroup) -> list[Entity]:
    """Entities of one backup group."""
    if platform == "sensor":
        return [GroupSensor(runtime, d, group) for d in GROUP_SENSORS]
    if platform == "binary_sensor":
        return [GroupProblemSensor(runtime, PROBLEM, group)]
    if platform == "button":
        buttons: list[Entity] = [GroupVerifyButton(runtime, group)]
        if group.vmid is not None and group.guest_type is not None:
            buttons.insert(0, BackUpNowButton(runtime, group, group.vmid))
        return buttons
    return []
