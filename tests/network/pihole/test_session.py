"""S1: Pi-hole's session and rate limits: one login reused, logout, re-login once, back-off."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import ClientTimeout
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.const import DOMAIN
from custom_components.homelab_agents.network.pihole.client import PiholeClient, api_base
from simulators.pihole import FaultKind, PiholeSimulator

from .conftest import entity_id, pihole_entry_for

POLL = timedelta(minutes=1)


async def _poll(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, step: timedelta = POLL
) -> None:
    freezer.tick(step)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def _requests(pihole: PiholeSimulator, method: str, path: str) -> int:
    return pihole.requests[(method, path)]


async def test_one_login_serves_many_polls_and_unload_logs_out(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """Sixty polls over an hour use the first session; unloading frees its seat."""
    for _ in range(60):
        await _poll(hass, freezer)
    assert pihole.logins == 1
    assert _requests(pihole, "POST", "/auth") == 1
    assert pihole.active_sessions == 1
    # Two requests a poll, plus history and per-client history once per 10-minute slot.
    summary = _requests(pihole, "GET", "/stats/summary")
    assert summary == 61
    assert _requests(pihole, "GET", "/dns/blocking") == 61
    assert 6 <= _requests(pihole, "GET", "/history") <= 7
    assert _requests(pihole, "GET", "/history/clients") == _requests(pihole, "GET", "/history")

    await hass.config_entries.async_unload(setup_pihole.entry_id)
    assert pihole.logouts == 1
    assert pihole.active_sessions == 0


async def test_expired_session_logs_in_once_more(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """A 401 (Pi-hole restarted) means one new login and the same poll succeeds."""
    pihole.expire_sessions()
    await _poll(hass, freezer)
    assert pihole.logins == 2
    assert _requests(pihole, "POST", "/auth") == 2
    assert int(
        hass.states.get(entity_id(hass, setup_pihole, "pihole_queries_today", "sensor")).state
    )
    await _poll(hass, freezer)
    assert pihole.logins == 2


async def test_session_timeout_of_pihole_is_outlived(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """Polls keep Pi-hole's sliding 30-minute session alive for hours."""
    for _ in range(12):
        await _poll(hass, freezer, timedelta(minutes=20))
    assert pihole.logins == 1


async def test_changed_password_starts_reauth_after_one_retry(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """401, one login that is refused: reauth; polling stops instead of retrying logins."""
    pihole.expire_sessions()
    pihole.app_password = "rotated"
    pihole.password = "rotated"
    await _poll(hass, freezer)
    assert pihole.login_attempts == 2
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    state = hass.states.get(entity_id(hass, setup_pihole, "pihole_queries_today", "sensor"))
    assert state.state == STATE_UNAVAILABLE
    for _ in range(5):
        await _poll(hass, freezer)
    assert pihole.login_attempts == 2


async def test_401_right_after_a_new_login_is_an_auth_failure(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """Re-login happens once per request: a second 401 is not retried in a loop."""
    pihole.faults.inject("/stats/summary", FaultKind.UNAUTHORIZED, count=2)
    await _poll(hass, freezer)
    assert pihole.logins == 2
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_429_is_honoured_without_a_login_storm(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """After 429 with Retry-After: 300 nothing is sent for five minutes, then polling resumes."""
    pihole.faults.inject("/stats/summary", FaultKind.RATE_LIMITED, retry_after=300)
    await _poll(hass, freezer)
    sent = sum(pihole.requests.values())
    sensor = entity_id(hass, setup_pihole, "pihole_queries_today", "sensor")
    assert hass.states.get(sensor).state == STATE_UNAVAILABLE
    for _ in range(4):
        await _poll(hass, freezer)
    assert sum(pihole.requests.values()) == sent
    await _poll(hass, freezer, timedelta(minutes=2))
    assert sum(pihole.requests.values()) > sent
    assert hass.states.get(sensor).state != STATE_UNAVAILABLE
    assert pihole.logins == 1


async def test_seats_exceeded_on_relogin_backs_off(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    setup_pihole: MockConfigEntry,
) -> None:
    """Every seat taken by other clients: one login attempt per back-off, never a storm."""
    pihole.expire_sessions()
    pihole.max_sessions = 0
    await _poll(hass, freezer)
    attempts = pihole.login_attempts
    assert attempts == 2
    for _ in range(10):
        await _poll(hass, freezer, timedelta(seconds=5))
    assert pihole.login_attempts == attempts
    pihole.max_sessions = 16
    await _poll(hass, freezer, timedelta(minutes=1))
    assert pihole.login_attempts == attempts + 1
    assert pihole.logins == 2
    assert setup_pihole.state is ConfigEntryState.LOADED


async def test_timeout_is_a_failed_poll(
    hass: HomeAssistant,
    pihole: PiholeSimulator,
    pihole_entry: MockConfigEntry,
) -> None:
    """A Pi-hole that does not answer: the poll fails after the request timeout, no reauth."""
    pihole_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(pihole_entry.entry_id)
    await hass.async_block_till_done()
    runtime = pihole_entry.runtime_data
    pihole.faults.inject("/stats/summary", FaultKind.TIMEOUT)
    runtime.client.timeout = ClientTimeout(total=0.2)
    await runtime.coordinator.async_refresh()
    assert runtime.coordinator.last_update_success is False
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_pihole_without_password_sends_no_session(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant
) -> None:
    """No password: no login, no logout, requests without a session id."""
    async with PiholeSimulator(password=None, hostname="open") as sim:
        entry = pihole_entry_for(sim, password=None)
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await _poll(hass, freezer)
        await hass.config_entries.async_unload(entry.entry_id)
        assert sim.login_attempts == 0
        assert sim.logouts == 0


async def test_password_given_to_a_pihole_without_one(hass: HomeAssistant) -> None:
    """A password for a Pi-hole that has none: accepted, and no session is kept."""
    async with PiholeSimulator(password=None) as sim:
        entry = pihole_entry_for(sim, password="unneeded")
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.client.has_session is False
        await hass.config_entries.async_unload(entry.entry_id)
        assert sim.logouts == 0


def test_api_base_accepts_what_users_type() -> None:
    """The web interface address, with or without /admin or /api, reaches the same API."""
    for typed in (
        "http://pi.hole",
        "http://pi.hole/",
        "http://pi.hole/admin/",
        "http://pi.hole/api",
    ):
        assert str(api_base(typed)) == "http://pi.hole/api"
    assert str(api_base("https://h:8443/pihole/admin")) == "https://h:8443/pihole/api"
    assert PiholeClient  # the client the flow and the runtime share
