"""The console's `:time` moves: relative, next wall time, next weekday, absolute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import pytz
from hypothesis import given
from hypothesis import strategies as st

from bot.console import DAYS, parse_move

LONDON = pytz.timezone("Europe/London")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).astimezone(LONDON)  # Mon 08:00 GMT

instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
zones = st.sampled_from(["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+30m", datetime(2026, 11, 23, 8, 30, tzinfo=UTC)),
        ("+3h", datetime(2026, 11, 23, 11, 0, tzinfo=UTC)),
        ("+2d", datetime(2026, 11, 25, 8, 0, tzinfo=UTC)),
        ("09:00", datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
        ("07:00", datetime(2026, 11, 24, 7, 0, tzinfo=UTC)),  # already past today: tomorrow
        ("mon 09:00", datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
        ("mon 07:00", datetime(2026, 11, 30, 7, 0, tzinfo=UTC)),  # next Monday
        ("Friday 17:30", datetime(2026, 11, 27, 17, 30, tzinfo=UTC)),
        ("2026-11-24 21:00", datetime(2026, 11, 24, 21, 0, tzinfo=UTC)),
        ("2026-11-24T21:00+01:00", datetime(2026, 11, 24, 20, 0, tzinfo=UTC)),
    ],
)
def test_each_form_names_the_time_a_reader_expects(text: str, expected: datetime) -> None:
    assert parse_move(text, NOW, zone=LONDON) == expected


@pytest.mark.parametrize("text", ["", "soon", "+3", "+3y", "25:00", "mon 9", "moon 09:00", "-3h"])
def test_anything_else_names_no_time(text: str) -> None:
    assert parse_move(text, NOW, zone=LONDON) is None


def test_a_wall_time_across_the_spring_change_is_read_in_summer_time() -> None:
    before = datetime(2026, 3, 28, 12, 0, tzinfo=UTC).astimezone(LONDON)  # Sat, GMT
    when = parse_move("sun 09:00", before, zone=LONDON)
    assert when is not None
    assert when.astimezone(LONDON).strftime("%a %H:%M %Z") == "Sun 09:00 BST"
    assert when == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)


@given(instants, zones, st.integers(0, 23), st.integers(0, 59), st.sampled_from((None, *DAYS)))
def test_a_wall_time_is_the_first_one_ahead(
    now: datetime, zone_name: str, hour: int, minute: int, day: str | None
) -> None:
    """`HH:MM` and `day HH:MM` move forward, to that wall time, within a week."""
    zone = pytz.timezone(zone_name)
    local_now = now.astimezone(zone)
    text = f"{day + ' ' if day else ''}{hour:02d}:{minute:02d}"
    when = parse_move(text, local_now, zone=zone)
    assert when is not None
    # the first one ahead: within a day (a week for a weekday), give or take a DST hour
    assert now < when <= now + timedelta(days=7 if day else 1, hours=1)
    shown = when.astimezone(zone)
    if (shown.hour, shown.minute) == (hour, minute) and day is not None:  # not in a DST gap
        assert DAYS[shown.weekday()] == day


@given(instants, st.integers(0, 500), st.sampled_from("mhd"))
def test_a_relative_move_adds_exactly_that_much(now: datetime, amount: int, unit: str) -> None:
    when = parse_move(f"+{amount}{unit}", now.astimezone(LONDON), zone=LONDON)
    step = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}[unit]
    assert when == now + amount * step
