"""The real app wired to the real Telegram transport, talking to the fake Bot API.

`running(...)` builds the app with `build_app`, runs `TelegramPlatform.run` (our polling loop or
webhook server) as a task, and lets a test drive business time with the ManualClock: updates
are awaited until Telegram was told they were received, and the outbox is driven by
`deliver()`, never by sleeping for business time.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import CoachSettings, DatabaseSettings, Secret, Settings, TelegramSettings
from bot.transports.telegram import TelegramPlatform
from tests.fake_telegram import TOKEN, FakeTelegram

COACH_ID = 100
MELODY = CoachSettings(
    key="melody",
    name="Melody",
    telegram_user_id=str(COACH_ID),
    timezone="Europe/London",
    hours="mon-fri 09:00-17:00",
    reply_within="24h",
)


@dataclass
class Rig:
    """A running bot and the fake Telegram it talks to."""

    fake: FakeTelegram
    app: App
    platform: TelegramPlatform
    clock: ManualClock
    stop: asyncio.Event
    task: asyncio.Task[None]
    _seen: dict[int, int] = field(default_factory=dict)

    async def until(self, done: Any, what: str, seconds: float = 10.0) -> None:
        """Wait (real time, for the bot's own work) until `done()` is true."""
        deadline = time.monotonic() + seconds
        while not done():
            if self.task.done():
                self.task.result()  # the platform died: show why
                raise AssertionError(f"the platform stopped before {what}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.005)

    async def received(self) -> None:
        """Wait until every queued update was confirmed to Telegram (so it was committed)."""
        await self.until(lambda: self.fake.pending() == 0, "updates to be confirmed")

    async def deliver(self, rounds: int = 5) -> None:
        """Send what the outbox holds, stepping the clock a second when a chat must wait."""
        for _ in range(rounds):
            if not await self.app.outbox.deliver_due():
                due = await asyncio.to_thread(self.app.outbox.next_due)
                if due is None or due - self.clock.now() > timedelta(seconds=2):
                    return
                self.clock.set(max(due, self.clock.now()))

    async def say(self, user_id: int, text: str = "", **fields: Any) -> list[str]:
        """`user_id` writes; returns what they were sent back because of it."""
        self.fake.write(user_id, text, **fields)
        await self.received()
        await self.deliver()
        return self.inbox(user_id)

    def inbox(self, chat_id: int) -> list[str]:
        """Texts sent to a chat since the last look."""
        texts = self.fake.sent_to(chat_id)
        start = self._seen.get(chat_id, 0)
        self._seen[chat_id] = len(texts)
        return texts[start:]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_for(
    fake: FakeTelegram,
    db_url: str,
    *,
    mode: Literal["polling", "webhook"] = "polling",
    coaches: tuple[CoachSettings, ...] = (MELODY,),
    port: int = 0,
) -> Settings:
    """Settings that point PTB at the fake (base_url as an operator would write it)."""
    webhook = f"http://127.0.0.1:{port}/telegram/hook" if mode == "webhook" else None
    return Settings(
        database=DatabaseSettings(url=db_url),
        telegram=TelegramSettings(
            token=Secret(TOKEN),
            base_url=fake.base_url,
            mode=mode,
            webhook_url=webhook,
            port=port,
            secret_token=Secret("s3cret-header") if mode == "webhook" else None,
        ),
        coaches=coaches,
    )


@asynccontextmanager
async def running(
    db_url: str,
    clock: ManualClock,
    *,
    mode: Literal["polling", "webhook"] = "polling",
    coaches: tuple[CoachSettings, ...] = (MELODY,),
    port: int = 0,
) -> AsyncIterator[Rig]:
    """The bot, running against a fresh fake Telegram until the block ends."""
    fake = await FakeTelegram(clock=clock.now).start()
    if mode == "webhook" and port == 0:
        port = free_port()
    settings = settings_for(fake, db_url, mode=mode, coaches=coaches, port=port)
    assert settings.telegram is not None
    platform = TelegramPlatform(settings.telegram, poll_timeout=1.0, retry_delay=0.05)
    app = build_app(settings, transports={"telegram": platform}, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(platform.run(app.core, stop))
    rig = Rig(fake, app, platform, clock, stop, task)
    try:
        if mode == "webhook":
            await rig.until(lambda: fake.webhook is not None, "the webhook to be set")
        else:
            await rig.until(lambda: "getUpdates" in fake.arrived, "the first getUpdates")
        yield rig
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        app.engine.dispose()
        await fake.stop()
