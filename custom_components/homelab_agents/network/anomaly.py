"""The anomaly detector: seasonal, outlier-robust baselines per metric and presence per device.

Pure logic with no Home Assistant objects, so it is tested and benchmarked on its own;
`monitor.AnomalyMonitor` feeds it, stores it and reports what it flags.

Metrics. Every metric key keeps a small ring of learned values per time-of-day bucket (hour of
day, weekdays and weekends apart: 48 buckets). The expected range of a poll is the median of
its hour and the hours either side of it (same kind of day) ± a robust spread (the larger of
1.4826·MAD and IQR/1.349, both unmoved by a few outliers) times the sensitivity's factor, but
never narrower than a share of the median. While those buckets hold too few values the
metric's overall baseline (all its buckets together) stands in. A value is learned at most
once per `LEARN_SPACING`; flagged values are learned ten times more rarely, so spikes do not
poison the baseline, until the anomaly has lasted a day (then it is the new normal and learned
at the normal rate). A metric flags only after its warm-up; a value just outside the range
must stay outside for two polls in a row, one far outside is flagged at once.

Presence. Every device keeps, per bucket, how often it was online when observed (counts halve
past a cap, so old habits fade). A key first seen online after the source's presence warm-up is
a new device; a device seen offline twice in a row that is usually online (95 % of the time at
medium sensitivity) in this hour and the hours either side of it, on this kind of day, is
offline.
"""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import chain
import math
import struct
from typing import NotRequired, TypedDict
import zlib

from homeassistant.util import dt as dt_util

from .models import (
    Anomaly,
    AnomalyDict,
    AnomalyType,
    Direction,
    MetricSample,
    PresenceSample,
)

BUCKETS = 48  # hours 0-23 on weekdays, 24-47 on weekends (local time)
DAY = 86400.0
HOUR = 3600.0

# Metric baselines
LEARN_SPACING = 600.0  # seconds between two values learned for one metric
BUCKET_SAMPLES = 12  # ring size per bucket: two weekdays, or a weekend, at that hour
BUCKET_MIN_SAMPLES = 12  # in the hour and its neighbours; fewer: the overall baseline
LEVEL_MIN_SAMPLES = 6  # an hour with this many values sets the level its neighbours pool at
WARMUP_SAMPLES = 24  # a metric flags only after this many learned values...
WARMUP_SECONDS = DAY  # ...and a day of history
DEVIANT_LEARN_FACTOR = 10  # out-of-range values are learned this many times more rarely...
NEW_NORMAL_AFTER = DAY  # ...until the deviation has lasted this long
OVERALL_REFRESH = HOUR  # the overall baseline is a fallback; recomputed at most hourly
CONFIRM_POLLS = 2  # marginal deviations must hold this many polls in a row
MAD_TO_SIGMA = 1.4826
IQR_TO_SIGMA = 1 / 1.349

# Presence
PRESENCE_WARMUP = HOUR  # new devices flag once presence has been observed this long...
PRESENCE_WARMUP_POLLS = 3  # ...over at least this many polls
PRESENCE_MAX_COUNT = 64  # a bucket's counts halve past this (about two weeks), so habits
# can change; halved, the three pooled buckets still hold more than PRESENCE_BUCKET_MIN
PRESENCE_BUCKET_MIN = 72  # observations in the hour and its neighbours (4 days) to count
PRESENCE_OVERALL_MIN = 36  # otherwise the overall share, after this many and a day
OFFLINE_CONFIRM = 2  # polls in a row seen offline (sources debounce flapping themselves)
OFFLINE_GIVE_UP = DAY  # offline this long is the new normal: cleared, not re-flagged
NEW_DEVICE_HOLD = HOUR  # a new-device anomaly clears after this long

# Housekeeping
STALE_AFTER = HOUR  # an anomaly whose key is no longer sampled clears after this long
METRIC_RETENTION = 30 * DAY  # keys not sampled this long are forgotten
DEVICE_RETENTION = 90 * DAY
MAX_METRICS = 2000  # per entry; the least recently sampled is forgotten past this
MAX_DEVICES = 5000


