"""Hourly HTTP traffic of a zone: a day and week shape, seeded noise, injectable threat spikes.

Figures of an hour depend only on the seed, the zone and the hour, so asking twice gives the
same answer; the hour in progress grows with the share of it that has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import random
from typing import Final

HOUR: Final = 3600
WEEK_SHAPE: Final = (1.0, 1.02, 1.0, 0.98, 0.95, 0.7, 0.65)  # Monday ... Sunday


@dataclass(frozen=True, slots=True)
class HourFigures:
    """What `httpRequests1hGroups.sum` reports for one hour."""

    requests: int
    cached_requests: int
    bytes: int
    cached_bytes: int
    threats: int
    page_views: int


@dataclass(slots=True)
class ZoneTraffic:
    """A zone's traffic model: `requests_per_hour` on an average weekday hour."""

    seed: str
    requests_per_hour: float = 2_000.0
    cache_share: float = 0.6
    bytes_per_request: float = 28_000.0
    threat_share: float = 0.002
    page_view_share: float = 0.3
    spikes: dict[int, int] = field(default_factory=dict)  # hour start (epoch) -> extra threats

    def hour(self, start: int, now: float) -> HourFigures:
        """Figures of the hour starting at `start` (a multiple of 3600) as seen at `now`."""
        rng = random.Random(f"{self.seed}:{start}")
        hour_of_day = (start // HOUR) % 24
        weekday = (start // 86_400 + 3) % 7  # 1970-01-01 was a Thursday
        day_shape = 1.0 + 0.55 * math.sin(2 * math.pi * (hour_of_day - 9) / 24)
        expected = self.requests_per_hour * day_shape * WEEK_SHAPE[weekday]
        requests = max(0.0, expected * (1.0 + rng.gauss(0.0, 0.06)))
        cache = min(1.0, max(0.0, self.cache_share + rng.gauss(0.0, 0.03)))
        size = self.bytes_per_request * (1.0 + rng.gauss(0.0, 0.05))
        threat_mean = requests * self.threat_share
        threats = max(0.0, rng.gauss(threat_mean, math.sqrt(threat_mean)))
        views = requests * self.page_view_share * (1.0 + rng.gauss(0.0, 0.04))
        extra_threats = self.spikes.get(start, 0)
        done = min(1.0, max(0.0, (now - start) / HOUR))
        return HourFigures(
            requests=round((requests + extra_threats) * done),
            cached_requests=round(requests * cache * done),
            bytes=round(requests * size * done),
            cached_bytes=round(requests * cache * size * done),
            threats=round((threats + extra_threats) * done),
            page_views=round(views * done),
        )
