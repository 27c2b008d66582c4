"""One command parser for every transport: a registry of commands and their help lines."""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.messages import Inbound, Reply
from bot.messages import OutgoingDocument as Document  # one file shape, reply to transport
from bot.store.unit import UnitOfWork
from rules.lines import COACH_ONLY, STRANGER_LINE

__all__ = [
    "STRANGER_COMMANDS",
    "Actor",
    "Command",
    "CommandSet",
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

#: What a stranger may run: joining, and /help (which shows how to join).
STRANGER_COMMANDS = frozenset({"start", "join", "help"})


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
    commands: Registry
    bot_username: str | None = None  # Telegram deep links
    services: dict[str, Any] = field(default_factory=dict)


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


class CommandSet:
    """The commands of one module, in the order they are defined."""

    def __init__(self) -> None:
        self.commands: list[Command] = []

    def add(self, name: str, *, roles: set[Role], usage: str) -> Callable[[Handler], Handler]:
        """Make the decorated function the command `/name`."""

        def register(handler: Handler) -> Handler:
            self.commands.append(Command(name, frozenset(roles), handler, usage))
            return handler

        return register


class Registry:
    """Every command by name, in the order of the sets it is made of (the order /help lists)."""

    def __init__(self, *sets: CommandSet) -> None:
        self._commands: dict[str, Command] = {}
        for commands in sets:
            for command in commands.commands:
                self._commands[command.name] = command

    def get(self, name: str) -> Command | None:
        """The command called `name`, if any."""
        return self._commands.get(name)

    def for_role(self, role: Role) -> list[Command]:
        """Commands a person in `role` may use, in order."""
        return [c for c in self._commands.values() if role in c.roles]

    def closest(self, name: str) -> str | None:
        """The command name closest to a mistyped one."""
        match = difflib.get_close_matches(name, list(self._commands), n=1, cutoff=0.6)
        return match[0] if match else None

    def names(self) -> list[str]:
        """All command names."""
        return list(self._commands)

    def __contains__(self, name: object) -> bool:
        return name in self._commands

    def run(self, ctx: Context, name: str, *, args: str) -> Reply:
        """Run `/name args` for the asker and return what they are told, never raising."""
        command = self.get(name)
        role = ctx.actor.role
        if role is Role.STRANGER and (command is None or name not in STRANGER_COMMANDS):
            return Reply(STRANGER_LINE)  # nothing else is for them, coach commands included
        if command is None:
            return Reply(self._unknown(name, role))
        if role not in command.roles:
            if Role.COACH in command.roles and role is not Role.COACH:
                return Reply(COACH_ONLY)
            return Reply(f"/{name} is not available to you. /help lists what you can use.")
        try:
            result = command.handler(ctx, args)
        except UsageError as error:
            return Reply(str(error))
        return result if isinstance(result, Reply) else Reply(result)

    def _unknown(self, name: str, role: Role) -> str:
        allowed = {c.name for c in self.for_role(role)}
        guess = self.closest(name)
        hint = f" Did you mean /{guess}?" if guess in allowed else ""
        return f"I don't know /{name}.{hint} /help lists what you can use."


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
