"""How service actions find what a call addresses: loaded entries of a kind, targeted devices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er, service
from homeassistant.helpers.target import TargetSelection, async_extract_referenced_entity_ids

from .const import CONF_KIND, DOMAIN, SourceKind

ATTR_CONFIG_ENTRY_ID = "config_entry_id"


class _EntryRuntime(Protocol):
    entry: ConfigEntry[Any]


def loaded_entries(hass: HomeAssistant, kind: SourceKind) -> list[ConfigEntry[Any]]:
    """The entries of one kind that run now."""
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED and entry.data.get(CONF_KIND) == kind
    ]


def loaded_runtimes(hass: HomeAssistant, kind: SourceKind) -> list[Any]:
    """The runtimes of the entries of one kind that run now."""
    return [entry.runtime_data for entry in loaded_entries(hass, kind)]


def called_runtimes(
    hass: HomeAssistant, call: ServiceCall, kind: SourceKind, *, wrong_kind: str, missing: str
) -> list[Any]:
    """The entry the call names (`config_entry_id`), or every loaded entry of the kind.

    `wrong_kind` and `missing` are the translation keys of the errors for an entry of another
    kind and for no loaded entry at all.
    """
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        entry = service.async_get_config_entry(hass, DOMAIN, entry_id)
        if entry.data.get(CONF_KIND) != kind:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=wrong_kind,
                translation_placeholders={"entry_title": entry.title},
            )
        return [entry.runtime_data]
    runtimes = loaded_runtimes(hass, kind)
    if not runtimes:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key=missing)
    return runtimes


def device_targets[R: _EntryRuntime, K: (str, int)](
    hass: HomeAssistant,
    call: ServiceCall,
    runtimes: list[R],
    key_of: Callable[[R, dr.DeviceEntry | dr.ChildDeviceEntry], K | None],
) -> list[tuple[R, K]]:
    """The (runtime, object key) pairs of the devices the call targets, directly or by entity.

    `key_of` tells which of a runtime's objects (guest, container, node…) a device stands for.
    Sorted by entry and key, each pair once.
    """
    referenced = async_extract_referenced_entity_ids(hass, TargetSelection(call.data))
    entity_registry = er.async_get(hass)
    device_registry = dr.async_get(hass)
    device_ids = set(referenced.referenced_devices)
    for entity_id in referenced.referenced | referenced.indirectly_referenced:
        if (entity := entity_registry.async_get(entity_id)) and entity.device_id:
            device_ids.add(entity.device_id)
    targets: dict[tuple[str, K], tuple[R, K]] = {}
    for device_id in device_ids:
        if (device := device_registry.async_get(device_id)) is None:
            continue
        for runtime in runtimes:
            if runtime.entry.entry_id not in device.config_entries:
                continue
            if (key := key_of(runtime, device)) is not None:
                targets[runtime.entry.entry_id, key] = (runtime, key)
    return [targets[pair] for pair in sorted(targets)]