class Sensitivity(StrEnum):
    """How narrow the expected range is: low flags less, high flags more."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Tuning:
    """How wide the expected range is for one sensitivity."""

    spread: float  # robust standard deviations each side of the median
    min_width: float  # least half-width as a share of the median
    usually_online: float  # online share that makes going offline an anomaly


TUNING: dict[Sensitivity, Tuning] = {
    Sensitivity.LOW: Tuning(spread=6.0, min_width=0.5, usually_online=0.98),
    Sensitivity.MEDIUM: Tuning(spread=4.5, min_width=0.3, usually_online=0.95),
    Sensitivity.HIGH: Tuning(spread=3.0, min_width=0.15, usually_online=0.9),
}


def bucket_of(moment: datetime) -> int:
    """The time-of-day bucket of a moment, in Home Assistant's local time."""
    local = dt_util.as_local(moment)
    return local.hour + (24 if local.weekday() >= 5 else 0)


def _pooled(bucket: int) -> tuple[int, int, int]:
    """A bucket and the hours either side of it, same kind of day: what its baseline pools."""
    day = bucket - bucket % 24
    hour = bucket % 24
    return (day + (hour - 1) % 24, bucket, day + (hour + 1) % 24)


def _quantile(ordered: list[float], share: float) -> float:
    position = (len(ordered) - 1) * share
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass(frozen=True, slots=True)
class Baseline:
    """Robust location and spread of a set of learned values."""

    median: float
    sigma: float  # robust estimate of the standard deviation
    non_negative: bool  # every learned value was >= 0, so the range stops at 0

    @classmethod
    def of(cls, values: Iterable[float]) -> Baseline:
        """Median, and the larger of the MAD- and IQR-based spreads."""
        ordered = sorted(values)
        median = _quantile(ordered, 0.5)
        deviations = sorted(abs(value - median) for value in ordered)
        iqr = _quantile(ordered, 0.75) - _quantile(ordered, 0.25)
        sigma = max(MAD_TO_SIGMA * _quantile(deviations, 0.5), IQR_TO_SIGMA * iqr)
        return cls(median, sigma, ordered[0] >= 0)

    def expected(self, tuning: Tuning) -> tuple[float, float, float]:
        """Low and high end of the expected range, and its half-width."""
        half = max(tuning.spread * self.sigma, tuning.min_width * abs(self.median))
        low = self.median - half
        if self.non_negative:
            low = max(low, 0.0)
        return low, self.median + half, half


def _significant(value: float) -> float:
    """Four significant digits: what an expected range is shown with."""
    return float(f"{value:.4g}")


FLOAT32_MAX = 3.4e38
_FLOAT32 = struct.Struct("<f")


def _float32(value: float) -> float:
    """The value as stored (single precision), so a restored baseline is the same one."""
    clamped = max(-FLOAT32_MAX, min(FLOAT32_MAX, value))
    return float(_FLOAT32.unpack(_FLOAT32.pack(clamped))[0])


def _pack(values: list[float]) -> str:
    """Learned values as base64 of little-endian float32.

    Built and serialized many times faster than a JSON list of numbers, and smaller: saves
    run in the event loop.
    """
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


def _unpack(text: str) -> list[float]:
    raw = base64.b64decode(text, validate=True)
    if len(raw) % 4:
        raise ValueError("not a whole number of float32 values")
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


class StoredMetric(TypedDict):
    """A metric's baseline as stored: bucket sizes, then every bucket's values in order."""

    first: float
    seen: float
    learned: float
    sizes: list[int]  # values per bucket, BUCKETS long
    values: str  # `_pack`ed


class StoredDevice(TypedDict):
    """A device's presence history as stored."""

    first: float
    seen: float
    learned: float
    online: list[int]
    observed: list[int]
    dormant: NotRequired[bool]


class StoredDetector(TypedDict):
    """Everything the detector learned, as stored."""

    metrics: dict[str, StoredMetric]
    devices: dict[str, StoredDevice]
    presence_since: float | None
    presence_polls: int
    active: list[AnomalyDict]


