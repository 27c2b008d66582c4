"""A local Telegram Bot API on 127.0.0.1 for the real python-telegram-bot client to talk to.

It keeps Telegram's semantics where the bot depends on them: getUpdates with an offset confirms
every earlier update and long-polls for `timeout` seconds; sendMessage refuses broken HTML
("can't parse entities") and texts over 4096 characters; unknown or blocked chats are refused;
a scripted 429 carries `parameters.retry_after`. sendPhoto and sendDocument take multipart
uploads (`tests.fake_telegram_files`). Every call is recorded for assertions.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import ClientSession, web

from tests.fake_telegram_files import MB, FileMethods, SentFile
from tests.fake_telegram_wire import (
    BOT_ID,
    BOT_SENDER,
    BOT_USERNAME,
    ApiError,
    check_keyboard,
    command_name,
    decode_params,
    error_response,
    shown_or_refuse,
)

TOKEN = "123456:TEST-token-never-logged"
MAX_TEXT = 4096


@dataclass(frozen=True)
class Call:
    """One request the bot made: the method and its decoded parameters."""

    method: str
    params: dict[str, Any]


@dataclass
class FakeTelegram(FileMethods):
    """The fake server's state; `start()` listens on a free port, `base_url` is for PTB."""

    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    files: list[SentFile] = field(default_factory=list)  # photos and documents the bot sent
    arrived: list[str] = field(default_factory=list)  # methods as their requests came in
    blocked: set[int] = field(default_factory=set)  # users who blocked the bot (403)
    webhook: dict[str, Any] | None = None
    # Hook run before every call; returning True drops the call unanswered (see the crash test).
    before: Callable[[str, dict[str, Any]], bool | Awaitable[bool]] | None = None
    max_batch: int = 100  # getUpdates returns at most this many, like Telegram's `limit`
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _confirmed: int = 0  # every update_id below this was confirmed by an offset
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: dict[int, itertools.count[int]] = field(default_factory=dict)
    _messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    _chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    _queries: set[str] = field(default_factory=set)
    _scripted: dict[str, list[list[Any]]] = field(default_factory=dict)  # [skips, error]
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    port: int = 0

    # --- the server -------------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        """Listen on 127.0.0.1 (a free port)."""
        app = web.Application(client_max_size=51 * MB)  # a document may be 50 MB
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop listening (a long poll in progress returns at once)."""
        self._arrived.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """The `base_url` PTB appends the token to."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return error_response(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        params = await decode_params(request)
        self.arrived.append(method)
        if self.before is not None:
            dropped = self.before(method, params)
            if not isinstance(dropped, bool):
                dropped = await dropped
            if dropped:
                return web.Response(status=502, text="dropped")
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            return error_response(ApiError(404, "Not Found"))
        try:
            self._scripted_failure(method)
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as error:
            self.calls.append(Call(method, {**params, "_error": error.description}))
            return error_response(error)
        self.calls.append(Call(method, params))
        return web.json_response({"ok": True, "result": result})

    def _scripted_failure(self, method: str) -> None:
        scripted = self._scripted.get(method)
        if not scripted:
            return
        if scripted[0][0] > 0:
            scripted[0][0] -= 1
            return
        raise scripted.pop(0)[1]

    # --- what tests use ------------------------------------------------------------------------

    def fail_next(
        self, method: str, status: int, description: str, *, after: int = 0, **parameters: Any
    ) -> None:
        """Make a call of `method` fail (the next one, or the one after `after` more succeed),
        e.g. 429 with retry_after=3."""
        error = ApiError(status, description, **parameters)
        self._scripted.setdefault(method, []).append([after, error])

    def called(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every successful call of `method`, in order."""
        return [c.params for c in self.calls if c.method == method and "_error" not in c.params]

    def sent_to(self, chat_id: int) -> list[str]:
        """The texts the bot sent to a chat, as the person sees them (HTML parsed)."""
        return [
            shown_or_refuse(p)
            for p in self.called("sendMessage")
            if p["chat_id"] == chat_id and p["text"]
        ]

    def pending(self) -> int:
        """Updates queued and not yet confirmed."""
        return sum(1 for u in self._updates if u["update_id"] >= self._confirmed)

    @property
    def confirmed_below(self) -> int:
        """Every update below this id was confirmed to us."""
        return self._confirmed

    def queue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (`kind` = message, callback_query, ...) and return it."""
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self._arrived.set()
        return update

    def chat(self, chat_id: int, kind: str = "private", name: str = "") -> dict[str, Any]:
        """A chat as Telegram describes it."""
        chat = {"id": chat_id, "type": kind}
        chat.update({"first_name": name or f"User{chat_id}"} if kind == "private" else {})
        chat.update({"title": name or "A group"} if kind != "private" else {})
        self._chats[chat_id] = chat
        return chat

    def message(self, chat_id: int, *, sender: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """A message in `chat_id` (kept so it can be copied or reacted to)."""
        chat = self._chats.get(chat_id) or self.chat(chat_id)
        message_id = next(self._message_ids.setdefault(chat_id, itertools.count(1)))
        message = {
            "message_id": message_id,
            "date": int(self.clock().timestamp()),
            "chat": chat,
            "from": sender,
            **fields,
        }
        self._messages[(chat_id, message_id)] = message
        return message

    def user(self, user_id: int, name: str = "") -> dict[str, Any]:
        """A person's account."""
        return {"id": user_id, "is_bot": False, "first_name": name or f"User{user_id}"}

    def write(self, user_id: int, text: str = "", *, name: str = "", **fields: Any) -> int:
        """`user_id` writes to the bot in their private chat; returns the message id."""
        self.chat(user_id, name=name)
        if text.startswith("/"):
            length = len(text.split()[0])
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if text:
            fields["text"] = text
        message = self.message(user_id, sender=self.user(user_id, name), **fields)
        self.queue("message", message)
        return int(message["message_id"])

    def reply(self, user_id: int, text: str, to_message_id: int) -> int:
        """`user_id` replies to a message in their chat (Telegram's reply_to_message)."""
        original = self._messages[(user_id, to_message_id)]
        return self.write(user_id, text, reply_to_message=original)

    def press(self, user_id: int, data: str, message_id: int) -> str:
        """`user_id` presses a button carrying `data` under message `message_id`."""
        query_id = f"q{len(self._queries) + 1}"
        self._queries.add(query_id)
        self.queue(
            "callback_query",
            {
                "id": query_id,
                "from": self.user(user_id),
                "chat_instance": f"ci{user_id}",
                "message": self._messages[(user_id, message_id)],
                "data": data,
            },
        )
        return query_id

    def buttons(self, chat_id: int) -> list[tuple[str, str, int]]:
        """(label, data, message id) of the buttons on the newest message offering any."""
        for params in reversed(self.called("sendMessage")):
            markup = params.get("reply_markup")
            if params["chat_id"] == chat_id and markup:
                rows = markup["inline_keyboard"]
                return [(b["text"], b["callback_data"], params["_id"]) for r in rows for b in r]
        return []

    async def post_webhook(self, update: dict[str, Any], secret: str | None = None) -> int:
        """Deliver an update to the registered webhook the way Telegram does; the status."""
        assert self.webhook is not None, "no webhook was set"
        token = self.webhook.get("secret_token") if secret is None else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        async with (
            ClientSession() as session,
            session.post(self.webhook["url"], json=update, headers=headers) as response,
        ):
            return response.status

    # --- the Bot API methods ---------------------------------------------------------------

    def _api_getme(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Boundary",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset")
        if offset:
            self._confirmed = max(self._confirmed, int(offset))
            self._updates = [u for u in self._updates if u["update_id"] >= self._confirmed]
        limit = min(int(params.get("limit") or 100), self.max_batch)
        timeout = float(params.get("timeout") or 0)
        if not self._updates and timeout > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except TimeoutError:
                return []
        return self._updates[:limit]

    def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._writable(params["chat_id"])
        text = str(params.get("text", ""))
        shown = shown_or_refuse(params)
        if not shown.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(shown.encode("utf-16-le")) // 2 > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        check_keyboard(params.get("reply_markup"))
        reply = (params.get("reply_parameters") or {}).get("message_id")
        allowed = (params.get("reply_parameters") or {}).get("allow_sending_without_reply")
        if reply is not None and (chat["id"], reply) not in self._messages and not allowed:
            raise ApiError(400, "Bad Request: message to be replied not found")
        message = self.message(chat["id"], sender=BOT_SENDER, text=shown)
        params["_id"] = message["message_id"]
        params["text"] = text
        return message

    def _api_copymessage(self, params: dict[str, Any]) -> dict[str, int]:
        chat = self._writable(params["chat_id"])
        original = self._messages.get((params["from_chat_id"], params["message_id"]))
        if original is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        skip = ("message_id", "date", "chat", "from")
        fields = {k: v for k, v in original.items() if k not in skip}
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Boundary"}
        copy = self.message(chat["id"], sender=bot, **fields)
        return {"message_id": copy["message_id"]}

    def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        if params.get("callback_query_id") not in self._queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired")
        return True

    def _api_setmessagereaction(self, params: dict[str, Any]) -> bool:
        chat = self._writable(params["chat_id"])
        if (chat["id"], params["message_id"]) not in self._messages:
            raise ApiError(400, "Bad Request: message to react not found")
        return True

    def _api_leavechat(self, params: dict[str, Any]) -> bool:
        self._chats.pop(params["chat_id"], None)
        return True

    def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        for command in params.get("commands", []):
            name, description = command.get("command", ""), command.get("description", "")
            if not command_name(name) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        return True

    def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    def _api_deletewebhook(self, _params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    def _writable(self, chat_id: Any) -> dict[str, Any]:
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat
