"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and a fake clock."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from bot.store.db import MEMORY, make_engine
from bot.store.migrate import upgrade, upgrade_engine

PG_URL = os.environ.get("BOUNDARYBOT_TEST_DATABASE_URL")
DB_PARAMS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@functools.cache
def worker_pg_url() -> str:
    """The PostgreSQL database of this test process: its own under pytest-xdist (`test_gw0`...).

    Parallel workers must not drop each other's schema, so each gets a database of its own,
    made once beside the configured one.
    """
    assert PG_URL
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return PG_URL
    base = make_url(PG_URL)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def reset_postgres(url: str) -> None:
    """Drop everything in the test database's public schema."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL: SQLite in tmp_path, and PostgreSQL when configured."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'boundarybot.db'}"
    else:
        url = worker_pg_url()
        reset_postgres(url)
    upgrade(url)
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the fresh database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(params=["memory"] + (["postgresql"] if PG_URL else []))
def chat_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated database for chat-level tests: SQLite in memory, PostgreSQL when configured.

    The services take their unit of work from it like any other; nothing touches a file.
    """
    if request.param == "memory":
        eng = make_engine(MEMORY)
    else:
        url = worker_pg_url()
        reset_postgres(url)
        eng = make_engine(url)
    upgrade_engine(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """A clock at Mon 23 Nov 2026, 10:00 UTC, that moves only when a test moves it."""
    return ManualClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
