"""`standing`: one answer to what a contract means now, and the hours a client sees."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.contract import ClientTerms, Contract, Policy
from rules.standing import standing, week_hours
from rules.texts import hours_in, zone

ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Asia/Kathmandu"]
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
GROUP = re.compile(r"(\w{3})(?:–(\w{3}))? (.+)")


def contract(
    coach_zone: str = "Europe/London", hours: str = "mon-fri 09:00-17:00", **terms: object
) -> Contract:
    return Contract(
        Policy("Melody", timezone=coach_zone, hours=hours), ClientTerms("Alex", **terms)
    )  # type: ignore[arg-type]


def test_a_contract_past_its_last_day_stands_as_former_since_the_day_after() -> None:
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    s = standing(contract(contract_end=date(2026, 10, 31)), now)
    assert s.former and s.ended_on == date(2026, 10, 31) and s.former_since == date(2026, 11, 1)


def test_a_session_that_has_passed_is_not_the_next() -> None:
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert standing(contract(next_session=now - timedelta(hours=1)), now).next_session is None


def test_hours_that_wrap_the_week_in_the_clients_zone_read_as_one_run() -> None:
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    c = contract("Asia/Tokyo", "sat-mon 06:00-08:00")
    assert hours_in(week_hours(c, now), "Europe/London") == "Fri–Sun 21:00–23:00"
    assert hours_in(
        week_hours(contract(hours="sat-mon 09:00-10:00; wed 09:00-10:00"), now), "UTC"
    ) == ("Sat–Mon 09:00–10:00; Wed 09:00–10:00")


def _back(
    text: str, client_zone: str, week: tuple[tuple[datetime, datetime], ...]
) -> set[tuple[datetime, datetime]]:
    """The UTC intervals the text names, reading each weekday as its date in the week shown."""
    tz = zone(client_zone)
    lo, hi = week[0][0] - timedelta(days=2), week[-1][1] + timedelta(days=2)
    found = set()
    for group in text.split("; "):
        match = GROUP.fullmatch(group)
        assert match, text
        first = DAYS.index(match.group(1))
        last = DAYS.index(match.group(2) or match.group(1))
        for offset in range((last - first) % 7 + 1):
            weekday = (first + offset) % 7
            for span in match.group(3).split(", "):
                start, end = span.split("–")
                day = lo.astimezone(tz).date()
                while day <= hi.astimezone(tz).date():
                    if day.weekday() == weekday:
                        s = tz.localize(datetime.combine(day, time.fromisoformat(start)))
                        end_day = day + timedelta(days=1) if end <= start or end == "24:00" else day
                        e_time = "00:00" if end == "24:00" else end
                        e = tz.localize(datetime.combine(end_day, time.fromisoformat(e_time)))
                        found.add((s.astimezone(UTC), e.astimezone(UTC)))
                    day += timedelta(days=1)
    return found


@settings(max_examples=60, deadline=None)
@given(
    coach_zone=st.sampled_from(ZONES),
    client_zone=st.sampled_from(ZONES),
    day=st.integers(min_value=0, max_value=365),
    hours=st.sampled_from(
        ["mon-fri 09:00-17:00", "tue-thu 10:00-12:00,14:00-18:00", "sat 08:00-11:00"]
    ),
)
def test_the_hours_a_client_sees_convert_back_to_the_coachs_open_time_that_week(
    coach_zone: str, client_zone: str, day: int, hours: str
) -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=day)
    week = week_hours(contract(coach_zone, hours), now)
    assert set(week) <= _back(hours_in(week, client_zone), client_zone, week)
