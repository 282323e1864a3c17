"""Pi-hole entities, the blocking switch and the service actions, end to end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.homelab_agents import async_remove_config_entry_device
from custom_components.homelab_agents.const import DOMAIN
from simulators.pihole import DEFAULT_APP_PASSWORD, FaultKind, PiholeSimulator

from .conftest import entity_id, pihole_entry_for


def _state(hass: HomeAssistant, entry: MockConfigEntry, key: str, platform: str = "sensor") -> str:
    state = hass.states.get(entity_id(hass, entry, key, platform))
    assert state is not None, key
    return state.state


async def _summary(pihole: PiholeSimulator) -> dict[str, Any]:
    """What the Pi-hole itself reports now (ground truth for the sensors)."""
    day = pihole._day()
    return {
        "total": sum(c.total for c in day.values()),
        "blocked": sum(c.blocked for c in day.values()),
        "active": sum(1 for c in day.values() if c.total),
    }


async def test_sensors_show_the_pihole_summary(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """Queries, blocked queries, blocked share and active clients of the last 24 hours."""
    truth = await _summary(pihole)
    assert int(_state(hass, setup_pihole, "pihole_queries_today")) == truth["total"]
    assert int(_state(hass, setup_pihole, "pihole_blocked_today")) == truth["blocked"]
    percent = float(_state(hass, setup_pihole, "pihole_blocked_percent"))
    assert percent == pytest.approx(truth["blocked"] / truth["total"] * 100, abs=0.01)
    assert int(_state(hass, setup_pihole, "pihole_active_clients")) == truth["active"]
    assert _state(hass, setup_pihole, "pihole_blocking", "switch") == STATE_ON
    # The anomaly monitor's entities sit on the same device.
    problem = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{setup_pihole.entry_id}_network_anomaly"
    )
    assert problem is not None
    assert hass.states.get(problem).state == STATE_OFF

    registry = er.async_get(hass)
    gravity = registry.async_get(entity_id(hass, setup_pihole, "pihole_gravity_domains", "sensor"))
    assert gravity is not None
    assert gravity.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "pihole:pihole"), setup_pihole.entry_id
    )
    assert device is not None
    assert device.manufacturer == "Pi-hole"
    assert device.configuration_url == f"{pihole.url}/admin/"
    devices = {
        e.device_id for e in er.async_entries_for_config_entry(registry, setup_pihole.entry_id)
    }
    assert devices == {device.id}


async def test_gravity_sensor_when_enabled(
    hass: HomeAssistant, pihole: PiholeSimulator, pihole_entry: MockConfigEntry
) -> None:
    """Enabled by the user, it shows the number of domains on the adlists."""
    pihole_entry.add_to_hass(hass)
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "sensor",
        DOMAIN,
        "pihole:pihole_pihole_gravity_domains",
        config_entry=pihole_entry,
        suggested_object_id="pihole_domains_on_adlists",
    )
    await hass.config_entries.async_setup(pihole_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.pihole_domains_on_adlists").state == "123456"


async def test_blocking_switch_turns_blocking_off_and_on(
    hass: HomeAssistant, pihole: PiholeSimulator, setup_pihole: MockConfigEntry
) -> None:
    """The switch changes the Pi-hole's blocking at once, without waiting for a poll."""
    switch = entity_id(hass, setup_pihole, "pihole_blocking", "switch")
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert pihole.blocking is False
    assert pihole.blocking_until is None
    assert hass.states.get(switch).state == STATE_OFF
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert pihole.blocking is True
    assert hass.states.get(switch).state == STATE_ON


