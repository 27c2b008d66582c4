"""The business calendar: the `/hours` grammar, closures, holidays, DST and business time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
import pytz

from rules.calendar import BusinessCalendar, parse_hours

COACH_HOURS = "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local wall time in `zone` that must exist and be unambiguous."""
    return pytz.timezone(zone).localize(datetime(year, month, day, hour, minute), is_dst=None)


def london(
    hours: str = COACH_HOURS,
    closures: Sequence[tuple[date, date] | tuple[date, date, str]] = (),
    holidays: str | None = None,
) -> BusinessCalendar:
    """A coach in London (GMT in November, so local wall time equals UTC there)."""
    return BusinessCalendar("Europe/London", hours, closures, holidays)


def open_minutes(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    """Minutes of open time in [start, end)."""
    stretches = calendar.open_intervals(start, end)
    return sum((b - a).total_seconds() for a, b in stretches) / 60


def week(hours: str) -> list[list[tuple[str, str]]]:
    """Parsed hours as readable `HH:MM` pairs per weekday (ends past midnight add 24h)."""
    return [
        [(f"{s // 60:02d}:{s % 60:02d}", f"{e // 60:02d}:{e % 60:02d}") for s, e in ranges]
        for ranges in parse_hours(hours).days
    ]


# --- the /hours grammar ---------------------------------------------------------------


def test_single_day_with_one_range_and_other_days_closed() -> None:
    assert week("mon 09:00-17:00") == [[("09:00", "17:00")], [], [], [], [], [], []]


def test_day_range_covers_every_day_between() -> None:
    assert week("tue-thu 10:00-11:00") == [[], *[[("10:00", "11:00")]] * 3, [], [], []]


def test_day_list_names_separate_days() -> None:
    days = week("mon,wed,fri 10:00-11:00")
    assert [bool(d) for d in days] == [True, False, True, False, True, False, False]


def test_weekend_range_and_wrapping_range_past_sunday() -> None:
    assert [bool(d) for d in week("sat-sun 10:00-11:00")] == [False] * 5 + [True] * 2
    assert [bool(d) for d in week("fri-mon 10:00-11:00")] == [True] + [False] * 3 + [True] * 3


def test_several_ranges_and_several_day_groups() -> None:
    days = week(COACH_HOURS)
    assert days[0] == days[3] == [("09:00", "12:00"), ("13:00", "17:00")]
    assert days[4] == [("09:00", "13:00")]
    assert days[5] == days[6] == []


def test_range_may_end_at_24_00() -> None:
    assert week("sun 20:00-24:00")[6] == [("20:00", "24:00")]


def test_friday_late_range_belongs_to_friday_and_runs_past_midnight() -> None:
    assert week("fri 22:00-02:00")[4] == [("22:00", "26:00")]
    calendar = london("fri 22:00-02:00")
    assert calendar.is_open(utc(2026, 11, 21, 1, 30))  # Saturday 01:30, still Friday's range
    assert not calendar.is_open(utc(2026, 11, 21, 2, 0))
    assert calendar.business_days_after(utc(2026, 11, 20, 8), 0) == utc(2026, 11, 21, 2)


def test_overlapping_and_adjacent_ranges_merge() -> None:
    assert week("mon 09:00-12:00,11:00-13:00,13:00-14:00") == [[("09:00", "14:00")]] + [[]] * 6


def test_a_day_named_twice_keeps_both_groups_ranges() -> None:
    assert week("mon 09:00-10:00; mon 15:00-16:00")[0] == [("09:00", "10:00"), ("15:00", "16:00")]


def test_case_extra_spaces_full_day_names_and_dashes_are_tolerated() -> None:
    assert parse_hours("  MON - Thu   09:00 - 12:00 ,  13:00-17:00 ;Friday 09:00–13:00; ") == (
        parse_hours(COACH_HOURS)
    )


def test_a_colon_after_the_days_is_tolerated() -> None:
    assert parse_hours("mon-thu: 09:00-12:00,13:00-17:00; fri: 09:00-13:00") == (
        parse_hours(COACH_HOURS)
    )


def test_single_digit_hours_are_times_of_day() -> None:
    assert week("mon 9:00-17:30")[0] == [("09:00", "17:30")]


def test_canonical_text_round_trips_through_the_parser() -> None:
    hours = parse_hours("thu,mon-wed 13:00-17:00,09:00-12:00; FRI 09:00-13:00")
    assert str(hours) == COACH_HOURS
    assert parse_hours(str(hours)) == hours


def test_a_merged_range_longer_than_a_day_still_round_trips() -> None:
    hours = parse_hours("mon 00:00-24:00,23:00-05:00")
    assert str(hours) == "mon 00:00-24:00,23:59-05:00"
    assert parse_hours(str(hours)) == hours
    assert str(parse_hours("mon 10:00-20:00,20:00-10:00")) == "mon 10:00-24:00,23:59-10:00"
    assert str(parse_hours("mon-sun 00:00-24:00")) == "mon-sun 00:00-24:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mnday 09:00-17:00", "hours: 'mnday' is not a day; use mon, tue, wed, thu, fri, sat, sun"),
        (
            "mon-frx 09:00-17:00",
            "hours: 'mon-frx' is not a day; use mon, tue, wed, thu, fri, sat, sun",
        ),
        ("mon 25:00-26:00", "hours: '25:00' is not a time of day; use HH:MM"),
        ("mon 09:60-17:00", "hours: '09:60' is not a time of day; use HH:MM"),
        ("mon 9-17", "hours: '9' is not a time of day; use HH:MM"),
        ("mon 09:00", "hours: '09:00' is not a time range; use HH:MM-HH:MM, like 09:00-17:00"),
        (
            "mon 09:00-12:00-13:00",
            "hours: '09:00-12:00-13:00' is not a time range; use HH:MM-HH:MM, like 09:00-17:00",
        ),
        (
            "mon 09:00-09:00",
            "hours: '09:00-09:00' is an empty range; end it after it starts, like 09:00-17:00",
        ),
        (
            "mon 24:00-02:00",
            "hours: '24:00-02:00' starts at 24:00; start the range at 00:00 instead",
        ),
        (
            "mon-fri 09:00-17:00 sat 10:00-12:00",
            "hours: 'sat' follows the times; separate day groups with ';', "
            "like mon-fri 09:00-17:00; sat 10:00-12:00",
        ),
        ("mon", "hours: 'mon' has no times; give days then ranges, like mon-fri 09:00-17:00"),
        (
            "09:00-17:00",
            "hours: '09:00-17:00' names no day; start with the days, like mon-fri 09:00-17:00",
        ),
        (
            ", 09:00-17:00",
            "hours: ', 09:00-17:00' names no day; start with the days, like mon-fri 09:00-17:00",
        ),
        ("", "hours: no open time at all; name at least one day, like mon-fri 09:00-17:00"),
        (" ; ;", "hours: no open time at all; name at least one day, like mon-fri 09:00-17:00"),
    ],
)
def test_bad_hours_get_a_one_line_message_saying_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_hours(text)
    assert str(error.value) == message
    with pytest.raises(ValueError, match=r"^hours: "):
        BusinessCalendar("Europe/London", text)


