"""The composition root: settings in, a wired bot out. The only place parts are built."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.delivery.worker import OutboxOptions, OutboxWorker
from bot.ports import Platform, Transport
from bot.service.commands import (
    clients,
    closures,
    data,
    help,
    invites,
    policy,
    reports,
    wording,
    work,
)
from bot.service.commands.registry import Registry
from bot.service.core import BotCore
from bot.service.dispatch import KIND_COMMANDS, Dispatcher
from bot.service.privacy import HASH_KEY
from bot.service.schedule import Scheduler, ensure_timers
from bot.service.spelling import Spelling
from bot.store.db import make_engine
from bot.store.migrate import alembic_config, upgrade_engine
from bot.store.policy import sync_coaches
from bot.store.unit import unit_of_work

log = logging.getLogger(__name__)


def build_platforms(settings: Settings) -> dict[str, Platform]:
    """The configured platforms, built from their settings (their SDKs load only if used)."""
    built: dict[str, Platform] = {}
    if settings.telegram is not None:
        from bot.transports.telegram import TelegramPlatform

        built["telegram"] = TelegramPlatform(settings.telegram)
    if settings.slack is not None:
        from bot.transports.slack import SlackPlatform

        built["slack"] = SlackPlatform(settings.slack)
    return built


def build_commands() -> Registry:
    """Every command, in the order /help lists them: policy, closures, wording, clients..."""
    return Registry(
        policy.COMMANDS,
        closures.COMMANDS,
        wording.COMMANDS,
        invites.COMMANDS,
        clients.COMMANDS,
        work.COMMANDS,
        reports.COMMANDS,
        data.COMMANDS,
        help.COMMANDS,
    )


def spelling_for(commands: Registry) -> Spelling:
    """How each platform spells the commands texts name (`/boundary fyi` on Slack)."""
    return Spelling.of(commands.names(), KIND_COMMANDS)


@dataclass
class App:
    """Everything the running bot is made of; `core` is what the transports are handed."""

    settings: Settings
    engine: Engine
    clock: Clock
    commands: Registry
    dispatcher: Dispatcher
    core: BotCore
    outbox: OutboxWorker
    scheduler: Scheduler
    transports: dict[str, Transport] = field(default_factory=dict)


def build_app(
    settings: Settings,
    *,
    transports: Mapping[str, Transport],
    clock: Clock | None = None,
    outbox: OutboxOptions | None = None,
) -> App:
    """Migrate the database, load the configured coaches and wire the parts together."""
    clock = clock or SystemClock()
    engine = make_engine(settings.database.url)
    prepare_database(settings, engine, clock=clock)
    commands = build_commands()
    spell = spelling_for(commands)
    worker = OutboxWorker(engine, clock, transports=dict(transports), options=outbox, spell=spell)
    scheduler = Scheduler(
        engine, clock, notify_outbox=worker.notify, retention_days=settings.retention_days
    )
    dispatcher = Dispatcher(
        engine=engine,
        clock=clock,
        commands=commands,
        on_commit=worker.notify,
        services={HASH_KEY: settings.privacy.hash_key},  # None: the key kept in the database
    )
    core = BotCore(
        dispatcher=dispatcher, engine=engine, clock=clock, commands=commands, spell=spell
    )
    return App(
        settings=settings,
        engine=engine,
        clock=clock,
        commands=commands,
        dispatcher=dispatcher,
        core=core,
        outbox=worker,
        scheduler=scheduler,
        transports=dict(transports),
    )


def prepare_database(settings: Settings, engine: Engine, *, clock: Clock) -> None:
    """Bring the schema up to date and load the configured coaches and their timers."""
    upgrade_engine(engine)
    with unit_of_work(engine) as uow:
        sync_coaches(uow, settings.coaches, now=clock.now())
        ensure_timers(uow, clock.now(), everyone=True)


class SchemaMismatch(RuntimeError):
    """The database's schema is one this bot cannot use: one line for the operator."""


def schema_state(engine: Engine, url: str) -> str:
    """`current`, `missing` (no schema: recreated empty), `behind` or `unknown` (newer)."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    scripts = ScriptDirectory.from_config(alembic_config(url))
    if current is None:
        return "missing"
    if current == scripts.get_current_head():
        return "current"
    known = {script.revision for script in scripts.walk_revisions()}
    return "behind" if current in known else "unknown"


def watch_schema(app: App) -> None:
    """Repair a schema that went missing or fell behind while running; refuse a newer one."""
    url = app.settings.database.url
    state = schema_state(app.engine, url)
    if state == "current":
        return
    if state == "unknown":
        raise SchemaMismatch(
            "database: its schema is newer than this boundarybot; upgrade the bot to match"
        )
    log.error("database: the schema is %s (recreated or restored?); migrating it now", state)
    try:
        prepare_database(app.settings, app.engine, clock=app.clock)
    except Exception as error:
        raise SchemaMismatch(f"database: could not migrate ({type(error).__name__})") from None


async def _schema_watch(app: App, stop: asyncio.Event, *, interval: float) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(watch_schema, app)
        except SchemaMismatch:
            raise
        except Exception as error:
            log.warning("database: schema check failed (%s)", type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def run_workers(app: App, stop: asyncio.Event, *, schema_interval: float = 30.0) -> None:
    """Deliver the outbox and fire timers until `stop` is set, watching the schema."""
    await asyncio.gather(
        app.outbox.run(stop),
        app.scheduler.run(stop),
        _schema_watch(app, stop, interval=schema_interval),
    )
