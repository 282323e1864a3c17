"""Cloudflare end to end: zone figures, tunnel states, request budget, 429s, GraphQL errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.homelab_agents import async_remove_config_entry_device
from custom_components.homelab_agents.const import DOMAIN
from simulators.cloudflare import CloudflareSimulator, Zone

from .conftest import entry_for

START = datetime(2026, 11, 25, 14, 20, tzinfo=UTC)  # a Wednesday afternoon
POLL = timedelta(minutes=5)


def _zone(sim: CloudflareSimulator, name: str) -> Zone:
    return next(zone for zone in sim.zones.values() if zone.name == name)


def _state(hass: HomeAssistant, platform: str, unique_id: str) -> Any:
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    return hass.states.get(entity_id)


def _zone_state(hass: HomeAssistant, sim: CloudflareSimulator, name: str, key: str) -> Any:
    zone = _zone(sim, name)
    return _state(hass, "sensor", f"cloudflare/{zone.account.id}/zone/{zone.id}_{key}")


def _tunnel_state(
    hass: HomeAssistant, sim: CloudflareSimulator, name: str, platform: str, key: str
) -> Any:
    tunnel = next(t for t in sim.tunnels.values() if t.name == name)
    return _state(hass, platform, f"cloudflare/{tunnel.account.id}/tunnel/{tunnel.id}_{key}")


def _expected(zone: Zone, now: datetime) -> dict[str, int]:
    """The simulator's figures for the hour in progress and the 23 before it."""
    current = int(now.replace(minute=0, second=0, microsecond=0).timestamp())
    hours = [zone.traffic.hour(current - 3600 * back, now.timestamp()) for back in range(24)]
    return {
        "requests": sum(h.requests for h in hours),
        "cached": sum(h.cached_requests for h in hours),
        "bytes": sum(h.bytes for h in hours),
        "threats": sum(h.threats for h in hours),
        "page_views": sum(h.page_views for h in hours),
    }


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, step: timedelta) -> None:
    freezer.tick(step)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_zone_figures_match_the_last_24_hours(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """Requests, cached share, bandwidth, threats and page views per zone device."""
    freezer.move_to(START)
    entry = entry_for(cloudflare)
    await _setup(hass, entry)
    for name in ("example.com", "homelab.example"):
        expected = _expected(_zone(cloudflare, name), START)
        requests = _zone_state(hass, cloudflare, name, "cloudflare_requests")
        assert int(requests.state) == expected["requests"]
        assert requests.attributes["unit_of_measurement"] == "requests"
        assert requests.attributes["state_class"] == "measurement"
        ratio = _zone_state(hass, cloudflare, name, "cloudflare_cached_ratio")
        assert float(ratio.state) == round(expected["cached"] / expected["requests"] * 100, 1)
        bandwidth = _zone_state(hass, cloudflare, name, "cloudflare_bandwidth")
        assert bandwidth.attributes["device_class"] == "data_size"
        assert bandwidth.attributes["unit_of_measurement"] == "MB"
        assert float(bandwidth.state) == pytest.approx(expected["bytes"] / 1e6, abs=0.06)
        threats = _zone_state(hass, cloudflare, name, "cloudflare_threats")
        assert int(threats.state) == expected["threats"]
        views = _zone_state(hass, cloudflare, name, "cloudflare_page_views")
        assert int(views.state) == expected["page_views"]

    devices = dr.async_get(hass)
    account = next(iter(cloudflare.accounts.values()))
    account_device = devices.async_get_device_by_identifier(
        (DOMAIN, f"cloudflare/{account.id}"), entry.entry_id
    )
    assert account_device is not None
    assert account_device.name == "Cloudflare Homelab"
    zone = _zone(cloudflare, "example.com")
    zone_device = devices.async_get_device_by_identifier(
        (DOMAIN, f"cloudflare/{account.id}/zone/{zone.id}"), entry.entry_id
    )
    assert zone_device is not None
    assert zone_device.name == "example.com"
    assert zone_device.via_device_id == account_device.id
    assert zone_device.manufacturer == "Cloudflare"

    # Later in the hour the figures grow with the hour in progress.
    await _poll(hass, freezer, POLL)
    later = _expected(zone, START + POLL)
    assert (
        int(_zone_state(hass, cloudflare, "example.com", "cloudflare_requests").state)
        == (later["requests"])
    )


async def test_requests_per_poll_stay_within_the_budget(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """Two requests a poll whatever the zone count; the zone list once an hour."""
    for index in range(20):
        cloudflare.add_zone(next(iter(cloudflare.accounts.values())), f"site{index}.example")
    freezer.move_to(START)
    await _setup(hass, entry_for(cloudflare))
    assert cloudflare.requests == {"zones": 1, "tunnels": 1, "graphql": 1}
    cloudflare.requests.clear()
    for _ in range(11):
        await _poll(hass, freezer, POLL)
    assert cloudflare.requests == {"tunnels": 11, "graphql": 11}
    await _poll(hass, freezer, POLL)  # an hour after the zone list was read
    assert cloudflare.requests == {"tunnels": 12, "graphql": 12, "zones": 1}
    # 25 requests an hour: far below 1,200 per 5 minutes.
    assert cloudflare.requests_in_window() <= 3
    assert cloudflare.rate_limited == 0


async def test_rate_limit_is_honoured_without_retry_storm(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """A 429 makes the entry wait for Retry-After: no requests meanwhile, then it recovers."""
    freezer.move_to(START)
    entry = entry_for(cloudflare)
    await _setup(hass, entry)
    cloudflare.requests.clear()
    cloudflare.force_rate_limit(900)  # Retry-After 600 s at the next poll: beyond its interval
    await _poll(hass, freezer, POLL)
    assert cloudflare.requests.total() == 1
    assert cloudflare.rate_limited == 1
    requests = _zone_state(hass, cloudflare, "example.com", "cloudflare_requests")
    assert requests.state == STATE_UNAVAILABLE
    coordinator = entry.runtime_data.coordinator  # type: ignore[attr-defined]
    assert "600 seconds" in str(coordinator.last_exception)

    # Regular polls and a manual refresh while the limit holds send nothing.
    for _ in range(3):
        await _poll(hass, freezer, timedelta(minutes=2))
    await coordinator.async_refresh()
    assert cloudflare.requests.total() == 1

    await _poll(hass, freezer, timedelta(minutes=4, seconds=5))  # past Retry-After
    assert cloudflare.rate_limited == 1
    assert cloudflare.requests["graphql"] == 1
    assert _zone_state(hass, cloudflare, "example.com", "cloudflare_requests").state != (
        STATE_UNAVAILABLE
    )


async def test_graphql_errors_fail_the_poll_and_recover(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """HTTP 200 with `errors`: the poll fails with the message; a rate-limit error backs off."""
    freezer.move_to(START)
    entry = entry_for(cloudflare)
    await _setup(hass, entry)
    coordinator = entry.runtime_data.coordinator  # type: ignore[attr-defined]
    cloudflare.graphql_error("field 'httpRequests1hGroups' is temporarily unavailable")
    await _poll(hass, freezer, POLL)
    assert not coordinator.last_update_success
    assert "temporarily unavailable" in str(coordinator.last_exception)
    assert _zone_state(hass, cloudflare, "example.com", "cloudflare_threats").state == (
        STATE_UNAVAILABLE
    )
    await _poll(hass, freezer, POLL)
    assert coordinator.last_update_success

    cloudflare.graphql_error("rate limiter budget depleted, try again after 60 seconds")
    await _poll(hass, freezer, POLL)
    assert not coordinator.last_update_success
    sent = cloudflare.requests.total()
    await coordinator.async_refresh()
    assert cloudflare.requests.total() == sent
    await _poll(hass, freezer, timedelta(seconds=61))
    assert coordinator.last_update_success


async def test_tunnel_status_and_problem(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """Down or degraded turns the problem sensor on; healthy again turns it off."""
    freezer.move_to(START)
    await _setup(hass, entry_for(cloudflare))
    tunnel = next(t for t in cloudflare.tunnels.values() if t.name == "home")
    status = _tunnel_state(hass, cloudflare, "home", "sensor", "cloudflare_tunnel_status")
    assert status.state == "healthy"
    assert status.attributes["options"] == ["healthy", "degraded", "down", "inactive"]
    assert status.attributes["connections"] == 4
    problem = _tunnel_state(hass, cloudflare, "home", "binary_sensor", "cloudflare_tunnel_problem")
    assert problem.state == "off"
    assert problem.entity_id == "binary_sensor.home_tunnel_problem"

    cloudflare.set_tunnel_status(tunnel, "down")
    await _poll(hass, freezer, POLL)
    assert _tunnel_state(hass, cloudflare, "home", "sensor", "cloudflare_tunnel_status").state == (
        "down"
    )
    problem = _tunnel_state(hass, cloudflare, "home", "binary_sensor", "cloudflare_tunnel_problem")
    assert problem.state == "on"
    assert problem.attributes["connections"] == 0
    lab = _tunnel_state(hass, cloudflare, "lab", "binary_sensor", "cloudflare_tunnel_problem")
    assert lab.state == "off"

    cloudflare.set_tunnel_status(tunnel, "degraded")
    await _poll(hass, freezer, POLL)
    assert _tunnel_state(hass, cloudflare, "home", "binary_sensor", "cloudflare_tunnel_problem")
    cloudflare.set_tunnel_status(tunnel, "healthy")
    await _poll(hass, freezer, POLL)
    problem = _tunnel_state(hass, cloudflare, "home", "binary_sensor", "cloudflare_tunnel_problem")
    assert problem.state == "off"


async def test_tunnels_and_zones_come_and_go(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """New tunnels and zones get devices; vanished ones go unavailable and can be deleted."""
    freezer.move_to(START)
    entry = entry_for(cloudflare)
    await _setup(hass, entry)
    account = next(iter(cloudflare.accounts.values()))
    office = cloudflare.add_tunnel(account, "office", status="inactive")
    shop = cloudflare.add_zone(account, "shop.example")
    await _poll(hass, freezer, POLL)
    assert _tunnel_state(
        hass, cloudflare, "office", "sensor", "cloudflare_tunnel_status"
    ).state == ("inactive")
    assert _tunnel_state(hass, cloudflare, "office", "binary_sensor", "cloudflare_tunnel_problem")
    # Zones are listed hourly: the new one appears with the next zone list.
    assert (
        er.async_get(hass).async_get_entity_id(
            "sensor", DOMAIN, f"cloudflare/{account.id}/zone/{shop.id}_cloudflare_requests"
        )
        is None
    )
    await _poll(hass, freezer, timedelta(hours=1))
    assert int(_zone_state(hass, cloudflare, "shop.example", "cloudflare_requests").state) > 0

    devices = dr.async_get(hass)
    cloudflare.delete_tunnel(office)
    cloudflare.remove_zone(_zone(cloudflare, "homelab.example"))
    await _poll(hass, freezer, timedelta(hours=1))
    office_status = _tunnel_state(hass, cloudflare, "office", "sensor", "cloudflare_tunnel_status")
    assert office_status.state == STATE_UNAVAILABLE
    stale = devices.async_get_device_by_identifier(
        (DOMAIN, f"cloudflare/{account.id}/tunnel/{office.id}"), entry.entry_id
    )
    assert stale is not None
    assert await async_remove_config_entry_device(hass, entry, stale)
    for identifier in (f"cloudflare/{account.id}", f"cloudflare/{account.id}/zone/{shop.id}"):
        current = devices.async_get_device_by_identifier((DOMAIN, identifier), entry.entry_id)
        assert current is not None
        assert not await async_remove_config_entry_device(hass, entry, current)


async def test_invalid_token_starts_reauth(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """A token revoked while the entry runs asks the user for a new one."""
    freezer.move_to(START)
    entry = entry_for(cloudflare)
    await _setup(hass, entry)
    next(iter(cloudflare.tokens.values())).status = "disabled"
    await _poll(hass, freezer, POLL)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_failing_cloudflare_leaves_other_entries_running(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """One account's API down: only its entities are unavailable."""
    freezer.move_to(START)
    other_sim = CloudflareSimulator(seed=8)
    work = other_sim.add_account("Work")
    other_sim.add_zone(work, "work.example")
    other_sim.add_token()
    async with other_sim:
        await _setup(hass, entry_for(cloudflare))
        await _setup(hass, entry_for(other_sim, account_name="Work"))
        await other_sim.stop()
        await _poll(hass, freezer, POLL)
        assert _zone_state(hass, other_sim, "work.example", "cloudflare_requests").state == (
            STATE_UNAVAILABLE
        )
        assert _zone_state(hass, cloudflare, "example.com", "cloudflare_requests").state != (
            STATE_UNAVAILABLE
        )
        assert _tunnel_state(
            hass, cloudflare, "home", "sensor", "cloudflare_tunnel_status"
        ).state == ("healthy")


async def test_setup_retries_while_cloudflare_is_down(
    hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """No answer at start is a retry, not a failed entry."""
    entry = entry_for(cloudflare)
    cloudflare.fail("tunnels", status=503)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_diagnostics_without_the_token(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    cloudflare: CloudflareSimulator,
) -> None:
    """Counts, tunnel states, request figures; the token is redacted."""
    entry = entry_for(cloudflare)
    await _setup(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"]["api_token"] == "**REDACTED**"
    assert entry.data["api_token"] not in str(diagnostics)
    source = diagnostics["source"]
    assert source["zones"] == 2
    assert sorted(source["tunnels"].values()) == ["healthy", "healthy"]
    assert source["requests_sent"] == 3
    assert source["rate_limited_until"] is None
    assert source["poll_interval_seconds"] == 300
    assert source["monitor"]["metrics"] == 2
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("cloudflare_options", [{"poll_interval": 15}])
async def test_poll_interval_option(hass: HomeAssistant, setup_cloudflare: MockConfigEntry) -> None:
    """The option sets the coordinator's interval."""
    coordinator = setup_cloudflare.runtime_data.coordinator  # type: ignore[attr-defined]
    assert coordinator.update_interval == timedelta(minutes=15)


async def test_lost_permission_and_a_zone_without_traffic(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, cloudflare: CloudflareSimulator
) -> None:
    """A zone with no requests has no cached share; a token losing a permission names it."""
    account = next(iter(cloudflare.accounts.values()))
    cloudflare.add_zone(account, "parked.example", requests_per_hour=0)
    freezer.move_to(START)
    entry = entry_for(cloudflare)
    await _setup(hass, entry)
    assert _zone_state(hass, cloudflare, "parked.example", "cloudflare_requests").state == "0"
    ratio = _zone_state(hass, cloudflare, "parked.example", "cloudflare_cached_ratio")
    assert ratio.state == "unknown"

    token = next(iter(cloudflare.tokens.values()))
    token.permissions = token.permissions - {"Zone:Analytics:Read"}
    await _poll(hass, freezer, POLL)
    coordinator = entry.runtime_data.coordinator  # type: ignore[attr-defined]
    assert str(coordinator.last_exception) == (
        "The Cloudflare token lacks the permission Zone → Analytics → Read"
    )
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)  # not a reauth