def test_ends_before_start_means_past_midnight_not_an_error() -> None:
    assert week("mon 17:00-09:00")[0] == [("17:00", "33:00")]


# --- zone, closures and holidays as given -------------------------------------------


def test_unknown_time_zone_is_rejected_with_an_example() -> None:
    with pytest.raises(ValueError) as error:
        BusinessCalendar("Mars/Olympus", COACH_HOURS)
    assert str(error.value) == (
        "timezone: 'Mars/Olympus' is not a time zone; use an IANA name like Europe/London"
    )


def test_zone_name_is_canonical_and_tz_is_the_pytz_zone() -> None:
    calendar = BusinessCalendar("europe/london", COACH_HOURS)
    assert calendar.timezone == "Europe/London"
    assert calendar.tz is pytz.timezone("Europe/London")


def test_closure_that_ends_before_it_starts_is_rejected() -> None:
    with pytest.raises(ValueError) as error:
        london(closures=[(date(2026, 12, 24), date(2026, 12, 20))])
    assert str(error.value) == (
        "closure: ends 2026-12-20 before it starts 2026-12-24; use /closed START END [note]"
    )


def test_unknown_holiday_country_and_subdivision_are_rejected() -> None:
    with pytest.raises(ValueError) as error:
        london(holidays="XX")
    assert str(error.value) == (
        "holidays: 'XX' is not a country we know holidays for; "
        "use a country code like GB, or GB-ENG for a subdivision"
    )
    with pytest.raises(ValueError) as error:
        london(holidays="GB-XYZ")
    assert str(error.value) == (
        "holidays: 'XYZ' is not a subdivision of GB; use one of ENG, NIR, SCT, WLS"
    )


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="has no time zone; pass an aware datetime"):
        london().is_open(datetime(2026, 11, 23, 10))


