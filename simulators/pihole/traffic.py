"""A deterministic model of a home network's DNS traffic, per client and 10-minute slot.

Every client has a mean query rate and a share of blocked queries. A slot's counts follow a
time-of-day curve (quiet at 04:00, busiest in the afternoon and evening), a weekday/weekend
shape and seeded noise, so the same seed and clock replay the same day or week. Anomalies
injected for a time window change what the slots inside it hold: one client's query-rate spike
or a jump in the blocked share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import random
from typing import Final

SLOT: Final = 600  # seconds; Pi-hole's history buckets
DAY: Final = 86_400
WEEK: Final = 7 * DAY

PERMITTED_DOMAINS: Final = (
    "connectivity-check.ubuntu.com", "time.apple.com", "api.github.com", "www.google.com",
    "i.ytimg.com", "graph.facebook.com", "cdn.jsdelivr.net", "www.wikipedia.org",
    "api.spotify.com", "push.services.mozilla.com", "update.googleapis.com",
    "ntp.ubuntu.com", "www.netflix.com", "dns.msftncsi.com", "weather.com",
)  # fmt: skip
BLOCKED_DOMAINS: Final = (
    "doubleclick.net", "googleadservices.com", "app-measurement.com", "ads.youtube.com",
    "telemetry.microsoft.com", "tracking.example-ads.net", "adservice.google.com",
    "metrics.icloud.com", "ssl.google-analytics.com", "pixel.facebook.com",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClientProfile:
    """One client of the Pi-hole: its address, name, mean queries per slot and blocked share."""

    ip: str
    name: str
    rate: float  # mean queries per 10 minutes at the busiest time of a weekday
    blocked_share: float = 0.15
    weekend_factor: float = 1.2  # more at home on Saturday and Sunday
    night_floor: float = 0.12  # share of the peak rate at 04:00 (always-on devices stay busy)


DEFAULT_CLIENTS: Final = (
    ClientProfile(ip="192.168.1.10", name="desktop.lan", rate=260, blocked_share=0.18),
    ClientProfile(ip="192.168.1.11", name="laptop.lan", rate=180, blocked_share=0.16),
    ClientProfile(ip="192.168.1.20", name="phone-anna.lan", rate=120, blocked_share=0.22),
    ClientProfile(ip="192.168.1.21", name="phone-ben.lan", rate=110, blocked_share=0.20),
    ClientProfile(ip="192.168.1.30", name="smart-tv.lan", rate=140, blocked_share=0.35),
    ClientProfile(ip="192.168.1.40", name="nas.lan", rate=60, blocked_share=0.02, night_floor=0.8),
    ClientProfile(ip="192.168.1.50", name="printer.lan", rate=8, blocked_share=0.0),
    ClientProfile(
        ip="192.168.1.60", name="thermostat.lan", rate=12, blocked_share=0.05, night_floor=1.0
    ),
)


@dataclass(frozen=True, slots=True)
class TrafficAnomaly:
    """An injected deviation between `start` and `end` (epoch seconds)."""

    start: float
    end: float
    client: str | None  # None: every client
    rate_factor: float = 1.0
    blocked_share: float | None = None

    def covers(self, slot_start: float, ip: str) -> bool:
        """Whether a slot of a client lies inside the anomaly."""
        return self.start <= slot_start < self.end and self.client in (None, ip)


@dataclass(frozen=True, slots=True)
class SlotCounts:
    """Queries and blocked queries of one client in one 10-minute slot."""

    total: int
    blocked: int


def daily_shape(timestamp: float, profile: ClientProfile, utc_offset: float = 0.0) -> float:
    """The share of a client's peak rate at this time of day and week (UTC + `utc_offset` s)."""
    timestamp += utc_offset
    hour = (timestamp % DAY) / 3600
    # Lowest at 04:00, highest at 16:00; always-on devices keep their night floor.
    curve = 0.5 - 0.5 * math.cos(2 * math.pi * (hour - 4) / 24)
    shape = profile.night_floor + (1 - profile.night_floor) * curve
    weekday = int((timestamp // DAY + 3) % 7)  # 1970-01-01 was a Thursday; 5, 6: weekend
    return shape * (profile.weekend_factor if weekday >= 5 else 1.0)


@dataclass(slots=True)
class TrafficModel:
    """Per-client query counts for any slot, reproducible from `seed`."""

    clients: tuple[ClientProfile, ...] = DEFAULT_CLIENTS
    seed: int = 0
    noise: float = 0.08  # relative noise on top of Poisson-like spread
    utc_offset: float = 0.0  # seconds; the household's local time, which shapes its day
    anomalies: list[TrafficAnomaly] = field(default_factory=list)
    _cache: dict[tuple[str, int], SlotCounts] = field(default_factory=dict)

    def inject_spike(
        self, ip: str, start: float, duration: float = SLOT, factor: float = 10.0
    ) -> TrafficAnomaly:
        """Multiply one client's queries by `factor` for `duration` seconds from `start`."""
        return self._add(TrafficAnomaly(start, start + duration, ip, rate_factor=factor))

    def inject_blocked_jump(
        self, start: float, duration: float = SLOT, share: float = 0.7, ip: str | None = None
    ) -> TrafficAnomaly:
        """Raise the blocked share (of every client, or one) to `share` for a while."""
        return self._add(TrafficAnomaly(start, start + duration, ip, blocked_share=share))

    def clear_anomalies(self) -> None:
        """Back to normal traffic everywhere."""
        self.anomalies.clear()
        self._cache.clear()

    def _add(self, anomaly: TrafficAnomaly) -> TrafficAnomaly:
        self.anomalies.append(anomaly)
        self._cache.clear()
        return anomaly

    def slot(self, profile: ClientProfile, slot_start: int) -> SlotCounts:
        """A whole slot's counts of one client (`slot_start` a multiple of SLOT)."""
        key = (profile.ip, slot_start)
        if (cached := self._cache.get(key)) is not None:
            return cached
        rng = random.Random(f"{self.seed}:{profile.ip}:{slot_start}")
        mean = profile.rate * daily_shape(slot_start, profile, self.utc_offset)
        share = profile.blocked_share
        for anomaly in self.anomalies:
            if anomaly.covers(slot_start, profile.ip):
                mean *= anomaly.rate_factor
                if anomaly.blocked_share is not None:
                    share = anomaly.blocked_share
        spread = math.sqrt(mean) + self.noise * mean
        total = max(0, round(rng.gauss(mean, spread)))
        blocked_spread = math.sqrt(total * share * (1 - share))
        blocked = min(total, max(0, round(rng.gauss(total * share, blocked_spread))))
        counts = SlotCounts(total, blocked)
        self._cache[key] = counts
        return counts

    def counts(self, profile: ClientProfile, slot_start: int, now: float) -> SlotCounts:
        """What the slot holds at `now`: all of it once over, a growing part while it runs."""
        whole = self.slot(profile, slot_start)
        if now >= slot_start + SLOT:
            return whole
        if now <= slot_start:
            return SlotCounts(0, 0)
        part = (now - slot_start) / SLOT
        return SlotCounts(math.floor(whole.total * part), math.floor(whole.blocked * part))

    def window(self, now: float) -> list[int]:
        """Slot starts of the last 24 hours, oldest first, the running slot last."""
        current = int(now // SLOT) * SLOT
        return [current - SLOT * back for back in range(DAY // SLOT - 1, -1, -1)]
