"""The pipeline: inbound -> who -> processed? -> rules -> message, promise, outbox in ONE commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, col, select

from bot.app import build_commands
from bot.clock import ManualClock
from bot.messages import Attachment, Inbound
from bot.service import client_flow
from bot.service.dispatch import Dispatcher
from bot.store.db import make_engine
from bot.store.models import Message, Outbox, ProcessedEvent, Promise, Timer
from rules.lines import STRANGER_LINE
from tests.harness import Harness

LONDON_WEEKDAYS = {
    "timezone": "Europe/London",
    "hours": "mon-fri 09:00-17:00",
    "reply_within": "24h",
}
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
MONDAY_21 = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)


@pytest.fixture
def chat(engine: Engine, clock: ManualClock) -> Harness:
    """Melody (London, Mon-Fri 09-17, 24h) with Alex on an open door."""
    h = Harness(engine, clock)
    h.add_coach(policy=dict(LONDON_WEEKDAYS))
    h.add_client("Alex", user_id="201", mode="open_door")
    return h


def messages(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return list(session.exec(select(Message).order_by(Message.id)).all())  # type: ignore[arg-type]


def count_rows(engine: Engine) -> dict[str, int]:
    """Rows in every table, by table name."""
    with Session(engine) as session:
        return {
            table.name: session.exec(select(func.count()).select_from(table)).one()
            for table in SQLModel.metadata.sorted_tables
        }


def test_stranger_gets_one_polite_line_and_nothing_of_theirs_is_stored(chat: Harness) -> None:
    before = count_rows(chat.engine)

    seen = chat.say("stranger", "hi, can you help me with my career?")
    again = chat.say("stranger", "hello??")

    assert seen == [STRANGER_LINE]
    assert again == []  # one answer a window: a stranger cannot make the bot flood
    # Only the answer is kept, as an outbox row paced like any other: nothing they wrote.
    assert count_rows(chat.engine) == {**before, "outbox": before["outbox"] + 1}
    [row] = chat.rows("stranger")
    assert row.text == STRANGER_LINE and row.client_id is None


def test_open_door_update_goes_to_the_digest_and_the_client_is_told_no_reply_needed(
    chat: Harness,
) -> None:
    seen = chat.say("alex", "/fyi I spoke up in the meeting today!")

    assert seen == ["Thanks — noted for Melody's daily round-up, no reply needed."]
    assert chat.inbox("melody") == []
    [stored] = messages(chat.engine)
    assert (stored.decision, stored.kind, stored.text) == (
        "digest",
        "fyi",
        "I spoke up in the meeting today!",
    )


def test_question_inside_hours_is_forwarded_with_its_reply_by_time(chat: Harness) -> None:
    seen = chat.say("alex", "/ask Can we move Thursday?")

    # 24 open hours from Mon 10:00 with 8-hour days: 7 on Mon, 8 on Tue, 8 on Wed, 1 on Thu.
    assert seen == ["Thanks — Melody has your message and will reply by Thu 26 Nov, 10:00 GMT."]
    [forward] = chat.inbox("melody")
    assert forward.startswith("Alex · question · reply by Thu 26 Nov, 10:00 GMT")
    assert "Can we move Thursday?" in forward
    with Session(chat.engine) as session:
        promise = session.exec(select(Promise)).one()
    assert promise.reply_by == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_question_after_hours_is_queued_until_tuesday_opening(chat: Harness) -> None:
    seen = chat.say("alex", "/ask Can we move Thursday?", at=MONDAY_21)

    assert seen == [
        "Melody is out of the office until Tue 24 Nov, 09:00 GMT; you'll hear back by "
        "Thu 26 Nov, 17:00 GMT. Your message is saved and will be passed on then."
    ]
    assert chat.inbox("melody") == []
    [stored] = messages(chat.engine)
    assert stored.decision == "queue"
    assert stored.release_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    with Session(chat.engine) as session:
        timers = session.exec(select(Timer).where(Timer.kind == "release")).all()
    assert [t.due_at for t in timers] == [datetime(2026, 11, 24, 9, 0, tzinfo=UTC)]


def test_second_question_in_the_same_closed_period_gets_the_short_acknowledgement(
    chat: Harness,
) -> None:
    chat.say("alex", "/ask First question", at=MONDAY_21)
    folded = chat.say("alex", "/ask Right after it")  # the same answer within a minute: folded

    seen = chat.say("alex", "/ask Second question", at=MONDAY_21 + timedelta(minutes=5))

    assert folded == []

    assert seen == [
        "Got it — saved for when Melody is back (Tue 24 Nov, 09:00 GMT); you'll hear back "
        "by Thu 26 Nov, 17:00 GMT."
    ]


def test_plain_text_on_an_open_door_asks_with_two_buttons_and_the_answer_decides(
    chat: Harness,
) -> None:
    seen = chat.say("alex", "I had a breakthrough")

    assert seen == ["So I can pass this on the right way: what kind of message is it?"]
    assert [c.label for c in chat.choices("alex")] == ["Just an update", "Needs a reply"]
    assert messages(chat.engine)[0].decision == "ask"

    assert chat.press("alex", "Just an update") == [
        "Thanks — noted for Melody's daily round-up, no reply needed."
    ]
    [stored] = messages(chat.engine)
    assert (stored.decision, stored.kind, stored.text) == ("digest", "fyi", "I had a breakthrough")


def test_a_button_pressed_twice_is_handled_once(chat: Harness) -> None:
    chat.say("alex", "I had a breakthrough")
    chat.press("alex", "Needs a reply")

    assert chat.press("alex", "Just an update") == [
        "Already sorted — that message was handled when you first chose."
    ]
    [stored] = messages(chat.engine)
    assert stored.decision == "forward"
    assert len(chat.inbox("melody")) == 1


def test_crisis_text_reaches_the_coach_flagged_at_once_even_at_night(chat: Harness) -> None:
    seen = chat.say("alex", "/fyi honestly I want to die", at=MONDAY_21)

    assert seen[0].startswith("It sounds like things are really hard right now.")
    assert "Samaritans" in seen[0]
    [alert] = chat.inbox("melody")
    assert alert.startswith("🚨 URGENT — Alex")
    assert messages(chat.engine)[0].decision == "urgent"


def test_coach_reply_to_a_forwarded_message_reaches_the_client_by_name(chat: Harness) -> None:
    chat.say("alex", "/ask Can we move Thursday?")
    chat.mark_sent("melody", "777")
    assert len(chat.inbox("melody")) == 1

    receipt = chat.say("melody", "Of course — Friday 10:00?", reply_to="777")

    assert receipt == ["Sent to Alex. (1 waiting message answered.)"]
    assert chat.inbox("alex") == ["Melody: Of course — Friday 10:00?"]
    with Session(chat.engine) as session:
        promise = session.exec(select(Promise)).one()
    assert promise.replied_at == MONDAY_10 and promise.on_time is True


def test_coach_plain_text_that_replies_to_nothing_explains_how_to_answer(chat: Harness) -> None:
    assert chat.say("melody", "hello?") == [
        "To answer a client, reply to their forwarded message or use /reply NAME text. "
        "/help lists the commands."
    ]


def test_the_same_platform_event_twice_is_handled_once(chat: Harness) -> None:
    inbound = Inbound(
        platform="telegram",
        user_id="201",
        chat_id="201",
        text="/ask Can we move Thursday?",
        event_id="update-1",
        received_at=MONDAY_10,
    )

    first = chat.dispatcher.handle(inbound)
    second = chat.dispatcher.handle(inbound)

    assert (first.outcome, second.outcome) == ("client", "duplicate")
    assert len(messages(chat.engine)) == 1
    assert len(chat.inbox("melody")) == 1


def test_an_oversized_message_is_kept_truncated_with_a_marker_and_answered(
    chat: Harness,
) -> None:
    seen = chat.say("alex", "/fyi " + "é" * 20_000)

    assert seen == ["Thanks — noted for Melody's daily round-up, no reply needed."]
    [stored] = messages(chat.engine)
    assert stored.truncated
    assert stored.text.endswith("[… truncated: 39 kB sent, the first 16 kB kept]")
    assert len(stored.text.encode()) < 16 * 1024 + 100


def test_attachments_travel_with_a_forwarded_message(chat: Harness) -> None:
    chat.say("alex", "/ask what do you think?", attachments=(Attachment("photo", "F1"),))

    [row] = [r for r in chat.rows("melody")]
    assert row.text.startswith("Alex · question (+ photo)")
    assert row.payload["copy_from"] == [["201", "m1"]]
    assert messages(chat.engine)[0].attachments[0]["file_id"] == "F1"


def test_a_group_chat_gets_one_line_and_no_message_is_kept(chat: Harness) -> None:
    seen = chat.say("alex", "hello everyone", private=False)

    assert seen == []  # the line goes to the group, not to Alex's private chat
    assert messages(chat.engine) == []
    with Session(chat.engine) as session:
        [row] = session.exec(select(Outbox).where(Outbox.chat_id == "-500")).all()
    assert row.text == "I only work in private chats — please message me directly."


def test_everything_a_message_sets_off_commits_together_or_not_at_all(
    chat: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(client_flow.schedule, "plan_release", broken)

    with pytest.raises(RuntimeError):
        chat.say("alex", "/ask Can we move Thursday?", at=MONDAY_21)

    counts = count_rows(chat.engine)
    assert counts["message"] == counts["outbox"] == counts["promise"] == 0
    assert counts["processedevent"] == 0  # so the platform's redelivery is handled afresh


def test_an_unreachable_database_raises_so_the_transport_leaves_the_update_unacknowledged(
    tmp_path: Path, clock: ManualClock
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    dispatcher = Dispatcher(engine=engine, clock=clock, commands=build_commands())
    inbound = Inbound(
        platform="telegram",
        user_id="201",
        chat_id="201",
        text="hi",
        event_id="u1",
        received_at=MONDAY_10,
    )

    with pytest.raises(OperationalError):
        dispatcher.handle(inbound)


def test_processed_events_are_recorded_for_known_people_only(chat: Harness) -> None:
    chat.say("alex", "/fyi hello")
    chat.say("stranger", "hello")

    with Session(chat.engine) as session:
        events = session.exec(select(ProcessedEvent)).all()
    assert [e.event_id for e in events] == ["e1"]
    assert "processedevent" in inspect(chat.engine).get_table_names()


def test_a_nul_character_is_dropped_and_the_rest_of_the_message_kept(chat: Harness) -> None:
    seen = chat.say("alex", "/fyi half\x00way there")

    assert seen == ["Thanks — noted for Melody's daily round-up, no reply needed."]
    assert messages(chat.engine)[0].text == "halfway there"


def telegram(event_id: str, text: str, user: str = "201") -> Inbound:
    return Inbound(
        platform="telegram",
        user_id=user,
        chat_id=user,
        text=text,
        event_id=event_id,
        received_at=MONDAY_10,
    )


def test_a_batch_is_stored_in_one_commit_and_redelivered_events_are_recognised(
    chat: Harness,
) -> None:
    chat.dispatcher.handle(telegram("u1", "/fyi first"))

    results = chat.dispatcher.handle_batch(
        [
            telegram("u1", "/fyi first"),  # redelivered: already stored
            telegram("u2", "/fyi second"),
            telegram("u2", "/fyi second"),  # twice in the same batch
            telegram("u3", "hello", user="777"),  # a stranger
            telegram("u4", "/ask third"),
        ]
    )

    assert [r.outcome for r in results] == [
        "duplicate",
        "client",
        "duplicate",
        "stranger",
        "client",
    ]
    assert results[3].direct == ()  # the stranger's answer is an outbox row, paced
    with Session(chat.engine) as session:
        answers = session.exec(
            select(Outbox).where(col(Outbox.idempotency_key).startswith("stranger:"))
        ).all()
    assert [(row.chat_id, row.text) for row in answers] == [("777", STRANGER_LINE)]
    assert [m.text for m in messages(chat.engine)] == ["first", "second", "third"]
    assert len(chat.inbox("alex")) == 2  # the second "noted" within a minute is folded
    assert len(chat.inbox("melody")) == 1  # the question, forwarded


def test_one_broken_message_in_a_batch_costs_only_itself(
    chat: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = client_flow.receive

    def breaks_on_poison(*args: object, **kwargs: object) -> Message:
        incoming = kwargs["incoming"]
        if "poison" in incoming.text:  # type: ignore[attr-defined]
            raise RuntimeError("a bug")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(client_flow, "receive", breaks_on_poison)

    results = chat.dispatcher.handle_batch(
        [telegram("u1", "/fyi fine"), telegram("u2", "/fyi poison"), telegram("u3", "/fyi later")]
    )

    # The batch fell back to one transaction each and stopped at the broken one.
    assert [r.outcome for r in results] == ["client"]
    assert [m.text for m in messages(chat.engine)] == ["fine"]
    with pytest.raises(RuntimeError):
        chat.dispatcher.handle_batch([telegram("u2", "/fyi poison")])