# --- is_open, next_open, next_close ------------------------------------------------


def test_open_from_the_opening_minute_and_closed_at_closing_time() -> None:
    calendar = london()
    assert calendar.is_open(utc(2026, 11, 23, 9))
    assert calendar.is_open(utc(2026, 11, 23, 11, 59))
    assert not calendar.is_open(utc(2026, 11, 23, 12))  # lunch
    assert calendar.is_open(utc(2026, 11, 23, 13))
    assert not calendar.is_open(utc(2026, 11, 23, 17))
    assert not calendar.is_open(utc(2026, 11, 21, 10))  # Saturday: not named, so closed


def test_next_open_is_the_same_instant_in_utc_when_open() -> None:
    when = local("America/New_York", 2026, 11, 23, 5, 30)  # 10:30 in London
    assert london().next_open(when) == utc(2026, 11, 23, 10, 30)
    assert london().next_open(when).utcoffset() == timedelta(0)


def test_message_on_friday_afternoon_waits_for_monday_opening() -> None:
    assert london().next_open(utc(2026, 11, 20, 13)) == utc(2026, 11, 23, 9)


def test_next_close_ends_the_current_stretch_or_the_next_one() -> None:
    calendar = london()
    assert calendar.next_close(utc(2026, 11, 23, 10)) == utc(2026, 11, 23, 12)
    assert calendar.next_close(utc(2026, 11, 23, 12, 30)) == utc(2026, 11, 23, 17)
    assert calendar.next_close(utc(2026, 11, 21, 10)) == utc(2026, 11, 23, 12)


def test_night_shift_is_one_stretch_across_midnight() -> None:
    calendar = london("mon 20:00-24:00; tue 00:00-02:00")
    assert calendar.next_close(utc(2026, 11, 23, 21)) == utc(2026, 11, 24, 2)
    assert list(calendar.open_intervals(utc(2026, 11, 23), utc(2026, 11, 25))) == [
        (utc(2026, 11, 23, 20), utc(2026, 11, 24, 2))
    ]


def test_coach_open_around_the_clock_has_no_closing_time() -> None:
    with pytest.raises(
        ValueError, match=r"open around the clock .* no closing time within 3 years"
    ):
        london("mon-sun 00:00-24:00").next_close(utc(2026, 11, 23))


# --- add_business_time (the `Nh` reply promise) -----------------------------------


def test_question_arriving_saturday_counts_from_monday_opening() -> None:
    assert london().add_business_time(utc(2026, 11, 21, 10), timedelta(hours=2)) == utc(
        2026, 11, 23, 11
    )


def test_business_time_skips_the_lunch_break() -> None:
    assert london().add_business_time(utc(2026, 11, 23, 11), timedelta(hours=2)) == utc(
        2026, 11, 23, 14
    )


def test_business_time_from_friday_runs_over_the_weekend() -> None:
    assert london().add_business_time(utc(2026, 11, 20, 12), timedelta(hours=3)) == utc(
        2026, 11, 23, 11
    )


def test_reply_due_exactly_at_closing_time_is_due_at_closing_not_next_morning() -> None:
    assert london().add_business_time(utc(2026, 11, 23, 16), timedelta(hours=1)) == utc(
        2026, 11, 23, 17
    )


