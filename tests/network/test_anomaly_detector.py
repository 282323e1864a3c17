"""The pure anomaly detector on synthetic seasonal series (seeded, so every run is the same)."""

from __future__ import annotations

from datetime import datetime, timedelta
import math
import random

import pytest

from custom_components.homelab_agents.network import anomaly
from custom_components.homelab_agents.network.anomaly import (
    AnomalyDetector,
    Baseline,
    Sensitivity,
    bucket_of,
)
from custom_components.homelab_agents.network.models import (
    AnomalyType,
    Direction,
    MetricSample,
)

from .conftest import MONDAY, POLL, polls, query_sample, seasonal

WEEK = timedelta(days=7)
FIVE_MINUTES = timedelta(minutes=5)


def _train(
    detector: AnomalyDetector,
    rng: random.Random,
    keys: dict[str, float],
    start: datetime,
    duration: timedelta,
    *,
    step: timedelta = POLL,
) -> list[str]:
    """Feed seasonal values for every key; returns the keys of what was raised."""
    raised = []
    for moment in polls(start, duration, step):
        samples = [query_sample(key, seasonal(rng, moment, base)) for key, base in keys.items()]
        raised += [a.key for a in detector.observe(samples, [], moment).raised]
    return raised


def _expected(detector: AnomalyDetector, key: str, moment: datetime) -> tuple[float, float]:
    metric = detector.metrics[key]
    low, high, _ = metric.baseline(bucket_of(moment), moment.timestamp()).expected(detector.tuning)
    return low, high


def _warm(sensitivity: Sensitivity = Sensitivity.MEDIUM, seed: int = 1) -> AnomalyDetector:
    """A detector that learned one seasonal metric `q` (base 200) for a week."""
    detector = AnomalyDetector("pihole", sensitivity)
    assert _train(detector, random.Random(seed), {"q": 200}, MONDAY, WEEK) == []
    return detector


def test_clean_weeks_raise_nothing() -> None:
    """Twenty seasonal metrics polled every 5 minutes for three weeks: no false positives.

    The first week includes the warm-up and the weeks the hour buckets fill; the count is
    asserted for every week (this is the false-positive figure the README reports).
    """
    detector = AnomalyDetector("pihole", Sensitivity.MEDIUM)
    keys = {f"client{i}": 20.0 * (i + 1) for i in range(20)}
    rng = random.Random(7)
    per_week = [
        len(_train(detector, rng, keys, MONDAY + week * WEEK, WEEK, step=FIVE_MINUTES))
        for week in range(3)
    ]
    assert per_week == [0, 0, 0]
    assert all(detector.metrics[key].warm(MONDAY.timestamp() + 21 * 86400) for key in keys)


def test_high_sensitivity_flags_more_than_medium_on_the_same_series() -> None:
    """High narrows the range: on the same noisy weeks it flags where medium does not."""
    counts = {}
    for sensitivity in (Sensitivity.LOW, Sensitivity.MEDIUM, Sensitivity.HIGH):
        detector = AnomalyDetector("pihole", sensitivity)
        keys = {f"client{i}": 10.0 * (i + 1) for i in range(20)}
        counts[sensitivity] = len(
            _train(detector, random.Random(3), keys, MONDAY, 3 * WEEK, step=FIVE_MINUTES)
        )
    assert counts[Sensitivity.LOW] == counts[Sensitivity.MEDIUM] == 0
    assert counts[Sensitivity.HIGH] > 0


def test_sensitivity_sets_the_width_of_the_expected_range() -> None:
    """The same history gives a wide range at low, a narrow one at high."""
    moment = MONDAY + WEEK + timedelta(hours=12)
    widths = {}
    for sensitivity in Sensitivity:
        detector = _warm(sensitivity)
        low, high = _expected(detector, "q", moment)
        widths[sensitivity] = high - low
    assert widths[Sensitivity.LOW] > widths[Sensitivity.MEDIUM] > widths[Sensitivity.HIGH] > 0


