"""A terminal chat with the whole bot: `coach: /hours mon-fri 09:00-17:00`, `alex: hi`."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

import pytz
from sqlmodel import col, select

from bot.app import App
from bot.clock import ManualClock, OffsetClock
from bot.console_time import TIME_FORMS, parse_move
from bot.messages import Attachment, Inbound
from bot.service.schedule import ensure_timers
from bot.store.models import Coach, Identity, Outbox
from bot.store.unit import unit_of_work
from bot.transports.console import PLATFORM, ConsoleTransport

HELP = """Type lines as `name: text`, e.g.
  coach: /invite Alex open_door      (the coach's name is their key from the config)
  alex: /start CODE                  (anyone else is a stranger until they join)
  alex: I had a breakthrough today
  alex: 1                            (press button 1 of the newest message to alex)
  coach: >3 thanks, see you Thursday (reply to the message printed [#3], as on Telegram)
  alex: [photo] look at this         (a message with an attachment)
:time +3h   move the clock forward and fire what came due; also +30m, +2d, mon 09:00,
            09:00 (the next one) or 2026-11-23 21:00, in the first coach's zone
[#N] numbers a message for `>N`; `/show N` (as the bot writes it) is a stored message's id
:help   this help          :quit   leave"""

LINE = re.compile(r"^\s*([A-Za-z][\w.-]*)\s*:\s?(.*)$")
REPLY = re.compile(r"^>(\d+)\s+(.*)$", re.S)
ATTACHMENT = re.compile(r"^\[(photo|voice|video|document|file)\]\s*(.*)$", re.S)


@dataclass
class Console:
    """Turns typed lines into inbound messages and runs due work after each one."""

    app: App
    transport: ConsoleTransport
    clock: ManualClock | OffsetClock
    out: TextIO
    # Event ids must never repeat across sessions on one database, or a line would be taken
    # for a redelivery of an old one.
    _session: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _events: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def link_coaches(self) -> None:
        """Give every coach a console identity named by their key; continue message numbers."""
        with unit_of_work(self.app.engine) as uow:
            ids = uow.exec(
                select(Outbox.platform_message_id).where(
                    Outbox.platform == PLATFORM, col(Outbox.platform_message_id).is_not(None)
                )
            ).all()
            self.transport.continue_after(
                max((int(i) for i in ids if i and i.isdigit()), default=0)
            )
            for coach in uow.exec(select(Coach)).all():
                exists = uow.exec(
                    select(Identity).where(
                        Identity.platform == PLATFORM, Identity.user_id == coach.key
                    )
                ).first()
                if exists is None:
                    uow.add(
                        Identity(
                            platform=PLATFORM,
                            user_id=coach.key,
                            chat_id=coach.key,
                            coach_id=coach.id,
                        )
                    )

    async def feed(self, line: str) -> bool:
        """Handle one typed line; False when the person asked to quit."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith(":"):
            return await self._meta(line)
        match = LINE.match(line)
        if match is None:
            self.out.write("  (type `name: text`, or :help)\n")
            return True
        await self.say(match.group(1).lower(), match.group(2))
        return True

    async def say(self, who: str, text: str) -> None:
        """`who` sends `text` to the bot."""
        choice = None
        reply_to = None
        attachments: tuple[Attachment, ...] = ()
        buttons = self.transport.choices.get(who, ())
        if text.strip().isdigit() and 0 < int(text) <= len(buttons):
            choice = buttons[int(text) - 1].data
        if (reply := REPLY.match(text)) is not None:
            reply_to, text = reply.group(1), reply.group(2)
        if (attached := ATTACHMENT.match(text)) is not None:
            event_no = next(self._events)
            attachments = (Attachment(attached.group(1), f"file-{event_no}"),)
            text = attached.group(2)
        inbound = Inbound(
            platform=PLATFORM,
            user_id=who,
            chat_id=who,
            text="" if choice else text,
            event_id=f"console-{self._session}-{next(self._events)}",
            received_at=self.clock.now(),
            attachments=attachments,
            reply_to=reply_to,
            choice=choice,
            source_message_id=f"c{next(self._events)}",
        )
        handled = self.app.dispatcher.handle(inbound)
        for direct in handled.direct:
            self.out.write(f"  → {who}: {direct.text}\n")
        await self.settle()

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
        zone = pytz.timezone(self.zone())
        now = self.clock.now()
        when = parse_move(text, now.astimezone(zone), zone)
        if when is None:
            self.out.write(f"  (:time needs {TIME_FORMS})\n")
            return
        if when < now:
            local_now = now.astimezone(zone)
            self.out.write(
                f"  (it is already {_moment(local_now)}: the clock only goes forward,"
                " because timers that fired cannot be undone)\n"
            )
            return
        self.clock.set(when)
        self.out.write(f"  (it is now {_moment(when.astimezone(zone))})\n")
        await self.settle()

    def zone(self) -> str:
        """The first coach's time zone, for reading typed times."""
        with unit_of_work(self.app.engine) as uow:
            coach = uow.exec(select(Coach)).first()
        return str(coach.policy.get("timezone") or "UTC") if coach else "UTC"

    async def play(self, lines: Iterable[str]) -> None:
        """Feed a script of lines, echoing each as a chat transcript."""
        for line in lines:
            if line.strip() and not line.startswith(":"):
                self.out.write(line.rstrip() + "\n")
            if not await self.feed(line):
                return


def _moment(local: datetime) -> str:
    """`Mon 7 Dec 2026, 09:00 GMT`: the console's clock line, the day not zero-padded."""
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M %Z}"
