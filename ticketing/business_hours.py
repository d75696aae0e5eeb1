"""Business-hours arithmetic: the clock SLA deadlines and business-hours metrics run on.

A schedule is a weekly set of opening intervals in one time zone, minus holidays. Intervals are built per
local day with `zoneinfo`, so daylight-saving changes shift them correctly in UTC. Pure functions; the
database row (`BusinessHours`) converts with `schedule_of`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_DAYS = 3 * 366  # a deadline further than this in business time is a configuration mistake


class ScheduleError(ValueError):
    """The schedule cannot be used (unknown time zone, malformed interval)."""


@dataclass(frozen=True)
class Schedule:
    tz: ZoneInfo
    weekly: dict[int, tuple[tuple[time, time | None], ...]]  # close None means midnight (end of day)
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return not any(self.weekly.values())


def _parse_time(value: str) -> time | None:
    if value in ("24:00", "24:00:00"):
        return None
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise ScheduleError(f"{value!r} is not a time of day like 09:00") from exc


def parse_schedule(time_zone: str, weekly: dict[str, Any], holidays: list[str] | None = None) -> Schedule:
    """Validate and build a schedule; errors name the bad part so an API can answer 400 with it."""
    try:
        tz = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ScheduleError(f"unknown time zone {time_zone!r}; use an IANA name like Europe/Paris") from exc
    days: dict[int, tuple[tuple[time, time | None], ...]] = {}
    for key, intervals in (weekly or {}).items():
        try:
            day = int(key)
        except ValueError as exc:
            raise ScheduleError(f"weekday {key!r} must be 0 (Monday) to 6 (Sunday)") from exc
        if not 0 <= day <= 6:
            raise ScheduleError(f"weekday {key!r} must be 0 (Monday) to 6 (Sunday)")
        parsed: list[tuple[time, time | None]] = []
        for interval in intervals or []:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise ScheduleError(f"opening hours of day {day} must be pairs like ['09:00', '18:00']")
            start = _parse_time(str(interval[0]))
            end = _parse_time(str(interval[1]))
            if start is None or (end is not None and end <= start):
                raise ScheduleError(f"interval {interval!r} on day {day} must open before it closes")
            parsed.append((start, end))
        days[day] = tuple(sorted(parsed, key=lambda iv: iv[0]))
    try:
        hol = frozenset(date.fromisoformat(str(d)) for d in holidays or [])
    except ValueError as exc:
        raise ScheduleError(f"holidays must be ISO dates like 2026-12-25: {exc}") from exc
    return Schedule(tz, days, hol)


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def open_intervals(schedule: Schedule, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Opening intervals (UTC) that end after `start`, in order; the first is clipped to begin at `start`."""
    start = _utc(start)
    day = start.astimezone(schedule.tz).date() - timedelta(days=1)  # an overnight-DST edge starts a day early
    for _ in range(MAX_DAYS):
        if day not in schedule.holidays:
            for open_t, close_t in schedule.weekly.get(day.weekday(), ()):
                lo = datetime.combine(day, open_t, tzinfo=schedule.tz).astimezone(UTC)
                if close_t is None:
                    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=schedule.tz).astimezone(UTC)
                else:
                    hi = datetime.combine(day, close_t, tzinfo=schedule.tz).astimezone(UTC)
                if hi <= start:
                    continue
                yield max(lo, start), hi
        day += timedelta(days=1)


def add_business_seconds(schedule: Schedule | None, start: datetime, seconds: float) -> datetime:
    """The moment `seconds` of open time after `start` (wall clock when there is no schedule)."""
    start = _utc(start)
    if schedule is None or schedule.empty:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=max(0.0, seconds))
    last = start
    for lo, hi in open_intervals(schedule, start):
        span = hi - lo
        if remaining <= span:
            return lo + remaining
        remaining -= span
        last = hi
    raise ScheduleError(f"the target does not fit in {MAX_DAYS} days of these business hours (after {last})")


def business_seconds_between(schedule: Schedule | None, start: datetime, end: datetime) -> float:
    """Open time between two moments (wall-clock seconds when there is no schedule)."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0.0
    if schedule is None or schedule.empty:
        return (end - start).total_seconds()
    total = 0.0
    for lo, hi in open_intervals(schedule, start):
        if lo >= end:
            break
        total += (min(hi, end) - lo).total_seconds()
    return total


def is_open(schedule: Schedule, at: datetime) -> bool:
    at = _utc(at)
    for lo, _hi in open_intervals(schedule, at):
        return lo <= at
    return False


def schedule_of(row: Any) -> Schedule | None:
    """A `BusinessHours` row (or None) -> Schedule."""
    if row is None:
        return None
    return parse_schedule(row.time_zone, row.weekly or {}, row.holidays or [])
