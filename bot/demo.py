"""`boundarybot demo`: a scripted coaching day, printed as a transcript."""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.app import build_app
from bot.clock import ManualClock
from bot.config import DatabaseSettings, Settings
from bot.console import Console
from bot.console_main import SAMPLE_COACH
from bot.transports.console import PLATFORM, ConsoleTransport

INVITE_CODE = re.compile(r"join (\S+)")

MORNING = [
    "# Monday 23 November 2026. Melody works Mon–Fri 09:00–17:00 (London), replies within 24h.",
    ":time 2026-11-23 08:45",
    "coach: /invite Alex open_door",
]
DAY = [
    "# Alex has an open door: updates any time, questions inside the contract.",
    "alex: /fyi I finally spoke up in the team meeting today!",
    "alex: I wrote a poem about it",
    "alex: 1",
    "# 18:00: Melody's daily digest gathers the updates; nothing pinged her during the day.",
    ":time 2026-11-23 18:00",
    "# 21:30: an out-of-hours question waits for the morning; the second gets a short answer.",
    ":time 2026-11-23 21:30",
    "alex: /ask Can we move Thursday's session to Friday?",
    "alex: /ask Also, should I bring my journal?",
    "# Tuesday 09:00: the queued questions reach Melody as one message. She replies to it.",
    ":time 2026-11-24 09:00",
    "coach: >{released} Friday 10:00 works — and yes, bring the journal.",
    "# 11:00: a message that may signal a crisis goes through at once, whatever the contract.",
    ":time 2026-11-24 11:00",
    "alex: Honestly some days I feel like I want to die.",
    ":time 2026-11-24 12:30",
    "alex: [voice] /fyi my morning reflection",
    ":time 2026-11-24 18:00",
]


def run_demo(out: TextIO) -> None:
    """Play the scripted day on a throwaway SQLite database and print it."""
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_play(out, Path(folder) / "demo.db"))


async def _play(out: TextIO, path: Path) -> None:
    settings = Settings(database=DatabaseSettings(url=f"sqlite:///{path}"), coaches=(SAMPLE_COACH,))
    transport = ConsoleTransport(out)
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    app = build_app(settings, transports={PLATFORM: transport}, clock=clock, per_chat_interval=0)
    console = Console(app, transport, clock, out)
    console.link_coaches()
    await console.play(MORNING)
    code = INVITE_CODE.search(_last_text(transport, "coach"))
    await console.play([f"alex: /start {code.group(1) if code else 'missing-code'}"])
    for line in DAY:
        if "{released}" in line:
            line = line.format(released=transport.last_id.get("coach", "0"))
        await console.play([line])
    app.engine.dispose()


def _last_text(transport: ConsoleTransport, chat: str) -> str:
    return transport.sent_text.get(chat, "")
