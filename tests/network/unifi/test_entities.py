"""UniFi entities end to end: site figures, per-device sensors, devices that come and go."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents import async_remove_config_entry_device
from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.diagnostics import async_get_config_entry_diagnostics
from custom_components.homelab_agents.network.unifi.runtime import UnifiRuntime
from simulators.unifi import SimDevice, UnifiSimulator

PREFIX = "unifi_udm_pro_default"
WAN = f"binary_sensor.{PREFIX}_wan"


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 60) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


async def test_site_figures(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """WAN, throughput in Mbit/s, latency and counts match what the console reports."""
    now = unifi.now
    net = unifi.network
    assert _state(hass, WAN) == "on"
    download = hass.states.get(f"sensor.{PREFIX}_wan_download")
    assert download is not None
    assert download.attributes["unit_of_measurement"] == "Mbit/s"
    assert abs(float(download.state) - net.download_rate(now) * 8 / 1_000_000) < 1e-6
    assert float(_state(hass, f"sensor.{PREFIX}_wan_latency")) == net.latency(now)
    assert int(_state(hass, f"sensor.{PREFIX}_clients")) == len(net.online_clients(now))
    assert _state(hass, f"sensor.{PREFIX}_devices_online") == "4"
    assert _state(hass, f"sensor.{PREFIX}_devices_offline") == "0"
    assert _state(hass, f"sensor.{PREFIX}_firmware_updates_available") == "1"
    assert _state(hass, f"sensor.{PREFIX}_new_clients_24_hours") == "0"
    # The WAN address is a diagnostic entity, disabled by default.
    registry = er.async_get(hass)
    wan_ip = registry.async_get(f"sensor.{PREFIX}_wan_ip_address")
    assert wan_ip is not None
    assert wan_ip.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_devices_and_their_sensors(
    hass: HomeAssistant, unifi: UnifiSimulator, setup_unifi: MockConfigEntry
) -> None:
    """One HA device per UniFi device (under the site), each with two sensors; no clients."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), setup_unifi.entry_id)
    site = next(d for d in devices if d.entry_type is dr.DeviceEntryType.SERVICE)
    assert site.model == "UniFi Network (UniFi OS)"
    children = [d for d in devices if d.via_device_id == site.id]
    assert sorted(d.name for d in children) == sorted(
        device.name for device in unifi.network.devices.values()
    )
    assert len(devices) == 5  # the site and four UniFi devices, whatever the client count
    upstairs = next(d for d in children if d.name == "Upstairs AP")
    assert upstairs.manufacturer == "Ubiquiti"
    assert upstairs.model == "UAL6"
    assert upstairs.sw_version == "6.6.65.15248"
    update = hass.states.get("binary_sensor.upstairs_ap_firmware_update")
    assert update is not None
    assert update.state == "on"
    assert update.attributes["installed_version"] == "6.6.65.15248"
    assert update.attributes["latest_version"] == "6.6.77.15402"
    assert _state(hass, "binary_sensor.living_room_ap_firmware_update") == "off"
    assert _state(hass, "binary_sensor.upstairs_ap_connected") == "on"


