"""Properties of the business calendar across zones with DST, 30- and 45-minute offsets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

import holidays
import pytz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.calendar import DAY_NAMES, BusinessCalendar, parse_hours

ZONES = (
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kathmandu",
)
HOLIDAYS = {
    "Europe/London": "GB-ENG",
    "America/New_York": "US-NY",
    "Australia/Lord_Howe": "AU-NSW",
    "Pacific/Chatham": "NZ-CIT",
    "Asia/Kathmandu": "NP",
}
FIRST, LAST = datetime(2024, 1, 1, tzinfo=UTC), datetime(2029, 12, 31, tzinfo=UTC)
US = timedelta(microseconds=1)
WEEK = timedelta(days=7)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Range = tuple[int, int]  # minutes from the owning day's midnight, end may pass 24:00
Schedule = tuple[tuple[tuple[int, ...], tuple[Range, ...]], ...]  # (days, ranges) groups


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """The UTC instants (to the second) at which `zone` changes its offset, 2024-2029."""
    tz = pytz.timezone(zone)

    def offset(t: datetime) -> timedelta | None:
        return t.astimezone(tz).utcoffset()

    found = []
    day = FIRST
    while day < LAST:
        nxt = day + timedelta(days=1)
        if offset(day) != offset(nxt):
            lo, hi = day, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (lo, mid) if offset(mid) != offset(lo) else (mid, hi)
            found.append(hi.replace(microsecond=0))
        day = nxt
    return tuple(found)


# --- strategies -------------------------------------------------------------------

QUARTERS = st.one_of(st.integers(0, 95), st.integers(4, 16)).map(lambda q: q * 15)  # DST-ish


@st.composite
def day_ranges(draw: st.DrawFn, *, overnight: bool) -> Range:
    """A range in minutes; overnight ones may end past midnight or at 24:00."""
    if overnight:
        start = draw(QUARTERS)
        end = draw(QUARTERS.filter(lambda m: m != start) | st.just(1440))
        return (start, end if end > start else end + 1440)
    start = draw(st.integers(0, 94).map(lambda q: q * 15))
    return (start, draw(st.integers(start // 15 + 1, 95).map(lambda q: q * 15)))


@st.composite
def schedules(draw: st.DrawFn, *, overnight: bool = True) -> Schedule:
    """Weekly hours as (days, ranges) groups, at least one of them."""
    groups = []
    for _ in range(draw(st.integers(1, 4))):
        first = draw(st.integers(0, 6))
        span = draw(st.sampled_from([0, 0, 1, 2, 4, 6]))
        days = tuple((first + i) % 7 for i in range(span + 1))
        ranges = tuple(draw(st.lists(day_ranges(overnight=overnight), min_size=1, max_size=3)))
        groups.append((days, ranges))
    return tuple(groups)


def render(schedule: Schedule) -> str:
    """The `/hours` text of a schedule, using day ranges and lists as the grammar allows."""
    texts = []
    for days, ranges in schedule:
        names = [DAY_NAMES[d] for d in days]
        day_text = names[0] if len(names) == 1 else f"{names[0]}-{names[-1]}"
        if len(names) == 2:
            day_text = ",".join(names)
        clock = [(s % 1440, e if e == 1440 else e % 1440) for s, e in ranges]
        range_text = ",".join(
            f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in clock
        )
        texts.append(f"{day_text} {range_text}")
    return "; ".join(texts)


@dataclass(frozen=True)
class Scenario:
    """A coach's calendar, its plain description, and an instant to look around."""

    zone: str
    schedule: Schedule
    closures: tuple[tuple[date, date], ...]
    holidays: str | None
    calendar: BusinessCalendar
    anchor: datetime


@st.composite
def scenarios(draw: st.DrawFn, *, overnight: bool = True) -> Scenario:
    """A random calendar in one of the tricky zones, anchored near a DST change or anywhere."""
    zone = draw(st.sampled_from(ZONES))
    anywhere = st.integers(0, int((LAST - FIRST).total_seconds())).map(
        lambda s: FIRST + timedelta(seconds=s)
    )
    anchor = draw(st.sampled_from(transitions(zone)) if transitions(zone) else anywhere)
    anchor = draw(st.just(anchor) | anywhere)
    schedule = draw(schedules(overnight=overnight))
    closures = []
    for _ in range(draw(st.integers(0, 3))):
        start = anchor.date() + timedelta(days=draw(st.integers(-10, 10)))
        closures.append((start, start + timedelta(days=draw(st.integers(0, 6)))))
    holiday_spec = draw(st.sampled_from([None, HOLIDAYS[zone]]))
    calendar = BusinessCalendar(zone, render(schedule), closures, holiday_spec)
    return Scenario(zone, schedule, tuple(closures), holiday_spec, calendar, anchor)


def near(scenario: Scenario) -> st.SearchStrategy[datetime]:
    """Instants within ten days of the anchor, to the second, in UTC or the coach's zone."""
    offsets = st.integers(-10 * 86400, 10 * 86400)
    instants = offsets.map(lambda s: scenario.anchor + timedelta(seconds=s))
    tz = pytz.timezone(scenario.zone)
    return instants | instants.map(lambda t: t.astimezone(tz))


DELTAS = st.integers(0, 7 * 24 * 60).map(lambda m: timedelta(minutes=m)) | st.integers(
    0, 7 * 86400
).map(lambda s: timedelta(seconds=s))


# --- a straightforward reference, reading the schedule in local wall-clock time ---------


@cache
def holiday_dates(spec: str | None) -> holidays.HolidayBase | None:
    """The holidays package's own calendar for a spec like `GB-ENG`."""
    if spec is None:
        return None
    country, _, subdivision = spec.partition("-")
    return holidays.country_holidays(country, subdiv=subdivision or None)