def test_zero_business_time_is_the_next_opening() -> None:
    calendar = london()
    assert calendar.add_business_time(utc(2026, 11, 21, 10), timedelta(0)) == utc(2026, 11, 23, 9)
    assert calendar.add_business_time(utc(2026, 11, 23, 10), timedelta(0)) == utc(2026, 11, 23, 10)


def test_a_week_of_business_time_is_a_calendar_week_later() -> None:
    open_week = timedelta(hours=4 * 7 + 4)
    assert london().add_business_time(utc(2026, 11, 23, 10), open_week) == utc(2026, 11, 30, 10)


def test_negative_business_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="is negative; add zero or more open time"):
        london().add_business_time(utc(2026, 11, 23, 10), timedelta(minutes=-1))


def test_business_time_keeps_seconds_and_microseconds() -> None:
    when = utc(2026, 11, 23, 10) + timedelta(seconds=7, microseconds=5)
    result = london().add_business_time(when, timedelta(minutes=150))
    assert result == utc(2026, 11, 23, 13, 30) + timedelta(seconds=7, microseconds=5)


# --- business_days_after (the `Nd` reply promise) ---------------------------------


def test_one_working_day_after_friday_is_monday_closing_time() -> None:
    assert london().business_days_after(utc(2026, 11, 20, 10), 1) == utc(2026, 11, 23, 17)


def test_zero_working_days_is_todays_closing_time_or_the_next_working_days() -> None:
    calendar = london()
    assert calendar.business_days_after(utc(2026, 11, 20, 10), 0) == utc(2026, 11, 20, 13)
    assert calendar.business_days_after(utc(2026, 11, 21, 10), 0) == utc(2026, 11, 23, 17)


def test_working_days_skip_weekends_closures_and_holidays() -> None:
    calendar = london(closures=[(date(2026, 12, 21), date(2026, 12, 23))], holidays="GB-ENG")
    # Fri 18 Dec: next working days are Thu 24 (closure Mon-Wed, Christmas Fri, Boxing Day
    # observed Mon 28), then Tue 29.
    assert calendar.business_days_after(utc(2026, 12, 18, 10), 1) == utc(2026, 12, 24, 17)
    assert calendar.business_days_after(utc(2026, 12, 18, 10), 2) == utc(2026, 12, 29, 17)


def test_longer_working_day_promise_never_falls_due_earlier() -> None:
    calendar = london("mon 12:00-11:00; tue 00:00-01:00")  # Monday's range runs to Tue 11:00
    monday = utc(2026, 11, 23, 13)
    assert calendar.business_days_after(monday, 0) == utc(2026, 11, 24, 11)
    assert calendar.business_days_after(monday, 1) == utc(2026, 11, 24, 11)
    assert calendar.business_days_after(monday, 2) == utc(2026, 12, 1, 11)  # next Monday's


def test_negative_working_days_are_rejected() -> None:
    with pytest.raises(ValueError, match="-1 is negative; use 0 or more"):
        london().business_days_after(utc(2026, 11, 20, 10), -1)


# --- closures --------------------------------------------------------------------


def test_christmas_closure_closes_whole_local_days_inclusive() -> None:
    calendar = london(closures=[(date(2026, 12, 24), date(2027, 1, 1), "Christmas break")])
    assert calendar.is_open(utc(2026, 12, 23, 10))
    assert not calendar.is_open(utc(2026, 12, 24, 10))
    assert calendar.next_open(utc(2026, 12, 23, 18)) == utc(2027, 1, 4, 9)
    assert calendar.closed_reason(utc(2027, 1, 1, 12)) == "Christmas break"
    assert calendar.closed_reason(utc(2027, 1, 4, 12)) is None


def test_closure_without_note_reads_closed() -> None:
    calendar = london(closures=[(date(2026, 11, 23), date(2026, 11, 23))])
    assert calendar.closed_reason(utc(2026, 11, 23, 10)) == "closed"
    assert calendar.next_open(utc(2026, 11, 23, 10)) == utc(2026, 11, 24, 9)


