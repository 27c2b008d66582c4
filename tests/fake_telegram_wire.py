"""The fake Bot API's wire format: request decoding, error answers, and Telegram's checks.

`visible_text` is Telegram's HTML parse mode, as strict as the real one (allowed tags,
balanced, entities): it returns what the reader sees, or raises TagError the way sendMessage
answers "Bad Request: can't parse entities: ..." for a stray `<`, an unknown tag or a bare `&`.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

BOT_ID = 999
BOT_USERNAME = "boundary_test_bot"
BOT_SENDER = {"id": BOT_ID, "is_bot": True, "first_name": "Boundary", "username": BOT_USERNAME}
_INTS = ("chat_id", "from_chat_id", "message_id", "offset", "limit", "timeout", "user_id")

ALLOWED = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=\"[^\"<>]*\")?)*)\s*>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")


class TagError(ValueError):
    """The text is not valid Telegram HTML."""


def visible_text(text: str) -> str:
    """The text without its tags and with entities decoded; raises TagError if invalid."""
    shown: list[str] = []
    open_tags: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "<":
            index = _tag(text, index, open_tags)
        elif char == "&":
            match = _ENTITY.match(text, index)
            if match is None:
                raise TagError(f"Can't find end of the entity starting at byte offset {index}")
            shown.append(html.unescape(match.group(0)))
            index = match.end()
        elif char == ">":
            raise TagError(f"Unexpected end tag at byte offset {index}")
        else:
            shown.append(char)
            index += 1
    if open_tags:
        raise TagError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(shown)


def _tag(text: str, index: int, open_tags: list[str]) -> int:
    match = _TAG.match(text, index)
    if match is None:
        raise TagError(f"Unsupported start tag at byte offset {index}")
    closing, name = match.group(1) == "/", match.group(2).lower()
    if name not in ALLOWED:
        raise TagError(f'Unsupported start tag "{name}" at byte offset {index}')
    if closing:
        if not open_tags or open_tags[-1] != name:
            raise TagError(f'Unmatched end tag at byte offset {index}, expected "{name}"')
        open_tags.pop()
    else:
        open_tags.append(name)
    return match.end()


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request: its name, declared type and bytes."""

    filename: str
    content_type: str
    content: bytes


class ApiError(Exception):
    """An error answer: HTTP status, Telegram's description, and optional parameters."""

    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def command_name(name: str) -> bool:
    return 1 <= len(name) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in name)


def check_keyboard(markup: dict[str, Any] | None) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if len(button.get("callback_data", "").encode()) > 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def shown_or_refuse(params: dict[str, Any]) -> str:
    text = str(params.get("text", ""))
    if str(params.get("parse_mode", "")).upper() != "HTML":
        return text
    try:
        return visible_text(text)
    except TagError as error:
        raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None


async def decode_params(request: web.Request) -> dict[str, Any]:
    """Form fields (PTB's encoding: JSON for anything not a string), files, or a JSON body."""
    if request.content_type == "application/json":
        raw: dict[str, Any] = await request.json()
        return raw
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = UploadedFile(value.filename, value.content_type, value.file.read())
            continue
        text = str(value)
        if key in _INTS and text.lstrip("-").isdigit():
            params[key] = int(text)
        elif text[:1] in "{[" or text in ("true", "false"):
            params[key] = json.loads(text)
        else:
            params[key] = text
    return params


def error_response(error: ApiError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.status,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.status)
