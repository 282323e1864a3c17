"""One login per entry lifetime: session reuse, re-login on 401, reauth, 429 back-off, logout."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.network.unifi.runtime import UnifiRuntime
from simulators.unifi import UnifiSimulator

from .conftest import unifi_entry_for

WAN = "binary_sensor.unifi_udm_pro_default_wan"
CLIENTS = "sensor.unifi_udm_pro_default_clients"


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 60) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_one_login_over_many_polls(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """Thirty polls reuse the first session: one login, three requests a poll."""
    for _ in range(30):
        await _poll(hass, freezer)
    assert unifi.counters["logins"] == 1
    assert unifi.counters["login_attempts"] == 1
    assert unifi.requests_to("stat/health") == 31
    assert unifi.requests_to("stat/sta") == 31
    assert unifi.requests_to("stat/device") == 31
    assert hass.states.get(WAN).state == "on"


async def test_logout_on_unload(
    hass: HomeAssistant, unifi: UnifiSimulator, setup_unifi: MockConfigEntry
) -> None:
    """Unloading ends the session on the console."""
    assert len(unifi.state.sessions) == 1
    issues = ir.async_get(hass)
    issue_id = f"tls_verification_off_{setup_unifi.entry_id}"
    assert issues.async_get_issue(DOMAIN, issue_id) is not None  # verification is off
    assert await hass.config_entries.async_unload(setup_unifi.entry_id)
    assert unifi.counters["logouts"] == 1
    assert unifi.state.sessions == {}
    assert issues.async_get_issue(DOMAIN, issue_id) is None


async def test_clients_seen_before_a_restart_are_reported_offline(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The client history is stored on unload; after a restart an absent NAS is offline."""
    nas = next(c for c in unifi.network.clients.values() if c.hostname == "nas")
    assert await hass.config_entries.async_unload(setup_unifi.entry_id)
    key = f"{DOMAIN}.unifi_clients.{setup_unifi.entry_id}"
    assert nas.mac in hass_storage[key]["data"]["seen"]
    unifi.network.take_offline(nas.mac)
    assert await hass.config_entries.async_setup(setup_unifi.entry_id)
    runtime = setup_unifi.runtime_data
    assert isinstance(runtime, UnifiRuntime)
    presence = runtime.history.presence(runtime.coordinator.data)
    assert [p.online for p in presence if p.key == nas.mac] == [False]
    await hass.config_entries.async_remove(setup_unifi.entry_id)
    assert key not in hass_storage


