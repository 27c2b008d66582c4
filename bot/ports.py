"""Where the core and the transports meet, below both: each side sees only these protocols.

A transport is handed a `Core` by the composition root (`bot.app`) and gives the outbox a
`Transport`; it imports nothing else of the bot beyond the message shapes (`bot.messages`),
its settings (`bot.config`) and the text catalogue (`rules.lines`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.messages import Inbound, Outgoing, Reply


class DeliveryError(Exception):
    """A send failed. `permanent` means retrying cannot help (bot blocked, chat gone)."""

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after  # seconds the platform asked us to wait (HTTP 429)


class Transport(Protocol):
    """A platform the outbox sends through; `send` returns the platform's message id."""

    platform: str
    max_per_second: float  # the platform's global cap (Telegram: 30)

    async def send(self, message: Outgoing) -> str: ...


class StartFailed(RuntimeError):
    """A platform cannot start (its token was refused...): one line for the operator."""


class Unavailable(RuntimeError):
    """The database could not be reached: nothing of the message was kept; try it again."""


def error_name(error: BaseException) -> str:
    """The name to log for an error: the database's own, when it could not be reached."""
    if isinstance(error, Unavailable) and error.args:
        return str(error.args[0])
    return type(error).__name__


@dataclass(frozen=True)
class Handled:
    """What became of an inbound message; `direct` lines are sent straight back, unstored."""

    outcome: str  # duplicate, stranger, client, choice, command, relay, coach, ignored, joined
    direct: tuple[Reply, ...] = ()
    message_id: int | None = None


@dataclass(frozen=True)
class MenuEntry:
    """A command in a platform's command menu: its name and one line about it."""

    name: str
    description: str


@dataclass(frozen=True)
class Menus:
    """The command menus: one for everyone, one for coaches in their own chats."""

    everyone: tuple[MenuEntry, ...]
    coaches: tuple[MenuEntry, ...]
    coach_chats: tuple[str, ...]  # the chats the coaches' menu is set in


@dataclass(frozen=True)
class WaitingItem:
    """A message waiting for the coach's reply, as a home page lists it."""

    client: str
    label: str
    due: str  # the reply-by time in the coach's zone
    overdue: bool
    preview: str


@dataclass(frozen=True)
class UpdateItem:
    """An update waiting for the digest: when it came (coach's zone) and its preview."""

    at: str
    preview: str


@dataclass(frozen=True)
class ClientUpdates:
    """One client's updates waiting for the digest."""

    client: str
    items: tuple[UpdateItem, ...]


@dataclass(frozen=True)
class CoachHome:
    """What a coach's home page shows: the contract now, replies owed, today's updates."""

    name: str
    now: str
    open: bool
    hours: str
    reply_promise: str
    digest_at: str
    default_mode: str
    waiting: tuple[WaitingItem, ...]
    updates: tuple[ClientUpdates, ...]


@dataclass(frozen=True)
class ClientHome:
    """What a client's home page shows: their coach and their contract in words."""

    coach: str
    contract: str


Home = CoachHome | ClientHome | None  # None: a stranger


@dataclass(frozen=True)
class Account:
    """A coach's account on a platform and the chat the bot reaches them in."""

    user_id: str
    chat_id: str


class Core(Protocol):
    """Everything a transport may ask of the bot."""

    def now(self) -> datetime:
        """The bot's clock (injected: a test's, or the system's)."""
        ...

    def handle(self, inbound: Inbound) -> Handled:
        """Handle one inbound message exactly once; raises Unavailable if it was not kept."""
        ...

    def handle_batch(self, inbounds: Sequence[Inbound]) -> list[Handled]:
        """Handle several in order with one commit; a shorter list if some were not handled."""
        ...

    def note_unread(self, *, platform: str, user_id: str, event_id: str, error: str) -> None:
        """A client's message could not be read at all: the coach's digest says so."""
        ...

    def connected(self, platform: str, *, username: str) -> None:
        """The platform is reachable as the bot account `username` (for deep links)."""
        ...

    def menus(self, platform: str) -> Menus:
        """The command menus of `platform`, for one that shows them."""
        ...

    def home(self, platform: str, user_id: str) -> Home:
        """What the account's home page shows now (only looked at: nothing is marked)."""
        ...

    def coach_accounts(self, platform: str) -> list[Account]:
        """The coaches' accounts on `platform`."""
        ...

    def coach_chat_is(self, platform: str, *, user_id: str, chat_id: str) -> None:
        """The chat the bot reaches the coach `user_id` in on `platform` is `chat_id`."""
        ...


class Platform(Transport, Protocol):
    """A transport that also receives: it sends for the outbox and feeds the core."""

    async def run(self, core: Core, stop: asyncio.Event) -> None:
        """Receive until `stop` is set, handing every update to `core`."""
        ...
