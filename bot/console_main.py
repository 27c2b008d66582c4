"""`boundarybot console`: the whole bot in a terminal, on SQLite, with no tokens."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path
from typing import TextIO

from bot.app import build_app
from bot.clock import ManualClock, OffsetClock
from bot.config import CoachSettings, Settings
from bot.console import HELP, Console
from bot.transports.console import PLATFORM, ConsoleTransport

#: Used when the configuration names no coach, so a newcomer can try the flow at once.
SAMPLE_COACH = CoachSettings(
    key="coach",
    name="Melody",
    timezone="Europe/London",
    hours="mon-fri 09:00-17:00",
    reply_within="24h",
    digest_time="18:00",
)


def console_settings(settings: Settings) -> Settings:
    """The settings with a sample coach when none is configured."""
    if settings.coaches:
        return settings
    return dataclasses.replace(settings, coaches=(SAMPLE_COACH,))


def run_console(
    settings: Settings,
    stdin: TextIO,
    stdout: TextIO,
    *,
    files_dir: Path | None = None,
    clock: ManualClock | OffsetClock | None = None,
) -> None:
    """Chat with the bot line by line until end of input or `:quit`."""
    settings = console_settings(settings)
    transport = ConsoleTransport(stdout, files_dir=files_dir)
    clock = clock or OffsetClock()
    app = build_app(settings, transports={PLATFORM: transport}, clock=clock, per_chat_interval=0)
    console = Console(app, transport, clock, stdout)
    console.link_coaches()
    keys = ", ".join(c.key for c in settings.coaches)
    stdout.write(f"boundarybot console — database {settings.database.redacted_url()}\n")
    stdout.write(f"Coaches: {keys}. Everyone else is a stranger until they join.\n{HELP}\n")
    asyncio.run(_loop(console, stdin, stdout))


async def _loop(console: Console, stdin: TextIO, stdout: TextIO) -> None:
    ticker = asyncio.create_task(_tick(console))
    try:
        while True:
            stdout.write("> ")
            stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line or not await console.feed(line):
                break
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


async def _tick(console: Console) -> None:
    """Fire timers and deliver in the background, as the real workers do."""
    while True:
        await asyncio.sleep(1.0)
        await console.settle()
