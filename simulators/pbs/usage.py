"""A datastore's disk usage over time, its month of history and PBS's estimated full date."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
import itertools
import math
from typing import Final

HISTORY_RESOLUTION: Final = 30 * 60
"""PBS extracts the month of RRD history at 30-minute resolution."""
HISTORY_WINDOW: Final = 30 * 86400
MIN_POINTS_FOR_ESTIMATE: Final = 7
"""PBS leaves `estimated-full-date` out when fewer points are known."""


@dataclass(frozen=True, slots=True)
class UsageHistory:
    """What /status/datastore-usage reports about the past month."""

    start: int
    resolution: int
    usage: list[float]  # used / (used + available) per point, oldest first
    estimated_full_date: int | None


def estimate_full_date(times: list[int], usage: list[float]) -> int | None:
    """PBS's estimate: least squares over (time, usage), solved for usage = 1.

    Returns None with fewer than seven points, 0 when usage does not change (PBS puts that in
    the past so the GUI shows "never"), and a past date when usage is falling.
    """
    if len(times) < MIN_POINTS_FOR_ESTIMATE:
        return None
    if min(usage) == max(usage):
        # Catch exact flatness before floating-point means turn it into a tiny slope.
        return 0
    mean_x = math.fsum(times) / len(times)
    mean_y = math.fsum(usage) / len(usage)
    covariance = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(times, usage, strict=True))
    variance = math.fsum((x - mean_x) ** 2 for x in times)
    if variance == 0:
        return None
    slope = covariance / variance
    intercept = mean_y - slope * mean_x
    return math.floor((1.0 - intercept) / slope) if slope else 0


class UsageLedger:
    """Bytes used on a datastore's disk as changes over time, from its creation on."""

    def __init__(self, created: float, used: int) -> None:
        """A disk created at `created` with `used` bytes already in use."""
        self.created = created
        self._times: list[float] = [created]
        self._deltas: list[int] = [used]
        self._current = used
        self._cumulative: list[int] | None = None

    @property
    def current(self) -> int:
        """Bytes used now (changes dated in the future included)."""
        return self._current

    def record(self, when: float, delta: int) -> None:
        """Bytes written (positive) or freed (negative) at `when`."""
        when = max(when, self.created)
        index = bisect.bisect_right(self._times, when)
        self._times.insert(index, when)
        self._deltas.insert(index, delta)
        self._current += delta
        self._cumulative = None

    def used_at(self, when: float) -> int:
        """Bytes in use at `when`."""
        if self._cumulative is None:
            self._cumulative = list(itertools.accumulate(self._deltas))
        index = bisect.bisect_right(self._times, when)
        return self._cumulative[index - 1] if index else 0

    def history(self, now: float, total: int) -> UsageHistory:
        """The month of usage PBS reports, starting when the disk existed."""
        end = int(now)
        window_start = (end - HISTORY_WINDOW) // HISTORY_RESOLUTION * HISTORY_RESOLUTION
        # Points before the datastore existed are null in PBS; the published schema does not
        # allow null, so the history starts at the first known point instead.
        first = max(window_start, math.ceil(self.created / HISTORY_RESOLUTION) * HISTORY_RESOLUTION)
        times = list(range(first, end + 1, HISTORY_RESOLUTION)) or [end]
        usage = [self._fraction(self.used_at(t + HISTORY_RESOLUTION - 1), total) for t in times]
        usage[-1] = self._fraction(self._current, total)
        return UsageHistory(
            start=times[0],
            resolution=HISTORY_RESOLUTION,
            usage=usage,
            estimated_full_date=estimate_full_date(times, usage),
        )

    @staticmethod
    def _fraction(used: int, total: int) -> float:
        # PBS divides by used + available; with available clamped at 0 that is max(total, used).
        capacity = max(total, used)
        return used / capacity if capacity else 0.0
