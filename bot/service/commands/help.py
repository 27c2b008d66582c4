"""`/help` for everyone: the commands the asker may use, one `usage — help` a line."""

from __future__ import annotations

from bot.service.commands import REGISTRY
from bot.service.commands.client import CLIENT_ZONE_EXAMPLE
from bot.service.commands.registry import Context, Role

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


@REGISTRY.add("help", roles={Role.COACH, Role.CLIENT, Role.STRANGER}, usage="/help")
def help_command(ctx: Context, args: str) -> str:
    """What you can ask me, one command a line."""
    role = ctx.actor.role
    lines = []
    for command in REGISTRY.for_role(role):
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
