"""The HTTP edges: size before parsing, signature before shape, Slack's 3 seconds, odd text."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.app import build_app
from bot.clock import ManualClock
from bot.config import DatabaseSettings, Secret, Settings, SlackSettings
from bot.ports import StartFailed
from bot.serve import serve
from bot.store.migrate import upgrade
from bot.store.models import Message
from bot.transports.edge import MAX_BODY, REPLACEMENT, scrub
from bot.transports.slack import SlackPlatform
from bot.transports.telegram_webhook import SECRET_HEADER
from tests.fake_slack import BOT_TOKEN, MELODY, SIGNING_SECRET, FakeSlack, SlackWorld, slack_world
from tests.fake_telegram_rig import running

T = TypeVar("T")
ALEX = "UALEX"
TOO_BIG = MAX_BODY + 1


def run(db_url: str, clock: ManualClock, scenario: Callable[[SlackWorld], Awaitable[T]]) -> T:
    async def main() -> T:
        async with slack_world(db_url, clock) as world:
            return await scenario(world)

    return asyncio.run(main())


def texts(engine: Any) -> list[str]:
    with Session(engine) as session:
        return [m.text for m in session.exec(select(Message)).all()]


def messages(engine: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Message)).one())


# --- size and shape -------------------------------------------------------------------------


def test_a_slack_body_over_the_limit_is_refused_before_it_is_read(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> tuple[int, int]:
        big = '{"type": "event_callback", "x": "' + "a" * TOO_BIG + '"}'
        announced, _ = await world.post(big, "application/json")

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
            for _ in range(3):
                yield b"a" * MAX_BODY

        async with (
            aiohttp.ClientSession() as session,
            session.post(world.url, data=chunks(), headers={"Content-Type": "text/plain"}) as r,
        ):
            return announced, r.status

    assert run(db_url, clock, scenario) == (413, 413)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("not json{", "application/json"), ("\x00\xff", "application/octet-stream"), ("[1]", "")],
    ids=["broken json", "binary", "empty type"],
)
def test_an_unsigned_body_of_any_shape_gets_401(
    db_url: str, clock: ManualClock, body: str, content_type: str
) -> None:
    headers = {"X-Slack-Request-Timestamp": "1700000000", "X-Slack-Signature": "v0=00"}

    async def scenario(world: SlackWorld) -> int:
        status, _ = await world.post(body, content_type, headers)
        return status

    assert run(db_url, clock, scenario) == 401


@pytest.mark.parametrize("body", ["not json{", "[1, 2]"], ids=["broken json", "not an object"])
def test_a_signed_body_that_is_not_a_payload_gets_400(
    db_url: str, clock: ManualClock, body: str
) -> None:
    async def scenario(world: SlackWorld) -> int:
        status, _ = await world.post(body, "application/json")
        return status

    assert run(db_url, clock, scenario) == 400


def test_the_telegram_webhook_refuses_a_body_over_the_limit(
    tmp_path: Path, clock: ManualClock
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)

    async def scenario() -> list[int]:
        async with running(url, clock, mode="webhook") as rig:
            assert rig.fake.webhook is not None
            hook, secret = rig.fake.webhook["url"], rig.fake.webhook["secret_token"]
            big = b'{"update_id": 1, "x": "' + b"a" * TOO_BIG + b'"}'
            statuses = []
            async with aiohttp.ClientSession() as session:
                for headers in ({SECRET_HEADER: secret}, {SECRET_HEADER: "wrong"}, {}):
                    async with session.post(hook, data=big, headers=headers) as response:
                        statuses.append(response.status)
            return statuses

    assert asyncio.run(scenario()) == [413, 403, 403]


# --- Slack's three seconds -------------------------------------------------------------------


def test_a_locked_database_answers_503_in_time_and_the_retry_is_processed_once(
    db_url: str, clock: ManualClock
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("holds a SQLite write lock")
    path = db_url.removeprefix("sqlite:///")

    async def scenario(world: SlackWorld) -> None:
        await world.join(ALEX, "Alex")
        world.seen(ALEX)
        world.platform.limits.deadline = 0.3
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # another writer holds the database
        try:
            started = asyncio.get_running_loop().time()
            assert await world.dm(ALEX, "a locked moment", event_id="EvLock") == 503
            assert asyncio.get_running_loop().time() - started < 2.0  # Slack waits 3 s
            # Slack's retry while the first delivery is still waiting on the lock
            assert await world.dm(ALEX, "a locked moment", event_id="EvLock", retry=1) == 503
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        for _ in range(200):  # the first delivery goes on and commits once the lock is gone
            if messages(world.app.engine):
                break
            await asyncio.sleep(0.01)
        assert await world.dm(ALEX, "a locked moment", event_id="EvLock", retry=2) == 200
        await world.deliver()
        assert texts(world.app.engine) == ["a locked moment"]
        assert len(world.seen(ALEX)) == 1  # one answer to the client

    run(db_url, clock, scenario)


def test_a_slow_handler_answers_503_and_a_retry_joins_the_work_in_flight(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> list[int]:
        await world.join(ALEX, "Alex")
        world.platform.limits.deadline = 0.2
        gate = asyncio.Event()
        calls: list[str] = []
        handle = world.app.dispatcher.handle
        loop = asyncio.get_running_loop()

        def slow(inbound: Any) -> Any:
            calls.append(inbound.event_id)
            asyncio.run_coroutine_threadsafe(gate.wait(), loop).result(10)
            return handle(inbound)

        world.app.dispatcher.handle = slow  # type: ignore[method-assign]
        first = await world.dm(ALEX, "slow news", event_id="EvSlow")
        world.platform.limits.deadline = 10.0  # the retry may wait: a loaded machine is slow
        retry = asyncio.create_task(world.dm(ALEX, "slow news", event_id="EvSlow", retry=1))
        await asyncio.sleep(0.05)
        gate.set()
        statuses = [first, await retry]
        assert calls == ["EvSlow"]  # the retry waited for the first delivery's work
        assert texts(world.app.engine) == ["slow news"]
        return statuses

    assert run(db_url, clock, scenario) == [503, 200]


# --- text no database takes ------------------------------------------------------------------


def test_scrub_replaces_lone_surrogates_everywhere_and_keeps_pairs() -> None:
    raw = {"a": ["x\ud800y", {"b": "\udfff"}], "n": 1, "ok": "😀"}
    assert scrub(raw) == {"a": [f"x{REPLACEMENT}y", {"b": REPLACEMENT}], "n": 1, "ok": "😀"}


def test_a_lone_surrogate_from_slack_is_cleaned_at_the_edge(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario(world: SlackWorld) -> list[str]:
        await world.join(ALEX, "Alex")
        assert await world.dm(ALEX, "half \ud800 a pair") == 200
        return texts(world.app.engine)

    assert run(db_url, clock, scenario) == [f"half {REPLACEMENT} a pair"]


def test_a_lone_surrogate_from_telegram_is_cleaned_at_the_edge(
    tmp_path: Path, clock: ManualClock
) -> None:
    from tests.bot.test_telegram_receive import _text, stored, with_alex_by_webhook

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)

    async def scenario() -> list[str]:
        async with running(url, clock, mode="webhook") as rig:
            await with_alex_by_webhook(rig)
            update = rig.fake.queue("message", _text(rig, "/fyi half \ud800 a pair"))
            assert await rig.fake.post_webhook(update) == 200  # sent as the escape \ud800
            return stored(rig)

    assert asyncio.run(scenario()) == [f"half {REPLACEMENT} a pair"]


# --- a refused Slack token -------------------------------------------------------------------


def slack_settings(fake: FakeSlack, db_url: str) -> Settings:
    return Settings(
        database=DatabaseSettings(db_url),
        slack=SlackSettings(
            bot_token=Secret(BOT_TOKEN),
            signing_secret=Secret(SIGNING_SECRET),
            api_url=fake.url,
            port=0,
        ),
        coaches=(MELODY,),
    )


@pytest.mark.parametrize(
    "error", ["invalid_auth", "token_revoked", "missing_scope", "not_authed", "account_inactive"]
)
def test_a_refused_slack_token_stops_the_start_with_one_line(
    db_url: str, clock: ManualClock, error: str
) -> None:
    async def scenario() -> tuple[str, list[str]]:
        fake = FakeSlack()
        await fake.start()
        try:
            fake.fail("auth.test", error)
            settings = slack_settings(fake, db_url)
            assert settings.slack is not None
            platform = SlackPlatform(settings.slack, host="127.0.0.1")
            app = build_app(settings, transports={"slack": platform}, clock=clock)
            with pytest.raises(StartFailed) as refused:
                await asyncio.wait_for(platform.run(app.core, asyncio.Event()), 5)
            app.engine.dispose()
            return str(refused.value), [c.method for c in fake.calls]
        finally:
            await fake.stop()

    line, calls = asyncio.run(scenario())
    assert line == f"slack: the bot token was refused ({error})"
    assert calls == ["auth.test"]  # nothing else was tried, nothing waits in the outbox


def test_boundarybot_run_exits_with_that_line(db_url: str) -> None:
    async def scenario() -> None:
        fake = FakeSlack()
        await fake.start()
        try:
            fake.fail("auth.test", "token_revoked")
            await asyncio.wait_for(serve(slack_settings(fake, db_url), asyncio.Event()), 5)
        finally:
            await fake.stop()

    with pytest.raises(SystemExit) as exited:
        asyncio.run(scenario())
    assert str(exited.value) == "slack: the bot token was refused (token_revoked)"
