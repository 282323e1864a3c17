"""Tailnet and node entities end to end: simulator → API client → coordinator → states."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.network.tailscale.const import ADMIN_URL
from custom_components.homelab_agents.network.tailscale.devices import TailnetDevices
from simulators.tailscale import DEFAULT_API_KEY, TailscaleSimulator

TAILNET = "sensor.tailscale_tail4e2a_ts_net"


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 61) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_tailnet_and_node_entities(
    hass: HomeAssistant, tailscale_sim: TailscaleSimulator, setup_tailscale: MockConfigEntry
) -> None:
    """Counts of the tailnet, and per node online, key expiry and client update."""
    assert hass.states.get(f"{TAILNET}_devices").state == "9"
    # Wednesday noon: everything but the evening desktop.
    assert hass.states.get(f"{TAILNET}_online_devices").state == "8"
    assert hass.states.get(f"{TAILNET}_devices_awaiting_authorization").state == "0"
    assert hass.states.get("binary_sensor.nas_online").state == STATE_ON
    assert hass.states.get("binary_sensor.gaming_pc_online").state == STATE_OFF
    online = hass.states.get("binary_sensor.nas_online")
    assert online.attributes["device_class"] == "connectivity"
    assert online.attributes["hostname"] == "nas"
    assert online.attributes["tags"] == ["tag:server"]
    # Key expiry disabled: no expiry at all.
    assert hass.states.get("sensor.nas_key_expiry").state == STATE_UNKNOWN
    laptop = tailscale_sim.device("work-laptop")
    assert hass.states.get("sensor.work_laptop_key_expiry").state == laptop.expires.isoformat()
    assert hass.states.get("binary_sensor.nas_client_update").state == STATE_OFF
    # Authorized is there, disabled by default (one of few per-node entities).
    entry = er.async_get(hass).async_get("binary_sensor.nas_authorized")
    assert entry is not None
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"tail4e2a.ts.net/node/{tailscale_sim.device('nas').node_id}"),
        setup_tailscale.entry_id,
    )
    assert device is not None
    assert device.name == "nas"
    assert device.serial_number == tailscale_sim.device("nas").node_id
    assert tailscale_sim.count("GET", "/tailnet/-/devices") == 1


async def test_rate_limit_is_honoured(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
) -> None:
    """After a 429 nothing is sent until Retry-After has passed; then polling resumes."""
    devices = "/tailnet/-/devices"
    tailscale_sim.faults.rate_limit(retry_after=300)
    await _poll(hass, freezer)
    assert tailscale_sim.statuses()[429] == 1
    assert hass.states.get(f"{TAILNET}_devices").state == STATE_UNAVAILABLE
    sent = tailscale_sim.count("GET", devices)
    for _ in range(4):  # four minutes of would-be polls
        await _poll(hass, freezer, 60)
    assert tailscale_sim.count("GET", devices) == sent
    await _poll(hass, freezer, 60)  # 300 s after the 429
    assert tailscale_sim.count("GET", devices) == sent + 1
    assert hass.states.get(f"{TAILNET}_devices").state == "9"
    assert hass.states.get("binary_sensor.nas_online").state == STATE_ON


@pytest.mark.parametrize("tailscale_credentials", [{}])
async def test_oauth_token_is_reused_until_it_expires(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    tailscale_entry: MockConfigEntry,
    oauth_credentials: dict[str, str],
) -> None:
    """One token for an hour of polls, a new one shortly before it runs out or when revoked."""
    tailscale_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        tailscale_entry, data={**tailscale_entry.data, **oauth_credentials}
    )
    assert await hass.config_entries.async_setup(tailscale_entry.entry_id)
    await hass.async_block_till_done()
    assert tailscale_sim.tokens_issued == 1
    for _ in range(58):
        await _poll(hass, freezer, 60)
    assert tailscale_sim.count("GET", "/tailnet/-/devices") == 59
    assert tailscale_sim.tokens_issued == 1
    await _poll(hass, freezer, 60)  # 59 minutes in: within the renewal margin
    assert tailscale_sim.tokens_issued == 2

    # A token revoked early is replaced once, without bothering the user.
    tailscale_sim.tokens.clear()
    await _poll(hass, freezer, 60)
    assert tailscale_sim.tokens_issued == 3
    assert hass.states.get(f"{TAILNET}_devices").state == "9"
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)

    # The OAuth client deleted: reauthentication.
    tailscale_sim.oauth_clients.clear()
    tailscale_sim.tokens.clear()
    await _poll(hass, freezer, 60)
    assert hass.states.get(f"{TAILNET}_devices").state == STATE_UNAVAILABLE
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_failing_api_leaves_other_entries_alone(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    init_integration: MockConfigEntry,
    setup_tailscale: MockConfigEntry,
) -> None:
    """A failing Tailscale API makes only the tailnet's entities unavailable, until it recovers."""
    alert_sensor = "sensor.alertmanager_127_0_0_1_firing_alerts"
    assert hass.states.get(alert_sensor).state == "0"
    tailscale_sim.faults.inject(status=503, message="unavailable", count=None)
    await _poll(hass, freezer)
    assert hass.states.get(f"{TAILNET}_devices").state == STATE_UNAVAILABLE
    assert hass.states.get("binary_sensor.nas_online").state == STATE_UNAVAILABLE
    assert hass.states.get(alert_sensor).state == "0"
    tailscale_sim.faults.clear()
    await _poll(hass, freezer)
    assert hass.states.get("binary_sensor.nas_online").state == STATE_ON
    # A tailnet that vanished (404) is reported as such.
    tailscale_sim.faults.inject("/tailnet/*", status=404, message="tailnet not found", count=2)
    await _poll(hass, freezer)
    assert hass.states.get("binary_sensor.nas_online").state == STATE_UNAVAILABLE


