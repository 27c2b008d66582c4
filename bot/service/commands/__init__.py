"""Commands for coaches and clients; `run_command` is how every transport runs one."""

from __future__ import annotations

import logging

from bot.service.commands.registry import Context, Registry, Reply, Role, UsageError

log = logging.getLogger(__name__)

REGISTRY = Registry()

COACH_ONLY = "That command is for coaches."
STRANGER_LINE = (
    "Hello! I pass messages between coaches and their clients. If your coach gave you an "
    "invite code, send /start CODE to join."
)
#: What a stranger may run: joining, and /help (which shows how to join).
STRANGER_COMMANDS = frozenset({"start", "join", "help"})


def run_command(ctx: Context, name: str, args: str) -> Reply:
    """Run `/name args` for the asker and return what they are told, never raising."""
    _load_handlers()
    command = REGISTRY.get(name)
    if ctx.actor.role is Role.STRANGER and (command is None or name not in STRANGER_COMMANDS):
        return Reply(STRANGER_LINE)  # nothing else is for them, coach commands included
    if command is None:
        return Reply(_unknown(name, ctx.actor.role))
    if ctx.actor.role not in command.roles:
        if Role.COACH in command.roles and ctx.actor.role is not Role.COACH:
            return Reply(COACH_ONLY)
        return Reply(f"/{name} is not available to you. /help lists what you can use.")
    try:
        result = command.handler(ctx, args)
    except UsageError as error:
        return Reply(str(error))
    return result if isinstance(result, Reply) else Reply(result)


def is_command(name: str) -> bool:
    """True when `/name` is a command of the bot."""
    _load_handlers()
    return REGISTRY.get(name) is not None


def _unknown(name: str, role: Role) -> str:
    allowed = {c.name for c in REGISTRY.for_role(role)}
    guess = REGISTRY.closest(name)
    hint = f" Did you mean /{guess}?" if guess in allowed else ""
    return f"I don't know /{name}.{hint} /help lists what you can use."


def _load_handlers() -> None:
    """Import the modules that register commands (once; imports are cached)."""
    from bot.service.commands import handlers  # noqa: F401