def test_closure_on_saturday_does_not_cut_friday_late_range_short() -> None:
    calendar = london("fri 22:00-02:00; sat 22:00-02:00", closures=[(date(2026, 11, 21),) * 2])
    assert calendar.is_open(utc(2026, 11, 21, 1))
    assert not calendar.is_open(utc(2026, 11, 21, 23))


def test_closure_on_friday_cancels_its_late_range_past_midnight() -> None:
    calendar = london("fri 22:00-02:00", closures=[(date(2026, 11, 20),) * 2])
    assert not calendar.is_open(utc(2026, 11, 21, 1))
    assert calendar.next_open(utc(2026, 11, 20, 21)) == utc(2026, 11, 27, 22)


def test_closure_ranges_in_the_coachs_zone_not_utc() -> None:
    calendar = BusinessCalendar(
        "Pacific/Chatham", "mon-sun 00:00-24:00", [(date(2026, 11, 23),) * 2]
    )
    # Monday 23 Nov in Chatham (UTC+13:45) is Sun 10:15 UTC to Mon 10:15 UTC.
    assert calendar.next_open(utc(2026, 11, 22, 12)) == utc(2026, 11, 23, 10, 15)


# --- holidays --------------------------------------------------------------------


def test_christmas_day_is_a_holiday_in_great_britain() -> None:
    calendar = london("mon-fri 09:00-17:00", holidays="GB")
    assert not calendar.is_open(utc(2026, 12, 25, 10))
    assert calendar.closed_reason(utc(2026, 12, 25, 10)) == "Christmas Day"
    # Boxing Day falls on a Saturday in 2026, observed on Monday 28th.
    assert calendar.next_open(utc(2026, 12, 24, 17)) == utc(2026, 12, 29, 9)


def test_subdivision_holidays_apply_only_there() -> None:
    st_andrews_day = utc(2026, 11, 30, 10)
    assert not london(holidays="GB-SCT").is_open(st_andrews_day)
    assert london(holidays="GB-SCT").closed_reason(st_andrews_day) == "Saint Andrew's Day"
    assert london(holidays="gb-eng").is_open(st_andrews_day)


def test_closure_note_wins_over_holiday_name() -> None:
    calendar = london(holidays="GB", closures=[(date(2026, 12, 21), date(2026, 12, 31), "Away")])
    assert calendar.closed_reason(utc(2026, 12, 25, 10)) == "Away"


# --- DST in Europe/London and America/New_York -----------------------------------


def test_spring_forward_range_starting_in_the_gap_opens_when_clocks_jump() -> None:
    # London, Sun 29 Mar 2026: 01:00 GMT jumps to 02:00 BST.
    calendar = london("sun 01:00-03:00")
    assert list(calendar.open_intervals(utc(2026, 3, 28), utc(2026, 3, 30))) == [
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))
    ]


def test_new_york_spring_forward_range_across_the_gap_is_one_hour_shorter() -> None:
    # New York, Sun 8 Mar 2026: 02:00 EST jumps to 03:00 EDT.
    calendar = BusinessCalendar("America/New_York", "sun 01:00-03:00")
    assert list(calendar.open_intervals(utc(2026, 3, 7), utc(2026, 3, 9))) == [
        (utc(2026, 3, 8, 6), utc(2026, 3, 8, 7))
    ]


def test_range_ending_in_the_gap_ends_when_clocks_jump() -> None:
    calendar = BusinessCalendar("America/New_York", "sun 01:00-02:30; sun 02:15-04:00")
    assert calendar.next_close(utc(2026, 3, 8, 6)) == utc(2026, 3, 8, 8)
    calendar = BusinessCalendar("America/New_York", "sun 01:00-02:30")
    assert calendar.next_close(utc(2026, 3, 8, 6)) == utc(2026, 3, 8, 7)


def test_range_wholly_inside_the_gap_gives_no_open_time_that_day() -> None:
    calendar = london("sun 01:15-01:45; mon 09:00-17:00")
    assert calendar.next_open(utc(2026, 3, 28)) == utc(2026, 3, 30, 8)  # Monday 09:00 BST
    assert calendar.business_days_after(utc(2026, 3, 28), 1) == utc(2026, 3, 30, 16)


