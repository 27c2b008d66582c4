"""The console transport: a terminal chat where each line is `name: text` (Errbot's -T)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TextIO

from bot.messages import Choice, Outgoing

PLATFORM = "console"


class ConsoleTransport:
    """Prints what the bot sends, addressed to the person's name; buttons become numbers."""

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

    def continue_after(self, last_id: int) -> None:
        """Number new messages after `last_id`, so `>N` never names an older message."""
        self._ids = itertools.count(last_id + 1)

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
            path = self._save(message_id, document.filename, document.content)
            self.out.write(f"      (file: {document.filename}, {size} kB, saved as {path})\n")
        for number, choice in enumerate(message.choices, start=1):
            self.out.write(f"      [{number}] {choice.label}\n")
        if message.choices:
            self.choices[message.chat_id] = message.choices
        self.last_id[message.chat_id] = message_id
        self.sent_text[message.chat_id] = message.text
        self.out.flush()
        return message_id

    def _save(self, message_id: str, filename: str, content: bytes) -> Path:
        """Write a file the bot sends into `files_dir`, named after its message number."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / f"{message_id}-{Path(filename).name}"
        path.write_bytes(content)
        return path
