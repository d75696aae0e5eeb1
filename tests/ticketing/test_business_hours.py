from datetime import UTC, datetime

import pytest

from ticketing.business_hours import (
    ScheduleError,
    add_business_seconds,
    business_seconds_between,
    parse_schedule,
)

WEEKDAYS_9_18 = {str(d): [["09:00", "18:00"]] for d in range(5)}


def test_friday_evening_target_lands_on_monday_morning():
    hours = parse_schedule("UTC", WEEKDAYS_9_18)
    friday = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    assert friday.weekday() == 4
    assert add_business_seconds(hours, friday, 3600) == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert business_seconds_between(hours, friday, datetime(2026, 11, 30, 9, 30, tzinfo=UTC)) == 3600


def test_time_zone_and_holiday():
    hours = parse_schedule("Europe/Paris", WEEKDAYS_9_18, ["2026-11-30"])
    # Friday 17:30 in Paris is 16:30 UTC; Monday is a holiday, so the hour ends Tuesday 09:30 Paris.
    due = add_business_seconds(hours, datetime(2026, 11, 27, 16, 30, tzinfo=UTC), 3600)
    assert due == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def test_daylight_saving_change_is_followed():
    hours = parse_schedule("America/New_York", WEEKDAYS_9_18)
    # Friday 31 Oct 2026 17:30 EDT (21:30 UTC); clocks go back on Sunday; Monday 09:30 EST is 14:30 UTC.
    due = add_business_seconds(hours, datetime(2026, 10, 30, 21, 30, tzinfo=UTC), 3600)
    assert due == datetime(2026, 11, 2, 14, 30, tzinfo=UTC)


def test_start_before_opening_and_split_days():
    hours = parse_schedule("UTC", {"0": [["09:00", "12:00"], ["13:00", "17:00"]]})
    monday_early = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert add_business_seconds(hours, monday_early, 4 * 3600) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert business_seconds_between(hours, monday_early, datetime(2026, 11, 23, 18, 0, tzinfo=UTC)) == 7 * 3600


def test_no_schedule_is_wall_clock():
    start = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    assert add_business_seconds(None, start, 3600) == datetime(2026, 11, 27, 18, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "weekly", "holidays"),
    [
        ("Mars/Olympus", WEEKDAYS_9_18, []),
        ("UTC", {"7": [["09:00", "18:00"]]}, []),
        ("UTC", {"0": [["18:00", "09:00"]]}, []),
        ("UTC", {"0": [["9am", "5pm"]]}, []),
        ("UTC", WEEKDAYS_9_18, ["christmas"]),
    ],
)
def test_bad_schedules_are_rejected(tz, weekly, holidays):
    with pytest.raises(ScheduleError):
        parse_schedule(tz, weekly, holidays)
