"""`boundarybot run` with Telegram and/or Slack: build the transports, wire the app, run."""

from __future__ import annotations

import asyncio
import logging

from bot.app import SchemaMismatch, build_app, run_workers
from bot.config import Settings
from bot.ports import Platform, StartFailed

log = logging.getLogger(__name__)


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
            run_workers(app, stop), *(platform.run(app.core, stop) for platform in running.values())
        )
    except (StartFailed, SchemaMismatch) as error:
        stop.set()  # the other platforms and the workers end too
        raise SystemExit(str(error)) from None
    finally:
        app.engine.dispose()
