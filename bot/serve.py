"""`boundarybot run` with Telegram and/or Slack: build the transports, wire the app, run."""

from __future__ import annotations

import asyncio
import logging

from bot.app import SchemaMismatch, build_app, build_platforms, run_workers
from bot.config import Settings
from bot.ports import StartFailed

log = logging.getLogger(__name__)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run every configured platform with the outbox and timer workers until `stop`."""
    running = build_platforms(settings)
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
