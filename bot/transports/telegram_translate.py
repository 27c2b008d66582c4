"""Telegram updates in, transport-neutral actions out: no PTB type goes past this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import Chat, ChatMember, Message, Update

from bot.messages import Attachment, Inbound
from rules.lines import EDITED_LINE, UNSUPPORTED_LINE

PLATFORM = "telegram"

#: Content I cannot pass on, answered with UNSUPPORTED_LINE.
_UNSUPPORTED = ("poll", "location", "venue", "contact", "dice", "game", "invoice", "story")
_JOINED = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.RESTRICTED)


@dataclass(frozen=True)
class Dispatch:
    """Hand this to the Dispatcher; answer the button press once it committed."""

    inbound: Inbound
    callback_query_id: str | None = None


@dataclass(frozen=True)
class Answer:
    """Send one line straight back; nothing is stored."""

    chat_id: str
    text: str


@dataclass(frozen=True)
class Leave:
    """A group or channel: say one line (where the bot may write) and leave."""

    chat_id: str
    say: bool = True


@dataclass(frozen=True)
class Ignore:
    """Nothing to do; `why` is a short label for the debug log."""

    why: str


Action = Dispatch | Answer | Leave | Ignore


def translate(update: Update, now: datetime) -> Action:
    """What to do with one update (`now` dates button presses); never raises."""
    if update.callback_query is not None:
        return _callback(update, now)
    if update.my_chat_member is not None:
        chat = update.my_chat_member.chat
        status = update.my_chat_member.new_chat_member.status
        if chat.type != Chat.PRIVATE and status in _JOINED:
            return Leave(str(chat.id), say=chat.type != Chat.CHANNEL)
        return Ignore("my_chat_member")  # blocked, unblocked, removed
    if update.channel_post is not None or update.edited_channel_post is not None:
        post = update.channel_post or update.edited_channel_post
        assert post is not None
        return Leave(str(post.chat.id), say=False)
    if update.message is not None:
        return _message(update.update_id, update.message)
    if update.edited_message is not None:
        edited = update.edited_message
        if edited.chat.type != Chat.PRIVATE:
            return Leave(str(edited.chat.id))
        return Answer(str(edited.chat.id), EDITED_LINE)
    return Ignore("unhandled update type")


def _message(update_id: int, message: Message) -> Action:
    chat = message.chat
    if chat.type != Chat.PRIVATE:
        if message.left_chat_member is not None:
            return Ignore("left a group")  # we (or someone) left: nothing to say
        return Leave(str(chat.id))
    if message.from_user is None or message.from_user.is_bot:
        return Ignore("no human sender")
    attachments = attachments_of(message)
    text = message.text or message.caption or ""
    if not text and not attachments:
        if any(getattr(message, name, None) for name in _UNSUPPORTED):
            return Answer(str(chat.id), UNSUPPORTED_LINE)
        return Ignore("service message")
    reply = message.reply_to_message
    return Dispatch(
        Inbound(
            platform=PLATFORM,
            user_id=str(message.from_user.id),
            chat_id=str(chat.id),
            text=text,
            event_id=str(update_id),
            received_at=message.date,
            attachments=attachments,
            reply_to=str(reply.message_id) if reply is not None else None,
            source_message_id=str(message.message_id),
            private=True,
            display_name=message.from_user.full_name,
        )
    )


def _callback(update: Update, now: datetime) -> Action:
    query = update.callback_query
    assert query is not None
    chat_id = str(query.message.chat.id) if query.message is not None else str(query.from_user.id)
    if query.message is not None and query.message.chat.type != Chat.PRIVATE:
        return Leave(chat_id)
    return Dispatch(
        Inbound(
            platform=PLATFORM,
            user_id=str(query.from_user.id),
            chat_id=chat_id,
            text="",
            event_id=str(update.update_id),
            received_at=now,  # a button press carries no date of its own
            choice=query.data or "",
            private=True,
            display_name=query.from_user.full_name,
        ),
        callback_query_id=query.id,
    )


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """The media a message carries, as platform handles (the largest size of a photo)."""
    found: list[Attachment] = []
    if message.photo:
        found.append(Attachment("photo", message.photo[-1].file_id))
    for kind, media in (
        ("voice", message.voice),
        ("video", message.video),
        ("video", message.video_note),
        ("animation", message.animation),
        ("sticker", message.sticker),
    ):
        if media is not None:
            found.append(Attachment(kind, media.file_id))
    if message.audio is not None:
        name = message.audio.file_name or message.audio.title or ""
        found.append(Attachment("audio", message.audio.file_id, name))
    if message.document is not None and message.animation is None:
        document = message.document
        found.append(Attachment("document", document.file_id, document.file_name or ""))
    return tuple(found)
