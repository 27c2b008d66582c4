"""The Slack transport on slack-bolt's asyncio stack: Socket Mode or HTTP, and the outbox's sender.

`SlackPlatform` is both what `boundarybot run` runs (`run(app, stop)`) and the outbox's
Transport for "slack" (`send`). The pieces: `slack_translate` (payloads -> Inbound),
`slack_send` (posting, buttons, errors), `slack_home` (the Home tab), `slack_server` (bolt).
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import SlackSettings
from bot.logs import FLOORS, SDK_LOGGER, quiet_libraries
from bot.messages import Outgoing
from bot.ports import Core, DeliveryError, StartFailed
from bot.transports.slack_send import SlackSender
from bot.transports.slack_server import (
    EdgeLimits,
    Listeners,
    build_bolt,
    serve_http,
    serve_socket,
)
from bot.transports.slack_translate import PLATFORM

log = logging.getLogger(__name__)

#: auth.test errors that no retry can fix: the operator must change the token or its scopes.
REFUSED_TOKEN = frozenset(
    {"invalid_auth", "token_revoked", "missing_scope", "not_authed", "account_inactive"}
)


def quiet_sdk_logger() -> logging.Logger:
    """The logger handed to bolt and slack_sdk: never below WARNING, its records cleaned.

    bolt logs a refused request's whole body at INFO and slack_sdk logs bodies at DEBUG;
    `bot.logs` withholds what any library record carries (bolt's loggers copy this level).
    """
    quiet_libraries()
    logger = logging.getLogger(SDK_LOGGER)
    logger.setLevel(max(FLOORS[SDK_LOGGER], logger.level))
    return logger


class SlackPlatform:
    """Slack for boundarybot: receives with bolt, sends with the Web API."""

    platform = PLATFORM
    max_per_second = 20.0  # the outbox also keeps each channel to one message a second

    def __init__(self, settings: SlackSettings, *, host: str = "0.0.0.0") -> None:
        self.settings = settings
        self.host = host
        self.port: int | None = None  # the bound HTTP port once serving (0 in Socket Mode)
        self.ready = asyncio.Event()
        self.logger = quiet_sdk_logger()
        self.client = AsyncWebClient(
            token=settings.bot_token.reveal(),
            base_url=settings.api_url or AsyncWebClient.BASE_URL,
            logger=self.logger,
        )
        self.sender = SlackSender(self.client)
        self.limits = EdgeLimits()  # the HTTP edge's body size and answer deadline

    async def send(self, message: Outgoing) -> str:
        """Post an outbox message; returns its `ts`, the id a thread reply points back to."""
        return await self.sender.send(message)

    async def run(self, core: Core, stop: asyncio.Event) -> None:
        """Check the token, open the coaches' DMs, then receive until `stop` is set."""
        await self.check_token()
        await self.open_coach_dms(core)
        listeners = Listeners(core, self.sender)
        secret = self.settings.signing_secret
        bolt = build_bolt(
            listeners,
            client=self.client,
            signing_secret=None if self.settings.socket_mode or secret is None else secret.reveal(),
            logger=self.logger,
        )
        if self.settings.socket_mode:
            assert self.settings.app_token is not None
            await serve_socket(
                bolt,
                app_token=self.settings.app_token.reveal(),
                client=self.client,
                logger=self.logger,
                stop=stop,
                on_ready=self._on_ready,
            )
        else:
            assert secret is not None  # HTTP mode: the settings require a signing secret
            await serve_http(
                bolt,
                host=self.host,
                port=self.settings.port,
                signing_secret=secret.reveal(),
                stop=stop,
                on_ready=self._on_ready,
                limits=self.limits,
            )

    async def check_token(self) -> None:
        """auth.test: a revoked token or a missing scope stops the start with one line.

        Otherwise every message would wait in the outbox until it gives up. A network failure
        is not the token's fault: the outbox's retries cover it, so the start goes on.
        """
        try:
            await self.client.auth_test()
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            if code in REFUSED_TOKEN:
                raise StartFailed(f"slack: the bot token was refused ({code})") from None
            log.warning("slack: auth.test failed (%s); starting anyway", code or "no code")
        except Exception as error:  # unreachable: the outbox retries until Slack answers
            log.warning("slack: auth.test failed (%s); starting anyway", type(error).__name__)

    def _on_ready(self, port: int) -> None:
        self.port = port
        self.ready.set()

    async def open_coach_dms(self, core: Core) -> None:
        """Point each coach's Slack identity at their DM with the app, where thread replies are."""
        for account in await asyncio.to_thread(core.coach_accounts, PLATFORM):
            try:
                channel = await self.sender.dm_channel(account.user_id)
            except DeliveryError as error:
                log.warning("slack: cannot open a DM with a coach: %s", error)
                continue
            await asyncio.to_thread(
                core.coach_chat_is, PLATFORM, user_id=account.user_id, chat_id=channel
            )