def _level_adjusted(own: deque[float] | None, rings: list[deque[float]]) -> list[float]:
    """The pooled values, the neighbouring hours' scaled to this hour's level.

    Pooling the hours either side gives a baseline enough values, but on a daily ramp (the
    evening rise of WAN traffic) their different levels would widen the range until a
    collapse fits in it. With LEVEL_MIN_SAMPLES of its own, the hour's median sets the level
    and each neighbour's values are scaled by the ratio of the medians; only the spread
    around the level is pooled.
    """
    if own is None or len(own) < LEVEL_MIN_SAMPLES:
        return [v for ring in rings for v in ring]
    level = _quantile(sorted(own), 0.5)
    values: list[float] = []
    for ring in rings:
        if ring is own:
            values.extend(ring)
            continue
        median = _quantile(sorted(ring), 0.5)
        if len(ring) < LEVEL_MIN_SAMPLES or level <= 0 or median <= 0:
            values.extend(ring)
        else:
            values.extend(v * level / median for v in ring)
    return values


class _Metric:
    """One metric's learned values and its state between polls."""

    __slots__ = (
        "buckets",
        "cache",
        "count",
        "first",
        "learned",
        "overall",
        "overall_at",
        "seen",
        "streak",
    )

    def __init__(self, now: float, phase: float = 0.0) -> None:
        self.first = now
        self.seen = now
        # The first value is learned `phase` seconds in: metrics of one source, created in
        # the same poll, then learn (and recompute their baselines) in different polls.
        # (A stored `learned` of an older release without a grid simply starts one.)
        self.learned = now - LEARN_SPACING + phase
        self.buckets: dict[int, deque[float]] = {}
        self.count = 0
        self.cache: dict[tuple[int, bool], Baseline] = {}
        self.overall: Baseline | None = None
        self.overall_at = -math.inf
        self.streak = 0

    def learn(self, bucket: int, value: float, now: float) -> None:
        ring = self.buckets.get(bucket)
        if ring is None:
            ring = self.buckets[bucket] = deque(maxlen=BUCKET_SAMPLES)
        if len(ring) < BUCKET_SAMPLES:
            self.count += 1
        ring.append(_float32(value))
        # On the metric's own grid of LEARN_SPACING, so its phase survives slow polling.
        self.learned = now - (now - self.learned) % LEARN_SPACING
        for neighbour in _pooled(bucket):
            self.cache.pop((neighbour, False), None)
            self.cache.pop((neighbour, True), None)

    def warm(self, now: float) -> bool:
        return self.count >= WARMUP_SAMPLES and now - self.first >= WARMUP_SECONDS

    def baseline(self, bucket: int, now: float, *, level: bool = False) -> Baseline:
        cached = self.cache.get((bucket, level))
        if cached is not None:
            return cached
        rings = [ring for b in _pooled(bucket) if (ring := self.buckets.get(b))]
        if sum(len(ring) for ring in rings) >= BUCKET_MIN_SAMPLES:
            values = (
                _level_adjusted(self.buckets.get(bucket), rings)
                if level
                else [v for ring in rings for v in ring]
            )
            baseline = self.cache[bucket, level] = Baseline.of(values)
            return baseline
        if self.overall is None or now - self.overall_at >= OVERALL_REFRESH:
            self.overall = Baseline.of(v for ring in self.buckets.values() for v in ring)
            self.overall_at = now
        return self.overall

    def stored(self) -> StoredMetric:
        stored: StoredMetric = {
            "first": self.first,
            "seen": self.seen,
            "learned": self.learned,
            "sizes": [len(self.buckets.get(bucket, ())) for bucket in range(BUCKETS)],
            "values": _pack(
                list(chain.from_iterable(self.buckets[b] for b in sorted(self.buckets)))
            ),
        }
        return stored

    @classmethod
    def restore(cls, stored: StoredMetric) -> _Metric:
        metric = cls(float(stored["first"]))
        metric.seen = float(stored["seen"])
        metric.learned = float(stored["learned"])
        sizes = [int(size) for size in stored["sizes"]]
        values = _unpack(stored["values"])
        if len(sizes) != BUCKETS or not all(0 <= size <= BUCKET_SAMPLES for size in sizes):
            raise ValueError("bucket sizes do not fit")
        if sum(sizes) != len(values):
            raise ValueError("bucket sizes and values disagree")
        start = 0
        for bucket, size in enumerate(sizes):
            if size:
                ring = deque(values[start : start + size], maxlen=BUCKET_SAMPLES)
                metric.buckets[bucket] = ring
                start += size
        metric.count = start
        return metric


