"""Socket Mode: the same listeners over a WebSocket the fake Slack serves; no public URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.app import App, build_app, build_commands, spelling_for
from bot.clock import ManualClock
from bot.config import DatabaseSettings, Secret, Settings, SlackSettings
from bot.transports.slack import SlackPlatform
from rules.lines import STRANGER_LINE
from tests.fake_slack import APP_TOKEN, BOT_TOKEN, MELODY, FakeSlack


def on_slack(text: str) -> str:
    """`text` with its commands as Slack users type them."""
    return spelling_for(build_commands())(text, "slack")


def envelope(number: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "envelope_id": f"env-{number}",
        "type": kind,
        "accepts_response_payload": kind != "events_api",
        "retry_attempt": 0,
        "retry_reason": "",
        "payload": payload,
    }


async def acked(slack: FakeSlack, envelope_id: str) -> dict[str, Any]:
    for _ in range(300):
        for ack in slack.acks:
            if ack.get("envelope_id") == envelope_id:
                return ack
        await asyncio.sleep(0.01)
    raise AssertionError(f"{envelope_id} was never acknowledged")


@asynccontextmanager
async def socket_mode_bot(db_url: str, clock: ManualClock) -> AsyncIterator[tuple[FakeSlack, App]]:
    """The bot with an app token (no signing secret, no port), connected to the fake Slack."""
    slack = FakeSlack()
    await slack.start()
    slack_settings = SlackSettings(
        bot_token=Secret(BOT_TOKEN), app_token=Secret(APP_TOKEN), api_url=slack.url
    )
    assert slack_settings.socket_mode
    settings = Settings(database=DatabaseSettings(db_url), slack=slack_settings, coaches=(MELODY,))
    platform = SlackPlatform(slack_settings)
    app = build_app(settings, transports={"slack": platform}, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(platform.run(app.core, stop))
    try:
        await asyncio.wait_for(platform.ready.wait(), 10)
        yield slack, app
    finally:
        stop.set()
        await task
        app.engine.dispose()
        await slack.stop()


def test_socket_mode_receives_events_and_commands_and_acknowledges_them(
    db_url: str, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with socket_mode_bot(db_url, clock) as (slack, app):
            event = {"type": "message", "channel_type": "im", "channel": "DSTRANGER"}
            event.update(user="USTRANGER", text="hello?", ts=f"{clock.now().timestamp():.6f}")
            body = {"type": "event_callback", "event_id": "Ev1", "event": event}
            await slack.push(envelope(1, "events_api", body))
            await acked(slack, "env-1")
            await app.outbox.deliver_due()  # a stranger's answer is an outbox row
            assert [a["text"] for a in slack.of("chat.postMessage")] == [on_slack(STRANGER_LINE)]

            command = {"command": "/boundary", "text": "reply_within 2d", "user_id": "UMELODY"}
            command.update(channel_id="DMELODY", trigger_id="t.1")
            await slack.push(envelope(2, "slash_commands", command))
            await acked(slack, "env-2")
            await app.outbox.deliver_due()
            answer = slack.of("chat.postMessage")[-1]
            assert answer["channel"] == "DMELODY"
            assert "within 2 working days" in answer["text"]

    asyncio.run(scenario())