def day_is_off(scenario: Scenario, day: date) -> bool:
    """True if a closure or a public holiday takes `day` off."""
    off = holiday_dates(scenario.holidays)
    return any(s <= day <= e for s, e in scenario.closures) or (off is not None and day in off)


def reference_is_open(scenario: Scenario, when: datetime) -> bool | None:
    """Open per the schedule read on the local wall clock; None where the wall time repeats."""
    tz = pytz.timezone(scenario.zone)
    wall = when.astimezone(tz).replace(tzinfo=None)
    try:
        tz.localize(wall, is_dst=None)
    except pytz.AmbiguousTimeError:
        return None
    for owner in (wall.date(), wall.date() - timedelta(days=1)):
        if day_is_off(scenario, owner):
            continue
        midnight = datetime.combine(owner, time())
        for days, ranges in scenario.schedule:
            if owner.weekday() in days:
                for start, end in ranges:
                    if (
                        midnight + timedelta(minutes=start)
                        <= wall
                        < midnight + timedelta(minutes=end)
                    ):
                        return True
    return False


def open_time(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Total open time in [start, end)."""
    return sum((b - a for a, b in calendar.open_intervals(start, end)), timedelta())


# --- properties ----------------------------------------------------------------------


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_is_open_agrees_with_the_schedule_read_in_local_time(
    scenario: Scenario, data: st.DataObject
) -> None:
    for when in data.draw(st.lists(near(scenario), min_size=1, max_size=8)):
        expected = reference_is_open(scenario, when)
        if expected is not None:
            assert scenario.calendar.is_open(when) == expected, when.isoformat()


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_next_open_is_the_first_open_instant(scenario: Scenario, data: st.DataObject) -> None:
    calendar = scenario.calendar
    when = data.draw(near(scenario))
    opening = calendar.next_open(when)
    assert opening >= when
    assert opening.utcoffset() == timedelta(0)
    assert calendar.is_open(opening)
    assert list(calendar.open_intervals(when, opening)) == []
    if opening > when:
        assert not calendar.is_open(opening - US)
        for k in range(8):
            sample = when + (opening - when) * k / 8
            assert not calendar.is_open(sample)
            assert reference_is_open(scenario, sample) is not True, sample.isoformat()
    try:
        closing = calendar.next_close(when)
    except ValueError as error:  # a schedule can be open around the clock
        assert "open around the clock" in str(error)
        return
    assert closing > opening
    assert calendar.is_open(closing - US)
    assert not calendar.is_open(closing)


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_add_business_time_is_monotonic_in_delta_and_counts_only_open_time(
    scenario: Scenario, data: st.DataObject
) -> None:
    calendar = scenario.calendar
    when = data.draw(near(scenario))
    small, large = sorted(data.draw(st.lists(DELTAS, min_size=2, max_size=2)))
    early = calendar.add_business_time(when, small)
    late = calendar.add_business_time(when, large)
    assert when <= early <= late
    assert open_time(calendar, when, late) == large
    if large:
        assert calendar.is_open(late - US)


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_add_business_time_is_additive(scenario: Scenario, data: st.DataObject) -> None:
    calendar = scenario.calendar
    when = data.draw(near(scenario))
    first = data.draw(DELTAS)
    then = data.draw(DELTAS.filter(bool))  # adding zero means "next opening", not "no-op"
    stepwise = calendar.add_business_time(calendar.add_business_time(when, first), then)
    assert stepwise == calendar.add_business_time(when, first + then)


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_working_day_closing_times_are_open_just_before_and_never_go_back(
    scenario: Scenario, data: st.DataObject
) -> None:
    calendar = scenario.calendar
    when = data.draw(near(scenario))
    closings = [calendar.business_days_after(when, n) for n in range(5)]
    assert closings == sorted(closings)
    assert all(closing > when for closing in closings[1:])
    for closing in closings:
        assert calendar.is_open(closing - US)


@SETTINGS
@given(scenario=scenarios(overnight=False), data=st.data())
def test_daytime_hours_close_at_each_working_days_closing_time(
    scenario: Scenario, data: st.DataObject
) -> None:
    calendar = scenario.calendar
    when = data.draw(near(scenario))
    closings = [calendar.business_days_after(when, n) for n in range(5)]
    assert closings[1:] == sorted(set(closings[1:]))  # strictly increasing
    tz = pytz.timezone(scenario.zone)
    for closing in closings:
        assert calendar.is_open(closing - US)
        assert not calendar.is_open(closing)
        day = (closing - US).astimezone(tz).date()
        assert not day_is_off(scenario, day)
        assert calendar.closed_reason(closing - US) is None


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_open_intervals_are_exactly_the_open_stretches(
    scenario: Scenario, data: st.DataObject
) -> None:
    calendar = scenario.calendar
    start = data.draw(near(scenario))
    end = start + data.draw(DELTAS)
    stretches = list(calendar.open_intervals(start, end))
    for (opens, closes), following in zip(stretches, [*stretches[1:], None], strict=False):
        assert start <= opens < closes <= end
        assert calendar.is_open(opens) and calendar.is_open(closes - US)
        assert opens == start or not calendar.is_open(opens - US)
        assert closes == end or not calendar.is_open(closes)
        if following is not None:
            assert closes < following[0]
            assert not calendar.is_open(closes + (following[0] - closes) / 2)
    if not stretches:
        assert calendar.next_open(start) >= end


@settings(max_examples=300, deadline=None)
@given(schedule=schedules())
def test_canonical_hours_text_parses_back_to_the_same_hours(schedule: Schedule) -> None:
    hours = parse_hours(render(schedule))
    assert parse_hours(str(hours)) == hours
    assert str(parse_hours(str(hours))) == str(hours)
