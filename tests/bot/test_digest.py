"""The daily digest: every section, what it marks as shown, and nothing when there is nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.service.digest import Digest, build_digest, preview, render_text
from bot.store.db import transaction
from bot.store.models import Client, Coach, Message, Outbox
from bot.store.unit import UnitOfWork
from tests.bot.factories import add_client, add_coach, add_message, add_promise

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # Mon 18:00 in London (GMT)
LONG = "I had a breakthrough today. " * 20  # 560 characters


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC moment in November 2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def failed(session: Session, *, chat_id: str, error: str, **fields: Any) -> None:
    """An outbox row that could not be delivered."""
    session.add(
        Outbox(
            idempotency_key=f"failed:{chat_id}:{error[:10]}",
            platform="telegram",
            chat_id=chat_id,
            text="(what was sent)",
            status="failed",
            last_error=error,
            next_attempt_at=at(23, 11),
            created_at=at(23, 11),
            **fields,
        )
    )


def owed(
    session: Session, client: Client, text: str, *, kind: str = "question", **fields: Any
) -> None:
    """A question to the coach with a promise: `reply_by` and promise fields go to the promise."""
    promise = {k: fields.pop(k) for k in ("reply_by", "replied_at", "on_time") if k in fields}
    fields.setdefault("decision", "forward")
    message = add_message(session, client, text=text, kind=kind, **fields)
    add_promise(session, message, **promise)


def fill(session: Session) -> Coach:
    """Melody's day: replies owed, updates, a former client's news, parked items, failures."""
    melody = add_coach(session)
    alex = add_client(session, melody, name="Alex", next_session=at(24, 10))
    sam = add_client(session, melody, name="Sam", chat_id="201", next_session=at(28, 10))
    jo = add_client(session, melody, name="Jo", chat_id="202", contract_end=date(2026, 10, 31))
    owed(session, alex, "Can we move Thursday?", received_at=at(23, 9), reply_by=at(23, 17))
    owed(session, alex, "My goals", kind="goals", received_at=at(23, 12), reply_by=at(24, 12))
    replied: dict[str, Any] = {"reply_by": at(24, 10), "replied_at": at(23, 11), "on_time": True}
    owed(session, alex, "answered already", received_at=at(23, 10), **replied)
    queued: dict[str, Any] = {"decision": "queue", "release_at": at(24, 9), "reply_by": at(24, 17)}
    owed(session, sam, "Quick one", received_at=at(23, 17, 30), **queued)
    add_message(session, alex, received_at=at(23, 8), text=LONG)
    beach: list[dict[str, str]] = [
        {"type": "photo", "file_id": "p1", "name": "beach.jpg"},
        {"type": "voice"},
    ]
    add_message(session, alex, received_at=at(23, 13), text="At the beach", attachments=beach)
    add_message(session, alex, received_at=at(22, 8), text="seen yesterday", digested_at=at(22, 18))
    add_message(session, sam, received_at=at(23, 14), text="Sam's news")
    add_message(session, jo, received_at=at(23, 15), text="Got the job!", former_client=True)
    alumni: dict[str, Any] = {"decision": "alumni", "kind": "question", "former_client": True}
    add_message(session, jo, received_at=at(23, 16), text="Any tips?", **alumni)
    parked: dict[str, Any] = {"decision": "park", "kind": "goals", "received_at": at(23, 11)}
    add_message(session, alex, text="Talk about work", **parked)
    add_message(session, sam, text="not this week", **parked)
    failures(session, melody, alex)
    return melody


def failures(session: Session, melody: Coach, alex: Client) -> None:
    """Two new failed deliveries for Melody, one already reported, and one of another coach."""
    failed(
        session, chat_id="200", error="Forbidden: bot was blocked by the user", client_id=alex.id
    )
    failed(session, chat_id="100", error="Bad Request: chat not found", coach_id=melody.id)
    failed(session, chat_id="100", error="old news", coach_id=melody.id, reported_at=at(22, 18))
    rob = add_coach(session, key="rob", name="Rob", chat_id="101")
    robin = add_client(session, rob, name="Robin", chat_id="301")
    add_message(session, robin, received_at=at(23, 9), text="for Rob only")
    failed(session, chat_id="301", error="Rob's problem", client_id=robin.id)


@pytest.fixture
def digest(engine: Engine) -> Digest:
    """Melody's digest at Mon 18:00, built once (which marks what it shows)."""
    with transaction(engine) as session:
        content = build_digest(UnitOfWork(session), fill(session), now=NOW)
    assert content is not None
    return content


def test_replies_owed_are_split_into_overdue_and_waiting_with_their_reply_by(
    digest: Digest,
) -> None:
    assert [(w.entry.client, w.entry.preview, w.reply_by) for w in digest.overdue] == [
        ("Alex", "Can we move Thursday?", at(23, 17))
    ]
    assert [(w.entry.client, w.reply_by, w.queued_until) for w in digest.waiting] == [
        ("Alex", at(24, 12), None),
        ("Sam", at(24, 17), at(24, 9)),
    ]


def test_updates_are_grouped_by_client_and_former_clients_news_kept_apart(digest: Digest) -> None:
    assert [(g.client, [e.preview[:12] for e in g.entries]) for g in digest.updates] == [
        ("Alex", ["I had a brea", "At the beach"]),
        ("Sam", ["Sam's news"]),
    ]
    assert [(g.client, [e.kind for e in g.entries]) for g in digest.former] == [
        ("Jo", ["fyi", "question"])
    ]


