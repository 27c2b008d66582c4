"""The monthly report: every figure on a seeded month, the dependency signal, the picture."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.service import heatmap
from bot.service.reports import Report, build_report, duration_words, median, render_report
from bot.store.db import transaction
from bot.store.models import Client, Coach, TimeEntry
from bot.store.unit import UnitOfWork
from rules.calendar import parse_hours
from rules.contract import BillingTerms
from tests.bot.factories import add_client, add_coach, add_message, add_promise

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # the report is asked for the day after
NOVEMBER = date(2026, 11, 1)
LONG_AGO = datetime(2026, 9, 1, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A UTC moment in 2026 (London is on GMT in November)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def logged(session: Session, client: Client, minutes: int, when: datetime) -> None:
    """Time logged under 5 free minutes, 60 GBP an hour, 15-minute increments."""
    terms = BillingTerms(5, rate=Decimal(60), currency="GBP")
    billable = terms.billable_minutes(minutes)
    session.add(
        TimeEntry(
            coach_id=client.coach_id,
            client_id=client.id or 0,
            minutes=minutes,
            billable_minutes=billable,
            amount=str(terms.amount(minutes)),
            currency="GBP" if billable else "",
            logged_at=when,
        )
    )


def seed_november(session: Session) -> Coach:
    """Melody's November: Alex busy, Sam with an unanswered question, Kim quiet."""
    melody = add_coach(session)
    alex = add_client(session, melody, name="Alex")
    sam = add_client(session, melody, name="Sam", chat_id="201")
    add_client(session, melody, name="Kim", chat_id="202")
    add_message(session, alex, received_at=at(2, 8, 30))
    add_message(session, alex, received_at=at(3, 20))
    asked = add_message(session, alex, received_at=at(4, 10), decision="forward", kind="question")
    add_promise(session, asked, reply_by=at(5, 10), replied_at=at(4, 13, 20), on_time=True)
    moved = add_message(session, alex, received_at=at(6, 18), decision="queue", kind="scheduling")
    add_promise(session, moved, reply_by=at(9, 17), replied_at=at(9, 18), on_time=False)
    add_message(session, alex, received_at=at(7, 11), decision="park", kind="goals")
    add_message(session, alex, received_at=at(10, 2), decision="urgent", kind="question")
    add_message(session, alex, received_at=at(31, 12, month=10))  # October: not counted
    add_message(session, alex, received_at=at(1, 5, month=12))  # December: not counted
    logged(session, alex, 20, at(4, 13, 30))
    logged(session, alex, 4, at(9, 18, 5))
    logged(session, alex, 30, at(1, 9, month=12))  # December: not counted
    unanswered = add_message(
        session, sam, received_at=at(16, 9), decision="forward", kind="question"
    )
    add_promise(session, unanswered, reply_by=at(17, 9))
    add_message(session, sam, received_at=at(18, 9), decision="ask", kind=None)
    return melody


def report_of(engine: Engine, now: datetime = NOW, month: date = NOVEMBER) -> Report:
    """Melody's report, built in a transaction of its own."""
    with Session(engine) as session:
        melody = session.exec(select(Coach).where(Coach.key == "melody")).one()
        return build_report(UnitOfWork(session), melody, month=month, now=now)


@pytest.fixture
def november(engine: Engine) -> Report:
    """The report of the seeded November."""
    with transaction(engine) as session:
        seed_november(session)
    return report_of(engine)


def test_every_figure_of_a_month_one_line_per_client_and_a_total(november: Report) -> None:
    lines = render_report(november).splitlines()

    assert lines[0] == "Report for November 2026 · Europe/London · up to Tue 1 Dec, 00:00 GMT"
    assert lines[1] == (
        "• Alex: 6 messages (2 updates, 2 questions, 1 scheduling, 1 goals) · "
        "forwarded 1, queued 1, FYI 2, parked 1, urgent 1 · "
        "median reply 1d 13h 40m, on time 1 of 2 (50%) · "
        "logged 24 min, billable 30 min, 30.00 GBP"
    )
    assert lines[2] == (
        "• Sam: 2 messages (1 question, 1 unsorted) · "
        "forwarded 1, queued 0, FYI 0, parked 0, urgent 0 · "
        "no replies yet, on time 0 of 1 (0%) · no time logged"
    )
    assert lines[3] == (
        "Total: 8 messages (2 updates, 3 questions, 1 scheduling, 1 goals, 1 unsorted) · "
        "forwarded 2, queued 1, FYI 2, parked 1, urgent 1 · "
        "median reply 1d 13h 40m, on time 1 of 3 (33%) · "
        "logged 24 min, billable 30 min, 30.00 GBP"
    )
    assert lines[4] == "No contact: Kim"
    assert "Dependency signals:" not in lines


def test_a_month_in_progress_counts_up_to_now(engine: Engine) -> None:
    with transaction(engine) as session:
        seed_november(session)
    report = report_of(engine, now=at(4, 13, 20))
    [alex] = report.clients  # Sam had not written yet
    assert (alex.messages, alex.due, alex.on_time) == (3, 1, 1)
    assert alex.reply_times == [timedelta(hours=3, minutes=20)]
    assert alex.logged == 0  # logged 10 minutes later
    assert report.quiet == ("Kim", "Sam")


def test_reply_times_read_as_wall_time() -> None:
    assert duration_words(timedelta(hours=3, minutes=20)) == "3h 20m"
    assert duration_words(timedelta(minutes=45)) == "45m"
    assert duration_words(timedelta(days=3)) == "3d"
    assert duration_words(timedelta(seconds=20)) == "0m"
    assert duration_words(timedelta(days=1, minutes=5)) == "1d 5m"
    assert median([]) is None
    assert median([timedelta(hours=1), timedelta(hours=5), timedelta(hours=2)]) == timedelta(
        hours=2
    )


