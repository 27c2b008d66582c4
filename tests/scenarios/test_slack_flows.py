"""Whole flows on Slack, over signed HTTP to the real wiring and a local fake Slack Web API.

Each reads like the chat: who types what, and what each person is shown.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlmodel import Session, select

from bot.app import build_commands, spelling_for
from bot.clock import ManualClock
from bot.store.db import make_engine
from bot.store.models import Message, Outbox
from tests.fake_slack import BOT_TOKEN, MELODY_USER, SIGNING_SECRET, SlackWorld, slack_world
from tests.fake_slack_api import UPLOAD
from tests.harness import Harness


def on_slack(text: str) -> str:
    """`text` with its commands as Slack users type them."""
    return spelling_for(build_commands())(text, "slack")


T = TypeVar("T")
ALEX = "UALEX"
MONDAY_EVENING = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # Melody (London) closed at 17:00
TUESDAY_OPENING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def run(db_url: str, clock: ManualClock, scenario: Callable[[SlackWorld], Awaitable[T]]) -> T:
    """Run `scenario` in a Slack world on the test database."""

    async def main() -> T:
        async with slack_world(db_url, clock) as world:
            return await scenario(world)

    return asyncio.run(main())


def test_invite_join_and_an_open_door_update_kept_for_the_digest(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> None:
        assert await world.command(MELODY_USER, "invite Alex open_door") == 200
        await world.deliver()
        (invite,) = world.seen(MELODY_USER)
        assert invite.startswith("Invite for Alex (open_door)")
        code = invite.split("/boundary join ", 1)[1].split()[0]

        assert await world.command(ALEX, f"join {code}") == 200
        await world.deliver()
        (welcome,) = world.seen(ALEX)
        assert welcome.startswith("Welcome, Alex!")
        assert world.seen(MELODY_USER) == [
            "Alex joined on slack. /boundary client Alex shows more."
        ]

        assert await world.dm(ALEX, "I wrote my first poem & it's <good>") == 200
        await world.deliver()
        assert world.seen(ALEX) == [
            "So I can pass this on the right way: what kind of message is it?"
        ]
        assert await world.press(ALEX, "Just an update") == 200
        await world.deliver()
        assert world.seen(ALEX) == ["Thanks — noted for Melody's daily round-up, no reply needed."]
        assert world.seen(MELODY_USER) == []  # an update waits for the digest
        (settled,) = world.slack.of("chat.update")
        assert settled["blocks"][-1]["elements"][0]["text"] == "✓ Just an update"

        home = (await world.home(MELODY_USER)).replace("*", "")
        assert "Alex · 1 update" in home
        assert "I wrote my first poem & it's <good>" in home

    run(db_url, clock, scenario)


def test_question_after_hours_is_queued_until_the_opening_and_the_thread_reply_is_relayed(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> None:
        await world.join(ALEX, "Alex")
        world.seen(ALEX)
        world.seen(MELODY_USER)
        clock.set(MONDAY_EVENING)
        assert await world.command(ALEX, "ask Can we move Thursday's session?") == 200
        await world.deliver()
        (answer,) = world.seen(ALEX)
        assert "Tue 24 Nov, 09:00 GMT" in answer
        assert world.seen(MELODY_USER) == []

        clock.set(TUESDAY_OPENING)
        await asyncio.to_thread(world.app.scheduler.run_due)
        await world.deliver()
        digest, released = world.seen(MELODY_USER)  # the digest of Monday evening came due too
        assert digest.startswith("Your daily digest")
        assert released.startswith("Alex · 1 message while you were closed")
        assert "Can we move Thursday's session?" in released
        parent = world.posted_ts(MELODY_USER, released)

        assert await world.dm(MELODY_USER, "Yes — Friday 10:00 works", thread_ts=parent) == 200
        await world.deliver()
        assert world.seen(ALEX) == ["Melody: Yes — Friday 10:00 works"]
        assert world.seen(MELODY_USER) == ["Sent to Alex. (1 waiting message answered.)"]

    run(db_url, clock, scenario)


def test_the_home_tab_shows_each_person_their_side_of_the_contract(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> tuple[str, str, str]:
        await world.join(ALEX, "Alex")
        await world.command(ALEX, "ask Could we talk about my goals?")
        await world.dm(ALEX, "A small win today")
        await world.deliver()
        await world.press(ALEX, "Just an update")
        homes = [await world.home(who) for who in (MELODY_USER, ALEX, "USTRANGER")]
        with Session(world.app.engine) as session:
            for message in session.exec(select(Message)).all():
                assert message.digested_at is None  # looking at the Home tab marks nothing
        return homes[0].replace("*", ""), homes[1], homes[2]

    coach, client, stranger = run(db_url, clock, scenario)
    assert "Your contract, Melody" in coach
    assert "Hours: Mon–Fri 09:00–17:00" in coach
    assert "Waiting for your reply (1)" in coach
    assert "Alex · question · reply by" in coach
    assert "Could we talk about my goals?" in coach
    assert "Alex · 1 update" in coach and "A small win today" in coach
    assert "Your contract with Melody" in client
    assert "Right now Melody is in" in client
    assert "Melody replies within 24 open hours" in client
    assert "Next session: not booked yet" in client
    assert "/boundary join CODE" in stranger


def test_slack_commands_get_the_same_answers_as_telegram(db_url: str, clock: ManualClock) -> None:
    commands = ["reply_within 2d", "quota Nobody 3", "hours mon-fri 25:00-26:00", "nonsense", ""]
    engine = make_engine(db_url)
    try:
        telegram = Harness(engine, clock)
        telegram.add_coach("tg", "Melody", user_id="100")
        on_telegram = [telegram.say("tg", f"/{command or 'help'}")[0] for command in commands]
    finally:
        engine.dispose()

    async def scenario(world: SlackWorld) -> list[str]:
        for command in commands:
            await world.command(MELODY_USER, command)
            await world.deliver()
        return world.seen(MELODY_USER)

    # The same answers, with commands named as Slack users type them.
    assert run(db_url, clock, scenario) == [on_slack(text) for text in on_telegram]


def test_no_message_text_token_or_signing_secret_reaches_the_logs(
    db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    private = ["Can we move Thursday's session?", "Yes — Friday works", "my private worry"]

    async def scenario(world: SlackWorld) -> None:
        await world.join(ALEX, "Alex")
        await world.dm(ALEX, private[2])
        await world.deliver()
        await world.press(ALEX, "Needs a reply")
        await world.command(ALEX, f"ask {private[0]}")
        await world.deliver()
        forwards = [a for a in world.slack.of("chat.postMessage") if a["channel"] == "DMELODY"]
        parent = world.posted_ts(MELODY_USER, html.unescape(forwards[-1]["text"]))
        await world.dm(MELODY_USER, private[1], thread_ts=parent)
        world.slack.throttle("chat.postMessage", retry_after=1)
        await world.deliver()
        await world.home(MELODY_USER)

    with caplog.at_level(logging.DEBUG):
        run(db_url, clock, scenario)
    assert caplog.records  # the capture did see the flow
    for secret in (*private, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in caplog.text


def test_the_coachs_report_comes_with_its_picture_uploaded_in_her_dm(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> None:
        await world.join(ALEX, "Alex")
        await world.command(ALEX, "ask Can we move Thursday's session?")
        await world.deliver()
        world.seen(MELODY_USER)

        assert await world.command(MELODY_USER, "report") == 200
        await world.deliver()
        (report,) = world.seen(MELODY_USER)
        assert report.startswith("Report for November 2026")
        assert "• Alex: 1 message (1 question)" in report
        (picture,) = world.slack.uploads_to("DMELODY")
        assert (picture.filename, picture.title) == ("report-2026-11.png", "report-2026-11.png")
        assert picture.content.startswith(b"\x89PNG")
        methods = [c.method for c in world.slack.calls]
        text_at = max(i for i, m in enumerate(methods) if m == "chat.postMessage")
        assert methods[text_at + 1 :] == [
            "files.getUploadURLExternal",
            "files.completeUploadExternal",
        ]  # the picture follows the text
        assert world.slack.uploads_to("DALEX") == []

    run(db_url, clock, scenario)


POEM = b"%PDF-1.7 Alex's poem\n" + bytes(range(256)) * 8


def test_a_file_alex_shares_reaches_melody_as_the_file_itself(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> None:
        await world.join(ALEX, "Alex")
        world.seen(ALEX)
        world.seen(MELODY_USER)
        poem = world.slack.share("F0POEM01", "poem.pdf", POEM, mimetype="application/pdf")
        huge = world.slack.share("F0VIDEO1", "session.mov", b"", size=80 * 1024 * 1024)
        world.slack.fail(UPLOAD, "boom")  # the first upload of the poem fails: the outbox retries
        files = [poem, huge]
        assert (
            await world.dm(ALEX, "Can you read my poem?", subtype="file_share", files=files) == 200
        )
        await world.deliver()
        await world.press(ALEX, "Needs a reply")
        await world.deliver()
        clock.advance(timedelta(minutes=5))
        await world.deliver()

        forward, note = world.seen(MELODY_USER)
        assert forward.startswith("Alex · ") and "Can you read my poem?" in forward
        assert note == "(The file “session.mov” could not be copied: it is larger than 50 MB.)"
        [upload] = world.slack.uploads_to("DMELODY")  # once, though the first try failed
        assert (upload.filename, upload.content) == ("poem.pdf", POEM)
        assert set(world.slack.downloads) == {"F0POEM01"}  # the huge one is never downloaded
        with Session(make_engine(db_url)) as session:
            rows = session.exec(select(Outbox).where(Outbox.chat_id == "DMELODY")).all()
            fwd = next(r for r in rows if r.idempotency_key.endswith(":fwd"))
            assert fwd.status == "sent"
            assert [a["file_id"] for a in fwd.payload["attachments"]] == ["F0POEM01", "F0VIDEO1"]

        # /boundary show N copies the file again, on its own row
        message_id = fwd.message_id
        assert await world.command(MELODY_USER, f"show {message_id}") == 200
        await world.deliver()
        assert [u.filename for u in world.slack.uploads_to("DMELODY")] == ["poem.pdf", "poem.pdf"]

    run(db_url, clock, scenario)


def test_a_file_shared_after_hours_comes_with_the_released_message(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> None:
        await world.join(ALEX, "Alex")
        world.seen(MELODY_USER)
        clock.set(MONDAY_EVENING)
        photo = world.slack.share("F0PHOTO1", "plan.png", b"\x89PNG plan", mimetype="image/png")
        files = [photo]
        assert (
            await world.dm(ALEX, "My plan for Thursday", subtype="file_share", files=files) == 200
        )
        await world.deliver()
        await world.press(ALEX, "Needs a reply")
        await world.deliver()
        assert world.slack.uploads_to("DMELODY") == []

        clock.set(TUESDAY_OPENING)
        await asyncio.to_thread(world.app.scheduler.run_due)
        await world.deliver()
        [upload] = world.slack.uploads_to("DMELODY")
        assert (upload.filename, upload.content) == ("plan.png", b"\x89PNG plan")

    run(db_url, clock, scenario)
