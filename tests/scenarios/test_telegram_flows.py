"""Whole flows over Telegram: the real app and PTB client, a local fake Bot API, a fake clock.

Each test reads like the chat: the coach (user 100) and clients write to the bot through the
fake Telegram; we assert on what each of them was sent and on what the bot stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.store.models import Client, Identity, Message
from rules.lines import NOT_PRIVATE_LINE, STRANGER_LINE
from tests.fake_telegram import TOKEN
from tests.fake_telegram_rig import COACH_ID, Rig, running

T = TypeVar("T")
ALEX = 555
LINK = re.compile(r"https://t\.me/boundary_test_bot\?start=([A-Za-z0-9_-]+)")
MONDAY_EVENING = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # London: closed until Tue 09:00
TUESDAY_OPENING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def run(coroutine: Awaitable[T]) -> T:
    """Run one scenario on a fresh event loop."""
    return asyncio.run(coroutine)  # type: ignore[arg-type]


async def join(rig: Rig, name: str = "Alex", user_id: int = ALEX) -> str:
    """The coach invites `name`; they open the deep link (/start CODE); returns the welcome."""
    [invite] = await rig.say(COACH_ID, f"/invite {name} open_door")
    match = LINK.search(invite)
    assert match, invite
    [welcome] = await rig.say(user_id, f"/start {match.group(1)}", name=name)
    assert rig.inbox(COACH_ID) == [f"{name} joined on telegram. /client {name} shows more."]
    return welcome


def newest_id(rig: Rig, chat: int) -> int:
    """The message id of the newest message the bot sent to `chat`."""
    return int([p for p in rig.fake.called("sendMessage") if p["chat_id"] == chat][-1]["_id"])


def messages(rig: Rig) -> list[Message]:
    with Session(rig.app.engine) as session:
        return list(session.exec(select(Message)).all())


def test_invite_join_question_after_hours_queued_released_and_answered(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with running(db_url, clock) as rig:
            welcome = await join(rig)
            assert welcome.startswith("Welcome, Alex! I pass your messages to Melody")

            clock.set(MONDAY_EVENING)
            [ack] = await rig.say(ALEX, "/ask Can we talk about <b>boundaries</b> & pay?")
            assert "Tue" in ack and "09:00" in ack  # back at the next opening
            assert rig.inbox(COACH_ID) == []  # queued, not forwarded at night

            clock.set(TUESDAY_OPENING)
            rig.app.scheduler.run_due()
            await rig.deliver()
            digest, forwarded = rig.inbox(COACH_ID)  # the morning digest lists it as waiting
            assert digest.startswith("Your daily digest") and "Alex · question" in digest
            assert forwarded.startswith("Alex · 1 message while you were closed")
            assert "Can we talk about <b>boundaries</b> & pay?" in forwarded  # escaped, intact
            rig.fake.reply(COACH_ID, "Yes — Thursday at 10?", newest_id(rig, COACH_ID))
            await rig.received()
            await rig.deliver()
            assert rig.inbox(ALEX) == ["Melody: Yes — Thursday at 10?"]
            assert rig.inbox(COACH_ID) == ["Sent to Alex. (1 waiting message answered.)"]

    run(scenario())


def test_plain_text_asks_the_kind_with_buttons_and_the_press_decides(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with running(db_url, clock) as rig:
            await join(rig)
            [question] = await rig.say(ALEX, "I had a thought about work")
            assert rig.fake.sent_to(ALEX)[-1] == question
            labels = {label: (data, msg) for label, data, msg in rig.fake.buttons(ALEX)}
            assert set(labels) == {"Just an update", "Needs a reply"}
            data, message_id = labels["Needs a reply"]
            assert len(data.encode()) <= 64

            query = rig.fake.press(ALEX, data, message_id)
            await rig.received()
            await rig.deliver()
            assert [p["callback_query_id"] for p in rig.fake.called("answerCallbackQuery")] == [
                query
            ]
            [told] = rig.inbox(ALEX)
            assert "reply" in told.lower()
            [forwarded] = rig.inbox(COACH_ID)
            assert "I had a thought about work" in forwarded
            assert [m.kind for m in messages(rig)] == ["question"]

    run(scenario())


def test_fyi_updates_wait_for_the_daily_digest(db_url: str, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with running(db_url, clock) as rig:
            await join(rig)
            [noted] = await rig.say(ALEX, "/fyi I said no to the extra project!")
            assert "no reply" in noted.lower()
            assert rig.inbox(COACH_ID) == []
            await rig.say(COACH_ID, "/digest 18:00")
            rig.inbox(COACH_ID)

            clock.set(datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
            rig.app.scheduler.tick()
            await rig.deliver()
            [digest] = rig.inbox(COACH_ID)
            assert "Alex" in digest and "I said no to the extra project!" in digest

    run(scenario())


def test_a_photo_travels_with_its_caption_and_the_coach_sees_the_original(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with running(db_url, clock) as rig:
            await join(rig)
            photo = [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90}]
            photo.append({"file_id": "big", "file_unique_id": "b", "width": 900, "height": 900})
            source = rig.fake.write(ALEX, "", photo=photo, caption="/ask Is this plan OK?")
            await rig.received()
            await rig.deliver()
            [forwarded] = rig.inbox(COACH_ID)
            assert "Is this plan OK?" in forwarded and "photo" in forwarded
            [copy] = rig.fake.called("copyMessage")
            assert (copy["chat_id"], copy["from_chat_id"], copy["message_id"]) == (
                COACH_ID,
                ALEX,
                source,
            )
            [stored] = messages(rig)
            assert stored.attachments[0]["file_id"] == "big"

    run(scenario())


def test_a_stranger_gets_one_polite_line_and_nothing_is_stored(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with running(db_url, clock) as rig:
            assert await rig.say(777, "hi, who are you?") == [STRANGER_LINE]
            assert messages(rig) == []
            with Session(rig.app.engine) as session:
                assert session.exec(select(Identity).where(Identity.user_id == "777")).all() == []

    run(scenario())


def test_in_a_group_the_bot_says_one_line_and_leaves(db_url: str, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with running(db_url, clock) as rig:
            group = rig.fake.chat(-4001, "group", "Team")
            message = rig.fake.message(-4001, sender=rig.fake.user(ALEX), text="hello bot")
            assert message["chat"] == group
            rig.fake.queue("message", message)
            await rig.received()
            assert rig.fake.sent_to(-4001) == [NOT_PRIVATE_LINE]
            assert rig.fake.called("leaveChat") == [{"chat_id": -4001}]
            assert messages(rig) == []

    run(scenario())


def test_the_coachs_relay_receipt_can_be_a_thumbs_up_reaction(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with running(db_url, clock) as rig:
            await join(rig)
            assert len(await rig.say(ALEX, "/ask Shall we move Thursday?")) == 1
            reply_id = rig.fake.reply(COACH_ID, "Yes, Friday works.", newest_id(rig, COACH_ID))
            await rig.received()
            await rig.deliver()
            assert rig.inbox(ALEX)[-1] == "Melody: Yes, Friday works."
            reactions = rig.fake.called("setMessageReaction")
            if reactions:  # the pipeline asks for it with Outgoing.extra["react_to"]
                assert reactions[-1]["message_id"] == reply_id
                assert reactions[-1]["reaction"] == [{"type": "emoji", "emoji": "👍"}]

    run(scenario())


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_logs_carry_neither_the_token_nor_what_people_wrote(
    db_url: str, clock: ManualClock, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret_text = "my very private worry 4711"

    async def scenario() -> None:
        async with running(db_url, clock, mode=mode) as rig:  # type: ignore[arg-type]
            if mode == "polling":
                await join(rig)
                await rig.say(ALEX, f"/ask {secret_text}")
                rig.fake.fail_next("sendMessage", 429, "Too Many Requests", retry_after=1)
                await rig.say(ALEX, f"/fyi {secret_text} again")
            else:
                update = rig.fake.queue("message", _message(rig, secret_text))
                assert await rig.fake.post_webhook(update) == 200

    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # as `boundarybot run` sets it
    run(scenario())
    text = caplog.text
    assert "telegram" in text  # the transport did log
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert "private worry" not in text
    with_clients = [r for r in caplog.records if r.name.startswith("bot")]
    assert all("4711" not in r.getMessage() for r in with_clients)


def _message(rig: Rig, text: str) -> dict[str, object]:
    return rig.fake.message(ALEX, sender=rig.fake.user(ALEX), text=text)


def test_the_bot_username_from_getme_makes_the_invite_deep_link(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with running(db_url, clock) as rig:
            assert rig.app.dispatcher.bot_usernames["telegram"] == "boundary_test_bot"
            await join(rig, "Sam", 556)
            with Session(rig.app.engine) as session:
                [sam] = session.exec(select(Client)).all()
            assert sam.name == "Sam"

    run(scenario())


def test_the_coach_gets_the_report_with_its_picture_and_the_export_as_a_json_file(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with running(db_url, clock) as rig:
            await join(rig)
            await rig.say(ALEX, "/ask Can we move Thursday?")
            rig.inbox(COACH_ID)

            [report] = await rig.say(COACH_ID, "/report")
            assert report.startswith("Report for November 2026")
            assert "• Alex: 1 message (1 question)" in report and "The picture shows" in report
            [picture] = rig.fake.files_to(COACH_ID)
            assert (picture.kind, picture.filename) == ("photo", "report-2026-11.png")
            assert picture.content_type == "image/png" and picture.content.startswith(b"\x89PNG")
            assert picture.message_id == newest_id(rig, COACH_ID) + 1  # right after the text

            [answer] = await rig.say(COACH_ID, "/export Alex")
            assert (
                answer.startswith("Everything stored about Alex") and "alex-export.json" in answer
            )
            [export] = rig.fake.files_to(COACH_ID)[1:]
            assert (export.kind, export.filename) == ("document", "alex-export.json")
            data = json.loads(export.content)
            assert data["client"]["name"] == "Alex"
            assert [m["text"] for m in data["messages"]] == ["Can we move Thursday?"]
            assert rig.fake.files_to(ALEX) == []  # the client is sent no file

    run(scenario())
