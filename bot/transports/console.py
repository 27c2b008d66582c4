"""The console transport: a terminal chat where each line is `name: text` (Errbot's `-T`).

One class, as thin as the other transports: a typed line becomes an `Inbound` for the core,
and what the bot sends is printed, addressed to the person's name, buttons as numbers.
"""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.messages import Attachment, Choice, Inbound, Outgoing
from bot.ports import Core

PLATFORM = "console"
LINE = re.compile(r"^\s*([A-Za-z][\w.-]*)\s*:\s?(.*)$")
REPLY = re.compile(r"^>(\d+)\s+(.*)$", re.S)
ATTACHMENT = re.compile(r"^\[(photo|voice|video|document|file)\]\s*(.*)$", re.S)
NOT_A_LINE = "  (type `name: text`, or :help)"


class ConsoleTransport:
    """Prints what the bot sends; reads `name: text` lines as that person writing to it."""

    platform = PLATFORM
    max_per_second = 1000.0

    def __init__(self, out: TextIO, first_id: int = 1, *, files_dir: Path | None = None) -> None:
        self.out = out
        self.files_dir = files_dir or Path("boundarybot-files")
        self._ids = itertools.count(first_id)
        self._sent: dict[str, str] = {}  # idempotency key -> message id
        self.choices: dict[str, tuple[Choice, ...]] = {}  # chat -> buttons of its newest message
        self.last_id: dict[str, str] = {}  # chat -> newest message id (replies thread on it)
        self.sent_text: dict[str, str] = {}  # chat -> newest text
        # Event ids must never repeat across runs on one database, or a line would be taken
        # for a redelivery of an old one.
        self._run = uuid.uuid4().hex[:12]
        self._events = itertools.count(1)

    def continue_after(self, last_id: int) -> None:
        """Number new messages after `last_id`, so `>N` never names an older message."""
        self._ids = itertools.count(last_id + 1)

    def say(self, core: Core, line: str) -> None:
        """`name: text` typed: that person writes `text` to the bot; direct answers printed."""
        match = LINE.match(line)
        if match is None:
            self.out.write(NOT_A_LINE + "\n")
            return
        who = match.group(1).lower()
        inbound = self.inbound(who, match.group(2), now=core.now())
        for direct in core.handle(inbound).direct:
            self.out.write(f"  → {who}: {direct.text}\n")

    def inbound(self, who: str, text: str, *, now: datetime) -> Inbound:
        """What `who` typing `text` is: a button number, a `>N` reply, an attachment, or text."""
        choice = reply_to = None
        attachments: tuple[Attachment, ...] = ()
        buttons = self.choices.get(who, ())
        if text.strip().isdigit() and 0 < int(text) <= len(buttons):
            choice = buttons[int(text) - 1].data
        if (reply := REPLY.match(text)) is not None:
            reply_to, text = reply.group(1), reply.group(2)
        if (attached := ATTACHMENT.match(text)) is not None:
            attachments = (Attachment(attached.group(1), f"file-{next(self._events)}"),)
            text = attached.group(2)
        return Inbound(
            platform=PLATFORM,
            user_id=who,
            chat_id=who,
            text="" if choice else text,
            event_id=f"console-{self._run}-{next(self._events)}",
            received_at=now,
            attachments=attachments,
            reply_to=reply_to,
            choice=choice,
            source_message_id=f"c{next(self._events)}",
        )

    async def send(self, message: Outgoing) -> str:
        """Print the message for its recipient and return its id."""
        if message.idempotency_key in self._sent:
            return self._sent[message.idempotency_key]
        message_id = str(next(self._ids))
        self._sent[message.idempotency_key] = message_id
        lines = message.text.splitlines() or [""]
        self.out.write(f"  → {message.chat_id} [#{message_id}]: {lines[0]}\n")
        for line in lines[1:]:
            self.out.write(f"      {line}\n")
        for copied in message.copy_from:
            self.out.write(f"      (attachment from message {copied[1]})\n")
        for document in message.documents:
            size = max(1, round(len(document.content) / 1024))
            path = self._save(message_id, document.filename, content=document.content)
            self.out.write(f"      (file: {document.filename}, {size} kB, saved as {path})\n")
        for number, choice in enumerate(message.choices, start=1):
            self.out.write(f"      [{number}] {choice.label}\n")
        if message.choices:
            self.choices[message.chat_id] = message.choices
        self.last_id[message.chat_id] = message_id
        self.sent_text[message.chat_id] = message.text
        self.out.flush()
        return message_id

    def _save(self, message_id: str, filename: str, *, content: bytes) -> Path:
        """Write a file the bot sends into `files_dir`, named after its message number."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / f"{message_id}-{Path(filename).name}"
        path.write_bytes(content)
        return path
