"""Receiving over Telegram: confirmed only once committed, odd updates handled, the webhook."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlmodel import Session, select
from telegram import Update

from bot.clock import ManualClock
from bot.messages import Inbound
from bot.service.digest import build_digest, render_text
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Coach, Message
from bot.store.unit import UnitOfWork
from bot.transports import telegram_receive
from bot.transports.telegram_receive import MAX_TRIES
from rules.lines import EDITED_LINE, NOT_PRIVATE_LINE, UNREAD_LINE, UNSUPPORTED_LINE
from tests.fake_telegram import BOT_ID
from tests.fake_telegram_rig import COACH_ID, Rig, running

T = TypeVar("T")
ALEX = 555


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A migrated SQLite database (these tests are about the transport, not the database)."""
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(database)
    return database


def run(coroutine: Awaitable[T]) -> T:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


async def with_alex(rig: Rig) -> None:
    """Alex joins through an invite, as in production."""
    [invite] = await rig.say(COACH_ID, "/invite Alex open_door")
    code = invite.split("?start=")[1].split()[0]
    await rig.say(ALEX, f"/start {code}")
    rig.inbox(COACH_ID)


def stored(rig: Rig) -> list[str]:
    with Session(rig.app.engine) as session:
        return [m.text for m in session.exec(select(Message)).all()]


def unreachable(rig: Rig, tmp: Path) -> Any:
    """Point the dispatcher at a database that cannot be opened; returns the real engine."""
    real = rig.app.dispatcher.engine
    rig.app.dispatcher.engine = make_engine(f"sqlite:///{tmp / 'missing' / 'no.db'}")
    return real


