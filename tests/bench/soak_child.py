"""The bot the soak runs: `python -m tests.bench.soak_child DB_URL BASE_URL`.

The production wiring (`build_app`, `TelegramPlatform.run`, the outbox and timer workers) with
the shipped pacing, pointed at the fake Bot API; the soak kills it with SIGKILL and restarts it.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from bot.app import build_app, run_workers
from bot.config import CoachSettings, DatabaseSettings, Secret, Settings, TelegramSettings
from bot.delivery.worker import OutboxOptions
from bot.transports.telegram import TelegramPlatform
from tests.fake_telegram import TOKEN

COACH = CoachSettings(
    key="melody",
    name="Melody",
    telegram_user_id="100",
    timezone="Europe/London",
    hours="mon-sun 00:00-24:00",  # always open: every question is forwarded at once
    reply_within="24h",
    digest_time="off",
)


async def main(url: str, base_url: str) -> None:
    """Run until SIGTERM (or SIGKILL)."""
    settings = Settings(
        database=DatabaseSettings(url=url),
        telegram=TelegramSettings(token=Secret(TOKEN), base_url=base_url),
        coaches=(COACH,),
    )
    assert settings.telegram is not None
    platform = TelegramPlatform(settings.telegram, poll_timeout=0.5, retry_delay=0.05)
    app = build_app(
        settings, transports={"telegram": platform}, outbox=OutboxOptions(lease_seconds=2.0)
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    try:
        await asyncio.gather(run_workers(app, stop), platform.run(app.core, stop))
    finally:
        app.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
