"""The transport-neutral shapes: what a transport hands in and what the bot sends out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Attachment:
    """A photo, voice note, video or file; `file_id` is the platform's handle for it."""

    type: str  # photo, voice, video, document, audio, file
    file_id: str
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"type": self.type, "file_id": self.file_id, "name": self.name}


@dataclass(frozen=True)
class Inbound:
    """Anything a person did that reaches the bot, translated at the edge of a transport.

    `choice` is set when the person pressed a button (its data); `reply_to` when they
    replied to (or in the thread of) a message the bot sent, as that platform message id.
    `source_message_id` is the platform's id of this message, for copying attachments.
    """

    platform: str
    user_id: str
    chat_id: str
    text: str
    event_id: str
    received_at: datetime
    attachments: tuple[Attachment, ...] = ()
    reply_to: str | None = None
    choice: str | None = None
    source_message_id: str | None = None
    private: bool = True
    display_name: str = ""


@dataclass(frozen=True)
class Choice:
    """A button: what it says and the data that comes back when it is pressed."""

    label: str
    data: str


@dataclass(frozen=True)
class OutgoingDocument:
    """A file to upload with a message (Telegram sendDocument/sendPhoto, Slack files_upload_v2)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Reply:
    """What the asker is told; `private` asks Slack for an ephemeral answer."""

    text: str
    choices: tuple[Choice, ...] = ()
    documents: tuple[OutgoingDocument, ...] = ()
    private: bool = True


#: `Outgoing.extra` flag: an earlier worker was sending this row when it died (kill -9), so it
#: may have reached the chat; a sender that can look checks before sending it again.
RESUMED = "resumed"


@dataclass(frozen=True)
class Outgoing:
    """A message for one chat, as the outbox hands it to a transport."""

    platform: str
    chat_id: str
    text: str
    idempotency_key: str
    choices: tuple[Choice, ...] = ()
    reply_to: str | None = None  # platform message id to thread under
    copy_from: tuple[tuple[str, str], ...] = ()  # (chat_id, message_id) of attachments to copy
    attachments: tuple[Attachment, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    documents: tuple[OutgoingDocument, ...] = ()  # files to upload after the text
