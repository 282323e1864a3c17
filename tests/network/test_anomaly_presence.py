"""Presence: new devices after the warm-up, usually-online devices going offline, housekeeping."""

from __future__ import annotations

from datetime import timedelta
import random

from homeassistant.util import dt as dt_util
import pytest

from custom_components.homelab_agents.network import anomaly
from custom_components.homelab_agents.network.anomaly import AnomalyDetector, Sensitivity
from custom_components.homelab_agents.network.models import AnomalyType, PresenceSample

from .conftest import MONDAY, POLL, polls, query_sample

MINUTE = timedelta(minutes=1)


def _present(key: str, online: bool = True) -> PresenceSample:
    return PresenceSample(key=key, label=f"Device {key}", online=online)


def _settled(keys: list[str], duration: timedelta = timedelta(days=3)) -> AnomalyDetector:
    """A detector that watched `keys` online every ten minutes for `duration`."""
    detector = AnomalyDetector("unifi")
    for moment in polls(MONDAY, duration):
        assert detector.observe([], [_present(key) for key in keys], moment).raised == []
    return detector


def test_devices_present_during_warm_up_are_not_new() -> None:
    """The first polls list every existing device: none is new; one joining later is."""
    detector = AnomalyDetector("tailscale")
    moment = MONDAY
    for index in range(4):
        sample = [_present(f"node{i}") for i in range(index * 3, index * 3 + 3)]
        assert detector.observe([], sample, moment).raised == []
        moment += 15 * MINUTE
    assert detector.presence_warm(moment.timestamp())
    raised = detector.observe([], [_present("laptop")], moment).raised
    assert [(a.anomaly, a.key, a.label) for a in raised] == [
        (AnomalyType.NEW_DEVICE, "laptop", "Device laptop")
    ]
    assert raised[0].explanation == "New device on the network: Device laptop"
    # Seen again: nothing new.
    assert detector.observe([], [_present("laptop")], moment + MINUTE).raised == []


def test_warm_up_needs_an_hour_and_several_polls() -> None:
    """Three polls within minutes are not enough; an hour with one poll is not either."""
    detector = AnomalyDetector("unifi")
    for index in range(3):
        detector.observe([], [_present("a")], MONDAY + index * MINUTE)
    assert not detector.presence_warm((MONDAY + 10 * MINUTE).timestamp())
    assert detector.observe([], [_present("b")], MONDAY + 10 * MINUTE).raised == []
    assert detector.presence_warm((MONDAY + 61 * MINUTE).timestamp())

    slow = AnomalyDetector("unifi")
    slow.observe([], [_present("a")], MONDAY)
    assert slow.observe([], [_present("b")], MONDAY + 2 * timedelta(hours=1)).raised == []
    # Polls without presence samples (a metrics-only source) do not count.
    slow.observe([query_sample("q", 1)], [], MONDAY + 3 * timedelta(hours=1))
    assert not slow.presence_warm((MONDAY + 4 * timedelta(hours=1)).timestamp())


def test_key_first_listed_offline_is_known_without_an_anomaly() -> None:
    """A source listing a device from its history (offline) does not make it new."""
    detector = _settled(["router"], timedelta(hours=2))
    moment = MONDAY + timedelta(hours=2)
    assert detector.observe([], [_present("old-phone", online=False)], moment).raised == []
    assert detector.observe([], [_present("old-phone")], moment + MINUTE).raised == []


def test_new_device_anomaly_clears_after_an_hour() -> None:
    """Housekeeping clears a new-device anomaly after `NEW_DEVICE_HOLD`."""
    detector = _settled(["router"], timedelta(hours=2))
    moment = MONDAY + timedelta(hours=2)
    assert detector.observe([], [_present("tv")], moment).raised
    assert detector.expire(moment + 59 * MINUTE).cleared == []
    cleared = detector.expire(moment + 60 * MINUTE).cleared
    assert [(a.anomaly, a.key) for a in cleared] == [(AnomalyType.NEW_DEVICE, "tv")]
    assert detector.active == {}


def test_usually_online_device_going_offline_is_flagged_and_clears() -> None:
    """A server online for three days, offline twice in a row: flagged; back online: cleared."""
    detector = _settled(["nas", "printer"])
    moment = MONDAY + timedelta(days=3)
    first = detector.observe([], [_present("nas", online=False)], moment)
    assert first.raised == []  # one missed poll is not yet offline
    raised = detector.observe([], [_present("nas", online=False)], moment + MINUTE).raised
    assert [(a.anomaly, a.key) for a in raised] == [(AnomalyType.DEVICE_OFFLINE, "nas")]
    assert "normally online" in raised[0].explanation
    assert detector.observe([], [_present("nas", online=False)], moment + 6 * MINUTE).raised == []
    cleared = detector.observe([], [_present("nas")], moment + 7 * MINUTE).cleared
    assert [(a.anomaly, a.key) for a in cleared] == [(AnomalyType.DEVICE_OFFLINE, "nas")]