def test_repeated_hour_counts_both_times_for_a_range_inside_it() -> None:
    # London, Sun 25 Oct 2026: 02:00 BST goes back to 01:00 GMT, so 01:00-02:00 happens twice.
    calendar = london("sun 01:00-02:00")
    assert list(calendar.open_intervals(utc(2026, 10, 24), utc(2026, 10, 26))) == [
        (utc(2026, 10, 25, 0), utc(2026, 10, 25, 2))
    ]


def test_range_starting_in_repeated_hour_starts_at_its_first_occurrence() -> None:
    # New York, Sun 1 Nov 2026: 02:00 EDT goes back to 01:00 EST.
    calendar = BusinessCalendar("America/New_York", "sun 01:30-05:00")
    assert calendar.next_open(utc(2026, 11, 1)) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert calendar.next_close(utc(2026, 11, 1)) == utc(2026, 11, 1, 10)  # 05:00 EST


def test_range_ending_in_repeated_hour_ends_at_its_second_occurrence() -> None:
    calendar = BusinessCalendar("America/New_York", "sun 00:00-01:30")
    assert calendar.next_close(utc(2026, 11, 1, 4)) == utc(2026, 11, 1, 6, 30)  # 01:30 EST


def test_a_23_hour_day_counts_23_open_hours() -> None:
    calendar = london("sun 00:00-24:00")
    assert open_minutes(calendar, utc(2026, 3, 28), utc(2026, 3, 30)) == 23 * 60
    assert calendar.add_business_time(utc(2026, 3, 29), timedelta(hours=23)) == utc(2026, 3, 29, 23)


def test_opening_hours_follow_local_time_across_the_change() -> None:
    calendar = london("mon-fri 09:00-17:00")
    assert calendar.next_open(utc(2026, 3, 28)) == utc(2026, 3, 30, 8)  # BST: 08:00 UTC
    assert calendar.next_open(utc(2026, 10, 24)) == utc(2026, 10, 26, 9)  # GMT again


def test_week_starts_monday_midnight_local_time() -> None:
    calendar = london()
    assert calendar.week_start(utc(2026, 7, 15, 12)) == utc(2026, 7, 12, 23)  # BST
    assert calendar.week_start(utc(2026, 7, 12, 23, 30)) == utc(2026, 7, 12, 23)  # Mon 00:30
    assert calendar.week_start(utc(2026, 11, 22, 23, 59)) == utc(2026, 11, 16)  # GMT Sunday


# --- 30- and 45-minute offsets ----------------------------------------------------


def test_kathmandu_opens_at_a_quarter_past_in_utc() -> None:
    calendar = BusinessCalendar("Asia/Kathmandu", "mon-fri 09:00-17:00")  # UTC+05:45
    assert calendar.next_open(utc(2026, 11, 21)) == utc(2026, 11, 23, 3, 15)
    assert calendar.business_days_after(utc(2026, 11, 23, 4), 0) == utc(2026, 11, 23, 11, 15)


def test_chatham_hours_follow_its_45_minute_offsets_summer_and_winter() -> None:
    calendar = BusinessCalendar("Pacific/Chatham", "mon-fri 09:00-17:00")
    assert calendar.next_open(utc(2026, 11, 21)) == utc(2026, 11, 22, 19, 15)  # +13:45
    assert calendar.next_open(utc(2026, 7, 11)) == utc(2026, 7, 12, 20, 15)  # +12:45


def test_chatham_spring_forward_at_02_45_shortens_a_range_across_it() -> None:
    # Sun 27 Sep 2026: 02:45 +12:45 jumps to 03:45 +13:45.
    calendar = BusinessCalendar("Pacific/Chatham", "sun 02:00-04:00")
    assert list(calendar.open_intervals(utc(2026, 9, 25), utc(2026, 9, 28))) == [
        (utc(2026, 9, 26, 13, 15), utc(2026, 9, 26, 14, 15))
    ]


