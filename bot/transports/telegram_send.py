"""Outgoing messages to Telegram: HTML-escaped, split at 4096, buttons, copies, files, reactions.

Telegram has no idempotency keys, so a retry of the same outbox row continues where the last
attempt stopped: the text pieces, copies and files already sent are remembered by key in this
process. Delivery stays at least once: a send whose answer was lost (a timeout, a restart
between sending and recording) is sent again by the retry.
"""

from __future__ import annotations

import html
import logging
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReactionTypeEmoji,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.messages import Choice, Outgoing
from bot.ports import DeliveryError
from bot.transports.telegram_files import reply_parameters, too_large_line, upload

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit, in UTF-16 code units of the text after HTML parsing
MAX_CALLBACK_DATA = 64  # bytes
REACTION = "👍"
_REMEMBERED = 1000  # outbox rows whose partial progress is kept for their retry
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cost(text: str) -> int:
    """The length `text` counts for once escaped (conservative: entities count in full)."""
    return _units(html.escape(text, quote=False))


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Plain text in pieces that fit one message each once escaped, cut at line breaks."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        for part in _cut_line(line, limit) if _cost(line) > limit else [line]:
            cost = _cost(part) + (1 if current else 0)
            if current and size + cost > limit:
                pieces.append("\n".join(current))
                current, cost, size = [], _cost(part), 0
            current.append(part)
            size += cost
    if current:
        pieces.append("\n".join(current))
    return [piece for piece in pieces if piece.strip()]


def _cut_line(line: str, limit: int) -> list[str]:
    """A line longer than a message, cut at spaces where there are any, else anywhere."""
    parts: list[str] = []
    rest = line
    while rest:
        fits, size = 0, 0
        while fits < len(rest) and size + _cost(rest[fits]) <= limit:
            size += _cost(rest[fits])
            fits += 1
        if fits == len(rest):
            parts.append(rest)
            break
        space = rest.rfind(" ", 0, fits)
        end = space + 1 if space > 0 else max(fits, 1)
        parts.append(rest[:end])
        rest = rest[end:]
    return parts


def keyboard(choices: Sequence[Choice]) -> InlineKeyboardMarkup | None:
    """The buttons, two to a row; a button whose data Telegram would refuse is left out."""
    buttons = []
    for choice in choices:
        if len(choice.data.encode("utf-8")) > MAX_CALLBACK_DATA:
            log.warning("telegram: a button's data is over 64 bytes; left it out")
            continue
        buttons.append(InlineKeyboardButton(choice.label, callback_data=choice.data))
    if not buttons:
        return None
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, whether PTB gives it as seconds or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(error: TelegramError) -> DeliveryError:
    """The outbox's view of a PTB error: wait, give up, or try again later."""
    reason = "telegram: " + " ".join(str(error).split())[:200]
    if isinstance(error, RetryAfter):
        return DeliveryError("telegram: flood control", retry_after=retry_after_seconds(error))
    if isinstance(error, Forbidden | ChatMigrated | BadRequest):
        return DeliveryError(reason, permanent=True)  # blocked, chat not found, refused
    if isinstance(error, InvalidToken):
        return DeliveryError("telegram: the bot token was refused")
    if isinstance(error, NetworkError):  # includes TimedOut
        return DeliveryError(reason)
    return DeliveryError(reason)


def _cannot_parse(error: BadRequest) -> bool:
    return "can't parse entities" in str(error).lower()


@dataclass
class _Progress:
    """What an earlier attempt at the same outbox row already delivered."""

    pieces: list[str] = field(default_factory=list)  # message ids of the text pieces sent
    copied: int = 0
    documents: int = 0  # files sent (or replaced by a too-large line)