def test_spike_is_flagged_at_once_and_clears_with_the_value() -> None:
    """A four-fold query rate is raised on its first poll and cleared when the rate is back."""
    detector = _warm()
    rng = random.Random(99)
    moment = MONDAY + WEEK + timedelta(hours=13)
    low, high = _expected(detector, "q", moment)
    spike = 4 * seasonal(rng, moment, 200)
    raised = detector.observe([query_sample("q", spike)], [], moment).raised
    assert [(a.anomaly, a.key, a.observed) for a in raised] == [
        (AnomalyType.QUERY_RATE_SPIKE, "q", spike)
    ]
    assert raised[0].expected_high == pytest.approx(high, rel=1e-3)
    assert raised[0].expected_low == pytest.approx(low, rel=1e-3)
    assert "expected" in raised[0].explanation

    moment += POLL
    still = detector.observe([query_sample("q", spike)], [], moment)
    assert not still.raised
    assert not still.cleared
    moment += POLL
    back = detector.observe([query_sample("q", seasonal(rng, moment, 200))], [], moment)
    assert [a.key for a in back.cleared] == ["q"]
    assert detector.active == {}


def test_throughput_collapse_needs_a_downward_metric() -> None:
    """A WAN throughput collapse is flagged for a DOWN metric; an UP metric ignores drops."""
    rng = random.Random(5)
    down = AnomalyDetector("unifi")
    up = AnomalyDetector("unifi")
    for moment in polls(MONDAY, WEEK):
        value = rng.gauss(300, 20)
        down.observe([_wan(value, Direction.DOWN)], [], moment)
        up.observe([_wan(value, Direction.UP)], [], moment)
    moment = MONDAY + WEEK
    assert down.observe([_wan(15, Direction.DOWN)], [], moment).raised[0].observed == 15
    assert up.observe([_wan(15, Direction.UP)], [], moment).raised == []
    # A rise is no collapse.
    moment += POLL
    assert [a.key for a in down.observe([_wan(900, Direction.DOWN)], [], moment).cleared] == ["wan"]


def _wan(value: float, direction: Direction) -> MetricSample:
    return MetricSample(
        key="wan",
        label="WAN download",
        value=value,
        anomaly=AnomalyType.WAN_THROUGHPUT_COLLAPSE,
        direction=direction,
        unit="Mbit/s",
    )


def _latency(value: float) -> MetricSample:
    return MetricSample(
        key="latency",
        label="WAN latency",
        value=value,
        anomaly=AnomalyType.WAN_LATENCY_RISE,
        direction=Direction.BOTH,
        unit="ms",
    )


def test_marginal_rise_must_hold_two_polls_but_a_severe_one_does_not() -> None:
    """Just outside the range: raised on the second poll in a row; far outside: at once."""
    rng = random.Random(11)
    detector = AnomalyDetector("unifi")
    for moment in polls(MONDAY, WEEK):
        detector.observe([_latency(rng.gauss(20, 2))], [], moment)
    moment = MONDAY + WEEK
    metric = detector.metrics["latency"]
    _, high, half = metric.baseline(bucket_of(moment), moment.timestamp()).expected(detector.tuning)
    marginal = high + half / 2
    assert detector.observe([_latency(marginal)], [], moment).raised == []
    # One marginal poll between normal ones is noise.
    assert detector.observe([_latency(20)], [], moment + POLL).raised == []
    assert detector.observe([_latency(marginal)], [], moment + 2 * POLL).raised == []
    raised = detector.observe([_latency(marginal)], [], moment + 3 * POLL).raised
    assert [a.anomaly for a in raised] == [AnomalyType.WAN_LATENCY_RISE]
    assert detector.observe([_latency(20)], [], moment + 4 * POLL).cleared
    severe = detector.observe([_latency(high + 3 * half)], [], moment + 5 * POLL).raised
    assert [a.observed for a in severe] == [high + 3 * half]


