"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and a fake clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from bot.store.db import make_engine
from bot.store.migrate import upgrade

PG_URL = os.environ.get("BOUNDARYBOT_TEST_DATABASE_URL")
DB_PARAMS = ["sqlite"] + (["postgresql"] if PG_URL else [])


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
        assert PG_URL
        reset_postgres(PG_URL)
        url = PG_URL
    upgrade(url)
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the fresh database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """A clock at Mon 23 Nov 2026, 10:00 UTC, that moves only when a test moves it."""
    return ManualClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
