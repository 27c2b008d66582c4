"""`boundarybot demo`: a scripted coaching week, printed as a transcript."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.clock import ManualClock
from bot.config import DatabaseSettings, Settings
from bot.console import SAMPLE_COACH, Console, console_app
from bot.transports.console import ConsoleTransport

INVITE = re.compile(r"^coach: /invite (\S+)")
INVITE_CODE = re.compile(r"/start (\S+)")
#: Where the report picture goes unless the caller names a folder.
FILES_DIR = Path("boundarybot-demo-files")

WEEK = [
    "# Monday 23 Nov. Melody (London) works Mon–Fri 09:00–17:00, replies within 24 open hours.",
    ":time 2026-11-23 08:30",
    "# She invites three clients, each on a different contract and in a different zone.",
    "# Alex (London) has an open door: updates any time, questions in Melody's hours.",
    "coach: /invite Alex open_door",
    "alex: /start {alex}",
    "# Sam (New York) may send goals and scheduling; two goal check-ins a week get a reply.",
    "coach: /invite Sam specific",
    "sam: /start {sam}",
    "sam: /timezone America/New_York",
    "coach: /allow Sam goals scheduling",
    "coach: /quota Sam 2",
    "# Lena (Berlin) keeps everything for her sessions; her next one is on Thursday.",
    "coach: /invite Lena sessions_only",
    "lena: /start {lena}",
    "lena: /timezone Europe/Berlin",
    "coach: /session Lena 2026-11-26 14:00",
    "coach: /brief 2h",
    "# Friday is a training day; clients will get a heads-up.",
    "coach: /closed 2026-11-27 2026-11-27 Training day",
    "# Replies that take her more than 5 minutes are paid work.",
    "coach: /billing 5 60 GBP",
    "# The clients write.",
    "alex: /fyi I finally spoke up in the team meeting today!",
    "lena: /ask How do I stop procrastinating on my thesis?",
    ":time 2026-11-23 10:00",
    "sam: /goals I ran three times this week. Is 5 km on Sunday too much?",
    "sam: /goals Should I sign up for the 10k in March?",
    "sam: /goals And could I add stretching every morning?",
    "# Over the quota, scheduling still goes through: it is what keeps the sessions.",
    "sam: /reschedule Could we move next week's call to Wednesday?",
    "# Messages in a burst are answered and forwarded once: a minute on, the rest come as one.",
    ":time 10:01",
    "# 18:00: one digest gathers the day; nothing else pinged Melody.",
    ":time 2026-11-23 18:00",
    "# Tuesday 24 Nov. Three days before the closure, clients get a heads-up.",
    ":time 2026-11-24 09:00",
    "# 11:00: a message that may signal a crisis goes through at once, whatever the contract.",
    ":time 2026-11-24 11:00",
    "alex: Honestly some days I feel like I want to die.",
    "coach: >{last} I'm here. I'll call you at 13:00 today.",
    ":time 2026-11-24 18:00",
    "# Wednesday 25 Nov. Scheduling is allowed even on Lena's sessions-only contract.",
    ":time 2026-11-25 10:00",
    "lena: /reschedule Could we start 30 minutes later tomorrow?",
    "coach: >{last} Yes, 14:30 is fine.",
    "coach: /session Lena 2026-11-26 14:30",
    ":time 2026-11-25 18:00",
    "# Thursday 26 Nov. Sam's messages are due at 10:00 and still unanswered: a reminder.",
    ":time 2026-11-26 09:00",
    "# 12:30: before Lena's session, the brief with what she saved for it.",
    ":time 2026-11-26 12:30",
    "# Alex's coaching ends this week.",
    "coach: /contract Alex 2026-09-01 2026-11-27",
    "# 18:00: the digest lists Sam's messages as overdue.",
    ":time 2026-11-26 18:00",
    "# Friday 27 Nov: the training day. Melody is closed.",
    ":time 2026-11-27 10:00",
    "lena: /reschedule Can we book my next session for the week of 7 December?",
    "# Saturday 28 Nov. Alex, now a former client, sends news.",
    ":time 2026-11-28 12:00",
    "alex: I got the promotion!",
    "# Monday 30 Nov. Lena's message arrives as Melody opens; she catches up.",
    ":time 2026-11-30 09:00",
    "coach: >{last} Yes: Tuesday 8 December, 14:00.",
    "coach: /reply Sam Sorry for the wait: yes to 5 km, and Wednesday works.",
    "coach: /log Sam 45 training plan by email",
    "# Her 18:00 digest has Alex's news, marked as a former client's.",
    ":time 2026-11-30 18:00",
    "# She looks at November: a report and a picture of when messages came in.",
    "coach: /report 2026-11",
]


def run_demo(out: TextIO, files_dir: Path | None = None) -> None:
    """Play the scripted week on a throwaway SQLite database and print it.

    Files the bot sends (the report picture) are written to `files_dir`, by default
    `./boundarybot-demo-files/`, and their paths printed.
    """
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_play(out, Path(folder) / "demo.db", files_dir=files_dir or FILES_DIR))


async def _play(out: TextIO, path: Path, *, files_dir: Path) -> None:
    settings = Settings(database=DatabaseSettings(url=f"sqlite:///{path}"), coaches=(SAMPLE_COACH,))
    transport = ConsoleTransport(out, files_dir=files_dir)
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    app = console_app(settings, transport, clock=clock)
    console = Console(app, transport, clock, out)
    console.link_coaches()
    codes: dict[str, str] = {}
    for line in WEEK:
        line = line.format(last=transport.last_id.get("coach", "0"), **codes)
        await console.play([line])
        if (invite := INVITE.match(line)) is not None:
            code = INVITE_CODE.search(transport.sent_text.get("coach", ""))
            codes[invite.group(1).lower()] = code.group(1) if code else "missing-code"
    await console.play(
        [f"# The report's picture is in {files_dir}{os.sep} (the path above): open it."]
    )
    app.engine.dispose()