def test_lord_howe_half_hour_dst_shift_changes_the_length_of_the_day() -> None:
    calendar = BusinessCalendar("Australia/Lord_Howe", "sun 00:00-24:00")
    spring = local("Australia/Lord_Howe", 2026, 10, 4)
    autumn = local("Australia/Lord_Howe", 2026, 4, 5)
    assert open_minutes(calendar, spring, spring + timedelta(days=2)) == 23.5 * 60
    assert open_minutes(calendar, autumn, autumn + timedelta(days=2)) == 24.5 * 60
    assert calendar.add_business_time(autumn, timedelta(hours=24)) == utc(2026, 4, 5, 13)
    assert calendar.next_close(autumn) == utc(2026, 4, 5, 13, 30)


# --- describe_hours, open_intervals, closed_reason ---------------------------------


def test_hours_are_described_in_plain_text_grouping_consecutive_days() -> None:
    assert london().describe_hours() == "Mon–Thu 09:00–12:00, 13:00–17:00; Fri 09:00–13:00"
    assert london("mon,tue,thu 09:00-17:00; fri 22:00-02:00").describe_hours() == (
        "Mon–Tue 09:00–17:00; Thu 09:00–17:00; Fri 22:00–02:00"
    )


def test_open_intervals_are_clipped_to_the_window() -> None:
    stretches = list(london().open_intervals(utc(2026, 11, 23, 10), utc(2026, 11, 23, 14)))
    assert stretches == [
        (utc(2026, 11, 23, 10), utc(2026, 11, 23, 12)),
        (utc(2026, 11, 23, 13), utc(2026, 11, 23, 14)),
    ]
    assert list(london().open_intervals(utc(2026, 11, 23, 14), utc(2026, 11, 23, 10))) == []


def test_open_intervals_join_a_stretch_across_internal_block_boundaries() -> None:
    calendar = london("mon-sun 00:00-24:00", closures=[(date(2026, 1, 1), date(2026, 1, 1))])
    stretches = list(calendar.open_intervals(utc(2026, 1, 2), utc(2026, 6, 1)))
    assert stretches == [(utc(2026, 1, 2), utc(2026, 6, 1))]


# --- no open time -------------------------------------------------------------------


def test_closures_leaving_no_open_time_for_years_raise_instead_of_hanging() -> None:
    calendar = london(closures=[(date(2026, 1, 1), date(2031, 1, 1), "Sabbatical")])
    when = utc(2026, 6, 1)
    with pytest.raises(ValueError, match="no open time within 3 years after 2026-06-01"):
        calendar.next_open(when)
    with pytest.raises(ValueError, match="no open time within 3 years"):
        calendar.add_business_time(when, timedelta(hours=1))
    with pytest.raises(ValueError, match="no working day within 3 years after 2026-06-01"):
        calendar.business_days_after(when, 1)
    assert calendar.next_open(utc(2030, 6, 1)) == utc(2031, 1, 2, 9)  # within reach again


def test_long_reply_promise_crosses_a_long_closure() -> None:
    calendar = london("mon-fri 09:00-17:00", closures=[(date(2027, 1, 1), date(2027, 12, 31))])
    result = calendar.add_business_time(utc(2026, 12, 31, 16), timedelta(hours=2))
    assert result == utc(2028, 1, 3, 10)


def test_policy_calendar_uses_this_calendar() -> None:
    from rules.contract import Policy

    policy = Policy(coach_name="Melody", timezone="Europe/London", hours=COACH_HOURS)
    assert policy.calendar.next_open(utc(2026, 11, 21)) == utc(2026, 11, 23, 9)


def test_night_owl_hours_hold_every_night_of_the_year() -> None:
    calendar = london("mon-sun 22:00-02:00", closures=[(date(2026, 6, 10),) * 2])
    tz = pytz.timezone("Europe/London")
    for hour in range(365 * 24):
        when = utc(2026, 1, 1) + timedelta(hours=hour, minutes=30)
        wall = when.astimezone(tz)
        owner = wall.date() - timedelta(days=1 if wall.hour < 2 else 0)
        expected = wall.hour in (22, 23, 0, 1) and owner != date(2026, 6, 10)
        assert calendar.is_open(when) == expected, wall.isoformat()
