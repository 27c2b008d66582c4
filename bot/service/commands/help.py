"""`/help` for everyone: the commands the asker may use, one `usage — help` a line."""

from __future__ import annotations

from bot.ports import MenuEntry
from bot.service.commands.client import CLIENT_ZONE_EXAMPLE
from bot.service.commands.registry import CommandSet, Context, Registry, Role

COMMANDS = CommandSet()

#: Shared commands read differently for a client; the kind commands are handled as messages.
CLIENT_LINES = {
    "hours": "/hours — when your coach is available, how soon they reply, your next session",
    "timezone": f"{CLIENT_ZONE_EXAMPLE} — the time zone I show you times in",
}
KIND_LINES = (
    "/fyi text — an update for your coach; no reply needed",
    "/ask text — a question that needs a reply",
    "/reschedule text — about moving or booking a session",
    "/goals text — your goals for your coach",
)
#: Joining is for newcomers; people already known are not shown it.
JOIN_COMMANDS = {"start", "join"}


@COMMANDS.add("help", roles={Role.COACH, Role.CLIENT, Role.STRANGER}, usage="/help")
def help_command(ctx: Context, args: str) -> str:
    """What you can ask me, one command a line."""
    role = ctx.actor.role
    lines = []
    for command in ctx.commands.for_role(role):
        if command.name in JOIN_COMMANDS and role is not Role.STRANGER:
            continue
        if role is Role.CLIENT and command.name in CLIENT_LINES:
            lines.append(CLIENT_LINES[command.name])
        else:
            lines.append(f"{command.usage} — {command.help}")
    if role is Role.CLIENT:
        lines[:0] = [*KIND_LINES, "Or just write: I'll ask what kind of message it is if needed."]
    if role is Role.STRANGER:
        lines.insert(0, "I pass messages between coaches and their clients.")
    return "\n".join(lines)


def menu_entries(commands: Registry, role: Role) -> tuple[MenuEntry, ...]:
    """The commands a role may use, worded as /help words them (Slack-only ones left out).

    The menu for clients also serves newcomers, so it keeps /start.
    """
    pairs: list[tuple[str, str]] = []
    if role is Role.CLIENT:
        pairs += [_from_help_line(line) for line in KIND_LINES]
    for command in commands.for_role(role):
        if command.usage.startswith("/boundary ") or (
            role is Role.COACH and command.name in JOIN_COMMANDS
        ):
            continue
        line = CLIENT_LINES.get(command.name) if role is Role.CLIENT else None
        pairs.append(_from_help_line(line) if line else (command.name, command.help))
    return tuple(MenuEntry(name, text or name) for name, text in pairs)


def _from_help_line(line: str) -> tuple[str, str]:
    """`/fyi text — an update` -> (`fyi`, `An update`)."""
    usage, _, text = line.partition(" — ")
    text = text.strip()
    return usage.split()[0].lstrip("/"), text[:1].upper() + text[1:]
