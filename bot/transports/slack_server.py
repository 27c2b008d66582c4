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
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import Inbound
from bot.ports import Core, DeliveryError, Handled, error_name
from bot.transports.edge import MAX_BODY, scrub
from bot.transports.slack_home import home_view
from bot.transports.slack_send import SLASH_COMMAND, SlackSender
from bot.transports.slack_translate import (
    PLATFORM,
    action_inbound,
    command_inbound,
    message_inbound,
)

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
COMMAND = SLASH_COMMAND
ELSEWHERE_ACK = "I've answered in our direct messages."
REMEMBERED_EVENTS = 2_048
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"


class Listeners:
    """What bolt calls: each turns a Slack payload into an Inbound and hands it to the bot."""

    def __init__(self, core: Core, sender: SlackSender) -> None:
        self.core = core
        self.sender = sender
        # Strangers' events are not stored, so their redeliveries are recognised here instead.
        self._answered: OrderedDict[str, None] = OrderedDict()

    async def on_message(self, body: dict[str, Any]) -> None:
        """A message event: a person's DM is a client's message or a coach's reply."""
        body = scrub(body)
        inbound = message_inbound(body, self.core.now())
        if inbound is None:
            event = body.get("event") or {}
            log.debug("slack: ignored a message event (subtype %s)", event.get("subtype"))
            return
        handled = await self._handle(inbound)
        for reply in handled.direct:
            await self._post_direct(inbound.chat_id, reply.text)

    async def on_command(self, body: dict[str, Any], ack: AsyncAck) -> None:
        """`/boundary ...`: run the command for the asker; answers go to their DM with the app."""
        body = scrub(body)
        user, channel = str(body.get("user_id") or ""), str(body.get("channel_id") or "")
        dm = await self.sender.dm_channel(user)
        inbound = command_inbound(body, dm_channel=dm, now=self.core.now())
        handled = await self._handle(inbound)
        for reply in handled.direct:
            await self._tell_privately(channel=channel, user=user, dm=dm, text=reply.text)
        stored = handled.outcome != "duplicate" and not handled.direct
        await ack(text=ELSEWHERE_ACK if stored and channel != dm else "")

    async def on_action(self, body: dict[str, Any], ack: AsyncAck) -> None:
        """A pressed button: the choice goes to the bot, then the buttons are settled."""
        body = scrub(body)
        inbound = action_inbound(body, self.core.now())
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
        page = await asyncio.to_thread(self.core.home, PLATFORM, user)
        view = home_view(page)
        try:
            await self.sender.client.views_publish(user_id=user, view=view)
        except Exception as error:  # the next opening publishes again
            log.warning("slack: views.publish failed: %s", type(error).__name__)

    async def on_other(self, ack: AsyncAck) -> None:
        """Any other event or action: acknowledged, so Slack does not deliver it again."""
        await ack()

    async def on_error(self, error: Exception) -> BoltResponse:
        """One line, no payload: the status makes Slack deliver the event again."""
        log.warning("slack: could not handle a request, answering 500: %s", error_name(error))
        return BoltResponse(status=500, body="")

    async def _handle(self, inbound: Inbound) -> Handled:
        handled = await asyncio.to_thread(self.core.handle, inbound)
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


@dataclass
class EdgeLimits:
    """What the HTTP edge accepts, and how long a request may take before Slack gives up."""

    #: Slack caps a message at 40,000 characters; JSON-escaped (\uXXXX is 6 bytes) in `text`
    #: and again in `blocks`, an event stays under 500 kB. 1 MiB leaves room and no more.
    max_body: int = MAX_BODY
    #: Slack waits 3 s for an answer, then retries; answering 503 by 2.5 s is never too late.
    deadline: float = 2.5


async def serve_http(
    bolt: AsyncApp,
    *,
    host: str,
    port: int,
    signing_secret: str,
    stop: asyncio.Event,
    on_ready: Callable[[int], None],
    limits: EdgeLimits | None = None,
) -> None:
    """Serve events, interactivity and the slash command at /slack/events until `stop`."""
    edge = HttpEdge(bolt, SignatureVerifier(signing_secret), limits=limits or EdgeLimits())
    web_app = web.Application(client_max_size=edge.limits.max_body)
    web_app.add_routes([web.post(EVENTS_PATH, edge.handle)])
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
        await edge.settle()


class HttpEdge:
    """One request: size, then signature, then bolt, answered within the deadline."""

    def __init__(self, bolt: AsyncApp, verifier: SignatureVerifier, *, limits: EdgeLimits) -> None:
        self.bolt = bolt
        self.verifier = verifier
        self.limits = limits
        # An event still being handled when its answer was due: Slack's retry waits for it.
        self._in_flight: dict[str, asyncio.Task[BoltResponse]] = {}
        self._running: set[asyncio.Task[BoltResponse]] = set()  # held until done

    async def handle(self, request: web.Request) -> web.Response:
        """Refuse what is too big or unsigned before reading it as JSON or a form."""
        if (request.content_length or 0) > self.limits.max_body:
            return web.Response(status=413)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:  # chunked, so no length was announced
            return web.Response(status=413)
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not stamp.isdigit() or not self.verifier.is_valid(raw, stamp, signature):
            log.info("slack: refused a request without a valid signature")
            return web.Response(status=401)
        try:
            text = raw.decode()
            bolt_request = AsyncBoltRequest(
                body=text, query=request.query_string, headers=dict(request.headers)
            )
        except Exception as error:  # signed, yet bolt cannot read it (not JSON, not an object)
            log.warning("slack: a signed request could not be read: %s", type(error).__name__)
            return web.Response(status=400)
        if not isinstance(bolt_request.body, dict):
            log.warning("slack: a signed request held no payload object; refused")
            return web.Response(status=400)
        return await to_aiohttp_response(await self._answer(bolt_request))

    async def _answer(self, request: AsyncBoltRequest) -> BoltResponse:
        """bolt's answer if it comes by the deadline; else 503, and the work goes on."""
        key = str(request.body.get("event_id") or "")  # only events are retried by Slack
        task = self._in_flight.get(key) if key else None
        if task is None:
            task = asyncio.create_task(self.bolt.async_dispatch(request))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            if key:
                self._in_flight[key] = task
                task.add_done_callback(lambda _: self._in_flight.pop(key, None))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.limits.deadline)
        except TimeoutError:
            log.warning(
                "slack: not handled within %.1f s (database busy?); answering 503 so Slack retries",
                self.limits.deadline,
            )
            return BoltResponse(status=503, body="")

    async def settle(self) -> None:
        """Let the requests still being handled finish before the app shuts down."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


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
