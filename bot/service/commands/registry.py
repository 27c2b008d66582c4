"""One command parser for every transport: a registry of commands and their help lines."""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.messages import Choice, Inbound
from bot.messages import OutgoingDocument as Document  # one file shape, reply to transport
from bot.store.unit import UnitOfWork

__all__ = [
    "Actor",
    "Command",
    "Context",
    "Document",
    "Registry",
    "Reply",
    "Role",
    "UsageError",
    "split_command",
    "words",
]
from bot.store.models import Client, Coach, Identity


class Role(StrEnum):
    """Who is asking."""

    COACH = "coach"
    CLIENT = "client"
    STRANGER = "stranger"


@dataclass
class Actor:
    """The person behind an inbound message, as the bot knows them."""

    role: Role
    identity: Identity | None = None
    coach: Coach | None = None  # the coach themselves, or the client's coach
    client: Client | None = None


@dataclass
class Context:
    """What a command may use: the open transaction, the time, who asked, and the inbound."""

    uow: UnitOfWork
    now: datetime
    actor: Actor
    inbound: Inbound
    bot_username: str | None = None  # Telegram deep links
    services: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What the asker is told; `private` asks Slack for an ephemeral answer."""

    text: str
    choices: tuple[Choice, ...] = ()
    documents: tuple[Document, ...] = ()
    private: bool = True


class UsageError(ValueError):
    """A bad argument; the message is the one line the asker sees."""


Handler = Callable[[Context, str], Reply | str]


@dataclass(frozen=True)
class Command:
    """A command: its name, who may use it, and the handler whose docstring is its help."""

    name: str
    roles: frozenset[Role]
    handler: Handler
    usage: str  # e.g. "/hours mon-fri 09:00-17:00"

    @property
    def help(self) -> str:
        """The first line of the handler's docstring."""
        doc = (self.handler.__doc__ or "").strip().splitlines()
        return doc[0] if doc else ""


class Registry:
    """Every command by name."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, name: str, *, roles: set[Role], usage: str) -> Callable[[Handler], Handler]:
        """Register the decorated function as `/name`."""

        def register(handler: Handler) -> Handler:
            self._commands[name] = Command(name, frozenset(roles), handler, usage)
            return handler

        return register

    def get(self, name: str) -> Command | None:
        """The command called `name`, if any."""
        return self._commands.get(name)

    def for_role(self, role: Role) -> list[Command]:
        """Commands a person in `role` may use, in registration order."""
        return [c for c in self._commands.values() if role in c.roles]

    def closest(self, name: str) -> str | None:
        """The command name closest to a mistyped one."""
        match = difflib.get_close_matches(name, list(self._commands), n=1, cutoff=0.6)
        return match[0] if match else None

    def names(self) -> list[str]:
        """All command names."""
        return list(self._commands)


def split_command(text: str) -> tuple[str, str] | None:
    """`/hours mon 09:00-12:00` -> (`hours`, `mon 09:00-12:00`); None if not a command.

    Telegram's `/cmd@botname` form is accepted; names are case-insensitive.
    """
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None
    head, _, rest = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name or not name.replace("_", "").isalnum():
        return None
    return name, rest.strip()


def words(args: str) -> list[str]:
    """Split arguments like a shell, tolerating an unbalanced quote."""
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()
