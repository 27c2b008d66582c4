"""The bot for the Telegram crash test: `python -m tests.bot.telegram_child DB_URL BASE_URL`.

It is the production wiring (`build_app`, `TelegramPlatform.run`, the outbox and timer workers)
pointed at the fake Bot API; the parent kills it with SIGKILL, or stops it with SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

from bot.app import build_app, run_workers
from bot.config import CoachSettings, DatabaseSettings, Secret, Settings, TelegramSettings
from bot.delivery.worker import OutboxOptions
from bot.service import client_flow
from bot.transports.telegram import TelegramPlatform
from tests.fake_telegram import TOKEN

LEASE_SECONDS = 1.0
COACH = CoachSettings(
    key="melody",
    name="Melody",
    telegram_user_id="100",
    timezone="Europe/London",
    hours="mon-sun 00:00-24:00",
    reply_within="24h",
    digest_time="off",
)


async def main(url: str, base_url: str) -> None:
    """Run until SIGTERM."""
    settings = Settings(
        database=DatabaseSettings(url=url),
        telegram=TelegramSettings(token=Secret(TOKEN), base_url=base_url),
        coaches=(COACH,),
    )
    assert settings.telegram is not None
    platform = TelegramPlatform(settings.telegram, poll_timeout=0.5, retry_delay=0.05)
    platform.max_per_second = 10_000.0  # this test is about crashes, not pacing
    # ... nor flood containment: every message answered and every question forwarded alone
    client_flow.ANSWER_WINDOW = client_flow.FORWARD_WINDOW = timedelta(0)
    app = build_app(
        settings,
        transports={"telegram": platform},
        outbox=OutboxOptions(per_chat_interval=0, lease_seconds=LEASE_SECONDS, poll_interval=0.2),
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