class _Device:
    """One device's online share per bucket and its state between polls."""

    __slots__ = (
        "dormant",
        "first",
        "learned",
        "observed",
        "offline_streak",
        "online",
        "seen",
        "total_observed",
        "total_online",
    )

    def __init__(self, now: float) -> None:
        self.first = now
        self.seen = now
        self.learned = -math.inf
        self.online = [0] * BUCKETS
        self.observed = [0] * BUCKETS
        self.total_online = 0
        self.total_observed = 0
        self.offline_streak = 0
        self.dormant = False  # offline so long that offline is its normal

    def learn(self, bucket: int, online: bool, now: float) -> None:
        self.observed[bucket] += 1
        self.online[bucket] += online
        if self.observed[bucket] > PRESENCE_MAX_COUNT:
            self.observed[bucket] //= 2
            self.online[bucket] //= 2
            self.total_online = sum(self.online)
            self.total_observed = sum(self.observed)
        else:
            self.total_observed += 1
            self.total_online += online
        self.learned = now

    def online_share(self, bucket: int, now: float) -> float | None:
        """How often it was online at this time of day; None while too little is known.

        The hour and its neighbours count together, so a device that leaves at a slightly
        different time each day is not "usually online" in the hour it leaves.
        """
        pooled = _pooled(bucket)
        observed = sum(self.observed[b] for b in pooled)
        if observed >= PRESENCE_BUCKET_MIN:
            return sum(self.online[b] for b in pooled) / observed
        if self.total_observed >= PRESENCE_OVERALL_MIN and now - self.first >= DAY:
            return self.total_online / self.total_observed
        return None

    def stored(self) -> StoredDevice:
        stored: StoredDevice = {
            "first": self.first,
            "seen": self.seen,
            "learned": self.learned if self.learned > -math.inf else 0.0,
            "online": list(self.online),
            "observed": list(self.observed),
        }
        if self.dormant:
            stored["dormant"] = True
        return stored

    @classmethod
    def restore(cls, stored: StoredDevice) -> _Device:
        device = cls(float(stored["first"]))
        device.seen = float(stored["seen"])
        device.learned = float(stored["learned"])
        online = [int(v) for v in stored["online"]]
        observed = [int(v) for v in stored["observed"]]
        if len(online) != BUCKETS or len(observed) != BUCKETS:
            raise ValueError("presence history of the wrong size")
        device.online, device.observed = online, observed
        device.total_online, device.total_observed = sum(online), sum(observed)
        device.dormant = bool(stored.get("dormant", False))
        return device


@dataclass(slots=True)
class Changes:
    """What one poll or one housekeeping pass changed."""

    raised: list[Anomaly] = field(default_factory=list)
    cleared: list[Anomaly] = field(default_factory=list)

    def __bool__(self) -> bool:
        """Whether anything was raised or cleared."""
        return bool(self.raised or self.cleared)


