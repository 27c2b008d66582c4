"""A local Slack for the tests: a fake Web API, and people who talk to the bot over signed HTTP.

`FakeSlack` plays the Slack Web API on 127.0.0.1 (what the bot calls: auth.test,
chat.postMessage, chat.postEphemeral, chat.update, conversations.open, views.publish), records
every call and can be scripted to fail or to answer HTTP 429 with Retry-After. `SlackWorld`
runs the real wiring (`build_app` + `SlackPlatform` in HTTP mode) against it, and sends events,
slash commands and button presses the way Slack does: signed with the signing secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import CoachSettings, DatabaseSettings, Secret, Settings, SlackSettings
from bot.transports.slack import SlackPlatform

BOT_TOKEN = "xoxb-test-token-never-logged"
APP_TOKEN = "xapp-test-token-never-logged"
SIGNING_SECRET = "signing-secret-never-logged"
BOT_USER, BOT_ID = "UBOT", "BBOT"
MELODY_USER = "UMELODY"
MELODY = CoachSettings(
    key="melody",
    name="Melody",
    slack_user_id=MELODY_USER,
    timezone="Europe/London",
    hours="mon-fri 09:00-17:00",
    reply_within="24h",
)


def dm_of(user: str) -> str:
    """The DM channel between `user` and the app, as the fake opens it: UALEX -> DALEX."""
    return "D" + user[1:]


@dataclass(frozen=True)
class Call:
    """One Web API call the bot made: the method and its arguments, merged."""

    method: str
    args: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeSlack:
    """The Slack Web API, on loopback; `calls` holds every call in order."""

    calls: list[Call] = field(default_factory=list)
    _errors: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = field(
        default_factory=dict
    )
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    url: str = ""
    acks: list[dict[str, Any]] = field(default_factory=list)  # Socket Mode acknowledgements
    _socket: web.WebSocketResponse | None = None

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.add_routes([web.post("/api/{method}", self._handle), web.get("/link", self._link)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/api/"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        """The Socket Mode WebSocket: says hello, then records each acknowledgement."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1})
        self._socket = socket
        async for frame in socket:
            if frame.type == aiohttp.WSMsgType.TEXT:
                self.acks.append(json.loads(frame.data))
        return socket

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to the connected app."""
        for _ in range(200):
            if self._socket is not None:
                await self._socket.send_json(envelope)
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the app never connected over Socket Mode")

    def fail(self, method: str, error: str, n: int = 1) -> None:
        """Answer the next `n` calls of `method` with `{"ok": false, "error": error}`."""
        self._errors.setdefault(method, []).extend([(200, {"error": error}, {})] * n)

    def throttle(self, method: str, retry_after: int) -> None:
        """Answer the next call of `method` with HTTP 429 and `Retry-After: retry_after`."""
        headers = {"Retry-After": str(retry_after)}
        self._errors.setdefault(method, []).append((429, {"error": "ratelimited"}, headers))

    def of(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call of `method`."""
        return [c.args for c in self.calls if c.method == method]

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        token = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if request.headers.get("Authorization") != f"Bearer {token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        call = Call(method, args)
        self.calls.append(call)
        scripted = self._errors.get(method)
        if scripted:
            status, body, headers = scripted.pop(0)
            return web.json_response({"ok": False, **body}, status=status, headers=headers)
        call.result.update(self._answer(method, args))
        return web.json_response({"ok": True, **call.result})

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"user_id": BOT_USER, "bot_id": BOT_ID, "team_id": "T1", "user": "boundary"}
        if method == "apps.connections.open":
            return {"url": self.url.replace("http://", "ws://").replace("/api/", "/link")}
        if method == "conversations.open":
            return {"channel": {"id": dm_of(str(args["users"]))}}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"{1_800_000_000 + next(self._ts)}.000100"
            return {"channel": args.get("channel"), "ts": ts}
        if method == "chat.postEphemeral":
            return {"message_ts": f"{1_800_000_000 + next(self._ts)}.000200"}
        return {}


