"""A chat harness: people say things to the Dispatcher; we read what each of them is sent.

What a person "sees" is every outbox row addressed to their chat (in order) plus any direct
reply the dispatcher returned, which is exactly what the outbox would deliver.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_commands
from bot.clock import ManualClock
from bot.messages import Attachment, Choice, Inbound
from bot.service.dispatch import Dispatcher, Handled
from bot.store.models import Client, Coach, Identity, Outbox


@dataclass
class Person:
    """Someone in the chat: their platform account and private chat."""

    name: str
    user_id: str
    platform: str = "telegram"

    @property
    def chat_id(self) -> str:
        """Their private chat with the bot (Telegram: the same as the user id)."""
        return self.user_id


@dataclass
class Harness:
    """Drives a Dispatcher the way a transport would and reads what people would see."""

    engine: Engine
    clock: ManualClock
    bot_username: str = "boundary_test_bot"
    people: dict[str, Person] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)
    _events: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    last: Handled | None = None

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(
            commands=build_commands(),
            engine=self.engine,
            clock=self.clock,
            bot_usernames={"telegram": self.bot_username},
        )

    def add_coach(
        self,
        key: str = "melody",
        name: str = "Melody",
        *,
        user_id: str = "100",
        policy: dict[str, Any] | None = None,
    ) -> Coach:
        """A configured coach with a Telegram identity, written straight to the database."""
        with Session(self.engine, expire_on_commit=False) as session:
            coach = Coach(
                key=key,
                name=name,
                telegram_user_id=user_id,
                policy=policy or {},
                created_at=self.clock.now(),
            )
            session.add(coach)
            session.flush()
            session.add(
                Identity(platform="telegram", user_id=user_id, chat_id=user_id, coach_id=coach.id)
            )
            session.commit()
        self.people[key] = Person(key, user_id)
        return coach

    def add_client(
        self,
        name: str,
        *,
        coach_key: str = "melody",
        user_id: str,
        mode: str = "open_door",
        **fields: Any,
    ) -> Client:
        """A client already joined (skipping the invite), written straight to the database."""
        with Session(self.engine, expire_on_commit=False) as session:
            coach = session.exec(select(Coach).where(Coach.key == coach_key)).one()
            client = Client(
                coach_id=coach.id or 0, name=name, mode=mode, created_at=self.clock.now(), **fields
            )
            session.add(client)
            session.flush()
            session.add(
                Identity(platform="telegram", user_id=user_id, chat_id=user_id, client_id=client.id)
            )
            session.commit()
        self.people[name.lower()] = Person(name.lower(), user_id)
        return client

    def person(self, who: str, user_id: str | None = None) -> Person:
        """A person by name; a new name becomes a stranger with a fresh user id."""
        if who not in self.people:
            self.people[who] = Person(who, user_id or str(9000 + len(self.people)))
        return self.people[who]

    def say(
        self,
        who: str,
        text: str = "",
        *,
        reply_to: str | None = None,
        choice: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        private: bool = True,
        at: datetime | None = None,
    ) -> list[str]:
        """`who` sends `text`; returns the texts sent back to `who` because of it."""
        if at is not None:
            self.clock.set(at)
        person = self.person(who)
        event = next(self._events)
        inbound = Inbound(
            platform=person.platform,
            user_id=person.user_id,
            chat_id=person.chat_id if private else "-500",
            text=text,
            event_id=f"e{event}",
            received_at=self.clock.now(),
            attachments=attachments,
            reply_to=reply_to,
            choice=choice,
            source_message_id=f"m{event}",
            private=private,
        )
        self.last = self.dispatcher.handle(inbound)
        direct = [r.text for r in self.last.direct]
        return direct + self.inbox(who)

    def press(self, who: str, label: str) -> list[str]:
        """`who` presses the button labelled `label` on the newest message offering it."""
        for row in reversed(self.rows(who)):
            for choice in row.payload.get("choices", []):
                if choice["label"] == label:
                    return self.say(who, choice=choice["data"])
        raise AssertionError(f"{who} was offered no button {label!r}")

    def rows(self, who: str) -> list[Outbox]:
        """Every outbox row addressed to `who`'s chat, oldest first."""
        person = self.person(who)
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(Outbox)
                    .where(Outbox.platform == person.platform, Outbox.chat_id == person.chat_id)
                    .order_by(col(Outbox.id))
                ).all()
            )

    def inbox(self, who: str) -> list[str]:
        """Texts sent to `who` since the last time we looked."""
        rows = self.rows(who)
        start = self._seen.get(who, 0)
        self._seen[who] = len(rows)
        return [row.text for row in rows[start:]]

    def choices(self, who: str) -> list[Choice]:
        """The buttons on the newest message to `who`."""
        rows = self.rows(who)
        if not rows:
            return []
        return [Choice(c["label"], c["data"]) for c in rows[-1].payload.get("choices", [])]

    def mark_sent(self, who: str, platform_message_id: str) -> Outbox:
        """Pretend the newest row to `who` was delivered as `platform_message_id`."""
        with Session(self.engine, expire_on_commit=False) as session:
            person = self.person(who)
            row = session.exec(
                select(Outbox)
                .where(Outbox.chat_id == person.chat_id)
                .order_by(col(Outbox.id).desc())
            ).first()
            assert row is not None, f"nothing was sent to {who}"
            row.status, row.platform_message_id = "sent", platform_message_id
            session.add(row)
            session.commit()
            return row
