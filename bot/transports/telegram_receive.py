"""One Telegram update, carried out: translated, committed by the Dispatcher, then answered.

`Receiver.process` says whether the update may be confirmed to Telegram. It may not while the
database is unreachable (Telegram redelivers it), nor for the first failures of an update that
makes the code fail; an update that fails every try is skipped, so it cannot block the rest,
and its sender is asked to send it again (and the coach's digest lists it).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from telegram import Bot, Update
from telegram.error import TelegramError

from bot.ports import Core, Handled, Unavailable, error_name
from bot.transports.edge import scrub
from bot.transports.telegram_send import TelegramSender, delivery_error
from bot.transports.telegram_translate import (
    PLATFORM,
    Action,
    Answer,
    Dispatch,
    Ignore,
    Leave,
    translate,
)
from rules.lines import NOT_PRIVATE_LINE, UNREAD_LINE, UNSUPPORTED_LINE

log = logging.getLogger(__name__)

MAX_TRIES = 3  # tries of an update that fails for a reason other than the database


class Outcome(Enum):
    """Whether an update may be confirmed to Telegram."""

    DONE = "done"  # committed (or nothing to keep): confirm it
    DATABASE_DOWN = "database down"  # not committed: let Telegram redeliver it
    FAILED = "failed"  # the code failed on it: redeliver, up to MAX_TRIES


def database_down(error: BaseException) -> bool:
    """True when the core could not keep the update because its database was away."""
    return isinstance(error, Unavailable)


class Receiver:
    """Carries out updates for one platform: the same code serves polling and the webhook."""

    def __init__(self, core: Core, bot: Bot, *, sender: TelegramSender) -> None:
        self._core = core
        self._bot = bot
        self._sender = sender
        self._tries: dict[int, int] = {}
        self._outage = False
        self._prepared: dict[str, Handled] = {}  # event id -> committed by `prepare`
        self._parsed: dict[int, tuple[Update, Action]] = {}  # update id -> read by `prepare`

    async def prepare(self, batch: Sequence[dict[str, Any]]) -> None:
        """Commit a batch's messages together (group commit) before any of them is confirmed.

        Each update is then carried out by `process` as usual, using what was committed here;
        if the batch cannot be committed together, each update takes its own path.
        """
        self._prepared.clear()
        self._parsed.clear()
        inbounds = []
        for raw in map(scrub, batch):
            try:
                update = Update.de_json(raw, self._bot)
            except Exception:
                continue  # `process_raw` answers it
            action = _translated(update, self._core)
            self._parsed[update.update_id] = (update, action)  # each update is read once
            if isinstance(action, Dispatch):
                inbounds.append(action.inbound)
        if len(inbounds) < 2:
            return
        try:
            results = await asyncio.to_thread(self._core.handle_batch, inbounds)
        except Exception:
            return
        self._prepared = {i.event_id: h for i, h in zip(inbounds, results, strict=False)}

    async def process_raw(self, raw: dict[str, Any]) -> Outcome:
        """Carry out an update given as Telegram's JSON (one PTB cannot read is answered)."""
        known = self._parsed.pop(raw.get("update_id"), None)  # type: ignore[arg-type]
        if known is not None:
            return await self.process(known[0], action=known[1])
        raw = scrub(raw)
        try:
            update = Update.de_json(raw, self._bot)
        except Exception as error:  # e.g. a field a newer Bot API made required
            log.warning(
                "telegram: update %s not readable (%s); skipped",
                raw.get("update_id"),
                type(error).__name__,
            )
            chat = unreadable_chat(raw)
            if chat is not None:
                await self._sender.say(chat, UNSUPPORTED_LINE)
            return Outcome.DONE
        return await self.process(update)

    async def process(self, update: Update, *, action: Action | None = None) -> Outcome:
        """Carry out `update`; DONE only once everything it needs kept is committed."""
        try:
            await self._carry_out(action or _translated(update, self._core))
        except Exception as error:
            outcome = self._failed(update.update_id, error)
            if outcome is Outcome.DONE and not database_down(error):
                await self._tell_unread(update, type(error).__name__)
            return outcome
        self._tries.pop(update.update_id, None)
        if self._outage:
            self._outage = False
            log.info("telegram: the database is reachable again; updates are flowing")
        return Outcome.DONE

    async def _carry_out(self, action: Action) -> None:
        if isinstance(action, Dispatch):
            await self._dispatch(action)
        elif isinstance(action, Answer):
            await self._sender.say(action.chat_id, action.text)
        elif isinstance(action, Leave):
            await self._leave(action)
        else:
            log.debug("telegram: update ignored (%s)", action.why)

    async def _dispatch(self, action: Dispatch) -> None:
        handled = self._prepared.pop(action.inbound.event_id, None)
        if handled is None:
            handled = await asyncio.to_thread(self._core.handle, action.inbound)
        for reply in handled.direct:  # a stranger's answer: nothing of theirs is stored
            await self._sender.say(action.inbound.chat_id, reply.text, choices=reply.choices)
        if action.callback_query_id is not None:
            try:
                await self._bot.answer_callback_query(action.callback_query_id)
            except TelegramError as error:  # the press is kept; only the spinner stays on
                log.info("telegram: button press not acknowledged: %s", delivery_error(error))

    async def _leave(self, action: Leave) -> None:
        if action.say:
            await self._sender.say(action.chat_id, NOT_PRIVATE_LINE)
        try:
            await self._bot.leave_chat(action.chat_id)
        except TelegramError as error:
            log.info("telegram: could not leave a group: %s", delivery_error(error))

    def _failed(self, update_id: int, error: Exception) -> Outcome:
        """Decide what a failure means; logs one line, never the message text."""
        name = error_name(error)
        if database_down(error):
            if not self._outage:
                log.warning(
                    "telegram: update %s not confirmed: database unreachable (%s); "
                    "Telegram will redeliver it",
                    update_id,
                    name,
                )
            self._outage = True
            return Outcome.DATABASE_DOWN
        tries = self._tries.get(update_id, 0) + 1
        frames = where(error)
        if tries < MAX_TRIES:
            self._tries[update_id] = tries
            log.error(
                "telegram: update %s failed (%s at %s), try %s", update_id, name, frames, tries
            )
            return Outcome.FAILED
        self._tries.pop(update_id, None)
        log.error("telegram: update %s skipped after %s failures (%s)", update_id, tries, name)
        return Outcome.DONE

    async def _tell_unread(self, update: Update, error: str) -> None:
        """An update skipped for good: its sender is asked to send it again, the coach told."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or chat.type != "private":
            return
        await self._sender.say(str(chat.id), UNREAD_LINE)
        try:
            await asyncio.to_thread(
                self._core.note_unread,
                platform=PLATFORM,
                user_id=str(user.id),
                event_id=str(update.update_id),
                error=error,
            )
        except Exception as failure:  # the client was asked; only the coach's note is missing
            log.warning("telegram: could not note an unread update: %s", type(failure).__name__)


def unreadable_chat(raw: dict[str, Any]) -> str | None:
    """The private chat an unreadable message came from, to tell the sender; else None."""
    message = raw.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    if isinstance(chat, dict) and chat.get("type") == "private" and "id" in chat:
        return str(chat["id"])
    return None


def where(error: BaseException) -> str:
    """Where an error was raised, as file:line of each frame: no values, no source text."""
    frames = traceback.extract_tb(error.__traceback__)
    return " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames[-4:]))


def _translated(update: Update, core: Core) -> Action:
    try:
        return translate(update, core.now())
    except Exception as error:  # an update shape PTB parsed but we did not foresee
        log.warning(
            "telegram: update %s not understood (%s)", update.update_id, type(error).__name__
        )
        return Ignore("not understood")
