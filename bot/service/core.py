"""The core as the transports see it (`bot.ports.Core`): one object, built in `bot.app`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.delivery import outbox
from bot.messages import Inbound
from bot.ports import Account, Handled, Home, Menus, Unavailable
from bot.service.commands.help import menu_entries
from bot.service.commands.registry import Registry, Role
from bot.service.dispatch import Dispatcher
from bot.service.home import home
from bot.store.db import unreachable
from bot.store.outbox import FAILED
from bot.store.unit import looking, unit_of_work


@dataclass
class BotCore:
    """What a transport may ask of the bot, and nothing more."""

    dispatcher: Dispatcher
    engine: Engine
    clock: Clock
    commands: Registry
    spell: Callable[[str, str], str]  # (text, platform) -> text as that platform names commands

    def now(self) -> datetime:
        """The injected clock's time."""
        return self.clock.now()

    def handle(self, inbound: Inbound) -> Handled:
        """Handle one inbound message exactly once; Unavailable if the database is not there."""
        try:
            handled = self.dispatcher.handle(inbound)
        except Exception as error:
            if unreachable(error):
                raise Unavailable(type(error).__name__) from error
            raise
        return self._spelled(handled, inbound.platform)

    def handle_batch(self, inbounds: Sequence[Inbound]) -> list[Handled]:
        """Handle several inbound messages in order with one commit (see `Dispatcher`)."""
        try:
            results = self.dispatcher.handle_batch(inbounds)
        except Exception as error:
            if unreachable(error):
                raise Unavailable(type(error).__name__) from error
            raise
        return [self._spelled(h, i.platform) for h, i in zip(results, inbounds, strict=False)]

    def _spelled(self, handled: Handled, platform: str) -> Handled:
        if not handled.direct:
            return handled
        direct = tuple(replace(r, text=self.spell(r.text, platform)) for r in handled.direct)
        return replace(handled, direct=direct)

    def note_unread(self, *, platform: str, user_id: str, event_id: str, error: str) -> None:
        """For a client, a failed outbox row the coach's digest lists; never the message text.

        The digest lists undelivered rows ("• to Alex, queued 10:02: <reason>"), so the note is
        such a row: `failed` from the start, it is never sent, and the digest marks it reported.
        """
        now = self.clock.now()
        with unit_of_work(self.engine) as uow:
            identity = uow.identities.of_account(platform, user_id)
            if identity is None or identity.client_id is None:
                return  # a stranger's message: nothing of theirs is kept
            row = outbox.enqueue(
                uow,
                key=f"{platform}:unread:{event_id}",
                platform=platform,
                chat_id=identity.chat_id,
                text="",
                now=now,
                client_id=identity.client_id,
            )
            row.status, row.attempts = FAILED, 0
            row.last_error = (
                f"a message they sent could not be read ({error}); they were asked to send it again"
            )
            uow.add(row)

    def connected(self, platform: str, *, username: str) -> None:
        """The bot's account on `platform` (Telegram deep links name it)."""
        self.dispatcher.bot_usernames[platform] = username

    def menus(self, platform: str) -> Menus:
        """The commands menus, and the coaches' chats on `platform` that get theirs."""
        with unit_of_work(self.engine) as uow:
            chats = [identity.chat_id for identity in uow.identities.coaches_on(platform)]
        return Menus(
            everyone=menu_entries(self.commands, Role.CLIENT),
            coaches=menu_entries(self.commands, Role.COACH),
            coach_chats=tuple(dict.fromkeys(chats)),
        )

    def home(self, platform: str, user_id: str) -> Home:
        """What the account sees on its home page now; looked at, nothing marked."""
        with looking(self.engine) as uow:
            return home(uow, platform, user_id=user_id, now=self.clock.now())

    def coach_accounts(self, platform: str) -> list[Account]:
        """The coaches' accounts on `platform`."""
        with unit_of_work(self.engine) as uow:
            return [Account(i.user_id, i.chat_id) for i in uow.identities.coaches_on(platform)]

    def coach_chat_is(self, platform: str, *, user_id: str, chat_id: str) -> None:
        """Reach the coach `user_id` on `platform` in `chat_id` from now on."""
        with unit_of_work(self.engine) as uow:
            identity = uow.identities.of_account(platform, user_id)
            mine = identity is not None and identity.coach_id is not None
            if identity is not None and mine and identity.chat_id != chat_id:
                identity.chat_id = chat_id
                uow.add(identity)
