"""Node actions end to end: authorize, expire the key, delete through a confirmation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.const import DOMAIN
from simulators.tailscale import Pattern, TailscaleSimulator

TAILNET = "sensor.tailscale_tail4e2a_ts_net"


async def _call(
    hass: HomeAssistant, service: str, context: Context | None = None, **data: Any
) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True, context=context
    )


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_authorize_a_waiting_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
) -> None:
    """A joining machine waits for approval; the service approves it by name."""
    newcomer = tailscale_sim.join("build-server", pattern=Pattern.ALWAYS_ON)
    await _poll(hass, freezer)
    assert hass.states.get(f"{TAILNET}_devices").state == "10"
    waiting = hass.states.get(f"{TAILNET}_devices_awaiting_authorization")
    assert waiting.state == "1"
    assert waiting.attributes["devices"] == ["build-server"]
    assert hass.states.get("binary_sensor.build_server_online").state == "on"

    response = await _call(hass, "authorize_tailscale_device", name="Build-Server")
    assert response == {"node_id": newcomer.node_id, "name": "build-server", "authorized": True}
    assert newcomer.authorized
    # The service refreshed at once: no waiting for the next poll.
    assert hass.states.get(f"{TAILNET}_devices_awaiting_authorization").state == "0"
    assert tailscale_sim.count("POST", f"/device/{newcomer.node_id}/authorized") == 1


async def test_expire_key_by_device_target(
    hass: HomeAssistant, tailscale_sim: TailscaleSimulator, setup_tailscale: MockConfigEntry
) -> None:
    """Targeting the node's device expires its key; the node drops off."""
    laptop = tailscale_sim.device("work-laptop")
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"tail4e2a.ts.net/node/{laptop.node_id}"), setup_tailscale.entry_id
    )
    assert device is not None
    response = await _call(hass, "expire_tailscale_device_key", device_id=device.id)
    assert response["key_expired"] is True
    assert hass.states.get("binary_sensor.work_laptop_online").state == "off"
    assert hass.states.get("sensor.work_laptop_key_expiry").state == laptop.expires.isoformat()
    assert hass.states.get(f"{TAILNET}_keys_expiring_soon").state == "1"

    # An entity of the node names it just as well.
    response = await _call(
        hass, "expire_tailscale_device_key", entity_id="binary_sensor.alice_phone_online"
    )
    assert response["name"] == "alice-phone"


async def test_delete_waits_for_the_requester_confirmation(
    hass: HomeAssistant,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
    hass_admin_user: User,
    hass_read_only_user: User,
) -> None:
    """The request deletes nothing; another user cannot confirm; the requester can, once."""
    phone = tailscale_sim.device("bob-phone")
    context = Context(user_id=hass_admin_user.id)
    request = await _call(hass, "delete_tailscale_device", context, node_id=phone.node_id)
    assert set(request) == {"action_id", "summary", "expires_at"}
    assert "bob-phone" in request["summary"]
    assert phone.node_id in tailscale_sim.tailnet.devices

    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "confirm_action",
            Context(user_id=hass_read_only_user.id),
            action_id=request["action_id"],
        )
    assert err.value.translation_key == "wrong_requester"
    assert tailscale_sim.count("DELETE", "/device/") == 0

    done = await _call(hass, "confirm_action", context, action_id=request["action_id"])
    assert done["state"] == "done"
    assert done["result"] == {"node_id": phone.node_id, "name": "bob-phone", "deleted": True}
    assert phone.node_id not in tailscale_sim.tailnet.devices
    await hass.async_block_till_done()
    # The node's device and entities left with it.
    assert hass.states.get(f"{TAILNET}_devices").state == "8"
    assert (
        dr.async_get(hass).async_get_device_by_identifier(
            (DOMAIN, f"tail4e2a.ts.net/node/{phone.node_id}"), setup_tailscale.entry_id
        )
        is None
    )
    assert er.async_get(hass).async_get("binary_sensor.bob_phone_online") is None

    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "confirm_action", context, action_id=request["action_id"])
    assert err.value.translation_key == "action_not_pending"
    assert tailscale_sim.count("DELETE", "/device/") == 1