def test_floor_keeps_small_absolute_moves_quiet() -> None:
    """A metric that is almost always 0 does not flag 0 → 3 under a floor of 10, but does 40."""
    detector = AnomalyDetector("cloudflare")
    for moment in polls(MONDAY, WEEK):
        detector.observe([_threats(0)], [], moment)
    moment = MONDAY + WEEK
    assert detector.observe([_threats(3)], [], moment).raised == []
    assert detector.observe([_threats(3)], [], moment + POLL).raised == []
    raised = detector.observe([_threats(40)], [], moment + 2 * POLL).raised
    assert [(a.anomaly, a.observed) for a in raised] == [(AnomalyType.THREAT_SPIKE, 40)]
    # Back under range + floor but above the range: still active (hysteresis).
    assert detector.observe([_threats(5)], [], moment + 3 * POLL).cleared == []
    assert detector.observe([_threats(0)], [], moment + 4 * POLL).cleared


def _threats(value: float) -> MetricSample:
    return MetricSample(
        key="zone:example.com:threats",
        label="Threats to example.com",
        value=value,
        anomaly=AnomalyType.THREAT_SPIKE,
        floor=10,
    )


def test_near_constant_metric_does_not_flag_noise() -> None:
    """A blocked share that sat at exactly 12 % for a week: 13 % is no jump, 40 % is."""
    detector = AnomalyDetector("pihole")
    for moment in polls(MONDAY, WEEK):
        detector.observe([_blocked(12.0)], [], moment)
    moment = MONDAY + WEEK
    assert detector.observe([_blocked(13.0)], [], moment).raised == []
    assert detector.observe([_blocked(14.5)], [], moment + POLL).raised == []
    assert [a.observed for a in detector.observe([_blocked(40)], [], moment + 2 * POLL).raised] == [
        40
    ]


def _blocked(value: float) -> MetricSample:
    return MetricSample(
        key="blocked_ratio",
        label="Blocked queries",
        value=value,
        anomaly=AnomalyType.BLOCKED_RATIO_JUMP,
        direction=Direction.UP,
        unit="%",
    )


def test_outliers_do_not_poison_the_baseline() -> None:
    """Spikes every few hours for a week move the expected range by almost nothing."""
    rng = random.Random(21)
    clean = _warm(seed=21)
    spiked = AnomalyDetector("pihole")
    for index, moment in enumerate(polls(MONDAY, WEEK)):
        value = seasonal(rng, moment, 200)
        # After warm-up, every 18th poll (3 hours) is a ten-fold spike lasting two polls.
        if moment > MONDAY + timedelta(days=1, hours=1) and index % 18 in (0, 1):
            value *= 10
        spiked.observe([query_sample("q", value)], [], moment)
    moment = MONDAY + WEEK + timedelta(hours=14)
    clean_low, clean_high = _expected(clean, "q", moment)
    spiked_low, spiked_high = _expected(spiked, "q", moment)
    assert spiked_high == pytest.approx(clean_high, rel=0.2)
    assert spiked_low == pytest.approx(clean_low, rel=0.2, abs=1)
    # The spikes never became normal: the next one is flagged at once.
    assert spiked.observe([query_sample("q", 10 * clean_high)], [], moment).raised


def test_a_lasting_new_level_becomes_normal() -> None:
    """A level three times higher is flagged, learned slowly, and normal within three days."""
    rng = random.Random(4)
    detector = _warm(seed=4)
    start = MONDAY + WEEK
    cleared_at = None
    raised = []
    for moment in polls(start, timedelta(days=4)):
        changes = detector.observe([query_sample("q", 3 * seasonal(rng, moment, 200))], [], moment)
        raised += changes.raised
        if changes.cleared and cleared_at is None:
            cleared_at = moment
    assert raised
    assert raised[0].detected_at == start
    assert cleared_at is not None
    assert timedelta(days=1) < cleared_at - start < timedelta(days=3)


