"""Files on Telegram: an image as a photo, anything else as a document, within the Bot API's limits.

A file over its limit is not sent; `too_large_line` is what the recipient reads instead. Nothing
here logs a file's name or content (a name can carry a client's name).
"""

from __future__ import annotations

import io
import logging
import math

from telegram import Bot, InputFile, ReplyParameters
from telegram.error import BadRequest

from bot.messages import OutgoingDocument

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_PHOTO = 10 * MB  # sendPhoto
MAX_DOCUMENT = 50 * MB  # sendDocument
_UPLOAD_SECONDS = 60.0  # write timeout: a 50 MB upload takes longer than a text
_PHOTO_REFUSALS = ("photo_invalid", "image_process_failed", "photo_save_file_invalid")


def is_photo(document: OutgoingDocument) -> bool:
    """True when the file goes out as a photo (an image), not as a document."""
    return document.mime_type.lower().startswith("image/")


def too_large_line(document: OutgoingDocument) -> str | None:
    """The line sent instead of a file over Telegram's limit for it; None when the file fits."""
    size = len(document.content)
    if size <= (MAX_PHOTO if is_photo(document) else MAX_DOCUMENT):
        return None
    return f"The file {document.filename} is too large to send here ({math.ceil(size / MB)} MB)."


def reply_parameters(reply_to: str | None) -> ReplyParameters | None:
    """Reply to `reply_to` when it is a Telegram message id, sending anyway if it is gone."""
    if reply_to is None or not reply_to.isdigit():
        return None
    return ReplyParameters(int(reply_to), allow_sending_without_reply=True)


async def upload(
    bot: Bot, chat_id: str, *, document: OutgoingDocument, reply: ReplyParameters | None
) -> str:
    """Send one file that fits its limit; returns the Telegram message id it arrived as.

    An image Telegram will not take as a photo (dimensions, format) goes as a document.
    """
    if is_photo(document):
        try:
            sent = await bot.send_photo(
                chat_id, _input(document), reply_parameters=reply, write_timeout=_UPLOAD_SECONDS
            )
        except BadRequest as error:
            if not any(code in str(error).lower() for code in _PHOTO_REFUSALS):
                raise
            log.info("telegram: an image was refused as a photo; sending it as a document")
        else:
            return str(sent.message_id)
    sent = await bot.send_document(
        chat_id, _input(document), reply_parameters=reply, write_timeout=_UPLOAD_SECONDS
    )
    return str(sent.message_id)


def _input(document: OutgoingDocument) -> InputFile:
    file = InputFile(io.BytesIO(document.content), filename=document.filename)
    file.mimetype = document.mime_type  # the type we know, not one guessed from the name
    return file