def test_parked_items_show_only_for_sessions_in_the_next_two_days(digest: Digest) -> None:
    assert [(p.client, p.session_at, [e.preview for e in p.entries]) for p in digest.parked] == [
        ("Alex", at(24, 10), ["Talk about work"])
    ]


def test_failed_deliveries_name_the_recipient_and_the_reason(digest: Digest) -> None:
    assert [(f.recipient, f.reason) for f in digest.failed] == [
        ("Alex", "Forbidden: bot was blocked by the user"),
        ("you", "Bad Request: chat not found"),
    ]


def test_the_digest_reads_as_plain_text_with_replies_owed_first(digest: Digest) -> None:
    blocks = render_text(digest).split("\n\n")
    assert blocks[0] == "Your daily digest · Mon 23 Nov, 18:00 GMT"
    assert blocks[1] == (
        "Overdue replies (1)\n"
        "• Alex · question · was due Mon 23 Nov, 17:00 GMT\n"
        "  Can we move Thursday?"
    )
    waiting = blocks[2].splitlines()
    assert waiting[0] == "Waiting for your reply (2)"
    assert waiting[3] == (
        "• Sam · question · reply by Tue 24 Nov, 17:00 GMT · reaches you Tue 24 Nov, 09:00 GMT"
    )


def test_updates_show_a_readable_preview_and_how_to_see_all_of_it(digest: Digest) -> None:
    updates = render_text(digest).split("\n\n")[3].splitlines()
    assert updates[:3] == [
        "Updates (no reply needed)",
        "Alex · 2 messages",
        "• Mon 23 Nov, 08:00 GMT · update",
    ]
    long_one, beach = (e.message_id for e in digest.updates[0].entries)
    assert updates[3].endswith("…") and len(updates[3]) <= 2 + 300 + 1
    assert updates[4] == f"  (cut short — /show {long_one} for all of it)"
    assert f'  Attached: photo "beach.jpg", voice note — /show {beach}' in updates
    assert "Sam · 1 message" in updates


def test_former_clients_parked_items_and_failures_have_their_own_sections(digest: Digest) -> None:
    text = render_text(digest)
    blocks = text.split("\n\n")
    assert blocks[4].splitlines()[:2] == ["Former clients' news", "Jo (former client) · 2 messages"]
    assert blocks[5].splitlines()[:2] == [
        "Kept for sessions in the next two days",
        "Alex · session Tue 24 Nov, 10:00 GMT · 1 kept",
    ]
    assert blocks[6] == (
        "Deliveries that failed (2)\n"
        "• to Alex, queued Mon 23 Nov, 11:00 GMT: Forbidden: bot was blocked by the user\n"
        "• to you, queued Mon 23 Nov, 11:00 GMT: Bad Request: chat not found"
    )
    for hidden in ("answered already", "seen yesterday", "not this week", "Rob", "old news"):
        assert hidden not in text


def test_what_a_digest_shows_is_marked_so_the_next_one_does_not_repeat_it(
    engine: Engine, digest: Digest
) -> None:
    with Session(engine) as session:
        shown = session.exec(select(Message).where(col(Message.digested_at) == NOW)).all()
        reported = session.exec(select(Outbox).where(col(Outbox.reported_at) == NOW)).all()
        melody = session.exec(select(Coach).where(Coach.key == "melody")).one()
    assert sorted(m.text[:8] for m in shown) == sorted(
        ["I had a ", "At the b", "Sam's ne", "Got the ", "Any tips"]
    )
    assert [r.last_error for r in reported] == [
        "Forbidden: bot was blocked by the user",
        "Bad Request: chat not found",
    ]
    with transaction(engine) as session:
        again = build_digest(UnitOfWork(session), melody, now=NOW)
    assert again is not None
    assert (again.updates, again.former, again.failed) == ((), (), ())
    assert len(again.overdue) == 1 and len(again.waiting) == 2 and len(again.parked) == 1


def test_no_digest_when_there_is_nothing(engine: Engine) -> None:
    with transaction(engine) as session:
        coach = add_coach(session)
        add_client(session, coach)
        assert build_digest(UnitOfWork(session), coach, now=NOW) is None


def test_times_are_shown_in_the_coachs_zone(engine: Engine) -> None:
    with transaction(engine) as session:
        coach = add_coach(session, timezone="America/New_York")
        add_message(session, add_client(session, coach), received_at=at(23, 15), text="hi")
        content = build_digest(UnitOfWork(session), coach, now=NOW)
    assert content is not None
    lines = render_text(content).splitlines()
    assert lines[0] == "Your daily digest · Mon 23 Nov, 13:00 EST"
    assert "• Mon 23 Nov, 10:00 EST · update" in lines


def test_a_long_text_is_cut_to_300_characters_with_an_ellipsis() -> None:
    text, cut = preview(
        Message(
            text="word " * 100,
            coach_id=1,
            client_id=1,
            platform="t",
            decision="digest",
            received_at=NOW,
        )
    )
    assert cut and text.endswith("…") and len(text) <= 301
    assert preview(
        Message(
            text="a\n\nb", coach_id=1, client_id=1, platform="t", decision="digest", received_at=NOW
        )
    ) == ("a b", False)
