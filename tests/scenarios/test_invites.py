"""Invites: a coach's single-use code, a newcomer joining with it, and guessing refused."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.config import Secret
from bot.delivery.record import Sent, record
from bot.service.privacy import HASH_KEY, who_hash
from bot.store.models import Client, FailedJoin, Identity, Invite, Meta, Outbox
from tests.harness import Harness, Person

CODE = re.compile(r"start=([A-Za-z0-9_-]+)")


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    """Melody, a coach on Telegram, with no clients yet."""
    harness = Harness(chat_engine, clock)
    harness.add_coach()
    return harness


def invite(h: Harness, text: str = "/invite Alex") -> str:
    """The coach invites someone; returns the code from the deep link."""
    said = h.say("melody", text)[-1]  # after any "X joined" notes
    match = CODE.search(said)
    assert match, said
    return match.group(1)


def clients(h: Harness) -> list[Client]:
    with Session(h.engine) as session:
        return list(session.exec(select(Client)).all())


def invites(h: Harness) -> list[Invite]:
    with Session(h.engine) as session:
        return list(session.exec(select(Invite)).all())


def test_invite_answers_with_code_deep_link_and_slack_form(h: Harness) -> None:
    [said] = h.say("melody", "/invite Alex open_door")
    code = CODE.search(said).group(1)  # type: ignore[union-attr]
    assert len(code) >= 32  # token_urlsafe(24): 192 bits
    assert said.splitlines() == [
        "Invite for Alex (open_door), for one use until Mon 30 Nov, 10:00 UTC.",
        f"Telegram link: https://t.me/boundary_test_bot?start={code}",
        f"On Slack: /boundary join {code}",
        f"Or send me: /start {code}",
    ]
    [row] = invites(h)
    assert row.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert code not in (row.code_hash, row.client_name)
    assert row.expires_at - row.created_at == timedelta(days=7)
    assert clients(h) == []  # the client appears when the invite is used


def test_invite_takes_the_coachs_default_mode(h: Harness) -> None:
    [said] = h.say("melody", "/invite Sam")
    assert said.startswith("Invite for Sam (specific),")
    assert invites(h)[0].mode == "specific"


def test_joining_links_the_account_and_welcomes_with_the_contract(h: Harness) -> None:
    code = invite(h, "/invite Alex open_door")
    [welcome] = h.say("newcomer", f"/start {code}")
    assert welcome.startswith("Welcome, Alex! I pass your messages to Melody")
    assert "Melody's hours: Mon–Fri 09:00–17:00 UTC." in welcome
    assert "Melody replies within 24 open hours." in welcome
    assert "Next session: not booked yet." in welcome
    [alex] = clients(h)
    assert (alex.name, alex.mode) == ("Alex", "open_door")
    with Session(h.engine) as session:
        identity = session.exec(select(Identity).where(Identity.client_id == alex.id)).one()
        used = session.exec(select(Invite)).one()
    assert (identity.platform, identity.user_id) == ("telegram", h.people["newcomer"].user_id)
    assert used.used_at == h.clock.now() and used.client_id == alex.id
    assert h.inbox("melody") == ["Alex joined on telegram. /client Alex shows more."]
    assert h.say("newcomer", "/fyi hello from Alex") == [
        "Thanks — noted for Melody's daily round-up, no reply needed."
    ]


def test_a_used_code_does_not_work_twice(h: Harness) -> None:
    code = invite(h)
    h.say("first", f"/start {code}")
    assert h.say("second", f"/start {code}") == [
        "That invite code has already been used. Ask your coach for a new one."
    ]
    assert len(clients(h)) == 1


def test_an_expired_code_is_refused(h: Harness) -> None:
    code = invite(h)
    h.clock.advance(timedelta(days=7, seconds=1))
    assert h.say("late", f"/start {code}") == [
        "That invite code has expired (codes last 7 days). Ask your coach for a new one."
    ]
    assert clients(h) == []


def test_a_wrong_code_is_refused_and_counted_without_the_account(h: Harness) -> None:
    assert h.say("guesser", "/start not-a-real-code") == [
        "That invite code isn't one I know. Check it with your coach, or ask for a new one."
    ]
    with Session(h.engine) as session:
        [failed] = session.exec(select(FailedJoin)).all()
        key = session.get(Meta, HASH_KEY)
    user_id = h.people["guesser"].user_id
    assert key is not None and len(key.value) == 64  # made at first use, kept for every process
    assert failed.who_hash == who_hash(key.value.encode(), "telegram", user_id=user_id)
    assert failed.who_hash != hashlib.sha256(f"telegram:{user_id}".encode()).hexdigest()
    h.say("guesser", "/start another-wrong-one")
    with Session(h.engine) as session:
        assert len(set(session.exec(select(FailedJoin.who_hash)).all())) == 1  # the same key
        assert len(session.exec(select(Meta)).all()) == 1


def test_a_configured_hash_key_is_used_and_none_is_stored(h: Harness) -> None:
    configured = Secret("k" * 40)
    h.dispatcher.services["hash_key"] = configured
    h.say("guesser", "/start not-a-real-code")
    with Session(h.engine) as session:
        [failed] = session.exec(select(FailedJoin)).all()
        assert session.exec(select(Meta)).all() == []
    assert failed.who_hash == who_hash(b"k" * 40, "telegram", user_id=h.people["guesser"].user_id)


def test_the_invite_answer_is_blanked_once_sent_and_the_code_rests_nowhere(
    engine: Engine, clock: ManualClock, db_url: str
) -> None:
    h = Harness(engine, clock)  # on a file: the code must not rest in it either
    h.add_coach()
    code = invite(h)
    [row] = h.rows("melody")
    assert code in row.text and row.payload["extra"] == {"blank_when_sent": True}
    record(h.engine, [Sent(row.id or 0, "tg-1", h.clock.now())])  # what the worker records
    with Session(h.engine) as session:
        sent = session.get(Outbox, row.id)
        assert sent is not None and (sent.status, sent.text) == ("sent", "")
        assert session.exec(select(Invite)).one().code_hash == code_hash_of(code)
    if db_url.startswith("sqlite"):
        with h.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert code.encode() not in Path(db_url.removeprefix("sqlite:///")).read_bytes()
    assert h.say("alex", f"/start {code}")[0].startswith("Welcome, Alex!")  # the code still works


def code_hash_of(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def test_other_answers_to_the_coach_are_not_blanked_when_sent(h: Harness) -> None:
    h.say("melody", "/hours")
    [row] = h.rows("melody")
    record(h.engine, [Sent(row.id or 0, "tg-2", h.clock.now())])
    with Session(h.engine) as session:
        sent = session.get(Outbox, row.id)
        assert sent is not None and sent.status == "sent" and sent.text == row.text != ""


def test_many_strangers_guessing_at_once_stop_every_join_for_a_while(h: Harness) -> None:
    code = invite(h)
    for n in range(19):  # 19 strangers, one wrong code each: no account is locked out
        assert h.say(f"stranger {n}", f"/start wrong{n}")[0].startswith("That invite code isn't")
    h.clock.advance(timedelta(seconds=30))
    h.say("stranger 19", "/start wrong19")  # the 20th wrong code within a minute
    assert h.say("stranger 20", "/start wrong20") == ["Too many tries — please wait a few minutes."]
    assert h.say("alex", f"/start {code}") == ["Too many tries — please wait a few minutes."]
    assert clients(h) == []
    with Session(h.engine) as session:  # refused tries are not counted: the lock does not grow
        assert len(session.exec(select(FailedJoin)).all()) == 20
    h.clock.advance(timedelta(minutes=9, seconds=59))
    assert h.say("alex", f"/start {code}") == ["Too many tries — please wait a few minutes."]
    h.clock.advance(timedelta(seconds=1))
    assert h.say("alex", f"/start {code}")[0].startswith("Welcome, Alex!")


def test_wrong_codes_spread_over_minutes_do_not_stop_joins(h: Harness) -> None:
    code = invite(h)
    for n in range(40):
        h.say(f"stranger {n}", f"/start wrong{n}")
        h.clock.advance(timedelta(seconds=4))  # 15 a minute: under the limit
    assert h.say("alex", f"/start {code}")[0].startswith("Welcome, Alex!")


def test_five_wrong_codes_in_an_hour_lock_out_even_the_right_code(h: Harness) -> None:
    code = invite(h)
    for n in range(5):
        h.say("guesser", f"/start wrong{n}", at=h.clock.now() + timedelta(minutes=5))
    said = h.say("guesser", f"/start {code}", at=h.clock.now() + timedelta(minutes=5))
    assert said == ["Too many wrong codes from this account. Try again in 55 minutes."]
    assert clients(h) == []
    assert h.say("someone else", f"/start {code}")[0].startswith("Welcome, Alex!")


def test_the_lockout_ends_an_hour_after_the_fifth_wrong_code(h: Harness) -> None:
    code = invite(h)
    for n in range(5):
        h.say("guesser", f"/start wrong{n}")
    h.clock.advance(timedelta(minutes=59))
    assert h.say("guesser", f"/start {code}")[0].startswith("Too many wrong codes")
    h.clock.advance(timedelta(minutes=1))
    assert h.say("guesser", f"/start {code}")[0].startswith("Welcome, Alex!")


def test_four_wrong_codes_do_not_lock_out(h: Harness) -> None:
    code = invite(h)
    for n in range(4):
        h.say("typo", f"/start wrong{n}")
    assert h.say("typo", f"/start {code}")[0].startswith("Welcome, Alex!")


def test_a_new_invite_for_the_same_name_replaces_the_old_code(h: Harness) -> None:
    old = invite(h)
    new = invite(h)
    assert h.say("someone", f"/start {old}")[0].startswith("That invite code has expired")
    assert h.say("alex", f"/start {new}")[0].startswith("Welcome, Alex!")


def test_reinviting_a_client_links_their_slack_account_to_the_same_client(h: Harness) -> None:
    code = invite(h, "/invite Alex open_door")
    h.say("alex", f"/start {code}")
    assert h.inbox("melody") == ["Alex joined on telegram. /client Alex shows more."]
    [said] = h.say("melody", "/invite alex sessions_only")
    assert said.splitlines()[0] == (
        "Invite for Alex (open_door), for one use until Mon 30 Nov, 10:00 UTC. Alex has joined "
        "already: this links another account (e.g. Slack). Their mode stays open_door; "
        "/mode Alex sessions_only changes it."
    )
    second = CODE.search(said).group(1)  # type: ignore[union-attr]
    h.people["alex on slack"] = Person("alex on slack", "U0ALEX", platform="slack")
    h.say("alex on slack", f"/join {second}")
    [alex] = clients(h)
    with Session(h.engine) as session:
        platforms = session.exec(select(Identity.platform).where(Identity.client_id == alex.id))
        assert sorted(platforms.all()) == ["slack", "telegram"]
    assert alex.mode == "open_door"


def test_start_without_a_code_explains_how_to_join(h: Harness) -> None:
    assert h.say("curious", "/start") == [
        "To join, open the invite link your coach sent you, or send /start followed by the "
        "invite code (on Slack: /boundary join CODE)."
    ]
    with Session(h.engine) as session:
        assert session.exec(select(FailedJoin)).all() == []


def test_a_coach_sending_start_is_pointed_at_help(h: Harness) -> None:
    assert h.say("melody", "/start") == [
        "Hello, Melody! /help lists your commands; /invite Alex invites a client."
    ]


def test_a_joined_client_sending_start_again_keeps_their_link(h: Harness) -> None:
    code = invite(h)
    h.say("alex", f"/start {code}")
    other = invite(h, "/invite Sam")
    assert h.say("alex", f"/start {other}") == [
        "You're already connected with Melody. /hours shows the contract."
    ]
    assert [c.name for c in clients(h)] == ["Alex"]