async def test_device_offline_wan_down_and_new_client(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """An AP dropping off, the internet going down and a new client show on the next poll."""
    ap = next(d for d in unifi.network.devices.values() if d.name == "Living room AP")
    unifi.network.take_offline(ap.mac)
    unifi.network.set_wan_down()
    unifi.network.add_client("stranger-phone", unifi.now)
    await _poll(hass, freezer)
    assert _state(hass, "binary_sensor.living_room_ap_connected") == "off"
    assert _state(hass, f"sensor.{PREFIX}_devices_offline") == "1"
    assert _state(hass, f"sensor.{PREFIX}_devices_online") == "3"
    assert _state(hass, WAN) == "off"
    assert _state(hass, f"sensor.{PREFIX}_wan_latency") == STATE_UNKNOWN
    assert _state(hass, f"sensor.{PREFIX}_new_clients_24_hours") == "1"

    unifi.network.clear()
    await _poll(hass, freezer)
    assert _state(hass, "binary_sensor.living_room_ap_connected") == "on"
    assert _state(hass, WAN) == "on"
    # Still new within its first day, though it left again.
    assert _state(hass, f"sensor.{PREFIX}_new_clients_24_hours") == "1"
    await _poll(hass, freezer, 24 * 3600)
    assert _state(hass, f"sensor.{PREFIX}_new_clients_24_hours") == "0"


async def test_adopted_device_gets_entities_and_firmware_updates(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """A newly adopted device appears with its sensors; an upgrade updates its version."""
    unifi.network.devices["78:45:58:aa:bb:cc"] = SimDevice(
        mac="78:45:58:aa:bb:cc",
        name="Garage AP",
        model="U7PG2",
        device_type="uap",
        version="6.5.28.14491",
        ip="192.168.1.9",
        upgrade_to="6.6.77.15402",
    )
    await _poll(hass, freezer)
    assert _state(hass, "binary_sensor.garage_ap_connected") == "on"
    assert _state(hass, "binary_sensor.garage_ap_firmware_update") == "on"
    assert _state(hass, f"sensor.{PREFIX}_firmware_updates_available") == "2"

    garage = unifi.network.devices["78:45:58:aa:bb:cc"]
    garage.version, garage.upgrade_to = "6.6.77.15402", None
    await _poll(hass, freezer)
    assert _state(hass, "binary_sensor.garage_ap_firmware_update") == "off"
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{setup_unifi.unique_id}/device/78:45:58:aa:bb:cc"), setup_unifi.entry_id
    )
    assert device is not None
    assert device.sw_version == "6.6.77.15402"


async def test_forgotten_device_is_unavailable_and_removable(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """A device removed from the console goes unavailable; only such a device can be deleted."""
    ap = next(d for d in unifi.network.devices.values() if d.name == "Upstairs AP")
    del unifi.network.devices[ap.mac]
    await _poll(hass, freezer)
    assert _state(hass, "binary_sensor.upstairs_ap_connected") == STATE_UNAVAILABLE
    registry = dr.async_get(hass)
    devices = dr.async_entries_for_config_entry(registry, setup_unifi.entry_id)
    stale = next(d for d in devices if d.name == "Upstairs AP")
    current = [d for d in devices if d.id != stale.id]
    assert await async_remove_config_entry_device(hass, setup_unifi, stale)
    for device in current:
        assert not await async_remove_config_entry_device(hass, setup_unifi, device)


async def test_deleted_site_makes_entities_unavailable(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """A site deleted on the console: polls fail, entities go unavailable."""
    del unifi.state.sites["default"]
    await _poll(hass, freezer)
    assert _state(hass, WAN) == STATE_UNAVAILABLE
    runtime = setup_unifi.runtime_data
    assert isinstance(runtime, UnifiRuntime)
    assert "default" in str(runtime.coordinator.last_exception)


async def test_unchanged_poll_writes_no_state(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """A poll that finds the same figures writes nothing to the state machine."""
    writes: list[str] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        writes.append(event.data["entity_id"])

    hass.bus.async_listen("state_changed", record)
    runtime = setup_unifi.runtime_data
    assert isinstance(runtime, UnifiRuntime)
    await runtime.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert writes == []


async def test_diagnostics_without_secrets(
    hass: HomeAssistant, unifi: UnifiSimulator, setup_unifi: MockConfigEntry
) -> None:
    """Diagnostics show counts and figures, never the password or client names."""
    diagnostics = await async_get_config_entry_diagnostics(hass, setup_unifi)
    text = repr(diagnostics)
    assert unifi.password not in text
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"
    source = diagnostics["source"]
    assert source["unifi_os"] is True
    assert source["logins"] == 1
    assert source["devices"]["total"] == 4
    assert source["devices"]["by_type"] == {"udm": 1, "usw": 1, "uap": 2}
    assert source["monitor"]["sensitivity"] == "medium"
    for client in unifi.network.clients.values():
        assert client.hostname not in text