async def _arguments(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args.update(await request.json())
    else:
        args.update(await request.post())
    for key in ("blocks", "view"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


def sign(
    body: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    """The headers Slack adds: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class SlackWorld:
    """The bot on Slack, and people who write to it, press its buttons and open its Home tab."""

    app: App
    slack: FakeSlack
    platform: SlackPlatform
    clock: ManualClock
    _events: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _seen: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Where Slack sends events, interactivity and commands."""
        return f"http://127.0.0.1:{self.platform.port}/slack/events"

    async def post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """POST a body to the app as Slack does (signed unless `headers` says otherwise)."""
        sent = {"Content-Type": content_type, **sign(body), **(headers or {})}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body.encode(), headers=sent) as response,
        ):
            return response.status, await response.text()

    def envelope(self, event: dict[str, Any], event_id: str | None = None) -> str:
        """An Events API envelope around `event`."""
        number = next(self._events)
        body = {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": event_id or f"Ev{number:06d}",
            "event_time": int(self.clock.now().timestamp()),
            "event": event,
        }
        return json.dumps(body)

    def ts(self) -> str:
        """A message `ts` at the fake clock's time."""
        return f"{self.clock.now().timestamp():.6f}"

    async def dm(
        self,
        user: str,
        text: str,
        *,
        event_id: str | None = None,
        retry: int | None = None,
        **fields: Any,
    ) -> int:
        """`user` writes `text` in their DM with the app; returns the HTTP status."""
        event = {"type": "message", "channel_type": "im", "channel": dm_of(user), "user": user}
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        event.update({"text": escaped, "ts": self.ts(), **fields})  # as Slack sends typed text
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        body = self.envelope(event, event_id)
        status, _ = await self.post(body, "application/json", headers if retry else None)
        return status

    async def command(self, user: str, text: str, *, channel: str | None = None) -> int:
        """`user` types `/boundary text` (in their DM with the app, unless `channel`)."""
        form = {
            "command": "/boundary",
            "text": text,
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": channel or dm_of(user),
            "team_id": "T1",
            "trigger_id": f"trigger.{next(self._events)}",
            "response_url": "http://127.0.0.1:9/unused",
        }
        status, _ = await self.post(urlencode(form), "application/x-www-form-urlencoded")
        return status

    async def press(self, user: str, label: str) -> int:
        """`user` presses the button labelled `label` on the newest message offering it."""
        for call in reversed(self.slack.calls):
            if call.method != "chat.postMessage" or "ts" not in call.result:
                continue
            for block in call.args.get("blocks") or []:
                for button in block.get("elements", []) if block["type"] == "actions" else []:
                    if button["text"]["text"] == label:
                        return await self._press(user, call, button)
        raise AssertionError(f"{user} was offered no button {label!r}")

    async def _press(self, user: str, call: Call, button: dict[str, Any]) -> int:
        channel, message_ts = call.args["channel"], call.result["ts"]
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "channel": {"id": channel},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "message": {"ts": message_ts, "text": call.args["text"], "blocks": call.args["blocks"]},
            "actions": [{**button, "action_ts": self.ts(), "block_id": "b"}],
            "trigger_id": f"trigger.{next(self._events)}",
        }
        body = urlencode({"payload": json.dumps(payload)})
        status, _ = await self.post(body, "application/x-www-form-urlencoded")
        return status

    async def home(self, user: str) -> str:
        """`user` opens the app's Home tab; the text of the view published for them."""
        event = {"type": "app_home_opened", "user": user, "channel": dm_of(user), "tab": "home"}
        status, _ = await self.post(self.envelope(event), "application/json")
        assert status == 200
        views = [a["view"] for a in self.slack.of("views.publish") if a["user_id"] == user]
        assert views, f"no Home tab was published for {user}"
        return "\n".join(_block_text(block) for block in views[-1]["blocks"])

    async def join(self, user: str, name: str, mode: str = "open_door") -> None:
        """Melody invites `name`, and `user` joins with the code: the flow a client goes through."""
        await self.command(MELODY_USER, f"invite {name} {mode}")
        await self.deliver()
        invite = self.seen(MELODY_USER)[-1]
        code = invite.split("/boundary join ", 1)[1].split()[0]
        await self.command(user, f"join {code}")
        await self.deliver()

    async def deliver(self) -> None:
        """Run the outbox until nothing is due for seconds, moving the fake clock to each slot."""
        for _ in range(30):
            await self.app.outbox.deliver_due()
            due = await asyncio.to_thread(self.app.outbox.next_due)
            if due is None or due - self.clock.now() > timedelta(seconds=5):
                return
            if due > self.clock.now():
                self.clock.set(due)

    def posted_ts(self, user: str, text: str) -> str:
        """The `ts` of the message with `text` posted in `user`'s DM (what a thread points at)."""
        for call in self.slack.calls:
            shown = html.unescape(str(call.args.get("text")))
            in_dm = call.method == "chat.postMessage" and call.args.get("channel") == dm_of(user)
            if in_dm and shown == text and "ts" in call.result:
                return str(call.result["ts"])
        raise AssertionError(f"{user} was sent no {text!r}")

    def seen(self, user: str) -> list[str]:
        """What `user` was shown since the last look: posts in their DM and ephemeral answers."""
        shown = [
            html.unescape(str(c.args.get("text", "")))
            for c in self.slack.calls
            if (c.method == "chat.postMessage" and c.args.get("channel") == dm_of(user))
            or (c.method == "chat.postEphemeral" and c.args.get("user") == user)
        ]
        start = self._seen.get(user, 0)
        self._seen[user] = len(shown)
        return shown[start:]


def _block_text(block: dict[str, Any]) -> str:
    texts = [block.get("text") or {}, *block.get("elements", [])]
    return "\n".join(html.unescape(str(t.get("text", ""))) for t in texts if isinstance(t, dict))


@asynccontextmanager
async def slack_world(db_url: str, clock: ManualClock) -> AsyncIterator[SlackWorld]:
    """The bot with coach Melody (UMELODY), serving HTTP on 127.0.0.1, against a fake Slack."""
    slack = FakeSlack()
    await slack.start()
    settings = Settings(
        database=DatabaseSettings(db_url),
        slack=SlackSettings(
            bot_token=Secret(BOT_TOKEN),
            signing_secret=Secret(SIGNING_SECRET),
            api_url=slack.url,
            port=0,
        ),
        coaches=(MELODY,),
    )
    assert settings.slack is not None
    platform = SlackPlatform(settings.slack, host="127.0.0.1")
    app = build_app(settings, transports={"slack": platform}, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(platform.run(app, stop))
    try:
        await asyncio.wait_for(platform.ready.wait(), 10)
        yield SlackWorld(app, slack, platform, clock)
    finally:
        stop.set()
        await task
        app.engine.dispose()
        await slack.stop()
