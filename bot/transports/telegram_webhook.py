"""The webhook: a small aiohttp server that answers 200 only once an update is committed.

PTB's own webhook answers before its handlers run, so an update in flight is lost on a crash;
here Telegram gets 200 after the commit, 503 while the database is unreachable (it retries),
403 for any request without our secret token header (its body unread), and 413 for a body
over `MAX_BODY` (an update with a 4,096-character text, its reply and quote is some 100 kB).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot

from bot.config import TelegramSettings
from bot.transports.edge import MAX_BODY
from bot.transports.telegram_polling import ALLOWED_UPDATES
from bot.transports.telegram_receive import Outcome, Receiver

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_STATUS = {Outcome.DONE: 200, Outcome.DATABASE_DOWN: 503, Outcome.FAILED: 500}


class WebhookServer:
    """Receives Telegram's POSTs at the path of `webhook_url`, on `listen`:`port`."""

    def __init__(self, settings: TelegramSettings, bot: Bot, *, receiver: Receiver) -> None:
        if settings.webhook_url is None:
            raise ValueError('telegram: mode = "webhook" needs webhook_url')
        self._settings = settings
        self._url = settings.webhook_url
        self._bot = bot
        self._receiver = receiver
        # Without a configured secret, a fresh one still keeps strangers from posting updates.
        given = settings.secret_token
        self._secret = given.reveal() if given is not None else secrets.token_urlsafe(32)
        self.port: int | None = None  # the bound port, once listening

    async def run(self, stop: asyncio.Event) -> None:
        """Listen, register the webhook with Telegram, and serve until `stop` is set."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(urlsplit(self._url).path or "/", self._receive)
        runner = web.AppRunner(app, access_log=None)  # the path may carry a secret
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._settings.listen, self._settings.port)
            await site.start()
            self.port = _bound_port(runner, self._settings.port)
            await self._bot.set_webhook(
                url=self._url, secret_token=self._secret, allowed_updates=list(ALLOWED_UPDATES)
            )
            log.info("telegram: webhook listening on %s:%s", self._settings.listen, self.port)
            await stop.wait()
        finally:
            await runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            return web.Response(status=403, text="forbidden")  # the body is never read
        if (request.content_length or 0) > MAX_BODY:
            return web.Response(status=413, text="too large")
        try:
            data = json.loads(await request.read())
        except web.HTTPRequestEntityTooLarge:  # chunked, so no length was announced
            return web.Response(status=413, text="too large")
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            log.warning("telegram: webhook body is not an update; refused")
            return web.Response(status=400, text="not an update")
        outcome = await self._receiver.process_raw(data)
        return web.Response(status=_STATUS[outcome], text=outcome.value)


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return configured