def test_device_often_offline_at_this_hour_is_not_flagged() -> None:
    """A phone online half the time is not flagged when offline."""
    detector = AnomalyDetector("unifi")
    for index, moment in enumerate(polls(MONDAY, timedelta(days=3))):
        detector.observe([], [_present("phone", online=index % 2 == 0)], moment)
    moment = MONDAY + timedelta(days=3)
    for step in range(4):
        changes = detector.observe([], [_present("phone", online=False)], moment + step * MINUTE)
        assert changes.raised == []


def test_device_offline_before_enough_history_is_not_flagged() -> None:
    """Two hours of history say nothing about what is normal."""
    detector = _settled(["nas"], timedelta(hours=2))
    moment = MONDAY + timedelta(hours=2)
    for step in range(3):
        changes = detector.observe([], [_present("nas", online=False)], moment + step * MINUTE)
        assert changes.raised == []


def test_offline_for_a_day_becomes_normal() -> None:
    """After a day offline the anomaly clears and is not raised again until it was back."""
    detector = _settled(["nas"])
    moment = MONDAY + timedelta(days=3)
    detector.observe([], [_present("nas", online=False)], moment)
    assert detector.observe([], [_present("nas", online=False)], moment + 5 * MINUTE).raised
    later = moment + timedelta(days=1, minutes=5)
    detector.observe([], [_present("nas", online=False)], later)
    cleared = detector.expire(later)
    assert [a.anomaly for a in cleared.cleared] == [AnomalyType.DEVICE_OFFLINE]
    # Written off, and still so after a restart.
    stored = detector.stored()
    assert stored["devices"]["nas"].get("dormant") is True
    detector = AnomalyDetector("unifi")
    detector.restore(stored)
    assert detector.devices["nas"].dormant
    for step in range(1, 4):
        assert detector.observe([], [_present("nas", online=False)], later + step * POLL) == (
            anomaly.Changes()
        )
    # Back online for a week: usually online again, and flagged when it goes.
    back = later + timedelta(hours=1)
    for moment in polls(back, timedelta(days=7, minutes=10)):
        assert detector.observe([], [_present("nas")], moment).raised == []
    again = back + timedelta(days=7, minutes=10)
    detector.observe([], [_present("nas", online=False)], again)
    assert detector.observe([], [_present("nas", online=False)], again + 5 * MINUTE).raised


def test_anomalies_of_keys_no_longer_sampled_clear() -> None:
    """A client that stopped appearing (its spike and its offline state) clears after an hour."""
    detector = _settled(["nas"])
    moment = MONDAY + timedelta(days=3)
    detector.observe([], [_present("nas", online=False)], moment)
    detector.observe([], [_present("nas", online=False)], moment + 5 * MINUTE)
    for when in polls(MONDAY, timedelta(days=2)):
        detector.observe([query_sample("q", 100)], [], when)
    assert detector.observe([query_sample("q", 10_000)], [], moment).raised
    assert len(detector.active) == 2
    assert detector.expire(moment + 30 * MINUTE).cleared == []
    cleared = detector.expire(moment + 66 * MINUTE).cleared
    assert {a.anomaly for a in cleared} == {
        AnomalyType.QUERY_RATE_SPIKE,
        AnomalyType.DEVICE_OFFLINE,
    }


def test_long_unseen_keys_are_forgotten() -> None:
    """Metrics unseen for 30 days and devices unseen for 90 are dropped."""
    detector = _settled(["nas"], timedelta(hours=1))
    detector.observe([query_sample("q", 1)], [], MONDAY)
    detector.expire(MONDAY + timedelta(days=29))
    assert set(detector.metrics) == {"q"}
    detector.expire(MONDAY + timedelta(days=31))
    assert detector.metrics == {}
    assert set(detector.devices) == {"nas"}
    detector.expire(MONDAY + timedelta(days=91))
    assert detector.devices == {}


def test_key_counts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the cap, the least recently sampled key makes room."""
    monkeypatch.setattr(anomaly, "MAX_METRICS", 3)
    monkeypatch.setattr(anomaly, "MAX_DEVICES", 2)
    detector = AnomalyDetector("pihole")
    for index in range(5):
        moment = MONDAY + index * MINUTE
        detector.observe([query_sample(f"c{index}", 1)], [_present(f"d{index}")], moment)
    assert list(detector.metrics) == ["c2", "c3", "c4"]
    assert list(detector.devices) == ["d3", "d4"]


def test_presence_counts_fade_so_habits_can_change() -> None:
    """A bucket's counts halve past the cap; the share keeps its proportion."""
    detector = AnomalyDetector("unifi")
    for moment in polls(MONDAY, timedelta(days=60), timedelta(hours=24)):
        detector.observe([], [_present("nas")], moment)
    device = detector.devices["nas"]
    assert max(device.observed) <= anomaly.PRESENCE_MAX_COUNT
    assert device.total_observed == sum(device.observed)
    assert device.online == device.observed