def test_an_update_is_not_confirmed_while_the_database_is_unreachable(
    url: str, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with running(url, clock) as rig:
            await with_alex(rig)
            real = unreachable(rig, tmp_path)
            rig.fake.write(ALEX, "/fyi the secret plan")
            tries = rig.fake.arrived.count
            before = tries("getUpdates")
            await rig.until(lambda: tries("getUpdates") >= before + 2, "a retry")
            assert rig.fake.pending() == 1  # Telegram still holds it: it will come again
            assert stored(rig) == []

            rig.app.dispatcher.engine = real
            await rig.received()
            await rig.deliver()
            assert stored(rig) == ["the secret plan"]
            assert len(rig.inbox(ALEX)) == 1  # one acknowledgement

    caplog.set_level(logging.INFO, logger="bot")
    run(scenario())
    down = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(down) == 1, down  # one clear line per outage, not one per retry
    assert "database unreachable (OperationalError)" in down[0]
    assert "secret plan" not in caplog.text
    assert "reachable again" in caplog.text


def test_confirmation_follows_the_commit_of_each_update(url: str, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with running(url, clock) as rig:
            await with_alex(rig)
            seen: list[tuple[str, int]] = []
            handle = rig.app.dispatcher.handle

            handle_batch = rig.app.dispatcher.handle_batch

            def spy(inbound: Inbound) -> Any:
                seen.append((inbound.event_id, rig.fake.confirmed_below))
                return handle(inbound)

            def batch_spy(inbounds: list[Inbound]) -> Any:
                seen.extend((i.event_id, rig.fake.confirmed_below) for i in inbounds)
                return handle_batch(inbounds)

            rig.app.dispatcher.handle = spy  # type: ignore[method-assign]
            rig.app.dispatcher.handle_batch = batch_spy  # type: ignore[method-assign]
            first = rig.fake.queue("message", _text(rig, "/fyi one"))["update_id"]
            rig.fake.queue("message", _text(rig, "/fyi two"))
            await rig.received()
            # While updates are being stored (one by one, or a batch together), Telegram has
            # not been told they arrived.
            assert seen == [(str(first), first), (str(first + 1), first)]
            assert rig.fake.confirmed_below == first + 2
            assert stored(rig) == ["one", "two"]

    run(scenario())


def test_each_update_of_a_batch_is_read_once(
    url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: Counter[int] = Counter()
    de_json = Update.de_json

    def counted(data: dict[str, Any], bot: Any) -> Any:
        reads[int(data["update_id"])] += 1
        return de_json(data, bot)

    monkeypatch.setattr(telegram_receive.Update, "de_json", counted)

    async def scenario() -> None:
        async with running(url, clock) as rig:
            await with_alex(rig)
            reads.clear()
            for text in ("/fyi one", "/fyi two", "/fyi three"):
                rig.fake.queue("message", _text(rig, text))
            await rig.received()
            assert stored(rig) == ["one", "two", "three"]

    run(scenario())
    assert sorted(reads.values()) == [1, 1, 1]


def _text(rig: Rig, text: str, user: int = ALEX) -> dict[str, Any]:
    return rig.fake.message(user, sender=rig.fake.user(user), text=text)


def test_an_update_the_code_fails_on_is_retried_then_skipped(
    url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with running(url, clock) as rig:
            await with_alex(rig)
            handle = rig.app.dispatcher.handle
            calls: list[str] = []

            def buggy(inbound: Inbound) -> Any:
                calls.append(inbound.text)
                if inbound.text == "/fyi poison":
                    raise RuntimeError("a bug, with the text /fyi poison in it")
                return handle(inbound)

            handle_batch = rig.app.dispatcher.handle_batch

            def buggy_batch(inbounds: list[Inbound]) -> Any:
                # A batch holding the poison fails too, so each update takes its own path.
                if any(i.text == "/fyi poison" for i in inbounds):
                    raise RuntimeError("a bug, with the text /fyi poison in it")
                return handle_batch(inbounds)

            rig.app.dispatcher.handle = buggy  # type: ignore[method-assign]
            rig.app.dispatcher.handle_batch = buggy_batch  # type: ignore[method-assign]
            rig.fake.queue("message", _text(rig, "/fyi poison"))
            rig.fake.queue("message", _text(rig, "/fyi after"))
            await rig.received()
            assert calls.count("/fyi poison") == MAX_TRIES
            assert stored(rig) == ["after"]

    caplog.set_level(logging.INFO, logger="bot")
    run(scenario())
    assert f"skipped after {MAX_TRIES} failures (RuntimeError)" in caplog.text
    assert "poison" not in caplog.text


def test_edits_polls_stickers_service_and_odd_updates_never_crash(
    url: str, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with running(url, clock) as rig:
            await with_alex(rig)
            fake = rig.fake
            fake.queue("edited_message", {**_text(rig, "/fyi edited"), "edit_date": 1})
            poll: dict[str, Any] = {"id": "p1", "question": "Q?", "options": []}
            poll |= {"total_voter_count": 0}
            poll |= {"is_closed": False, "is_anonymous": True, "type": "regular"}
            poll |= {"allows_multiple_answers": False, "allows_revoting": False}
            fake.write(ALEX, poll=poll)
            fake.write(ALEX, pinned_message=_text(rig, "x"))  # a service message
            sticker: dict[str, Any] = {"file_id": "stk", "file_unique_id": "u", "type": "regular"}
            sticker |= {"width": 1, "height": 1, "is_animated": False, "is_video": False}
            fake.write(ALEX, sticker=sticker)
            member: dict[str, Any] = {"chat": fake.chat(ALEX), "from": fake.user(ALEX), "date": 1}
            member |= {"old_chat_member": {"status": "member", "user": fake.user(BOT_ID)}}
            kicked = {"status": "kicked", "user": fake.user(BOT_ID), "until_date": 0}
            member |= {"new_chat_member": kicked}
            fake.queue("my_chat_member", member)  # Alex blocked the bot
            fake.queue("business_connection_made_up", {"id": "x"})  # an unknown kind
            await rig.received()
            await rig.deliver()
            said = rig.inbox(ALEX)
            assert said[:2] == [EDITED_LINE, UNSUPPORTED_LINE]
            assert len(said) == 3  # and an answer to the sticker, which is kept
            with Session(rig.app.engine) as session:
                [kept] = session.exec(select(Message)).all()
            assert kept.attachments[0]["type"] == "sticker"
            assert not rig.task.done()

    run(scenario())


def test_an_update_the_client_library_cannot_read_is_answered_and_skipped(
    url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with running(url, clock) as rig:
            await with_alex(rig)
            # a poll without a field Bot API 9.6 made required: PTB refuses to read it
            poll = {"id": "p1", "question": "my secret question", "options": []}
            rig.fake.write(ALEX, poll=poll)
            rig.fake.write(ALEX, "/fyi still flowing")
            await rig.received()
            await rig.deliver()
            assert rig.inbox(ALEX)[0] == UNSUPPORTED_LINE
            assert stored(rig) == ["still flowing"]

    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.INFO)  # PTB logs request parameters at DEBUG: see the CLI
    run(scenario())
    assert "not readable (TypeError); skipped" in caplog.text
    assert "secret question" not in caplog.text


def test_added_to_a_group_or_channel_the_bot_leaves(url: str, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with running(url, clock) as rig:
            fake = rig.fake
            group, channel = fake.chat(-100, "supergroup"), fake.chat(-200, "channel")
            member = {"chat": group, "from": fake.user(ALEX), "date": 1}
            member |= {"old_chat_member": {"status": "left", "user": fake.user(BOT_ID)}}
            member |= {"new_chat_member": {"status": "member", "user": fake.user(BOT_ID)}}
            fake.queue("my_chat_member", member)
            fake.queue("channel_post", fake.message(-200, sender=fake.user(1), text="news"))
            await rig.received()
            assert fake.sent_to(-100) == [NOT_PRIVATE_LINE]
            assert fake.sent_to(-200) == []  # nobody reads a bot's line in a channel
            assert fake.called("leaveChat") == [{"chat_id": -100}, {"chat_id": -200}]
            assert channel["id"] == -200

    run(scenario())


def test_polling_deletes_a_webhook_and_publishes_the_menus(url: str, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with running(url, clock) as rig:
            await rig.until(lambda: len(rig.fake.called("setMyCommands")) == 2, "the menus")
            assert rig.fake.arrived.index("deleteWebhook") < rig.fake.arrived.index("getUpdates")
            default, coach = rig.fake.called("setMyCommands")
            assert "scope" not in default
            assert coach["scope"] == {"type": "chat", "chat_id": COACH_ID}
            client_names = [c["command"] for c in default["commands"]]
            coach_names = [c["command"] for c in coach["commands"]]
            assert client_names[:4] == ["fyi", "ask", "reschedule", "goals"]
            assert "start" in client_names and "invite" not in client_names
            assert "invite" in coach_names and "join" not in coach_names

    run(scenario())


def test_webhook_answers_200_only_after_the_commit_and_403_without_the_secret(
    url: str, clock: ManualClock, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running(url, clock, mode="webhook") as rig:
            fake = rig.fake
            assert fake.webhook is not None
            assert fake.webhook["secret_token"] == "s3cret-header"
            assert fake.webhook["url"].endswith("/telegram/hook")
            await with_alex_by_webhook(rig)

            update = fake.queue("message", _text(rig, "/fyi by webhook"))
            assert await fake.post_webhook(update, secret="") == 403
            assert await fake.post_webhook(update, secret="wrong") == 403
            assert stored(rig) == []

            real = unreachable(rig, tmp_path)
            assert await fake.post_webhook(update) == 503  # Telegram will retry
            assert stored(rig) == []
            rig.app.dispatcher.engine = real
            assert await fake.post_webhook(update) == 200
            assert stored(rig) == ["by webhook"]  # committed before the 200
            assert await fake.post_webhook(update) == 200  # a redelivery changes nothing
            assert stored(rig) == ["by webhook"]
            assert "getUpdates" not in fake.arrived

    run(scenario())


async def with_alex_by_webhook(rig: Rig) -> None:
    invite = rig.fake.queue("message", _text(rig, "/invite Alex", user=COACH_ID))
    assert await rig.fake.post_webhook(invite) == 200
    await rig.deliver()
    [said] = rig.inbox(COACH_ID)
    start = rig.fake.queue("message", _text(rig, "/start " + said.split("?start=")[1].split()[0]))
    assert await rig.fake.post_webhook(start) == 200
    await rig.deliver()  # the welcome is an outbox row, committed before the 200
    assert rig.fake.sent_to(ALEX)[0].startswith("Welcome, Alex!")


def test_dispatcher_sees_aware_utc_times(url: str) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    seen: list[datetime] = []

    async def scenario() -> None:
        async with running(url, clock) as rig:
            handle = rig.app.dispatcher.handle

            def spy(inbound: Inbound) -> Any:
                seen.append(inbound.received_at)
                return handle(inbound)

            rig.app.dispatcher.handle = spy  # type: ignore[method-assign]
            await rig.say(ALEX, "hello")

    run(scenario())
    assert seen == [datetime(2026, 11, 23, 10, tzinfo=UTC)]


def test_an_update_skipped_for_good_is_asked_again_and_shown_in_the_digest(
    url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> tuple[list[str], str]:
        async with running(url, clock) as rig:
            await with_alex(rig)
            rig.inbox(ALEX)
            handle = rig.app.dispatcher.handle

            def buggy(inbound: Inbound) -> Any:
                if "poison" in inbound.text:
                    raise RuntimeError("a bug, with the text /fyi poison in it")
                return handle(inbound)

            rig.app.dispatcher.handle = buggy  # type: ignore[method-assign]
            rig.fake.queue("message", _text(rig, "/fyi poison"))
            await rig.received()
            await rig.deliver()
            told = rig.inbox(ALEX)
            with Session(rig.app.engine) as session:
                coach = session.exec(select(Coach)).one()
                digest = build_digest(UnitOfWork(session), coach, now=clock.now())
                assert digest is not None
                return told, render_text(digest)

    caplog.set_level(logging.DEBUG, logger="bot")
    told, digest = run(scenario())
    assert told == [UNREAD_LINE]
    assert "Messages that could not be read (1)\n• from Alex, Mon 23 Nov" in digest
    assert digest.endswith(": they were asked to send it again")
    assert "Deliveries that failed" not in digest
    assert "poison" not in digest and "poison" not in caplog.text