class TelegramSender:
    """Sends outbox messages and direct lines through a PTB `Bot`."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self._progress: OrderedDict[str, _Progress] = OrderedDict()

    async def send(self, message: Outgoing) -> str:
        """Deliver `message`; returns the message id of its (first) text piece."""
        progress = self._progress.pop(message.idempotency_key, None) or _Progress()
        try:
            reacted = await self._react(message)
            if reacted is not None:
                return reacted
            await self._send_pieces(message, progress)
            await self._copy(message, progress)
            await self._send_documents(message, progress)
            if not progress.pieces:
                raise BadRequest("nothing could be sent")
        except TelegramError as error:
            self._remember(message.idempotency_key, progress)
            raise delivery_error(error) from None
        return progress.pieces[0]

    async def say(self, chat_id: str, text: str, *, choices: Sequence[Choice] = ()) -> None:
        """Send a line straight back (not through the outbox); a failure is only logged."""
        message = Outgoing("telegram", chat_id, text, idempotency_key="", choices=tuple(choices))
        try:
            await self._send_pieces(message, _Progress())
        except TelegramError as error:
            log.warning("telegram: a direct answer was not sent: %s", delivery_error(error))

    def _remember(self, key: str, progress: _Progress) -> None:
        if progress.pieces or progress.copied or progress.documents:
            self._progress[key] = progress
            while len(self._progress) > _REMEMBERED:
                self._progress.popitem(last=False)

    async def _send_pieces(self, message: Outgoing, progress: _Progress) -> None:
        pieces = split_text(message.text)
        if not pieces and not message.copy_from and not message.documents:
            raise BadRequest("message text is empty")
        markup = keyboard(message.choices)
        for index in range(len(progress.pieces), len(pieces)):
            last = index == len(pieces) - 1
            sent = await self._send_piece(
                message.chat_id,
                pieces[index],
                reply_to=message.reply_to if index == 0 else None,
                markup=markup if last else None,
            )
            progress.pieces.append(sent)

    async def _send_piece(
        self, chat_id: str, text: str, *, reply_to: str | None, markup: InlineKeyboardMarkup | None
    ) -> str:
        reply = reply_parameters(reply_to)
        try:
            return await self._post(
                chat_id, html.escape(text, quote=False), reply=reply, markup=markup, as_html=True
            )
        except BadRequest as error:
            if not _cannot_parse(error):
                raise
            log.warning("telegram: HTML refused; sent as plain text")  # its reason quotes the text
            return await self._post(chat_id, text, reply=reply, markup=markup, as_html=False)

    async def _post(
        self,
        chat_id: str,
        text: str,
        *,
        reply: ReplyParameters | None,
        markup: InlineKeyboardMarkup | None,
        as_html: bool,
    ) -> str:
        sent = await self._bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML if as_html else None,
            link_preview_options=_NO_PREVIEW,
            reply_markup=markup,
            reply_parameters=reply,
        )
        return str(sent.message_id)

    async def _copy(self, message: Outgoing, progress: _Progress) -> None:
        """Copy each attachment's original message to the recipient, after the text."""
        for from_chat, message_id in message.copy_from[progress.copied :]:
            try:
                copy = await self._bot.copy_message(message.chat_id, from_chat, int(message_id))
            except BadRequest as error:  # the original is gone: the text went, keep going
                log.warning("telegram: an attachment could not be copied: %s", error)
            except ValueError:
                log.warning("telegram: an attachment has no usable message id")
            else:
                if not progress.pieces:  # no text: the copy stands for the message
                    progress.pieces.append(str(copy.message_id))
            progress.copied += 1

    async def _send_documents(self, message: Outgoing, progress: _Progress) -> None:
        """Upload each file after the text, in the same reply; a file too big becomes a line."""
        reply = reply_parameters(message.reply_to)
        for document in message.documents[progress.documents :]:
            line = too_large_line(document)
            if line is None:
                sent = await upload(self._bot, message.chat_id, document=document, reply=reply)
            else:
                log.info("telegram: a file over the size limit was replaced by a line")
                sent = await self._send_piece(
                    message.chat_id, line, reply_to=message.reply_to, markup=None
                )
            if not progress.pieces:  # no text: the first file stands for the message
                progress.pieces.append(sent)
            progress.documents += 1

    async def _react(self, message: Outgoing) -> str | None:
        """React 👍 to `extra["react_to"]` instead of sending the text; None: send the text."""
        target = message.extra.get("react_to")
        if target is None or not str(target).isdigit():
            return None
        try:
            await self._bot.set_message_reaction(
                message.chat_id, int(target), ReactionTypeEmoji(REACTION)
            )
        except BadRequest as error:
            log.info("telegram: reaction refused (%s); sending the text instead", error)
            return None
        return str(target)