async def test_delete_request_expires(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
) -> None:
    """Unconfirmed for five minutes, the deletion lapses and nothing is deleted."""
    request = await _call(
        hass, "delete_tailscale_device", name="gaming-pc", requester="telegram:42"
    )
    freezer.tick(timedelta(minutes=5, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "confirm_action", action_id=request["action_id"], requester="telegram:42")
    assert err.value.translation_key == "action_expired"
    assert tailscale_sim.count("DELETE", "/device/") == 0
    assert tailscale_sim.device("gaming-pc").node_id in tailscale_sim.tailnet.devices


async def test_api_errors_become_translated_errors(
    hass: HomeAssistant, tailscale_sim: TailscaleSimulator, setup_tailscale: MockConfigEntry
) -> None:
    """A device deleted elsewhere (404), a read-only credential (403), a rate limit, a 500."""
    nas = tailscale_sim.device("nas")
    cases = (
        ({"status": 404, "message": "device not found"}, "tailscale_device_gone"),
        ({"status": 403, "message": "insufficient scope"}, "tailscale_insufficient_scope"),
        ({"status": 429, "message": "slow down", "retry_after": "5"}, "tailscale_rate_limited"),
        ({"status": 500}, "tailscale_action_failed"),
    )
    for fault, key in cases:
        tailscale_sim.faults.inject(f"/device/{nas.node_id}/expire", **fault)
        with pytest.raises(HomeAssistantError) as err:
            await _call(hass, "expire_tailscale_device_key", node_id=nas.node_id)
        assert err.value.translation_key == key, fault
        setup_tailscale.runtime_data.client.blocked_until = None
    assert not nas.key_expired(tailscale_sim.clock())

    # A 401 means the credentials went bad: reauthentication starts.
    tailscale_sim.faults.inject(f"/device/{nas.node_id}/expire", status=401, message="invalid")
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "expire_tailscale_device_key", node_id=nas.node_id)
    assert err.value.translation_key == "tailscale_auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_read_only_oauth_client_cannot_authorize(
    hass: HomeAssistant,
    tailscale_sim: TailscaleSimulator,
    tailscale_entry: MockConfigEntry,
    oauth_credentials: dict[str, str],
) -> None:
    """An OAuth client with only devices:core:read reads the tailnet but may not change it."""
    secret, _ = tailscale_sim.oauth_clients[oauth_credentials["oauth_client_id"]]
    tailscale_sim.oauth_clients[oauth_credentials["oauth_client_id"]] = (
        secret,
        frozenset({"devices:core:read"}),
    )
    tailscale_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        tailscale_entry,
        data={k: v for k, v in tailscale_entry.data.items() if k != "api_key"} | oauth_credentials,
    )
    assert await hass.config_entries.async_setup(tailscale_entry.entry_id)
    await hass.async_block_till_done()
    newcomer = tailscale_sim.join("kiosk")
    await tailscale_entry.runtime_data.coordinator.async_refresh()
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "authorize_tailscale_device", node_id=newcomer.node_id)
    assert err.value.translation_key == "tailscale_insufficient_scope"
    assert "devices:core" in str(err.value)
    assert not newcomer.authorized


async def test_bad_targets_are_validation_errors(
    hass: HomeAssistant,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
    init_integration: MockConfigEntry,
) -> None:
    """Unknown or missing devices, and entries of another kind."""
    for data, key in (
        ({"node_id": "nNOPECNTRL"}, "unknown_tailscale_device"),
        ({"name": "toaster"}, "unknown_tailscale_device"),
        ({}, "tailscale_device_target_missing"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "authorize_tailscale_device", **data)
        assert err.value.translation_key == key
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "authorize_tailscale_device",
            config_entry_id=init_integration.entry_id,
            name="nas",
        )
    assert err.value.translation_key == "not_tailscale_entry"
    response = await _call(
        hass,
        "authorize_tailscale_device",
        config_entry_id=setup_tailscale.entry_id,
        name="nas.tail4e2a.ts.net",
    )
    assert response["name"] == "nas"

    await hass.config_entries.async_unload(setup_tailscale.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "authorize_tailscale_device", name="nas")
    assert err.value.translation_key == "no_tailscale_entry"


async def test_a_name_in_two_tailnets_is_ambiguous(
    hass: HomeAssistant, tailscale_sim: TailscaleSimulator, setup_tailscale: MockConfigEntry
) -> None:
    """Two tailnets with a `nas` each: the name alone is not enough, the entry is."""
    async with TailscaleSimulator(seed=3, tailnet_dns="tail9999.ts.net") as other:
        second = MockConfigEntry(
            domain=DOMAIN,
            title="Tailscale tail9999.ts.net",
            unique_id="tail9999.ts.net",
            data={**setup_tailscale.data, "api_url": other.url},
            options={"anomaly_alerts": False},
        )
        second.add_to_hass(hass)
        assert await hass.config_entries.async_setup(second.entry_id)
        await hass.async_block_till_done()
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "authorize_tailscale_device", name="nas")
        assert err.value.translation_key == "ambiguous_tailscale_device"
        response = await _call(
            hass, "authorize_tailscale_device", name="nas", config_entry_id=second.entry_id
        )
        assert response["node_id"] == other.device("nas").node_id
        await hass.config_entries.async_unload(second.entry_id)