async def test_shared_in_devices_fall_back_to_default_fields(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
) -> None:
    """When `fields=all` fails for shared-in devices, default fields are asked for from then on."""
    tailscale_sim.shared_in_breaks_all_fields = True
    tailscale_sim.share_in("friends-nas")
    await _poll(hass, freezer)
    assert hass.states.get(f"{TAILNET}_devices").state == "9"  # shared-in devices not counted
    await _poll(hass, freezer)
    default_only = [r for r in tailscale_sim.requests if r.path.endswith("fields=default")]
    assert len(default_only) == 2
    diagnostics = setup_tailscale.runtime_data.diagnostics()
    assert diagnostics["shared_in"] == 1
    assert diagnostics["default_fields_only"] is True


async def test_stale_devices_and_empty_answers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
) -> None:
    """Only devices of nodes that left may be removed; an empty answer removes nothing."""
    registry = dr.async_get(hass)
    nas_id = tailscale_sim.device("nas").node_id
    nas = registry.async_get_device_by_identifier(
        (DOMAIN, f"tail4e2a.ts.net/node/{nas_id}"), setup_tailscale.entry_id
    )
    tailnet = registry.async_get_device_by_identifier(
        (DOMAIN, "tail4e2a.ts.net/tailnet"), setup_tailscale.entry_id
    )
    stale = registry.async_get_or_create(
        config_entry_id=setup_tailscale.entry_id,
        identifiers={(DOMAIN, "tail4e2a.ts.net/node/nGONECNTRL")},
    )
    component = hass.data["integrations"]["homelab_agents"].get_component()
    remove = component.async_remove_config_entry_device
    assert not await remove(hass, setup_tailscale, nas)
    assert not await remove(hass, setup_tailscale, tailnet)
    assert await remove(hass, setup_tailscale, stale)

    saved = dict(tailscale_sim.tailnet.devices)
    tailscale_sim.tailnet.devices.clear()
    await _poll(hass, freezer)
    assert hass.states.get(f"{TAILNET}_devices").state == "0"
    assert registry.async_get(nas.id) is not None
    tailscale_sim.tailnet.devices.update(saved)
    await _poll(hass, freezer)
    assert hass.states.get("binary_sensor.nas_online").state == STATE_ON


async def test_renamed_node_keeps_its_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
) -> None:
    """A rename and a client update change the device, not its identity."""
    nas = tailscale_sim.device("nas")
    nas.hostname = "storage"
    nas.client_version = "1.92.0"
    nas.update_available = True
    await _poll(hass, freezer)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"tail4e2a.ts.net/node/{nas.node_id}"), setup_tailscale.entry_id
    )
    assert device.name == "storage"
    assert device.sw_version == "1.92.0"
    assert hass.states.get("binary_sensor.nas_client_update").state == STATE_ON


async def test_online_grace_and_diagnostics(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
    hass_client: Any,
) -> None:
    """A dropped device stays online for the grace period; diagnostics hold no secrets."""
    tailscale_sim.take_offline("proxmox")
    await _poll(hass, freezer)
    assert hass.states.get("binary_sensor.proxmox_online").state == STATE_ON
    await _poll(hass, freezer, 5 * 60)
    assert hass.states.get("binary_sensor.proxmox_online").state == STATE_OFF
    assert hass.states.get(f"{TAILNET}_online_devices").state == "7"

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_tailscale)
    assert diagnostics["entry"]["data"]["api_key"] == "**REDACTED**"
    assert DEFAULT_API_KEY not in str(diagnostics)
    source = diagnostics["source"]
    assert source["tailnet"] == "tail4e2a.ts.net"
    assert source["auth"] == "api_key"
    assert source["online"] == 7
    assert source["monitor"]["devices"] == 9


async def test_admin_console_links_only_for_tailscale_itself(
    hass: HomeAssistant, tailscale_sim: TailscaleSimulator, setup_tailscale: MockConfigEntry
) -> None:
    """Machines link to their admin-console page (by address) only on Tailscale's servers."""
    registry = dr.async_get(hass)
    runtime = setup_tailscale.runtime_data
    nas = runtime.coordinator.data.devices[tailscale_sim.device("nas").node_id]
    ours = registry.async_get_device_by_identifier(
        (DOMAIN, f"tail4e2a.ts.net/node/{nas.node_id}"), setup_tailscale.entry_id
    )
    assert ours.configuration_url is None  # a self-hosted (here: simulated) control server
    hosted = TailnetDevices(
        registry, setup_tailscale.entry_id, "hosted.ts.net", "Hosted", admin_console=True
    )
    hosted.sync(runtime.coordinator.data)
    device = registry.async_get_device_by_identifier(
        (DOMAIN, f"hosted.ts.net/node/{nas.node_id}"), setup_tailscale.entry_id
    )
    assert device.configuration_url == f"{ADMIN_URL}/{nas.addresses[0]}"


@pytest.mark.parametrize("tailscale_options", [{}])
async def test_default_options_without_alertmanager(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
) -> None:
    """With the default options (alerts on) and no Alertmanager entry, the tailnet still runs."""
    assert setup_tailscale.runtime_data.monitor.alerts_enabled
    tailscale_sim.join("new-laptop")
    await _poll(hass, freezer)
    assert hass.states.get(f"{TAILNET}_devices").state == "10"
    assert await hass.config_entries.async_unload(setup_tailscale.entry_id)
