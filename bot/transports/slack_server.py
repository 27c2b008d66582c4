"""Receiving from Slack with bolt: the listeners, and serving them over HTTP or Socket Mode.

bolt runs with `process_before_response=True`, so a listener finishes (and the dispatcher
commits) before Slack gets its 200. If the database cannot be reached the listener raises, the
error handler logs one line and answers 500, and Slack delivers the event again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import App
from bot.dispatch import Handled
from bot.messages import Inbound
from bot.transports.base import DeliveryError
from bot.transports.slack_home import home_view
from bot.transports.slack_send import SLASH_COMMAND, SlackSender
from bot.transports.slack_translate import action_inbound, command_inbound, message_inbound

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
COMMAND = SLASH_COMMAND
ELSEWHERE_ACK = "I've answered in our direct messages."
REMEMBERED_EVENTS = 2_048
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"


class Listeners:
    """What bolt calls: each turns a Slack payload into an Inbound and hands it to the bot."""

    def __init__(self, app: App, sender: SlackSender) -> None:
        self.app = app
        self.sender = sender
        # Strangers' events are not stored, so their redeliveries are recognised here instead.
        self._answered: OrderedDict[str, None] = OrderedDict()

    async def on_message(self, body: dict[str, Any]) -> None:
        """A message event: a person's DM is a client's message or a coach's reply."""
        inbound = message_inbound(body, self.app.clock.now())
        if inbound is None:
            event = body.get("event") or {}
            log.debug("slack: ignored a message event (subtype %s)", event.get("subtype"))
            return
        handled = await self._handle(inbound)
        for reply in handled.direct:
            await self._post_direct(inbound.chat_id, reply.text)

    async def on_command(self, body: dict[str, Any], ack: AsyncAck) -> None:
        """`/boundary ...`: run the command for the asker; answers go to their DM with the app."""
        user, channel = str(body.get("user_id") or ""), str(body.get("channel_id") or "")
        dm = await self.sender.dm_channel(user)
        inbound = command_inbound(body, dm_channel=dm, now=self.app.clock.now())
        handled = await self._handle(inbound)
        for reply in handled.direct:
            await self._tell_privately(channel=channel, user=user, dm=dm, text=reply.text)
        stored = handled.outcome != "duplicate" and not handled.direct
        await ack(text=ELSEWHERE_ACK if stored and channel != dm else "")

    async def on_action(self, body: dict[str, Any], ack: AsyncAck) -> None:
        """A pressed button: the choice goes to the bot, then the buttons are settled."""
        inbound = action_inbound(body, self.app.clock.now())
        if inbound is not None:
            handled = await self._handle(inbound)
            for reply in handled.direct:
                await self._post_direct(inbound.chat_id, reply.text)
            if handled.outcome != "duplicate":
                await self._settle_buttons(body)
        await ack()

    async def on_home(self, event: dict[str, Any]) -> None:
        """The Home tab was opened: publish what this person should see there."""
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        user = str(event["user"])
        view = await asyncio.to_thread(home_view, self.app.engine, user, self.app.clock.now())
        try:
            await self.sender.client.views_publish(user_id=user, view=view)
        except Exception as error:  # the next opening publishes again
            log.warning("slack: views.publish failed: %s", type(error).__name__)

    async def on_other(self, ack: AsyncAck) -> None:
        """Any other event or action: acknowledged, so Slack does not deliver it again."""
        await ack()

    async def on_error(self, error: Exception) -> BoltResponse:
        """One line, no payload: the status makes Slack deliver the event again."""
        log.warning("slack: could not handle a request, answering 500: %s", type(error).__name__)
        return BoltResponse(status=500, body="")

    async def _handle(self, inbound: Inbound) -> Handled:
        handled = await asyncio.to_thread(self.app.dispatcher.handle, inbound)
        if handled.direct:
            if inbound.event_id in self._answered:
                return Handled("duplicate")
            self._answered[inbound.event_id] = None
            while len(self._answered) > REMEMBERED_EVENTS:
                self._answered.popitem(last=False)
        return handled

    async def _tell_privately(self, *, channel: str, user: str, dm: str, text: str) -> None:
        """An answer only the asker sees: in their DM, or ephemeral where they asked."""
        if channel not in ("", dm):
            try:
                await self.sender.post_ephemeral(channel=channel, user=user, text=text)
                return
            except DeliveryError:
                pass  # the app is not in that channel: the DM always works
        await self._post_direct(dm, text)

    async def _post_direct(self, channel: str, text: str) -> None:
        """A stranger's answer (not stored, so not in the outbox): a failure is only logged."""
        try:
            await self.sender.post(channel=channel, text=text)
        except DeliveryError as error:
            log.warning("slack: a direct answer was not delivered: %s", error.reason)

    async def _settle_buttons(self, body: dict[str, Any]) -> None:
        """Replace the buttons of the pressed message with the choice, so it reads as answered."""
        message, actions = body.get("message") or {}, body.get("actions") or [{}]
        channel = (body.get("channel") or {}).get("id")
        if not message.get("ts") or not channel:
            return
        label = str(((actions[0].get("text") or {}).get("text")) or "")
        blocks = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
        blocks.append(
            {"type": "context", "elements": [{"type": "plain_text", "text": f"✓ {label}"}]}
        )
        try:
            await self.sender.client.chat_update(
                channel=channel, ts=message["ts"], text=message.get("text") or label, blocks=blocks
            )
        except Exception as error:  # cosmetic: the choice itself is already committed
            log.info("slack: could not settle the buttons: %s", type(error).__name__)


def build_bolt(
    listeners: Listeners,
    *,
    client: AsyncWebClient,
    signing_secret: str | None,
    logger: logging.Logger,
) -> AsyncApp:
    """The bolt app: every listener registered, answering only after the bot committed."""
    bolt = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        process_before_response=True,
        logger=logger,
        name="boundarybot",
    )
    bolt.event("message")(listeners.on_message)
    bolt.event("app_home_opened")(listeners.on_home)
    bolt.event(re.compile(".*"))(listeners.on_other)
    bolt.command(COMMAND)(listeners.on_command)
    bolt.action(re.compile(r"^choice_\d+$"))(listeners.on_action)
    bolt.action(re.compile(".*"))(listeners.on_other)
    bolt.error(listeners.on_error)
    return bolt


async def serve_http(
    bolt: AsyncApp,
    *,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_ready: Callable[[int], None],
) -> None:
    """Serve events, interactivity and the slash command at /slack/events until `stop`."""

    async def handle(request: web.Request) -> web.Response:
        if not request.headers.get(TIMESTAMP_HEADER, "").isdigit():
            return web.Response(status=401)  # unsigned; bolt would fail on it with a 500
        response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    web_app = web.Application()
    web_app.add_routes([web.post(EVENTS_PATH, handle)])
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = _bound_port(runner, port)
        on_ready(bound)
        log.info("slack: HTTP mode, listening on port %s at %s", bound, EVENTS_PATH)
        await stop.wait()
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner, default: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return default


async def serve_socket(
    bolt: AsyncApp,
    *,
    app_token: str,
    client: AsyncWebClient,
    logger: logging.Logger,
    stop: asyncio.Event,
    on_ready: Callable[[int], None],
) -> None:
    """Receive over Socket Mode (no public URL) until `stop`."""
    handler = AsyncSocketModeHandler(bolt, app_token, logger=logger, web_client=client)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        on_ready(0)
        log.info("slack: Socket Mode connected")
        await stop.wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
