"""At `[logging] level = "DEBUG"`, no log record holds what people wrote, a body or a token.

Logging is set up as `boundarybot run` does (`bot.logs.configure_logging("DEBUG")`), every
record reaching the root logger is kept, and unique markers go through each failure path and a
successful send on Slack (HTTP) and Telegram (webhook). No marker may appear in a record's
message, format string, arguments or exception text.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.logs import FLOORS, configure_logging
from bot.messages import Inbound
from bot.store.migrate import upgrade
from tests.fake_slack import BOT_TOKEN, MELODY_USER, SIGNING_SECRET, SlackWorld, sign, slack_world
from tests.fake_telegram import TOKEN
from tests.fake_telegram_rig import COACH_ID, running

ALEX_SLACK, ALEX_TELEGRAM = "UALEX", 555
MARKERS = {
    "unsigned": "zq-unsigned-dm-7f3a",
    "slack-bug": "zq-slack-handler-bug-19c2",
    "slack-sent": "Zqslackdeliveredxv",
    "bad-secret": "zq-telegram-bad-secret-a91d",
    "telegram-bug": "zq-telegram-handler-bug-55e8",
    "telegram-sent": "Zqtelegramdeliveredxv",
}
SECRETS = {"slack bot token": BOT_TOKEN, "signing secret": SIGNING_SECRET, "bot token": TOKEN}


class Keep(logging.Handler):
    """Every record that reaches the root logger, rendered in full."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [str(record.msg), repr(record.args), record.exc_text or "", record.getMessage()]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append("".join(traceback.format_exception(record.exc_info[1])))
        parts.append(logging.Formatter().format(record))
        self.texts.append(f"{record.name}: " + "\n".join(parts))


@pytest.fixture
def kept() -> Iterator[Keep]:
    """Logging as the bot configures it at DEBUG; restored afterwards for the other tests."""
    root = logging.getLogger()
    names = [*FLOORS, "slack_bolt.RequestVerification"]
    levels = {name: logging.getLogger(name).level for name in names}
    factory, root_level = logging.getLogRecordFactory(), root.level
    configure_logging("DEBUG")
    keep = Keep()
    root.addHandler(keep)
    try:
        yield keep
    finally:
        root.removeHandler(keep)
        logging.setLogRecordFactory(factory)
        root.setLevel(root_level)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def leaks(keep: Keep) -> list[tuple[str, str]]:
    """(what, record) for each marker or secret found in a kept record."""
    found = {**MARKERS, **SECRETS}
    return [(what, text) for text in keep.texts for what, mark in found.items() if mark in text]


def test_no_slack_body_text_or_secret_reaches_the_logs(
    db_url: str, clock: ManualClock, kept: Keep
) -> None:
    async def scenario(world: SlackWorld) -> None:
        await world.join(ALEX_SLACK, "Alex")
        unsigned = world.envelope(_dm(ALEX_SLACK, MARKERS["unsigned"]))
        status, _ = await world.post(unsigned, "application/json", sign("{}", secret="wrong"))
        assert status == 401

        handle = world.app.dispatcher.handle

        def buggy(inbound: Inbound) -> Any:
            if MARKERS["slack-bug"] in inbound.text:
                raise RuntimeError(f"a bug quoting {inbound.text}")
            return handle(inbound)

        world.app.dispatcher.handle = buggy  # type: ignore[method-assign]
        assert await world.dm(ALEX_SLACK, MARKERS["slack-bug"]) == 500
        # a successful send whose text holds the marker: the invite names the new client
        assert await world.command(MELODY_USER, f"invite {MARKERS['slack-sent']}") == 200
        await world.deliver()
        assert any(MARKERS["slack-sent"] in t for t in world.seen(MELODY_USER))

    asyncio.run(_in_slack(db_url, clock, scenario))
    assert kept.texts, "the capture saw records at all"
    assert leaks(kept) == []


def test_no_telegram_update_text_or_token_reaches_the_logs(
    tmp_path: Path, clock: ManualClock, kept: Keep
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)

    async def scenario() -> None:
        async with running(url, clock, mode="webhook") as rig:
            fake = rig.fake
            invite = fake.queue("message", _text(rig, "/invite Alex", COACH_ID))
            assert await fake.post_webhook(invite) == 200
            await rig.deliver()
            code = rig.inbox(COACH_ID)[0].split("?start=")[1].split()[0]
            assert await fake.post_webhook(_queued(rig, f"/start {code}")) == 200

            update = _queued(rig, MARKERS["bad-secret"])
            assert await fake.post_webhook(update, secret="wrong") == 403

            handle = rig.app.dispatcher.handle

            def buggy(inbound: Inbound) -> Any:
                if MARKERS["telegram-bug"] in inbound.text:
                    raise RuntimeError(f"a bug quoting {inbound.text}")
                return handle(inbound)

            rig.app.dispatcher.handle = buggy  # type: ignore[method-assign]
            poison = _queued(rig, MARKERS["telegram-bug"])
            statuses = [await fake.post_webhook(poison) for _ in range(3)]
            assert statuses == [500, 500, 200]  # tried, then skipped

            named = f"/invite {MARKERS['telegram-sent']}"  # the invite's text names the client
            assert await fake.post_webhook(_text_update(rig, named, COACH_ID)) == 200
            await rig.deliver()
            assert any(MARKERS["telegram-sent"] in t for t in rig.inbox(COACH_ID))

    asyncio.run(scenario())
    assert kept.texts
    assert leaks(kept) == []


async def _in_slack(db_url: str, clock: ManualClock, scenario: Any) -> None:
    async with slack_world(db_url, clock) as world:
        await scenario(world)


def _dm(user: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "channel": f"D{user}",
        "user": user,
        "text": text,
    }


def _text(rig: Any, text: str, user: int = ALEX_TELEGRAM) -> dict[str, Any]:
    return rig.fake.message(user, sender=rig.fake.user(user), text=text)


def _text_update(rig: Any, text: str, user: int) -> dict[str, Any]:
    return rig.fake.queue("message", _text(rig, text, user))


def _queued(rig: Any, text: str) -> dict[str, Any]:
    return rig.fake.queue("message", _text(rig, text))
