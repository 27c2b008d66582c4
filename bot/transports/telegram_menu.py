"""The commands menu: client commands for everyone, coach commands in each coach's chat."""

from __future__ import annotations

import asyncio
import logging
import re

from sqlalchemy.engine import Engine
from telegram import Bot, BotCommand, BotCommandScopeChat

from bot.service.commands import REGISTRY
from bot.service.commands.registry import Role
from bot.store.unit import unit_of_work

log = logging.getLogger(__name__)

_NAME = re.compile(r"[a-z0-9_]{1,32}")
MAX_COMMANDS = 100
MAX_DESCRIPTION = 256


def menu(role: Role) -> list[BotCommand]:
    """The commands a role may use, worded as /help words them (Slack-only ones left out).

    The default menu (role CLIENT) also serves newcomers, so it keeps /start.
    """
    from bot.service.commands import handlers  # noqa: F401  (registers the commands)
    from bot.service.commands.help import CLIENT_LINES, JOIN_COMMANDS, KIND_LINES

    pairs: list[tuple[str, str]] = []
    if role is Role.CLIENT:
        pairs += [_from_help_line(line) for line in KIND_LINES]
    for command in REGISTRY.for_role(role):
        if command.usage.startswith("/boundary ") or (
            role is Role.COACH and command.name in JOIN_COMMANDS
        ):
            continue
        line = CLIENT_LINES.get(command.name) if role is Role.CLIENT else None
        pairs.append(_from_help_line(line) if line else (command.name, command.help))
    return [
        BotCommand(name, (text or name)[:MAX_DESCRIPTION])
        for name, text in pairs[:MAX_COMMANDS]
        if _NAME.fullmatch(name)
    ]


def _from_help_line(line: str) -> tuple[str, str]:
    """`/fyi text — an update` -> (`fyi`, `An update`)."""
    usage, _, text = line.partition(" — ")
    text = text.strip()
    return usage.split()[0].lstrip("/"), text[:1].upper() + text[1:]


def coach_chats(engine: Engine) -> list[int]:
    """The private chats of the coaches on Telegram."""
    with unit_of_work(engine) as uow:
        chats = [identity.chat_id for identity in uow.identities.coaches_on("telegram")]
    return sorted({int(chat) for chat in chats if chat.lstrip("-").isdigit()})


async def publish_menu(bot: Bot, engine: Engine) -> None:
    """Set the menus; a failure is logged and does not stop the bot."""
    try:
        await bot.set_my_commands(menu(Role.CLIENT))
        coach_menu = menu(Role.COACH)
        for chat_id in await asyncio.to_thread(coach_chats, engine):
            await bot.set_my_commands(coach_menu, scope=BotCommandScopeChat(chat_id))
    except Exception as error:  # Telegram or the database: the menu can wait for a restart
        log.warning("telegram: commands menu not set (%s)", type(error).__name__)
