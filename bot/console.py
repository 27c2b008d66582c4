"""`boundarybot console`: the whole bot in a terminal, on SQLite, with no tokens.

The console transport (`bot.transports.console`) turns typed lines into messages; this runner
builds the app around it with a clock the person can move (`:time +3h`: every timer on the way
fires at its own time), and after every line delivers what waits, as the real workers would.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import re
from collections.abc import Iterable
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TextIO

from bot.app import App, build_app
from bot.clock import ManualClock, OffsetClock
from bot.config import CoachSettings, Settings
from bot.delivery.worker import OutboxOptions
from bot.service.accounts import first_coach_zone, link_coaches
from bot.service.schedule import ensure_timers
from bot.store.unit import unit_of_work
from bot.transports.console import PLATFORM, ConsoleTransport
from rules.localtime import time_zone
from rules.texts import DAY_NAMES

HELP = """Type lines as `name: text`, e.g.
  coach: /invite Alex open_door      (the coach's name is their key from the config)
  alex: /start CODE                  (anyone else is a stranger until they join)
  alex: I had a breakthrough today
  alex: 1                            (press button 1 of the newest message to alex)
  coach: >3 thanks, see you Thursday (reply to the message printed [#3], as on Telegram)
  alex: [photo] look at this         (a message with an attachment)
:time +3h   move the clock forward (also +30m, +2d, mon 09:00, 09:00 for the next one, or
            2026-11-23 21:00, in the first coach's zone); what comes due on the way is sent
            at its own time
[#N] numbers a message for `>N`; `/show N` (as the bot writes it) is a stored message's id
:help   this help          :quit   leave"""

#: Used when the configuration names no coach, so a newcomer can try the flow at once.
SAMPLE_COACH = CoachSettings(
    key="coach",
    name="Melody",
    timezone="Europe/London",
    hours="mon-fri 09:00-17:00",
    reply_within="24h",
    digest_time="18:00",
)
#: No pacing in a terminal: every answer shows at once.
CONSOLE_OUTBOX = OutboxOptions(per_chat_interval=0)

TIME_FORMS = "+30m, +3h, +2d, mon 09:00, 09:00 or 2026-11-23 21:00"
RELATIVE = re.compile(r"^\+(\d+)\s*([mhd])$")
AT = re.compile(r"^(?:(mon|tue|wed|thu|fri|sat|sun)\w*\s+)?(\d{1,2}):(\d{2})$")
DAYS = tuple(day.lower() for day in DAY_NAMES)
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclasses.dataclass
class Console:
    """The console's own commands (`:time`, `:help`, `:quit`) around the console transport."""

    app: App
    transport: ConsoleTransport
    clock: ManualClock | OffsetClock
    out: TextIO

    def link_coaches(self) -> None:
        """Log every coach in by their key; number messages after those already sent."""
        with unit_of_work(self.app.engine) as uow:
            self.transport.continue_after(uow.outbox.highest_platform_id(PLATFORM))
            link_coaches(uow, PLATFORM)

    async def feed(self, line: str) -> bool:
        """Handle one typed line; False when the person asked to quit."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith(":"):
            return await self._meta(line)
        self.transport.say(self.app.core, line)
        await self.settle()
        return True

    async def settle(self) -> None:
        """Fire due timers and deliver everything waiting, until nothing is left."""
        for _ in range(20):
            with unit_of_work(self.app.engine) as uow:
                ensure_timers(uow, self.clock.now())
            fired = self.app.scheduler.run_due()
            sent = await self.app.outbox.deliver_due()
            if not fired and not sent:
                return

    async def _meta(self, line: str) -> bool:
        word, _, rest = line[1:].partition(" ")
        if word in ("quit", "q", "exit"):
            return False
        if word == "time":
            await self.move_clock(rest.strip())
        else:
            self.out.write(HELP + "\n")
        return True

    async def move_clock(self, text: str) -> None:
        """`:time +3h`, `mon 09:00`, `09:00` or `2026-11-23 21:00`, in the first coach's zone."""
        with unit_of_work(self.app.engine) as uow:
            zone = time_zone(first_coach_zone(uow))
        now = self.clock.now()
        when = parse_move(text, now.astimezone(zone), zone=zone)
        if when is None:
            self.out.write(f"  (:time needs {TIME_FORMS})\n")
            return
        if when < now:
            self.out.write(
                f"  (it is already {_moment(now.astimezone(zone))}: the clock only goes forward,"
                " because timers that fired cannot be undone)\n"
            )
            return
        await self.walk_to(when, zone=zone)
        self.clock.set(when)
        self.out.write(f"  (it is now {_moment(when.astimezone(zone))})\n")
        await self.settle()

    async def walk_to(self, when: datetime, *, zone: tzinfo) -> None:
        """Walk the clock to `when`, stopping at each timer due before it, as a live bot would.

        A digest, reminder or brief then goes out at its own time, not all at once at the end
        (a jump straight to `when` would look like a bot that was down all that time); what a
        stop sends is printed under the time it was sent.
        """
        stopped: datetime | None = None
        for _ in range(100_000):  # a bound, far past any jump a person types
            with unit_of_work(self.app.engine) as uow:
                ensure_timers(uow, self.clock.now())
                due = uow.timers.next_due(until=when)
            if due is None or due >= when or due == stopped:
                break  # nothing more on the way (or a timer that cannot run: stop looking)
            stopped = due
            self.clock.set(max(due, self.clock.now()))
            await self._settle_under_the_time(zone)

    async def _settle_under_the_time(self, zone: tzinfo) -> None:
        screen, self.transport.out = self.transport.out, io.StringIO()
        try:
            await self.settle()
        finally:
            sent, self.transport.out = self.transport.out, screen
        if text := sent.getvalue():
            self.out.write(f"  ({_moment(self.clock.now().astimezone(zone))})\n{text}")

    async def play(self, lines: Iterable[str]) -> None:
        """Feed a script of lines, echoing each as a chat transcript."""
        for line in lines:
            if line.strip() and not line.startswith(":"):
                self.out.write(line.rstrip() + "\n")
            if not await self.feed(line):
                return


def console_app(
    settings: Settings, transport: ConsoleTransport, *, clock: ManualClock | OffsetClock
) -> App:
    """The app wired to the console transport, with the coaches logged in by their keys."""
    return build_app(settings, transports={PLATFORM: transport}, clock=clock, outbox=CONSOLE_OUTBOX)


def console_settings(settings: Settings) -> Settings:
    """The settings with a sample coach when none is configured."""
    if settings.coaches:
        return settings
    return dataclasses.replace(settings, coaches=(SAMPLE_COACH,))


def run_console(
    settings: Settings,
    stdin: TextIO,
    *,
    stdout: TextIO,
    files_dir: Path | None = None,
    clock: ManualClock | OffsetClock | None = None,
) -> None:
    """Chat with the bot line by line until end of input or `:quit`."""
    settings = console_settings(settings)
    transport = ConsoleTransport(stdout, files_dir=files_dir)
    clock = clock or OffsetClock()
    console = Console(console_app(settings, transport, clock=clock), transport, clock, stdout)
    console.link_coaches()
    keys = ", ".join(c.key for c in settings.coaches)
    stdout.write(f"boundarybot console — database {settings.database.redacted_url()}\n")
    stdout.write(f"Coaches: {keys}. Everyone else is a stranger until they join.\n{HELP}\n")
    asyncio.run(_loop(console, stdin, stdout=stdout))


async def _loop(console: Console, stdin: TextIO, *, stdout: TextIO) -> None:
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


def parse_move(text: str, now: datetime, *, zone: tzinfo) -> datetime | None:
    """The aware time `text` names, read from local `now` in `zone`; None if it names none."""
    text = text.strip().lower()
    if (relative := RELATIVE.match(text)) is not None:
        return now + timedelta(**{UNITS[relative.group(2)]: int(relative.group(1))})
    if (at := AT.match(text)) is not None:
        return _next_at(now, zone, day=at.group(1), hour=int(at.group(2)), minute=int(at.group(3)))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else _localize(zone, when)


def _next_at(
    now: datetime, zone: tzinfo, *, day: str | None, hour: int, minute: int
) -> datetime | None:
    """The first local `hour:minute` after `now`, on weekday `day` if one is given."""
    if hour > 23 or minute > 59:
        return None
    for ahead in range(8):
        date = (now + timedelta(days=ahead)).date()
        if day is not None and date.weekday() != DAYS.index(day):
            continue
        when = _localize(zone, datetime.combine(date, time(hour, minute)))
        if when > now:
            return when
    return None


def _localize(zone: tzinfo, naive: datetime) -> datetime:
    """`naive` read as a wall-clock time in `zone` (pytz or zoneinfo)."""
    localize = getattr(zone, "localize", None)
    return localize(naive) if localize else naive.replace(tzinfo=zone)


def _moment(local: datetime) -> str:
    """`Mon 7 Dec 2026, 09:00 GMT`: the console's clock line, the day not zero-padded."""
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M %Z}"
