"""The Telegram platform on python-telegram-bot's `Bot`: the outbox's transport and a receiver.

Updates are fetched by our own polling loop or webhook server (not PTB's Updater), so that
Telegram learns an update arrived only after the Dispatcher committed it. The modules beside
this one translate updates (`telegram_translate`), send (`telegram_send`), carry out an
update (`telegram_receive`), poll (`telegram_polling`), serve the webhook (`telegram_webhook`)
and publish the commands menu (`telegram_menu`).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from bot.config import TelegramSettings
from bot.logs import quiet_libraries
from bot.messages import Outgoing
from bot.ports import Core, StartFailed
from bot.transports.telegram_menu import publish_menu
from bot.transports.telegram_polling import Poller, pause
from bot.transports.telegram_receive import Receiver
from bot.transports.telegram_send import TelegramSender
from bot.transports.telegram_translate import PLATFORM
from bot.transports.telegram_webhook import WebhookServer

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"


def file_url(base_url: str) -> str:
    """The file URL beside a Bot API URL: `http://host/bot` -> `http://host/file/bot`."""
    head, slash, last = base_url.rstrip("/").rpartition("/")
    return f"{head}{slash}file/{last}" if slash else base_url


def make_bot(settings: TelegramSettings) -> Bot:
    """A PTB `Bot` for these settings; `base_url` is passed as is (a self-hosted API works)."""
    base_url = settings.base_url or DEFAULT_BASE_URL
    return Bot(
        settings.token.reveal(),
        base_url=base_url,
        base_file_url=file_url(base_url),
        request=HTTPXRequest(connection_pool_size=64, pool_timeout=5.0),
        get_updates_request=HTTPXRequest(connection_pool_size=2),
    )


class TelegramPlatform:
    """Sends for the outbox (`send`) and receives updates for the dispatcher (`run`)."""

    platform = PLATFORM
    max_per_second = 30.0  # Telegram's global limit for a bot

    def __init__(
        self,
        settings: TelegramSettings,
        *,
        bot: Bot | None = None,
        poll_timeout: float = 25.0,
        retry_delay: float = 1.0,
    ) -> None:
        quiet_libraries()  # PTB and httpx log what is sent, and URLs with the token
        self.settings = settings
        self.bot = bot or make_bot(settings)
        self.sender = TelegramSender(self.bot)
        self.poll_timeout = poll_timeout  # seconds a long poll waits for updates
        self.retry_delay = retry_delay  # first wait after a failure; doubles up to 30 s
        self.webhook: WebhookServer | None = None
        self._started: asyncio.Lock | None = None

    async def send(self, message: Outgoing) -> str:
        """Deliver one outbox message; returns the Telegram message id of its text."""
        await self._initialize()
        return await self.sender.send(message)

    async def run(self, core: Core, stop: asyncio.Event) -> None:
        """Receive updates until `stop` is set (polling, or the webhook), then shut down."""
        try:
            if not await self._start(stop):
                return
            core.connected(PLATFORM, username=self.bot.username)
            menu = asyncio.create_task(publish_menu(self.bot, lambda: core.menus(PLATFORM)))
            receiver = Receiver(core, self.bot, sender=self.sender)
            try:
                await self._receive(receiver, stop)
            finally:
                menu.cancel()
        finally:
            await self.bot.shutdown()

    async def _receive(self, receiver: Receiver, stop: asyncio.Event) -> None:
        if self.settings.mode == "webhook":
            self.webhook = WebhookServer(self.settings, self.bot, receiver=receiver)
            await self.webhook.run(stop)
            return
        await self.bot.delete_webhook()  # getUpdates is refused while a webhook is set
        poller = Poller(self.bot, receiver, timeout=self.poll_timeout, retry_delay=self.retry_delay)
        await poller.run(stop)

    async def _initialize(self) -> None:
        if self._started is None:
            self._started = asyncio.Lock()
        async with self._started:
            await self.bot.initialize()  # getMe, once; a no-op when done already

    async def _start(self, stop: asyncio.Event) -> bool:
        """Reach Telegram (getMe), retrying while the network is down; False if stopped."""
        delay = 1.0
        while not stop.is_set():
            try:
                await self._initialize()
                log.info("telegram: connected as @%s (%s)", self.bot.username, self.settings.mode)
                return True
            except InvalidToken:
                raise StartFailed("telegram: the bot token was refused") from None
            except TelegramError as error:
                log.warning(
                    "telegram: cannot reach the Bot API (%s); retrying", type(error).__name__
                )
                await pause(delay, stop)
                delay = min(delay * 2, 30.0)
        return False
