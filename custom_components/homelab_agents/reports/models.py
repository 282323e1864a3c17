"""Report kinds, their periods and sections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from homeassistant.util import dt as dt_util


class ReportKind(StrEnum):
    """Which report: the daily summary, weekly trends or the monthly cost."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


SECTIONS: Final[dict[ReportKind, tuple[str, ...]]] = {
    ReportKind.DAILY: ("alerts", "guests", "nodes", "tasks", "backups", "containers", "network"),
    ReportKind.WEEKLY: ("nodes", "guests", "storage"),
    ReportKind.MONTHLY: ("energy",),
}
TOP_ALERTS: Final = 5
TOP_GUESTS: Final = 5
# Names and messages from remote systems are cut to this before they are escaped, so one line
# can never outgrow a Telegram message, whatever it contains.
MAX_NAME: Final = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportPeriod:
    """The period a report covers and the one it is compared with."""

    start: datetime
    end: datetime
    previous_start: datetime

    @property
    def previous_end(self) -> datetime:
        """The compared period ends where this one starts."""
        return self.start


def period_for(kind: ReportKind, end: datetime) -> ReportPeriod:
    """Daily: the 24 h before `end`. Weekly: the 7 days before `end`'s hour.

    Monthly: the calendar month (local time) of the day before `end`, up to `end` at most, so a
    report on the 1st covers the whole previous month and one later in the month covers the
    month so far.
    """
    if kind is ReportKind.DAILY:
        day = timedelta(days=1)
        return ReportPeriod(start=end - day, end=end, previous_start=end - 2 * day)
    if kind is ReportKind.WEEKLY:
        hour = end.replace(minute=0, second=0, microsecond=0)
        week = timedelta(days=7)
        return ReportPeriod(start=hour - week, end=hour, previous_start=hour - 2 * week)
    local = dt_util.as_local(end - timedelta(days=1))
    start = dt_util.start_of_local_day(local.replace(day=1))
    following = dt_util.start_of_local_day(_add_month(start, 1))
    previous = dt_util.start_of_local_day(_add_month(start, -1))
    return ReportPeriod(
        start=dt_util.as_utc(start),
        end=min(end, dt_util.as_utc(following)),
        previous_start=dt_util.as_utc(previous),
    )


def _add_month(day: datetime, months: int) -> datetime:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1, day=1, tzinfo=None)


def clip(text: str | None) -> str:
    """A remote name or message, bounded."""
    text = text or ""
    return text if len(text) <= MAX_NAME else text[: MAX_NAME - 1] + "…"
