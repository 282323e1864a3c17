"""The contract between a config entry's source kind and the shared platform modules."""

from __future__ import annotations

from typing import Any, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback


class SourceRuntime(Protocol):
    """What every source kind keeps in `entry.runtime_data`."""

    platforms: tuple[Platform, ...]

    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add this source's entities of one platform (and later ones as they appear)."""

    async def async_unload(self) -> None:
        """Stop receiving and persist what is pending."""

    def diagnostics(self) -> dict[str, Any]:
        """Source-specific diagnostics; secrets are redacted by the caller and here."""

    def device_is_current(self, device: dr.DeviceEntry) -> bool:
        """Whether a device of the entry still stands for something the source has.

        Devices that are not current may be deleted by the user.
        """


type HomelabAgentsConfigEntry = ConfigEntry[SourceRuntime]