class AnomalyDetector:
    """Learns baselines from samples and flags what leaves them."""

    def __init__(self, source: str, sensitivity: Sensitivity = Sensitivity.MEDIUM) -> None:
        """Start with nothing learned for the source kind `source`."""
        self.source = source
        self.tuning = TUNING[sensitivity]
        self.metrics: dict[str, _Metric] = {}
        self.devices: dict[str, _Device] = {}
        self.presence_since: float | None = None
        self.presence_polls = 0
        self.active: dict[tuple[AnomalyType, str], Anomaly] = {}
        self.changed = False  # something worth storing changed since the last `stored()`

    # Polls

    def observe(
        self,
        metrics: Iterable[MetricSample],
        presence: Iterable[PresenceSample],
        now: datetime,
    ) -> Changes:
        """Judge one poll's samples, then learn from them."""
        changes = Changes()
        at = now.timestamp()
        bucket = bucket_of(now)
        for sample in metrics:
            self._observe_metric(sample, bucket, now, at, changes)
        presence_warm = self.presence_warm(at)
        observed_presence = False
        for device_sample in presence:
            observed_presence = True
            self._observe_device(
                device_sample, bucket, now, at, changes, presence_warm=presence_warm
            )
        if observed_presence and self.presence_polls < PRESENCE_WARMUP_POLLS:
            if self.presence_since is None:
                self.presence_since = at
            self.presence_polls += 1
            self.changed = True
        if changes:
            self.changed = True
        return changes

    def _observe_metric(
        self, sample: MetricSample, bucket: int, now: datetime, at: float, changes: Changes
    ) -> None:
        value = sample.value
        if not math.isfinite(value):
            return
        metric = self.metrics.get(sample.key)
        if metric is None:
            metric = self._add_metric(sample.key, at)
        metric.seen = at
        identity = (sample.anomaly, sample.key)
        if not metric.warm(at):
            if at - metric.learned >= LEARN_SPACING:
                metric.learn(bucket, value, at)
                self.changed = True
            return
        # Collapses are judged at the hour's own level: a ramp in the pooled hours would
        # otherwise stretch the range down to 0 (see `_level_adjusted`).
        level = sample.direction is Direction.DOWN
        low, high, half = metric.baseline(bucket, at, level=level).expected(self.tuning)
        if sample.direction is Direction.UP:
            excess = value - high
        elif sample.direction is Direction.DOWN:
            excess = low - value
        else:
            excess = max(value - high, low - value)
        flagged = self.active.get(identity)
        if excess > sample.floor:
            metric.streak += 1
            if flagged is None and (excess > sample.floor + half or metric.streak >= CONFIRM_POLLS):
                flagged = Anomaly(
                    source=self.source,
                    anomaly=sample.anomaly,
                    key=sample.key,
                    label=sample.label,
                    observed=value,
                    expected_low=_significant(low),
                    expected_high=_significant(high),
                    unit=sample.unit,
                    detected_at=now,
                )
                self.active[identity] = flagged
                changes.raised.append(flagged)
        else:
            metric.streak = 0
            # Between the range and range + floor an active anomaly holds (hysteresis).
            if flagged is not None and excess <= 0:
                changes.cleared.append(self.active.pop(identity))
                flagged = None
        # Flagged values are learned rarely, so they do not become the baseline, unless the
        # deviation has lasted long enough to be the new normal.
        spacing = LEARN_SPACING
        if flagged is not None and at - flagged.detected_at.timestamp() < NEW_NORMAL_AFTER:
            spacing *= DEVIANT_LEARN_FACTOR
        if at - metric.learned >= spacing:
            metric.learn(bucket, value, at)
            self.changed = True

    def presence_warm(self, at: float) -> bool:
        """Whether presence was observed long enough that an unknown device is a new one."""
        return (
            self.presence_since is not None
            and self.presence_polls >= PRESENCE_WARMUP_POLLS
            and at - self.presence_since >= PRESENCE_WARMUP
        )

    def _observe_device(
        self,
        sample: PresenceSample,
        bucket: int,
        now: datetime,
        at: float,
        changes: Changes,
        *,
        presence_warm: bool,
    ) -> None:
        device = self.devices.get(sample.key)
        if device is None:
            device = self._add_device(sample.key, at)
            # A key a source lists offline from its own history is not on the network now.
            if presence_warm and sample.online:
                self._raise_presence(AnomalyType.NEW_DEVICE, sample, now, changes)
        device.seen = at
        offline_identity = (AnomalyType.DEVICE_OFFLINE, sample.key)
        offline_active = offline_identity in self.active
        if sample.online:
            device.offline_streak = 0
            device.dormant = False
            if offline_active:
                changes.cleared.append(self.active.pop(offline_identity))
                offline_active = False
        elif not offline_active and not device.dormant:
            device.offline_streak += 1
            share = (
                device.online_share(bucket, at)
                if device.offline_streak >= OFFLINE_CONFIRM
                else None
            )
            if share is not None and share >= self.tuning.usually_online:
                self._raise_presence(AnomalyType.DEVICE_OFFLINE, sample, now, changes)
                offline_active = True
        spacing = LEARN_SPACING * (DEVIANT_LEARN_FACTOR if offline_active else 1)
        if at - device.learned >= spacing:
            device.learn(bucket, sample.online, at)
            self.changed = True

    def _raise_presence(
        self, kind: AnomalyType, sample: PresenceSample, now: datetime, changes: Changes
    ) -> None:
        anomaly = Anomaly(
            source=self.source,
            anomaly=kind,
            key=sample.key,
            label=sample.label,
            observed=None,
            expected_low=None,
            expected_high=None,
            unit=None,
            detected_at=now,
        )
        self.active[anomaly.identity] = anomaly
        changes.raised.append(anomaly)

    def _add_metric(self, key: str, at: float) -> _Metric:
        if len(self.metrics) >= MAX_METRICS:
            del self.metrics[min(self.metrics, key=lambda k: self.metrics[k].seen)]
        metric = self.metrics[key] = _Metric(at, zlib.crc32(key.encode()) % LEARN_SPACING)
        self.changed = True
        return metric

    def _add_device(self, key: str, at: float) -> _Device:
        if len(self.devices) >= MAX_DEVICES:
            del self.devices[min(self.devices, key=lambda k: self.devices[k].seen)]
        device = self.devices[key] = _Device(at)
        self.changed = True
        return device

    # Housekeeping

    def expire(self, now: datetime) -> Changes:
        """Clear anomalies that outlived their condition; forget long-unseen keys."""
        changes = Changes()
        at = now.timestamp()
        for identity, anomaly in list(self.active.items()):
            kind, key = identity
            if kind is AnomalyType.NEW_DEVICE:
                expired = at - anomaly.detected_at.timestamp() >= NEW_DEVICE_HOLD
            elif kind is AnomalyType.DEVICE_OFFLINE:
                device = self.devices.get(key)
                if device is None or at - device.seen >= STALE_AFTER:
                    expired = True
                elif at - anomaly.detected_at.timestamp() >= OFFLINE_GIVE_UP:
                    device.dormant = True
                    expired = True
                else:
                    expired = False
            else:
                metric = self.metrics.get(key)
                expired = metric is None or at - metric.seen >= STALE_AFTER
            if expired:
                changes.cleared.append(self.active.pop(identity))
        forgotten = [k for k, m in self.metrics.items() if at - m.seen >= METRIC_RETENTION]
        for key in forgotten:
            del self.metrics[key]
        gone = [k for k, d in self.devices.items() if at - d.seen >= DEVICE_RETENTION]
        for key in gone:
            del self.devices[key]
        if changes or forgotten or gone:
            self.changed = True
        return changes

    # Persistence

    def stored(self) -> StoredDetector:
        """Everything learned, in the stored form."""
        self.changed = False
        return {
            "metrics": {key: metric.stored() for key, metric in self.metrics.items()},
            "devices": {key: device.stored() for key, device in self.devices.items()},
            "presence_since": self.presence_since,
            "presence_polls": self.presence_polls,
            "active": [anomaly.as_dict() for anomaly in self.active.values()],
        }

    def restore(self, stored: StoredDetector) -> None:
        """Take over a stored state; KeyError, ValueError or TypeError leave self unchanged."""
        metrics = {str(k): _Metric.restore(v) for k, v in stored["metrics"].items()}
        devices = {str(k): _Device.restore(v) for k, v in stored["devices"].items()}
        since = stored["presence_since"]
        active = [Anomaly.from_dict(record) for record in stored["active"]]
        polls = int(stored["presence_polls"])
        self.metrics, self.devices = metrics, devices
        self.presence_since = None if since is None else float(since)
        self.presence_polls = polls
        self.active = {anomaly.identity: anomaly for anomaly in active}
        self.changed = False
