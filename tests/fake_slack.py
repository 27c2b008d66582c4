"""A local Slack for the tests: people who talk to the bot over signed HTTP, and the fake Web API.

`FakeSlack` (in `tests.fake_slack_api`) plays the Slack Web API on 127.0.0.1, file uploads
included. `SlackWorld` runs the real wiring (`build_app` + `SlackPlatform` in HTTP mode) against
it, and sends events, slash commands and button presses the way Slack does: signed with the
signing secret.
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

from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import CoachSettings, DatabaseSettings, Secret, Settings, SlackSettings
from bot.transports.slack import SlackPlatform
from tests.fake_slack_api import (
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER,
    Call,
    FakeSlack,
    Upload,
    dm_of,
)

__all__ = [
    "APP_TOKEN",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER",
    "MELODY",
    "MELODY_USER",
    "SIGNING_SECRET",
    "Call",
    "FakeSlack",
    "SlackWorld",
    "Upload",
    "dm_of",
    "sign",
    "slack_world",
]

SIGNING_SECRET = "signing-secret-never-logged"
MELODY_USER = "UMELODY"
MELODY = CoachSettings(
    key="melody",
    name="Melody",
    slack_user_id=MELODY_USER,
    timezone="Europe/London",
    hours="mon-fri 09:00-17:00",
    reply_within="24h",
)


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
    task = asyncio.create_task(platform.run(app.core, stop))
    try:
        await asyncio.wait_for(platform.ready.wait(), 10)
        yield SlackWorld(app, slack, platform, clock)
    finally:
        stop.set()
        await task
        app.engine.dispose()
        await slack.stop()