async def test_unreadable_client_history_starts_afresh(
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    unifi_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A damaged history file is logged and replaced; the entry still loads."""
    hass_storage[f"{DOMAIN}.unifi_clients.{unifi_entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.unifi_clients.{unifi_entry.entry_id}",
        "data": {"seen": {"aa:bb": "not a pair"}},
    }
    unifi_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(unifi_entry.entry_id)
    assert unifi_entry.state is ConfigEntryState.LOADED


async def test_rotated_csrf_token_is_followed(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """A new CSRF token handed out with an answer is used from then on (logout needs it)."""
    unifi.rotate_csrf_tokens()
    await _poll(hass, freezer)
    assert await hass.config_entries.async_unload(setup_unifi.entry_id)
    assert unifi.counters["logouts"] == 1


async def test_expired_session_logs_in_once_more(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """A 401 (session ended) costs one new login; the poll still succeeds."""
    unifi.expire_sessions()
    await _poll(hass, freezer)
    assert unifi.counters["logins"] == 2
    assert hass.states.get(WAN).state == "on"
    await _poll(hass, freezer)
    assert unifi.counters["logins"] == 2


async def test_refused_login_starts_reauth_without_retrying(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
) -> None:
    """A 401 whose new login is refused asks the user; polling stops (no login storm)."""
    unifi.expire_sessions()
    unifi.change_password("rotated")
    await _poll(hass, freezer)
    assert unifi.counters["login_attempts"] == 2
    assert hass.states.get(WAN).state == STATE_UNAVAILABLE
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    for _ in range(10):
        await _poll(hass, freezer)
    assert unifi.counters["login_attempts"] == 2


async def test_login_rate_limit_is_honoured(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, limited_unifi: UnifiSimulator
) -> None:
    """A 429 on login blocks further logins for its Retry-After; then one login succeeds."""
    sim = limited_unifi
    entry = unifi_entry_for(sim, {"anomaly_alerts": False})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    runtime = entry.runtime_data
    assert isinstance(runtime, UnifiRuntime)
    sim.expire_sessions()
    await runtime.coordinator.async_refresh()  # within the minute of the first login
    assert sim.counters["rate_limited"] == 1
    await hass.async_block_till_done()
    assert hass.states.get(WAN).state == STATE_UNAVAILABLE
    # Neither the schedule nor a manual refresh tries again before the block ends.
    for _ in range(6):
        await _poll(hass, freezer, 10)
    await runtime.coordinator.async_refresh()
    for _ in range(5):
        await _poll(hass, freezer, 10)
    assert sim.counters["login_attempts"] == 2
    await _poll(hass, freezer, 11)
    assert sim.counters["login_attempts"] == 3
    assert sim.counters["logins"] == 2
    assert hass.states.get(WAN).state == "on"


async def test_rate_limited_setup_retries_after_the_block(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, limited_unifi: UnifiSimulator
) -> None:
    """Setup retries within a login block make no login attempt; the first after it does."""
    limited_unifi.state.login_limit = 0
    entry = unifi_entry_for(limited_unifi)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert limited_unifi.counters["login_attempts"] == 1
    for _ in range(11):
        await _poll(hass, freezer, 10)  # setup retries at 5, 10, 20, 40... seconds
    assert limited_unifi.counters["login_attempts"] == 1
    limited_unifi.state.login_limit = 5
    await _poll(hass, freezer, 180)
    assert limited_unifi.counters["login_attempts"] == 2
    assert entry.state is ConfigEntryState.LOADED


async def test_failing_console_only_its_entities_unavailable(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    setup_unifi: MockConfigEntry,
    other_unifi: UnifiSimulator,
) -> None:
    """A rebooting console makes its entities unavailable; another console's stay."""
    other_entry = unifi_entry_for(other_unifi, {"anomaly_alerts": False}, title="UniFi office")
    other_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(other_entry.entry_id)
    await hass.async_block_till_done()
    office_wan = "binary_sensor.unifi_office_wan"
    assert hass.states.get(office_wan).state == "on"

    unifi.set_available(False)
    await _poll(hass, freezer)
    assert hass.states.get(WAN).state == STATE_UNAVAILABLE
    assert hass.states.get(CLIENTS).state == STATE_UNAVAILABLE
    assert hass.states.get(office_wan).state == "on"

    unifi.set_available(True)
    await _poll(hass, freezer)
    assert hass.states.get(WAN).state == "on"
    assert unifi.counters["logins"] == 1  # the session outlived the outage


async def test_no_secret_in_debug_logs(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    unifi: UnifiSimulator,
    unifi_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Logins, a re-login, a failed refresh and the logout log neither password nor cookies."""
    caplog.set_level(logging.DEBUG, logger="custom_components.homelab_agents")
    unifi_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(unifi_entry.entry_id)
    await hass.async_block_till_done()
    secrets = [session.token for session in unifi.state.sessions.values()]
    secrets += [session.csrf for session in unifi.state.sessions.values()]
    unifi.expire_sessions()
    await _poll(hass, freezer)
    secrets += [session.token for session in unifi.state.sessions.values()]
    unifi.set_available(False)
    await _poll(hass, freezer)
    unifi.set_available(True)
    assert await hass.config_entries.async_unload(unifi_entry.entry_id)
    assert "Logged in to UniFi" in caplog.text
    assert "ended the session; logging in again" in caplog.text
    for secret in [unifi.password, *secrets]:
        assert secret not in caplog.text
