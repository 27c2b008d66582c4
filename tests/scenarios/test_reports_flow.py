"""Transcripts: billing terms in the answer, /log, /report with its picture, /show, timers."""

from __future__ import annotations

import asyncio
import io
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.delivery.outbox import Unsendable, to_outgoing
from bot.messages import Attachment
from bot.store.models import Coach, Document, Outbox, TimeEntry
from bot.store.unit import UnitOfWork
from bot.transports.console import ConsoleTransport
from tests.harness import Harness

POLICY = {"timezone": "Europe/London", "hours": "mon-fri 09:00-17:00", "reply_within": "24h"}


@pytest.fixture
def chat(engine: Engine, clock: ManualClock) -> Harness:
    """Melody (billing 5 free minutes, 60 GBP an hour) with Alex; Rob, another coach, with Kim."""
    h = Harness(engine, clock)
    h.add_coach(policy=POLICY)
    h.add_coach("rob", "Rob", user_id="101", policy=POLICY)
    h.add_client("Alex", user_id="200")
    h.add_client("Kim", coach_key="rob", user_id="300")
    h.say("melody", "/billing 5 60 GBP")
    return h


def test_a_forwarded_question_is_acknowledged_with_the_billing_terms(chat: Harness) -> None:
    assert chat.say("alex", "/ask Can we move Thursday?") == [
        "Thanks — Melody has your message and will reply by Thu 26 Nov, 10:00 GMT. "
        "Replies taking more than 5 minutes are billed at 60 GBP/hour."
    ]
    assert chat.say("kim", "/ask And me?") == [
        "Thanks — Rob has your message and will reply by Thu 26 Nov, 10:00 GMT."
    ]  # Rob has no billing terms: nothing about billing


@pytest.mark.parametrize(
    ("billing", "logged", "answer", "stored"),
    [
        (
            "5 60 GBP",
            "5m",
            "Logged 5 min for Alex; within the 5 free minutes, not billed.",
            (0, "0.00"),
        ),
        ("5 60 GBP", "6m", "Logged 6 min for Alex: 15 min billable, 15.00 GBP.", (15, "15.00")),
        ("5 60 GBP", "20m", "Logged 20 min for Alex: 30 min billable, 30.00 GBP.", (30, "30.00")),
        ("5 60 GBP", "1h", "Logged 60 min for Alex: 60 min billable, 60.00 GBP.", (60, "60.00")),
        (
            "5 62.50 EUR 10",
            "20m",
            "Logged 20 min for Alex: 20 min billable, 20.83 EUR.",
            (20, "20.83"),
        ),
        ("0 100 USD 1", "1m", "Logged 1 min for Alex: 1 min billable, 1.67 USD.", (1, "1.67")),
    ],
)
def test_time_beyond_the_free_minutes_is_billed_whole_rounded_up_to_the_increment(
    chat: Harness, billing: str, logged: str, answer: str, stored: tuple[int, str]
) -> None:
    chat.say("melody", f"/billing {billing}")
    assert chat.say("melody", f"/log Alex {logged} a call") == [answer]
    with Session(chat.engine) as session:
        entry = session.exec(select(TimeEntry)).one()
    assert (entry.billable_minutes, entry.amount) == stored


def test_the_report_comes_with_its_picture_through_the_outbox_and_the_console(
    chat: Harness, clock: ManualClock
) -> None:
    chat.say("alex", "/ask Can we move Thursday?")
    clock.advance(timedelta(hours=1, minutes=30))
    chat.say("melody", "/reply Alex Yes, Friday 10:00")
    chat.say("melody", "/log Alex 20m rescheduling")

    [report] = chat.say("melody", "/report")

    assert report.splitlines()[1] == (
        "• Alex: 1 message (1 question) · forwarded 1, queued 0, FYI 0, parked 0, urgent 0 · "
        "median reply 1h 30m, on time 1 of 1 (100%) · logged 20 min, billable 30 min, 30.00 GBP"
    )
    row = chat.rows("melody")[-1]
    with Session(chat.engine) as session:
        message = to_outgoing(session.get(Outbox, row.id), UnitOfWork(session))  # type: ignore[arg-type]
        [picture] = message.documents
        assert (picture.filename, picture.mime_type) == ("report-2026-11.png", "image/png")
        assert picture.content.startswith(b"\x89PNG")
        out = io.StringIO()
        files = Path(tempfile.mkdtemp())
        asyncio.run(ConsoleTransport(out, files_dir=files).send(message))
    size = round(len(picture.content) / 1024)
    saved = files / "1-report-2026-11.png"
    assert f"      (file: report-2026-11.png, {size} kB, saved as {saved})\n" in out.getvalue()
    assert saved.read_bytes() == picture.content