def test_stored_state_round_trips() -> None:
    """What `stored()` returns restores to a detector that judges the same way."""
    detector = _settled(["nas"])
    for when in polls(MONDAY, timedelta(days=2)):
        detector.observe([query_sample("q", 100 + when.minute)], [], when)
    moment = MONDAY + timedelta(days=3)
    detector.observe([], [_present("nas", online=False)], moment)
    detector.observe([], [_present("nas", online=False)], moment + 5 * MINUTE)
    assert detector.changed
    stored = detector.stored()
    assert not detector.changed

    restored = AnomalyDetector("unifi")
    restored.restore(stored)
    assert restored.stored() == stored
    assert restored.active == detector.active
    assert restored.metrics["q"].count == detector.metrics["q"].count
    probe = moment + 6 * MINUTE
    for judge in (detector, restored):
        assert judge.observe([query_sample("q", 10_000)], [], probe).raised
        assert [a.key for a in judge.observe([], [_present("nas")], probe).cleared] == ["nas"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s["metrics"]["q"]["sizes"].append(1),
        lambda s: s["metrics"]["q"].update({"values": "not base64!"}),
        lambda s: s["metrics"]["q"].update({"values": "AAA="}),
        lambda s: s["metrics"]["q"].update({"values": ""}),
        lambda s: s["metrics"]["q"]["sizes"].__setitem__(0, 13),
        lambda s: s["devices"]["nas"].update({"online": [1, 2]}),
        lambda s: s["active"][0].update({"detected_at": "yesterday"}),
        lambda s: s["active"][0].update({"observed": "lots"}),
        lambda s: s.pop("presence_polls"),
    ],
)
def test_damaged_stored_state_is_refused_whole(damage: object) -> None:
    """A damaged record raises and leaves the detector as it was."""
    source = _settled(["nas"], timedelta(days=2))
    for when in polls(MONDAY, timedelta(hours=2)):
        source.observe([query_sample("q", 1)], [], when)
    source.observe([], [_present("tv")], MONDAY + timedelta(days=2))
    stored = source.stored()
    damage(stored)  # type: ignore[operator]
    detector = AnomalyDetector("unifi")
    with pytest.raises((KeyError, ValueError, TypeError)):
        detector.restore(stored)
    assert detector.metrics == {}
    assert detector.active == {}


def test_explanations_read_well() -> None:
    """Metric anomalies say what was observed against what was expected, with the unit."""
    detector = AnomalyDetector("pihole")
    for moment in polls(MONDAY, timedelta(days=2)):
        detector.observe([query_sample("q", 100)], [], moment)
    raised = detector.observe([query_sample("q", 1000)], [], MONDAY + timedelta(days=2))
    assert raised.raised[0].explanation == (
        "Queries from q: observed 1000 queries, expected 70 to 130 queries"
    )


def test_three_weeks_of_habits_raise_nothing_until_the_server_fails() -> None:
    """Habits are not anomalies; a failure is.

    A work laptop with varying hours, a phone online 60 % of the time and a server that misses
    1 % of polls (never two in a row: sources debounce flapping): nothing in three weeks polled
    every two minutes. Then the server really goes down and is flagged on the second poll.
    (Seeds 1-10 all pass.)
    """
    rng = random.Random(1)
    detector = AnomalyDetector("unifi")
    hours: dict[int, tuple[float, float]] = {}
    raised = []
    server_missed = False
    for moment in polls(MONDAY, timedelta(days=21), 2 * MINUTE):
        local = dt_util.as_local(moment)
        start, end = hours.setdefault(
            local.toordinal(), (rng.uniform(7.5, 9.5), rng.uniform(16.5, 18.5))
        )
        hour = local.hour + local.minute / 60
        samples = [
            _present("laptop", local.weekday() < 5 and start <= hour < end),
            _present("phone", rng.random() < 0.6),
            _present("server", not (server_missed := not server_missed and rng.random() < 0.01)),
        ]
        raised += detector.observe([], samples, moment).raised
    assert raised == []
    down = MONDAY + timedelta(days=21)
    offline = []
    for moment in polls(down, 10 * MINUTE, 2 * MINUTE):
        offline += detector.observe([], [_present("server", online=False)], moment).raised
    assert [(a.anomaly, a.key, a.detected_at) for a in offline] == [
        (AnomalyType.DEVICE_OFFLINE, "server", down + 2 * MINUTE)
    ]


@pytest.mark.parametrize(
    ("sensitivity", "flagged"),
    [(Sensitivity.LOW, False), (Sensitivity.MEDIUM, False), (Sensitivity.HIGH, True)],
)
def test_sensitivity_sets_how_usual_online_must_be(sensitivity: Sensitivity, flagged: bool) -> None:
    """A device online 93 % of the time: its absence is an anomaly only at high sensitivity."""
    detector = AnomalyDetector("unifi", sensitivity)
    for index, moment in enumerate(polls(MONDAY, timedelta(days=7))):
        detector.observe([], [_present("camera", online=index % 15 != 0)], moment)
    moment = MONDAY + timedelta(days=7)
    detector.observe([], [_present("camera", online=False)], moment)
    raised = detector.observe([], [_present("camera", online=False)], moment + MINUTE).raised
    assert bool(raised) is flagged