async def test_disable_blocking_for_a_while(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """The service disables blocking with Pi-hole's own timer; Pi-hole turns it back on."""
    switch = entity_id(hass, setup_pihole, "pihole_blocking", "switch")
    response = await hass.services.async_call(
        DOMAIN,
        "disable_pihole_blocking",
        {"config_entry_id": setup_pihole.entry_id, "duration": {"minutes": 5}},
        blocking=True,
        return_response=True,
    )
    assert response == {"blocking": "disabled", "timer": 300.0}
    assert hass.states.get(switch).state == STATE_OFF
    freezer.tick(timedelta(minutes=6))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert pihole.blocking is True
    assert hass.states.get(switch).state == STATE_ON


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"duration": {"seconds": 0}}, "pihole_invalid_duration"),
        ({"duration": {"days": 2}}, "pihole_invalid_duration"),
    ],
)
async def test_disable_blocking_refuses_bad_durations(
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
    data: dict[str, Any],
    key: str,
) -> None:
    """Zero or more than a day: a validation error, blocking unchanged."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "disable_pihole_blocking", data, blocking=True)
    assert err.value.translation_key == key
    assert pihole.blocking is True


async def test_statistics_service_returns_bounded_top_lists(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """Top permitted and blocked domains and top clients, `count` of each, as response data."""
    response = await hass.services.async_call(
        DOMAIN, "get_pihole_statistics", {"count": 3}, blocking=True, return_response=True
    )
    assert response is not None
    assert [row["domain"] for row in response["top_blocked_domains"]] == [
        "doubleclick.net",
        "googleadservices.com",
        "app-measurement.com",
    ]
    assert len(response["top_permitted_domains"]) == 3
    assert response["top_permitted_domains"][0]["domain"] == "connectivity-check.ubuntu.com"
    assert [row["ip"] for row in response["top_clients"]] == [
        "192.168.1.10",
        "192.168.1.11",
        "192.168.1.30",
    ]
    assert response["top_clients"][0]["name"] == "desktop.lan"
    truth = await _summary(pihole)
    assert response["queries_total"] == truth["total"]
    assert response["queries_blocked"] == truth["blocked"]
    with pytest.raises(Exception, match="value must be at most 100"):
        await hass.services.async_call(
            DOMAIN, "get_pihole_statistics", {"count": 1000}, blocking=True, return_response=True
        )


async def test_services_choose_their_entry(
    hass: HomeAssistant, pihole: PiholeSimulator, setup_pihole: MockConfigEntry
) -> None:
    """An entry not loaded is refused; with two Pi-holes one must be named."""
    other_kind = MockConfigEntry(domain=DOMAIN, data={"kind": "alertmanager"}, title="AM")
    other_kind.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_pihole_statistics",
            {"config_entry_id": other_kind.entry_id},
            blocking=True,
            return_response=True,
        )
    # Not loaded (it is not set up here): Home Assistant's own check refuses it first.
    assert err.value.translation_key == "service_config_entry_not_loaded"
    async with PiholeSimulator(hostname="upstairs") as upstairs:
        second = pihole_entry_for(upstairs)
        second.add_to_hass(hass)
        await hass.config_entries.async_setup(second.entry_id)
        await hass.async_block_till_done()
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, "get_pihole_statistics", {}, blocking=True, return_response=True
            )
        assert err.value.translation_key == "pihole_entry_needed"
        await hass.services.async_call(
            DOMAIN,
            "disable_pihole_blocking",
            {"config_entry_id": second.entry_id, "duration": {"seconds": 30}},
            blocking=True,
        )
        assert upstairs.blocking is False
        assert pihole.blocking is True
        await hass.config_entries.async_unload(second.entry_id)
    await hass.config_entries.async_unload(setup_pihole.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "get_pihole_statistics", {}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "no_pihole_entry"


async def test_not_pihole_entry_is_refused(
    hass: HomeAssistant, pihole: PiholeSimulator, setup_pihole: MockConfigEntry
) -> None:
    """A loaded entry of another kind named as the target."""
    async with PiholeSimulator(hostname="x") as other:
        fake = pihole_entry_for(other)
        fake.add_to_hass(hass)
        await hass.config_entries.async_setup(fake.entry_id)
        await hass.async_block_till_done()
        hass.config_entries.async_update_entry(fake, data={**fake.data, "kind": "docker"})
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                "get_pihole_statistics",
                {"config_entry_id": fake.entry_id},
                blocking=True,
                return_response=True,
            )
        assert err.value.translation_key == "not_pihole_entry"
        hass.config_entries.async_update_entry(fake, data={**fake.data, "kind": "pihole"})
        await hass.config_entries.async_unload(fake.entry_id)


async def test_action_failures_are_translated(
    hass: HomeAssistant, pihole: PiholeSimulator, setup_pihole: MockConfigEntry
) -> None:
    """A Pi-hole error on an action is a HomeAssistantError naming it; a refused login reauths."""
    switch = entity_id(hass, setup_pihole, "pihole_blocking", "switch")
    pihole.faults.inject("/dns/blocking", FaultKind.SERVER_ERROR, method="POST")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert err.value.translation_key == "pihole_action_failed"
    assert pihole.blocking is True

    pihole.expire_sessions()
    pihole.app_password = "changed"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "get_pihole_statistics", {}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "pihole_auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_failing_pihole_leaves_other_entries_running(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """S2: one Pi-hole answering 500 makes only its entities unavailable; then it recovers."""
    async with PiholeSimulator(hostname="upstairs", seed=7) as upstairs:
        second = pihole_entry_for(upstairs)
        second.add_to_hass(hass)
        await hass.config_entries.async_setup(second.entry_id)
        await hass.async_block_till_done()
        before = _state(hass, second, "pihole_queries_today")

        pihole.faults.inject("*", FaultKind.SERVER_ERROR, count=None)
        freezer.tick(timedelta(minutes=10))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)

        assert _state(hass, setup_pihole, "pihole_queries_today") == STATE_UNAVAILABLE
        assert _state(hass, setup_pihole, "pihole_blocking", "switch") == STATE_UNAVAILABLE
        assert setup_pihole.state is ConfigEntryState.LOADED
        after = _state(hass, second, "pihole_queries_today")
        assert after not in (STATE_UNAVAILABLE, before)  # ten minutes more traffic counted

        pihole.faults.clear()
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert int(_state(hass, setup_pihole, "pihole_queries_today")) > 0
        await hass.config_entries.async_unload(second.entry_id)


async def test_setup_retries_while_pihole_is_down(
    hass: HomeAssistant, pihole: PiholeSimulator, pihole_entry: MockConfigEntry
) -> None:
    """A Pi-hole answering 500 at start: setup retries, and the session's seat is given back."""
    pihole.faults.inject("/stats/summary", FaultKind.SERVER_ERROR)
    pihole_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(pihole_entry.entry_id)
    await hass.async_block_till_done()
    assert pihole_entry.state is ConfigEntryState.SETUP_RETRY
    assert pihole.active_sessions == 0


async def test_diagnostics_hold_no_password_or_session(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """X2: neither the app password nor the session id appear in diagnostics."""
    diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(
        hass, hass_client, setup_pihole
    )
    text = str(diagnostics)
    assert DEFAULT_APP_PASSWORD not in text
    for sid in pihole.sessions:
        assert sid not in text
    source = diagnostics["source"]
    assert source["logins"] == 1
    assert source["has_session"] is True
    assert source["blocking"] == "enabled"
    assert source["clients_watched"] == 8
    assert source["monitor"]["metrics"] == 9


async def test_the_pihole_device_cannot_be_deleted_while_it_runs(
    hass: HomeAssistant, setup_pihole: MockConfigEntry
) -> None:
    """The entry's one device is its Pi-hole: always current."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), setup_pihole.entry_id)
    assert devices
    for device in devices:
        assert not await async_remove_config_entry_device(hass, setup_pihole, device)
