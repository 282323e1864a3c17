"""Replays of the simulated tailnet's daily rhythm: what the anomaly monitor flags.

A day and a half through Home Assistant (HTTP, coordinator, monitor, entities) with frozen
time; a week through the sample function and the detector directly, to count false positives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, callback
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.homelab_agents.network.anomaly import AnomalyDetector, Changes
from custom_components.homelab_agents.network.models import Anomaly, AnomalyType
from custom_components.homelab_agents.network.tailscale.models import (
    parse_devices,
    presence_samples,
)
from simulators.tailscale import Pattern, TailscaleSimulator
from simulators.tailscale.model import JITTER_MINUTES, WINDOWS, DeviceSpec, Tailnet

PROBLEM = "binary_sensor.tailscale_tail4e2a_ts_net_network_anomaly"
EVENTS = "event.tailscale_tail4e2a_ts_net_network_anomaly"
STEP = timedelta(minutes=10)
ONLINE_GRACE = timedelta(minutes=5)


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, steps: int) -> None:
    for _ in range(steps):
        freezer.tick(STEP)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


async def test_a_day_of_normal_traffic_then_injected_anomalies(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tailscale_sim: TailscaleSimulator,
    setup_tailscale: MockConfigEntry,
) -> None:
    """No flags over a normal day; a new machine and an always-on server dropping off are."""
    raised: list[Anomaly] = []

    @callback
    def record(changes: Changes) -> None:
        raised.extend(changes.raised)

    setup_tailscale.runtime_data.monitor.async_add_listener(record)
    await _advance(hass, freezer, 24 * 6)  # Wednesday noon to Thursday noon
    assert raised == []
    assert hass.states.get(PROBLEM).state == STATE_OFF
    # Laptops and phones came and went meanwhile.
    assert tailscale_sim.count("GET", "/tailnet/-/devices") >= 24 * 6

    intruder = tailscale_sim.join("unknown-pi", pattern=Pattern.ALWAYS_ON)
    await _advance(hass, freezer, 1)
    assert [(a.anomaly, a.label) for a in raised] == [(AnomalyType.NEW_DEVICE, "unknown-pi")]
    assert hass.states.get(PROBLEM).state == STATE_ON
    event = hass.states.get(EVENTS)
    assert event.attributes["event_type"] == "new_device"
    assert event.attributes["key"] == intruder.node_id
    assert event.attributes["explanation"] == "New device on the network: unknown-pi"

    tailscale_sim.take_offline("nas")
    await _advance(hass, freezer, 2)
    assert [(a.anomaly, a.label) for a in raised[1:]] == [(AnomalyType.DEVICE_OFFLINE, "nas")]
    assert hass.states.get(EVENTS).attributes["event_type"] == "device_offline"
    assert hass.states.get("binary_sensor.nas_online").state == STATE_OFF
    anomalies = hass.states.get(PROBLEM).attributes["anomalies"]
    assert {a["type"] for a in anomalies} == {"new_device", "device_offline"}

    # The server comes back: its anomaly clears, and the rest of the day stays quiet.
    tailscale_sim.bring_online("nas")
    await _advance(hass, freezer, 1)
    assert hass.states.get("binary_sensor.nas_online").state == STATE_ON
    assert {a["type"] for a in hass.states.get(PROBLEM).attributes["anomalies"]} <= {"new_device"}
    await _advance(hass, freezer, 12 * 6)
    assert len(raised) == 2
    assert hass.states.get(PROBLEM).state == STATE_OFF


def replay_week(
    seed: int, days: int, step: timedelta, *, inject_at: datetime | None = None
) -> tuple[list[Anomaly], dict[str, str]]:
    """Poll a simulated tailnet every `step` for `days` through the detector; returns flags.

    With `inject_at`, a new machine joins then and the NAS drops off an hour later.
    """
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday
    tailnet = Tailnet(seed=seed, now=start, name="homelab.example", dns="tail.ts.net")
    detector = AnomalyDetector("tailscale")
    raised: list[Anomaly] = []
    injected: dict[str, str] = {}
    now = start
    while now < start + timedelta(days=days):
        if inject_at is not None and now >= inject_at and not injected:
            newcomer = tailnet.add(
                DeviceSpec(hostname="unknown-pi", os="linux", pattern=Pattern.ALWAYS_ON),
                created=now,
                authorized=False,
            )
            injected[newcomer.node_id] = "new"
        if injected and inject_at is not None and now >= inject_at + timedelta(hours=1):
            nas = tailnet.find("nas")
            assert nas is not None
            if nas.forced_offline_since is None:
                nas.forced_offline_since = now
                injected[nas.node_id] = "offline"
        raw = [
            device.as_api(now, seed, tailnet.dns, all_fields=True)
            for device in tailnet.devices.values()
        ]
        samples = presence_samples(parse_devices(raw, now), now, ONLINE_GRACE)
        raised += detector.observe([], samples, now).raised
        raised += detector.expire(now).raised
        now += step
    return raised, injected


def _at_pattern_edge(anomaly: Anomaly, pattern: Pattern) -> bool:
    """Whether a flag falls where a daily device's jittered arrival or departure lies."""
    if pattern not in WINDOWS:
        return False
    minute = anomaly.detected_at.hour * 60 + anomaly.detected_at.minute
    return any(abs(minute - edge) <= JITTER_MINUTES + 15 for edge in WINDOWS[pattern])


def _patterns(seed: int) -> dict[str, Pattern]:
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    tailnet = Tailnet(seed=seed, now=start, name="homelab.example", dns="tail.ts.net")
    return {device.node_id: device.pattern for device in tailnet.devices.values()}


def test_a_week_of_normal_traffic_flags_no_server_and_no_new_device() -> None:
    """Seven days at the real poll rate (60 s): servers never flag, no device counts as new.

    The detector does flag some phones, laptops and desktops leaving a little earlier (or
    arriving later) than on the days before: those flags all lie at the jittered edges of
    their daily pattern; their count is what the report gives as false positives.
    """
    raised, _ = replay_week(7, 7, timedelta(seconds=60))
    patterns = _patterns(7)
    assert all(a.anomaly is AnomalyType.DEVICE_OFFLINE for a in raised)
    assert all(patterns[a.key] is not Pattern.ALWAYS_ON for a in raised)
    assert all(_at_pattern_edge(a, patterns[a.key]) for a in raised)


def test_a_week_with_injected_anomalies_flags_them() -> None:
    """On day six a new machine joins and the NAS drops off: both are flagged at once."""
    inject_at = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # Saturday afternoon
    raised, injected = replay_week(7, 7, timedelta(seconds=60), inject_at=inject_at)
    flagged = {(a.anomaly, a.key): a.detected_at for a in raised if a.key in injected}
    new = next(key for key, what in injected.items() if what == "new")
    offline = next(key for key, what in injected.items() if what == "offline")
    assert flagged[AnomalyType.NEW_DEVICE, new] == inject_at
    # Offline past the five-minute grace, then two polls in a row.
    delay = flagged[AnomalyType.DEVICE_OFFLINE, offline] - inject_at - timedelta(hours=1)
    assert timedelta(minutes=5) < delay <= timedelta(minutes=8)
    assert len(flagged) == 2