def week_of_messages(session: Session, client: Client, days: list[int]) -> None:
    """A question from `client` at 10:00 on each of these November days."""
    for day in days:
        add_message(session, client, received_at=at(day, 10), decision="forward", kind="question")


def test_contact_rising_to_over_twice_the_weekly_average_is_signalled(engine: Engine) -> None:
    with transaction(engine) as session:
        melody = add_coach(session)
        jo = add_client(session, melody, name="Jo", chat_id="203")
        ro = add_client(session, melody, name="Ro", chat_id="204")
        new = add_client(session, melody, name="Nia", chat_id="205")
        jo.created_at = ro.created_at = LONG_AGO
        new.created_at = at(20, 9)
        week_of_messages(session, jo, [2, 9, 16, 23, 25, 27, 29])  # 1 a week, then 3
        week_of_messages(session, ro, [2, 3, 9, 10, 16, 17, 22, 23, 25, 26, 27, 29])  # 2, then 4
        week_of_messages(session, new, [25, 26, 27, 28])  # no history to compare with
    report = report_of(engine)
    assert report.signals == (
        "Jo: 3 messages in the last 7 days, more than twice the weekly average of 1.0 "
        "in the 4 weeks before",
    )
    lines = render_report(report).splitlines()
    assert lines[lines.index("Dependency signals:") + 1] == f"⚑ {report.signals[0]}"


def test_the_whole_quota_used_three_weeks_running_is_signalled(engine: Engine) -> None:
    with transaction(engine) as session:
        melody = add_coach(session)
        pat = add_client(session, melody, name="Pat", chat_id="203", weekly_quota=2)
        lee = add_client(session, melody, name="Lee", chat_id="204", weekly_quota=2)
        free = add_client(session, melody, name="Max", chat_id="205", weekly_quota=0)
        week_of_messages(session, pat, [17, 18, 24, 25, 30, 30])  # 2 in each of three weeks
        week_of_messages(session, lee, [17, 18, 24, 30, 30])  # one week short
        week_of_messages(session, free, [17, 18, 24, 25, 30, 30])  # joined on the 23rd: too new
    assert report_of(engine).signals == ("Pat: used the whole weekly quota (2) 3 weeks running",)


def pixel(picture: bytes, xy: tuple[int, int]) -> tuple[int, int, int]:
    """The RGB colour of one pixel of a PNG."""
    with Image.open(io.BytesIO(picture)) as image:
        return image.convert("RGB").getpixel(xy)  # type: ignore[return-value]


def test_the_picture_is_a_png_of_contact_times_with_open_hours_outlined(november: Report) -> None:
    with Image.open(io.BytesIO(november.picture)) as image:
        assert (image.format, image.size) == ("PNG", (heatmap.WIDTH, heatmap.HEIGHT))
    wednesday_ten = heatmap.cell_box(2, 10)  # Alex's question, inside hours
    saturday_ten = heatmap.cell_box(5, 10)  # no one, closed
    tuesday_eight_pm = heatmap.cell_box(1, 20)  # an update, after hours
    left, top = wednesday_ten[:2]
    assert pixel(november.picture, (left, top + 14)) == heatmap.OPEN
    assert pixel(november.picture, (left + 4, top + 4)) == heatmap.DARK  # the busiest hour: 1
    left, top = saturday_ten[:2]
    assert pixel(november.picture, (left + 1, top + 14)) != heatmap.OPEN
    assert pixel(november.picture, (left + 4, top + 4)) == heatmap.EMPTY
    left, top = tuesday_eight_pm[:2]
    assert pixel(november.picture, (left + 1, top + 14)) != heatmap.OPEN
    assert pixel(november.picture, (left + 4, top + 4)) == heatmap.DARK


def test_counts_are_shaded_lighter_to_darker_and_hours_past_midnight_spill_over() -> None:
    assert heatmap.shade(0, 5) == heatmap.EMPTY
    light, dark = heatmap.shade(1, 5), heatmap.shade(5, 5)
    assert dark == heatmap.DARK and sum(light) > sum(dark)
    grid = heatmap.open_grid(parse_hours("fri 22:00-02:00"))
    assert grid[4][21:] == [False, True, True] and grid[5][:3] == [True, True, False]
    london = heatmap.count_grid([at(2, 9, 59), at(1, 23, month=7)], "Europe/London")
    assert london[0][9] == 1 and london[3][0] == 1  # 23:00 UTC on Wed 1 Jul is Thu 00:00 BST


def test_a_month_without_messages_has_no_picture(engine: Engine) -> None:
    with transaction(engine) as session:
        add_coach(session)
    report = report_of(engine)
    assert report.picture == b""
    assert render_report(report).splitlines()[1] == "No messages and no logged time this month."


def test_plain_text_kept_for_a_session_or_urgent_is_named_so_not_unsorted(engine: Engine) -> None:
    with transaction(engine) as session:
        melody = add_coach(session)
        lena = add_client(session, melody, name="Lena")
        add_message(session, lena, received_at=at(2, 10), decision="park", kind=None)
        add_message(session, lena, received_at=at(3, 10), decision="urgent", kind=None)
        add_message(session, lena, received_at=at(4, 10), decision="ask", kind=None)
    lines = render_report(report_of(engine)).splitlines()
    assert lines[1].startswith(
        "• Lena: 3 messages (1 kept for a session, 1 urgent, 1 unsorted) · "
    ), lines[1]
