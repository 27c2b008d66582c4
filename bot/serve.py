"""`boundarybot run` with Telegram and/or Slack: build the transports, wire the app, run."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bot.app import App, SchemaMismatch, build_app, run_workers
from bot.config import Settings
from bot.transports.base import Transport

log = logging.getLogger(__name__)


class StartFailed(RuntimeError):
    """A platform cannot start (its token was refused...): one line for the operator."""


class Platform(Transport, Protocol):
    """A transport that also receives: it sends for the outbox and feeds the dispatcher."""

    async def run(self, app: App, stop: asyncio.Event) -> None:
        """Receive until `stop` is set, handing every update to `app.dispatcher`."""
        ...


def platforms(settings: Settings) -> dict[str, Platform]:
    """The configured platforms, built from their settings (their SDKs load only if used)."""
    built: dict[str, Platform] = {}
    if settings.telegram is not None:
        from bot.transports.telegram import TelegramPlatform

        built["telegram"] = TelegramPlatform(settings.telegram)
    if settings.slack is not None:
        from bot.transports.slack import SlackPlatform

        built["slack"] = SlackPlatform(settings.slack)
    return built


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run every configured platform with the outbox and timer workers until `stop`."""
    running = platforms(settings)
    app = build_app(settings, transports=running)
    log.info("boundarybot running: %s", ", ".join(running) or "no platform")
    try:
        await asyncio.gather(
            run_workers(app, stop), *(platform.run(app, stop) for platform in running.values())
        )
    except (StartFailed, SchemaMismatch) as error:
        stop.set()  # the other platforms and the workers end too
        raise SystemExit(str(error)) from None
    finally:
        app.engine.dispose()
