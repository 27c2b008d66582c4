"""The fake Bot API's files: sendPhoto and sendDocument, multipart uploads as PTB sends them.

Telegram's limits hold: a photo up to 10 MB that is really an image, a document up to 50 MB;
bigger uploads are answered 413 like the real server. Each file that arrives is recorded as a
`SentFile` with its name, type, bytes, caption, chat and the message it became.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from tests.fake_telegram_wire import BOT_SENDER, ApiError, UploadedFile

MB = 1024 * 1024
LIMITS = {"photo": 10 * MB, "document": 50 * MB}
_IMAGES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


@dataclass(frozen=True)
class SentFile:
    """A file the bot sent: as a photo or a document, to which chat, and what it held."""

    kind: str  # photo or document
    chat_id: int
    filename: str
    content_type: str
    content: bytes
    caption: str
    reply_to: int | None
    message_id: int

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return len(self.content)


class FileMethods:
    """sendPhoto and sendDocument, for FakeTelegram (which provides `files`, `message`, ...)."""

    files: list[SentFile]

    def _writable(self, chat_id: Any) -> dict[str, Any]:
        raise NotImplementedError

    def message(self, chat_id: int, *, sender: dict[str, Any], **fields: Any) -> dict[str, Any]:
        raise NotImplementedError

    def files_to(self, chat_id: int) -> list[SentFile]:
        """The files the bot sent to a chat, in order."""
        return [f for f in self.files if f.chat_id == chat_id]

    def _api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_file("photo", params)

    def _api_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_file("document", params)

    def _send_file(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._writable(params["chat_id"])
        upload = checked(kind, params.get(kind))
        caption = str(params.get("caption") or "")
        fields: dict[str, Any] = {kind: described(kind, upload)}
        if caption:
            fields["caption"] = caption
        message = self.message(chat["id"], sender=BOT_SENDER, **fields)
        reply = (params.get("reply_parameters") or {}).get("message_id")
        sent = SentFile(
            kind,
            chat["id"],
            upload.filename,
            upload.content_type,
            upload.content,
            caption,
            reply,
            message["message_id"],
        )
        self.files.append(sent)
        params[kind] = {"filename": upload.filename, "size": len(upload.content)}
        params["_id"] = message["message_id"]
        return message


def checked(kind: str, value: object) -> UploadedFile:
    """The uploaded file, refused the way Telegram refuses a missing, big or broken one."""
    if not isinstance(value, UploadedFile):
        raise ApiError(400, f"Bad Request: there is no {kind} in the request")
    if len(value.content) > LIMITS[kind]:
        raise ApiError(413, "Request Entity Too Large")
    if kind == "photo" and not value.content.startswith(_IMAGES):
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
    return value


def described(kind: str, upload: UploadedFile) -> Any:
    """The `photo` (sizes) or `document` field of the message the file became."""
    digest = hashlib.sha1(upload.content).hexdigest()[:16]
    size = len(upload.content)
    if kind == "photo":
        return [
            {
                "file_id": f"p{digest}",
                "file_unique_id": digest,
                "width": 800,
                "height": 600,
                "file_size": size,
            }
        ]
    return {
        "file_id": f"d{digest}",
        "file_unique_id": digest,
        "file_name": upload.filename,
        "mime_type": upload.content_type,
        "file_size": size,
    }
