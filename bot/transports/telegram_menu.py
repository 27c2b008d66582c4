"""The commands menu: client commands for everyone, coach commands in each coach's chat."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence

from telegram import Bot, BotCommand, BotCommandScopeChat

from bot.ports import MenuEntry, Menus

log = logging.getLogger(__name__)

_NAME = re.compile(r"[a-z0-9_]{1,32}")
MAX_COMMANDS = 100
MAX_DESCRIPTION = 256


def bot_commands(entries: Sequence[MenuEntry]) -> list[BotCommand]:
    """The entries as Telegram takes them: valid names only, short descriptions, at most 100."""
    return [
        BotCommand(entry.name, entry.description[:MAX_DESCRIPTION])
        for entry in entries[:MAX_COMMANDS]
        if _NAME.fullmatch(entry.name)
    ]


async def publish_menu(bot: Bot, menus: Callable[[], Menus]) -> None:
    """Set the menus; a failure is logged and does not stop the bot."""
    try:
        found = await asyncio.to_thread(menus)
        await bot.set_my_commands(bot_commands(found.everyone))
        coach_menu = bot_commands(found.coaches)
        chats = sorted({int(chat) for chat in found.coach_chats if chat.lstrip("-").isdigit()})
        for chat_id in chats:
            await bot.set_my_commands(coach_menu, scope=BotCommandScopeChat(chat_id))
    except Exception as error:  # Telegram or the database: the menu can wait for a restart
        log.warning("telegram: commands menu not set (%s)", type(error).__name__)
