"""The HTTP edge on Slack: signed requests only, each event once, 500 so that Slack retries."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.app import build_commands, spelling_for
from bot.clock import ManualClock
from bot.store.db import make_engine
from bot.store.models import Identity, Message, ProcessedEvent
from rules.lines import STRANGER_LINE
from tests.fake_slack import MELODY_USER, SlackWorld, sign, slack_world


def on_slack(text: str) -> str:
    """`text` with its commands as Slack users type them."""
    return spelling_for(build_commands())(text, "slack")


T = TypeVar("T")
ALEX = "UALEX"


def run(db_url: str, clock: ManualClock, scenario: Callable[[SlackWorld], Awaitable[T]]) -> T:
    """Run `scenario` in a Slack world on the test database."""

    async def main() -> T:
        async with slack_world(db_url, clock) as world:
            return await scenario(world)

    return asyncio.run(main())


def count(world: SlackWorld, model: Any) -> int:
    with Session(world.app.engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_the_coach_is_reached_in_their_dm_with_the_app(db_url: str, clock: ManualClock) -> None:
    async def scenario(world: SlackWorld) -> str:
        with Session(world.app.engine) as session:
            identity = session.exec(select(Identity).where(Identity.user_id == MELODY_USER)).one()
            return identity.chat_id

    assert run(db_url, clock, scenario) == "DMELODY"


@pytest.mark.parametrize(
    "headers",
    [
        sign("{}", secret="not-the-secret"),
        sign("{}", timestamp=int(time.time()) - 600),  # stale: replayed ten minutes later
        {"X-Slack-Signature": "v0=", "X-Slack-Request-Timestamp": ""},
    ],
    ids=["wrong secret", "stale", "empty"],
)
def test_a_request_not_signed_by_slack_is_refused_and_nothing_is_stored(
    db_url: str, clock: ManualClock, headers: dict[str, str]
) -> None:
    async def scenario(world: SlackWorld) -> None:
        calls_before = len(world.slack.calls)
        body = world.envelope({"type": "message", "channel_type": "im", "channel": "DX"})
        body = body.replace('"channel": "DX"', '"channel": "DX", "user": "UX", "text": "hi"')
        # the signature of another body, or a stale one, or none
        status, _ = await world.post(body, "application/json", headers)
        assert status == 401
        assert count(world, ProcessedEvent) == 0
        assert len(world.slack.calls) == calls_before

    run(db_url, clock, scenario)


def test_slack_checking_the_request_url_gets_its_challenge_back(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> tuple[int, str]:
        body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
        return await world.post(body, "application/json")

    status, text = run(db_url, clock, scenario)
    assert status == 200 and "c-123" in text


def test_a_retried_event_is_acknowledged_and_processed_once(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> None:
        await world.join(ALEX, "Alex")
        world.seen(ALEX)
        assert await world.dm(ALEX, "Had an aha moment", event_id="Ev42") == 200
        assert await world.dm(ALEX, "Had an aha moment", event_id="Ev42", retry=1) == 200
        await world.deliver()
        assert count(world, Message) == 1
        assert len(world.seen(ALEX)) == 1  # one "what kind of message is it?"

    run(db_url, clock, scenario)


def test_a_stranger_gets_one_polite_line_even_when_slack_retries(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> None:
        assert await world.dm("USTRANGER", "hello?", event_id="Ev7") == 200
        assert await world.dm("USTRANGER", "hello?", event_id="Ev7", retry=1) == 200
        await world.deliver()  # the answer is an outbox row, paced like any other
        assert world.seen("USTRANGER") == [on_slack(STRANGER_LINE)]
        assert count(world, ProcessedEvent) == 0  # nothing of a stranger's is stored

    run(db_url, clock, scenario)


@pytest.mark.parametrize(
    "fields",
    [
        {"bot_id": "BBOT", "user": "UBOT"},  # the app's own message
        {"bot_id": "BOTHER", "subtype": "bot_message"},
        {"subtype": "message_changed", "message": {"text": "edited", "user": ALEX}},
        {"subtype": "message_deleted", "previous_message": {"text": "x"}},
    ],
    ids=["own message", "other bot", "edit", "deletion"],
)
def test_bots_edits_and_deletions_are_acknowledged_and_not_answered(
    db_url: str, clock: ManualClock, fields: dict[str, Any]
) -> None:
    async def scenario(world: SlackWorld) -> None:
        await world.join(ALEX, "Alex")
        world.seen(ALEX)
        user = fields.pop("user", ALEX)
        assert await world.dm(user, "echo", **fields) == 200
        await world.deliver()
        assert count(world, Message) == 0
        assert world.seen(ALEX) == []

    run(db_url, clock, scenario)


def test_an_unreachable_database_answers_500_so_slack_retries(
    db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(world: SlackWorld) -> tuple[int, int]:
        await world.join(ALEX, "Alex")
        working = world.app.dispatcher.engine
        world.app.dispatcher.engine = make_engine("sqlite:////nonexistent/dir/boundary.db")
        caplog.clear()
        with caplog.at_level(logging.INFO):
            failed = await world.dm(ALEX, "secret worry text", event_id="Ev9")
        world.app.dispatcher.engine = working
        retried = await world.dm(ALEX, "secret worry text", event_id="Ev9", retry=1)
        return failed, retried

    failed, retried = run(db_url, clock, scenario)
    assert (failed, retried) == (500, 200)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "OperationalError" in lines[0]
    assert "secret worry text" not in caplog.text


def test_a_command_from_a_channel_is_answered_where_only_the_asker_sees_it(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> None:
        assert await world.command("UNEW", "help", channel="CGENERAL") == 200
        ephemeral = world.slack.of("chat.postEphemeral")
        assert [(e["channel"], e["user"]) for e in ephemeral] == [("CGENERAL", "UNEW")]
        assert "/start CODE" in ephemeral[0]["text"] or "join" in ephemeral[0]["text"]
        assert all(p["channel"] != "CGENERAL" for p in world.slack.of("chat.postMessage"))

    run(db_url, clock, scenario)


def test_a_received_message_keeps_the_time_slack_stamped_on_it(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> tuple[datetime, datetime]:
        await world.join(ALEX, "Alex")
        sent_at = clock.now() - timedelta(seconds=90)  # delivered late: ts says when it was sent
        await world.dm(ALEX, "news", ts=f"{sent_at.timestamp():.6f}")
        with Session(world.app.engine) as session:
            return session.exec(select(Message)).one().received_at, sent_at

    received, sent_at = run(db_url, clock, scenario)
    assert received == sent_at