def test_a_row_naming_a_file_that_is_gone_cannot_be_sent(chat: Harness) -> None:
    chat.say("alex", "/fyi hello")
    chat.say("melody", "/report")
    with Session(chat.engine) as session:
        row = session.get(Outbox, chat.rows("melody")[-1].id)
        assert row is not None
        session.delete(session.exec(select(Document)).one())
        session.flush()
        with pytest.raises(Unsendable, match="a document of this message is gone"):
            to_outgoing(row, UnitOfWork(session))


def test_reports_of_other_months_and_bad_months(chat: Harness) -> None:
    assert chat.say("melody", "/report 2026-10")[0].splitlines()[1:] == [
        "No messages and no logged time this month.",
        "No contact: Alex",
    ]
    assert chat.say("melody", "/report 2026-12") == [
        "/report: 2026-12 has not begun yet; use /report 2026-11"
    ]
    assert chat.say("melody", "/report November") == [
        "/report: 'November' is not a month; use /report 2026-11"
    ]
    assert chat.say("alex", "/report") == ["That command is for coaches."]


def test_show_gives_the_coach_a_message_in_full_with_its_attachments(
    chat: Harness, clock: ManualClock
) -> None:
    long_text = "A long story. " * 40
    chat.say("alex", f"/fyi {long_text}", attachments=(Attachment("voice", "v1"),))
    [shown] = chat.say("melody", "/show 1")
    assert shown == (
        "#1 · Alex · fyi · Mon 23 Nov, 10:00 GMT · an update for your digest\n"
        f"{long_text.strip()}\nAttached: voice note"
    )
    [row] = [r for r in chat.rows("melody") if r.text == shown]  # one row: the answer itself
    assert row.payload["copy_from"] == [["200", "m2"]]  # Alex's chat, the /fyi's event


def test_show_is_only_for_the_coachs_own_clients_messages(chat: Harness) -> None:
    chat.say("kim", "/fyi Rob's client writes")
    assert chat.say("melody", "/show 1") == ["None of your clients' messages is numbered 1."]
    assert chat.say("rob", "/show 1")[0].startswith("#1 · Kim · fyi")
    assert chat.say("kim", "/show 1") == ["That command is for coaches."]
    assert chat.say("melody", "/show one") == ["/show: 'one' is not a message number; use /show 12"]


def test_brief_and_notice_are_set_shown_and_turned_off(chat: Harness) -> None:
    assert chat.say("melody", "/brief") == [
        "Pre-session briefs: 12 hours before each session. Change it like this: /brief 12h (or off)"
    ]
    assert chat.say("melody", "/brief 6h") == ["Pre-session briefs 6 hours before each session."]
    assert chat.say("melody", "/brief off") == [
        "Pre-session briefs off. /brief 12h turns them back on."
    ]
    assert chat.say("melody", "/brief 100h") == [
        "/brief: 100h is out of range — use hours from 1h to 72h, like /brief 12h"
    ]
    assert chat.say("melody", "/notice 1d") == ["Clients hear of a closure 1 day before it begins."]
    assert chat.say("melody", "/notice off") == [
        "Closure notices off: clients are not told ahead. /notice 3d turns them on."
    ]
    assert chat.say("melody", "/notice") == [
        "Closure notices to clients: off. Change it like this: /notice 3d (or off)"
    ]
    with Session(chat.engine) as session:
        melody = session.exec(select(Coach).where(Coach.key == "melody")).one()
    assert (melody.policy["brief_hours"], melody.policy["notice_days"]) == (None, None)
    assert {"brief_hours", "notice_days"} <= set(melody.chat_set)


def test_the_export_file_reaches_the_coach(chat: Harness) -> None:
    chat.say("alex", "/fyi hello", at=datetime(2026, 11, 23, 11, tzinfo=UTC))
    chat.say("melody", "/export Alex")
    with Session(chat.engine) as session:
        row = session.get(Outbox, chat.rows("melody")[-1].id)
        [document] = to_outgoing(row, UnitOfWork(session)).documents  # type: ignore[arg-type]
    assert (document.filename, document.mime_type) == ("alex-export.json", "application/json")
    assert b'"text": "hello"' in document.content
