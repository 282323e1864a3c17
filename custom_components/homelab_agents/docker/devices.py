"""A Docker host's devices: the engine (a service) and each container under it."""

from __future__ import annotations

from homeassistant.helpers import device_registry as dr

from ..const import DOMAIN
from ..devices import EntryDevices
from .const import DOCKER_MANUFACTURER
from .models import Container, EngineSnapshot


def engine_identifier(identity: str) -> str:
    """Identifier of the engine device."""
    return f"{identity}/engine"


def container_identifier(identity: str, key: str) -> str:
    """Identifier of a container device: its stable key, not its ID (which re-creation changes)."""
    return f"{identity}/container/{key}"


class EngineDevices(EntryDevices):
    """Registers the engine and its containers; keeps names and images current."""

    manufacturer = DOCKER_MANUFACTURER

    def __init__(
        self, registry: dr.DeviceRegistry, entry_id: str, identity: str, title: str, web_url: str
    ) -> None:
        """Manage the devices of the entry `entry_id` for the engine `identity`."""
        super().__init__(registry, entry_id, identity, title, web_url)
        self._shown: dict[str, tuple[str, str]] = {}  # key -> (name, image)

    def sync(self, snapshot: EngineSnapshot) -> None:
        """Register new containers, rename re-created ones; cheap when nothing changed."""
        engine = engine_identifier(self._identity)
        if engine not in self._ids:
            self._create(
                engine,
                name=self._title,
                model="Docker Engine",
                sw_version=snapshot.version or None,
                entry_type=dr.DeviceEntryType.SERVICE,
            )
        for key, container in snapshot.containers.items():
            shown = (container.name, container.listed.image)
            if self._shown.get(key) != shown:
                self._register(key, container, self._ids[engine])
                self._shown[key] = shown

    def _register(self, key: str, container: Container, engine_id: str) -> None:
        # get_or_create also renames an existing device (a renamed or re-created container).
        self._create(
            container_identifier(self._identity, key),
            name=container.name,
            model=container.listed.image,
            via_device_id=engine_id,
        )

    def key_of(self, device: dr.DeviceEntry | dr.ChildDeviceEntry) -> str | None:
        """The container key a device of this engine stands for, if any."""
        prefix = container_identifier(self._identity, "")
        for domain, identifier in device.identifiers:
            if domain == DOMAIN and identifier.startswith(prefix):
                return identifier.removeprefix(prefix)
        return None