def test_warm_up_needs_a_day_and_enough_values() -> None:
    """Nothing is flagged in the first day, nor after it before enough values were learned."""
    detector = AnomalyDetector("pihole")
    rng = random.Random(8)
    assert _train(detector, rng, {"q": 200}, MONDAY, timedelta(hours=23, minutes=50)) == []
    moment = MONDAY + timedelta(hours=23, minutes=50)
    assert detector.observe([query_sample("q", 50_000)], [], moment).raised == []
    moment += POLL
    assert detector.metrics["q"].warm(moment.timestamp())
    assert detector.observe([query_sample("q", 50_000)], [], moment).raised

    # A day of history but only 12 values (polled every two hours): still warming up.
    sparse = AnomalyDetector("pihole")
    assert _train(sparse, rng, {"q": 200}, MONDAY, timedelta(days=1), step=timedelta(hours=2)) == []
    moment = MONDAY + timedelta(days=1, hours=1)
    assert sparse.metrics["q"].count < anomaly.WARMUP_SAMPLES
    assert sparse.observe([query_sample("q", 50_000)], [], moment).raised == []


def test_weekend_and_weekday_baselines_are_apart() -> None:
    """A home office: busy weekdays at noon, quiet weekends. Each is normal on its own days."""
    detector = AnomalyDetector("pihole")
    rng = random.Random(13)
    for moment in polls(MONDAY, 2 * WEEK):
        base = 20 if moment.weekday() >= 5 else 400
        detector.observe([query_sample("q", rng.gauss(base, base * 0.05))], [], moment)
    # 20:00 UTC is midday in the test time zones (UTC and US/Pacific) on the same date.
    wednesday = MONDAY.replace(hour=20) + 2 * WEEK + timedelta(days=2)
    saturday = wednesday + timedelta(days=3)
    assert bucket_of(saturday) >= 24 > bucket_of(wednesday)
    assert detector.observe([query_sample("q", 400)], [], wednesday).raised == []
    assert detector.observe([query_sample("q", 20)], [], saturday).raised == []
    assert detector.observe([query_sample("q", 400)], [], saturday + POLL).raised


def test_thin_bucket_falls_back_to_the_overall_baseline() -> None:
    """On the first Saturday no weekend bucket has values yet: the overall baseline judges."""
    detector = AnomalyDetector("pihole")
    rng = random.Random(17)
    _train(detector, rng, {"q": 200}, MONDAY, timedelta(days=5))
    saturday = MONDAY.replace(hour=20) + timedelta(days=5)
    metric = detector.metrics["q"]
    assert bucket_of(saturday) not in metric.buckets
    overall = metric.baseline(bucket_of(saturday), saturday.timestamp())
    assert overall is metric.overall
    everything = [v for ring in metric.buckets.values() for v in ring]
    assert overall == Baseline.of(everything)
    assert detector.observe([query_sample("q", overall.median)], [], saturday).raised == []


def test_non_finite_values_are_ignored() -> None:
    """NaN and infinity (a source's division by zero) neither flag nor enter the baseline."""
    detector = _warm()
    before = detector.metrics["q"].count
    moment = MONDAY + WEEK
    for value in (math.nan, math.inf):
        assert detector.observe([query_sample("q", value)], [], moment).raised == []
        moment += POLL
    assert detector.metrics["q"].count == before


def test_baseline_statistics_are_robust() -> None:
    """Median and spread of a set with a wild outlier stay where the rest of the set is."""
    baseline = Baseline.of([10, 11, 9, 10, 12, 8, 10, 10_000])
    assert baseline.median == 10
    assert 1 < baseline.sigma < 3
    assert baseline.non_negative
    low, high, half = Baseline.of([-5, -4, -6]).expected(anomaly.TUNING[Sensitivity.MEDIUM])
    assert low < -5 < high
    assert half > 0
