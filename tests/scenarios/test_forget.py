"""`/forget Alex confirm` leaves Alex nowhere: not in what the coach is yet to get, nor on disk."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.service.notices import run_timer
from bot.service.schedule import ensure_timers
from bot.store.db import transaction
from bot.store.models import Document, Outbox, Timer
from bot.store.unit import UnitOfWork
from tests.harness import Harness

ALEX_ID, SAM_ID = "770011", "880022"
MARK = "Zebracorn-4417"  # in every text Alex writes: a scan of the bytes for it finds only Alex
POLICY = {"timezone": "Europe/London", "hours": "mon-fri 09:00-17:00", "reply_within": "24h"}


@pytest.fixture
def chat(engine: Engine, clock: ManualClock) -> Harness:
    """Melody with Alex and Sam, who both sent news for the digest; Alex also asked something."""
    h = Harness(engine, clock)
    h.add_coach(policy=POLICY)
    h.add_client("Alex", user_id=ALEX_ID)
    h.add_client("Sam", user_id=SAM_ID)
    h.say("alex", f"/fyi {MARK} ran 5k")
    h.say("alex", f"/ask {MARK} can we move Thursday?")
    h.say("sam", "/fyi Sam swam a mile")
    return h


def render_digest(h: Harness) -> Outbox:
    """Run Melody's digest timer: her digest is rendered and waits in the outbox, unsent."""
    with transaction(h.engine) as session:
        ensure_timers(UnitOfWork(session), h.clock.now())
        timer = session.exec(select(Timer).where(Timer.kind == "digest")).one()
        h.clock.set(timer.due_at)
        run_timer(UnitOfWork(session), timer, now=timer.due_at)
        return session.exec(
            select(Outbox).where(col(Outbox.idempotency_key).startswith("digest:"))
        ).one()


def outbox_row(h: Harness, key: str) -> Outbox | None:
    with Session(h.engine) as session:
        return session.exec(select(Outbox).where(Outbox.idempotency_key == key)).first()


def test_a_pending_digest_is_rendered_again_without_the_erased_client(chat: Harness) -> None:
    digest = render_digest(chat)
    assert MARK in digest.text and "Sam swam a mile" in digest.text

    chat.say("melody", "/forget Alex confirm")

    again = outbox_row(chat, digest.idempotency_key)
    assert again is not None and again.status == "pending"  # Sam's news still goes out
    assert "Sam swam a mile" in again.text
    assert MARK not in again.text and "Alex" not in again.text
    assert again.payload == digest.payload  # the same layout


def test_a_pending_digest_about_the_erased_client_alone_is_dropped(
    engine: Engine, clock: ManualClock
) -> None:
    h = Harness(engine, clock)
    h.add_coach(policy=POLICY)
    h.add_client("Alex", user_id=ALEX_ID)
    h.say("alex", f"/fyi {MARK} ran 5k")
    digest = render_digest(h)
    h.say("melody", "/forget Alex confirm")
    assert outbox_row(h, digest.idempotency_key) is None


def test_unsent_rows_quoting_the_client_are_deleted_and_their_timers_too(chat: Harness) -> None:
    chat.say("melody", "/show 2")  # the answer quotes Alex's words and waits unsent
    with Session(chat.engine) as session:
        assert session.exec(select(Timer).where(col(Timer.client_id).is_not(None))).all()
    chat.say("melody", "/forget Alex confirm")
    with Session(chat.engine) as session:
        texts = [row.text for row in session.exec(select(Outbox)).all()]
        assert texts and not [t for t in texts if MARK in t or "Alex" in t]
        assert session.exec(select(Timer).where(col(Timer.client_id).is_not(None))).all() == []
        assert session.exec(select(Timer).where(Timer.kind == "reminder")).all() == []


def test_an_unsent_coach_row_quoting_the_client_without_their_ids_is_deleted(
    chat: Harness,
) -> None:
    with transaction(chat.engine) as session:  # e.g. an answer that quotes them, ids not kept
        for n, status in enumerate(("pending", "sent")):
            session.add(
                Outbox(
                    idempotency_key=f"quote-{n}",
                    platform="telegram",
                    chat_id="100",
                    text=f"From Alex: {MARK} ran 5k",
                    status=status,
                    next_attempt_at=chat.clock.now(),
                    created_at=chat.clock.now(),
                )
            )
    chat.say("melody", "/forget Alex confirm")
    assert outbox_row(chat, "quote-0") is None  # pending: not sent at all
    sent = outbox_row(chat, "quote-1")
    assert sent is not None and sent.text == ""  # sent: the coach has it, no copy is kept


def test_no_copy_of_the_erased_text_is_left_in_the_database_file_or_its_wal(
    chat: Harness, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("bytes on disk: SQLite only")
    render_digest(chat)
    chat.say("melody", "/show 1")
    chat.say("melody", "/export Alex")
    path = Path(db_url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    on_disk = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert MARK.encode() in on_disk  # the scan finds it before

    chat.say("melody", "/forget Alex confirm")

    assert MARK.encode() not in path.read_bytes()
    assert not wal.exists() or MARK.encode() not in wal.read_bytes()
    assert ALEX_ID.encode() not in path.read_bytes()


def test_export_holds_what_the_coach_was_sent_about_them_and_their_timers(chat: Harness) -> None:
    forwarded = chat.rows("melody")  # the question went to Melody: Alex's words, Alex's id
    assert [row for row in forwarded if MARK in row.text and row.client_id is not None]
    chat.say("melody", "/export Alex")
    with Session(chat.engine) as session:
        [document] = session.exec(select(Document)).all()
        data = json.loads(document.content)
    about = data["outbox_about_them"]
    assert about and {row["chat_id"] for row in about} == {"100"}  # Melody's chat
    assert any(MARK in row["text"] for row in about)
    assert {row["chat_id"] for row in data["outbox"]} == {ALEX_ID}
    assert {t["kind"] for t in data["timers"]} >= {"reminder"}
    assert all(t["client_id"] == data["client"]["id"] for t in data["timers"])
    assert "Sam swam a mile" not in document.content.decode()


def test_a_queued_release_to_the_coach_is_deleted_with_the_client(
    engine: Engine, clock: ManualClock
) -> None:
    h = Harness(engine, clock)
    h.add_coach(policy=POLICY)
    h.add_client("Alex", user_id=ALEX_ID)
    h.say("alex", f"/ask {MARK} late question", at=clock.now() + timedelta(hours=10))  # 20:00
    with Session(engine) as session:
        timers = session.exec(select(Timer).where(Timer.kind == "release")).all()
    assert timers  # waits for the morning
    h.say("melody", "/forget Alex confirm")
    with Session(engine) as session:
        assert session.exec(select(Timer).where(Timer.kind == "release")).all() == []
        assert not [r for r in session.exec(select(Outbox)).all() if MARK in r.text]
