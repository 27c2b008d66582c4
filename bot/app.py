"""The composition root: settings in, a wired bot out. The only place parts are built."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.outbox_worker import OutboxWorker
from bot.schedule import Scheduler, ensure_timers
from bot.store.db import make_engine, transaction
from bot.privacy import HASH_KEY
from bot.store.migrate import upgrade
from bot.store.policy import sync_coaches
from bot.transports.base import Transport

log = logging.getLogger(__name__)


@dataclass
class App:
    """Everything the running bot is made of."""

    settings: Settings
    engine: Engine
    clock: Clock
    dispatcher: Dispatcher
    outbox: OutboxWorker
    scheduler: Scheduler
    transports: dict[str, Transport] = field(default_factory=dict)


def build_app(
    settings: Settings,
    *,
    transports: Mapping[str, Transport],
    clock: Clock | None = None,
    **outbox_options: Any,
) -> App:
    """Migrate the database, load the configured coaches and wire the parts together."""
    clock = clock or SystemClock()
    url = settings.database.url
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as session:
        sync_coaches(session, settings.coaches, clock.now())
        ensure_timers(session, clock.now())
    outbox = OutboxWorker(engine, clock, dict(transports), **outbox_options)
    scheduler = Scheduler(
        engine, clock, notify_outbox=outbox.notify, retention_days=settings.retention_days
    )
    dispatcher = Dispatcher(
        engine=engine,
        clock=clock,
        on_commit=outbox.notify,
        services={HASH_KEY: settings.privacy.hash_key},  # None: the key kept in the database
    )
    return App(settings, engine, clock, dispatcher, outbox, scheduler, dict(transports))


async def run_workers(app: App, stop: asyncio.Event) -> None:
    """Deliver the outbox and fire timers until `stop` is set."""
    await asyncio.gather(app.outbox.run(stop), app.scheduler.run(stop))
