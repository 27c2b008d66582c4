"""Inbound -> who -> processed? -> command or client message -> rules -> outbox, in one transaction.

Every transport, the console and the tests call `Dispatcher.handle`. Nothing is sent from in
here: replies are outbox rows committed with the message they answer, and the outbox worker is
nudged after the commit. A stranger's join line is an outbox row too, one per stranger and
`STRANGER_WINDOW` (its key says which), so a flood from a stranger is answered once; only the
answers of the commands a stranger may run (/start, /help) are returned to be sent directly.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.delivery import outbox
from bot.messages import Inbound, Reply
from bot.ports import Handled
from bot.service import client_flow
from bot.service.commands.registry import (
    STRANGER_COMMANDS,
    Actor,
    Context,
    Registry,
    Role,
    split_command,
)
from bot.service.relay import forward_for, relay_reply
from bot.store.events import AlreadyHandled
from bot.store.unit import UnitOfWork, unit_of_work
from rules.classify import kind_for_command
from rules.lines import COACH_PLAIN_LINE, EMPTY_KIND_LINES, NOT_PRIVATE_LINE, STRANGER_LINE

log = logging.getLogger(__name__)

KIND_COMMANDS = {"fyi", "ask", "reschedule", "goals"}

STRANGER_WINDOW = timedelta(minutes=10)  # a stranger is answered at most once in this long


@dataclass
class Dispatcher:
    """The single entry point for everything people send to the bot."""

    engine: Engine
    clock: Clock
    commands: Registry
    bot_usernames: dict[str, str] = field(default_factory=dict)  # platform -> bot username
    services: dict[str, object] = field(default_factory=dict)
    on_commit: Callable[[], None] = lambda: None

    def handle(self, inbound: Inbound) -> Handled:
        """Handle one inbound message exactly once; raises if the database is unreachable."""
        inbound = _without_nul(inbound)
        try:
            with unit_of_work(self.engine) as uow:
                handled = self._handle(uow, inbound)
        except AlreadyHandled:
            return Handled("duplicate")
        if handled.outcome != "duplicate" and (handled.outcome != "stranger" or not handled.direct):
            self.on_commit()
        return handled

    def handle_batch(self, inbounds: Sequence[Inbound]) -> list[Handled]:
        """Handle several inbound messages in order with one commit (group commit).

        A platform that delivers in batches (Telegram's getUpdates) stores the whole batch in one
        transaction before confirming any of it. If anything in the batch goes wrong, nothing
        of it is kept and each message is handled in a transaction of its own instead, so one
        bad message costs only itself; an error then ends the list early (the rest unhandled).
        """
        cleaned = [_without_nul(inbound) for inbound in inbounds]
        try:
            with unit_of_work(self.engine) as uow:
                results = self._handle_all(uow, cleaned)
        except Exception:
            return self._one_by_one(cleaned)
        if any(r.outcome != "duplicate" and not r.direct for r in results):
            self.on_commit()
        return results

    def _handle_all(self, uow: UnitOfWork, inbounds: Sequence[Inbound]) -> list[Handled]:
        keys = {(i.platform, i.event_id) for i in inbounds}
        done = uow.events.handled(keys)
        results = []
        for inbound in inbounds:
            key = (inbound.platform, inbound.event_id)
            if key in done:
                results.append(Handled("duplicate"))
                continue
            results.append(self._handle(uow, inbound))
            done.add(key)
        return results

    def _one_by_one(self, inbounds: Sequence[Inbound]) -> list[Handled]:
        results: list[Handled] = []
        for inbound in inbounds:
            try:
                results.append(self.handle(inbound))
            except Exception:
                if not results:
                    raise
                return results
        return results

    def _handle(self, uow: UnitOfWork, inbound: Inbound) -> Handled:
        actor = identify(uow, inbound)
        if actor.role is Role.STRANGER:
            return self._stranger(uow, inbound, actor=actor)
        # Recording the event first makes a redelivery fail here, before any work is done.
        uow.events.record(inbound.platform, inbound.event_id, at=self.now)
        if not inbound.private:
            return self._answer(uow, inbound, reply=Reply(NOT_PRIVATE_LINE), outcome="ignored")
        if actor.role is Role.COACH:
            return self._coach(uow, inbound, actor=actor)
        return self._client(uow, inbound, actor=actor)

    @property
    def now(self) -> datetime:
        """The injected clock's time."""
        return self.clock.now()

    def _context(self, uow: UnitOfWork, inbound: Inbound, *, actor: Actor) -> Context:
        return Context(
            uow=uow,
            now=self.now,
            actor=actor,
            inbound=inbound,
            commands=self.commands,
            bot_username=self.bot_usernames.get(inbound.platform),
            services=dict(self.services),
        )

    def _stranger(self, uow: UnitOfWork, inbound: Inbound, *, actor: Actor) -> Handled:
        parsed = split_command(inbound.text)
        if not inbound.private:
            return self._tell_stranger(uow, inbound, line=NOT_PRIVATE_LINE)
        if parsed is None or parsed[0] not in STRANGER_COMMANDS or parsed[0] not in self.commands:
            return self._tell_stranger(uow, inbound, line=STRANGER_LINE)
        reply = self.commands.run(
            self._context(uow, inbound, actor=actor), parsed[0], args=parsed[1]
        )
        if identify(uow, inbound).role is not Role.CLIENT:
            return Handled("stranger", (reply,))
        # They are a client now: their welcome is as durable as any other answer.
        uow.events.note(inbound.platform, inbound.event_id, at=self.now)
        return self._answer(uow, inbound, reply=reply, outcome="joined")

    def _tell_stranger(self, uow: UnitOfWork, inbound: Inbound, *, line: str) -> Handled:
        """Queue `line` to a stranger's chat once per `STRANGER_WINDOW`, however much they send.

        Nothing they wrote is stored; the row holds only our own line and their chat.
        """
        now = self.now
        window = STRANGER_WINDOW.total_seconds()
        start = datetime.fromtimestamp(now.timestamp() // window * window, UTC)
        outbox.enqueue(
            uow,
            key=f"stranger:{inbound.platform}:{inbound.chat_id}:{start:%Y-%m-%dT%H:%MZ}",
            platform=inbound.platform,
            chat_id=inbound.chat_id,
            text=line,
            now=now,
        )
        return Handled("stranger")

    def _coach(self, uow: UnitOfWork, inbound: Inbound, *, actor: Actor) -> Handled:
        parsed = split_command(inbound.text)
        if parsed is not None:
            reply = self.commands.run(
                self._context(uow, inbound, actor=actor), parsed[0], args=parsed[1]
            )
            return self._answer(uow, inbound, reply=reply, outcome="command")
        assert actor.coach is not None
        found = None
        if inbound.reply_to is not None:
            found = forward_for(
                uow,
                coach_id=actor.coach.id or 0,
                platform=inbound.platform,
                chat_id=inbound.chat_id,
                platform_message_id=inbound.reply_to,
            )
        if found is None:
            return self._answer(uow, inbound, reply=Reply(COACH_PLAIN_LINE), outcome="coach")
        client, answered = found  # the reply answers the messages it replies to, no others
        receipt = relay_reply(
            uow,
            coach=actor.coach,
            client=client,
            text=inbound.text,
            now=self.now,
            key=f"evt:{inbound.platform}:{inbound.event_id}:relay",
            copy_from=_copies(inbound),
            message_ids=answered,
        )
        # A bare receipt may be shown as a reaction on the coach's message (Telegram does).
        plain = receipt == f"Sent to {client.name}."
        extra = (
            {"react_to": inbound.source_message_id} if plain and inbound.source_message_id else None
        )
        return self._answer(uow, inbound, reply=Reply(receipt), outcome="relay", extra=extra)

    def _client(self, uow: UnitOfWork, inbound: Inbound, *, actor: Actor) -> Handled:
        assert actor.client is not None and actor.coach is not None
        if inbound.choice is not None:
            line = client_flow.answer_choice(
                uow, client=actor.client, coach=actor.coach, data=inbound.choice, now=self.now
            )
            if line is not None:
                return self._answer(uow, inbound, reply=Reply(line), outcome="choice")
            return Handled("choice")
        parsed = split_command(inbound.text)
        kind = None
        text = inbound.text
        if parsed is not None and parsed[0] in KIND_COMMANDS:
            kind, text = kind_for_command(parsed[0]), parsed[1]
            if not text.strip() and not inbound.attachments:  # nothing to keep or pass on
                return self._answer(
                    uow, inbound, reply=Reply(EMPTY_KIND_LINES[parsed[0]]), outcome="command"
                )
        elif parsed is not None:
            reply = self.commands.run(
                self._context(uow, inbound, actor=actor), parsed[0], args=parsed[1]
            )
            return self._answer(uow, inbound, reply=reply, outcome="command")
        incoming = client_flow.Incoming(
            text=text,
            kind=kind,
            attachments=inbound.attachments,
            chat_id=inbound.chat_id,
            source_message_id=inbound.source_message_id,
        )
        message = client_flow.receive(
            uow,
            client=actor.client,
            coach=actor.coach,
            inbound=inbound,
            incoming=incoming,
            now=self.now,
        )
        return Handled("client", message_id=message.id)

    def _answer(
        self,
        uow: UnitOfWork,
        inbound: Inbound,
        *,
        reply: Reply,
        outcome: str,
        extra: dict[str, str] | None = None,
    ) -> Handled:
        """Queue `reply` to the asker's chat in this transaction."""
        outbox.enqueue(
            uow,
            key=f"evt:{inbound.platform}:{inbound.event_id}:reply",
            platform=inbound.platform,
            chat_id=inbound.chat_id,
            text=reply.text,
            now=self.now,
            choices=reply.choices,
            documents=reply.documents,
            extra=extra,
        )
        return Handled(outcome)


def identify(uow: UnitOfWork, inbound: Inbound) -> Actor:
    """Coach, client or stranger, from the platform account that wrote (one query)."""
    row = uow.identities.who(inbound.platform, inbound.user_id)
    if row is None or row[2] is None:
        return Actor(Role.STRANGER)
    identity, client, coach = row
    if identity.coach_id is not None:
        return Actor(Role.COACH, identity=identity, coach=coach)
    if client is None:
        return Actor(Role.STRANGER)
    if identity.chat_id != inbound.chat_id and inbound.private:
        identity.chat_id = inbound.chat_id  # they wrote from a new private chat: answer there
        uow.add(identity)
    return Actor(Role.CLIENT, identity=identity, coach=coach, client=client)


def _without_nul(inbound: Inbound) -> Inbound:
    """No database keeps NUL in text: drop it where messages come in; nothing else is lost."""
    if "\x00" not in inbound.text:
        return inbound
    return dataclasses.replace(inbound, text=inbound.text.replace("\x00", ""))


def _copies(inbound: Inbound) -> tuple[tuple[str, str], ...]:
    if inbound.attachments and inbound.source_message_id:
        return ((inbound.chat_id, inbound.source_message_id),)
    return ()
