"""The migrations build the schema the models describe, and re-running them loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select

import bot.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Coach
from tests.conftest import DB_PARAMS, reset_postgres, worker_pg_url

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(params=DB_PARAMS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, never migrated database: SQLite in tmp_path, and PostgreSQL when configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = worker_pg_url()
    reset_postgres(url)
    yield url


def table_names(url: str) -> set[str]:
    """The tables that exist in the database at `url`."""
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def schema_differences(url: str) -> list[Any]:
    """What alembic's autogenerate would still change to make the database match the models."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def test_upgrade_on_an_empty_database_creates_every_table(empty_url: str) -> None:
    assert table_names(empty_url) == set()

    upgrade(empty_url)

    assert table_names(empty_url) == set(SQLModel.metadata.tables) | {"alembic_version"}


def test_upgrading_twice_is_harmless(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)

    assert table_names(empty_url) == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert schema_differences(empty_url) == []


def test_models_and_migrations_agree(db_url: str) -> None:
    assert schema_differences(db_url) == []


def test_data_written_before_a_second_upgrade_is_still_there(db_url: str) -> None:
    engine = make_engine(db_url)
    with Session(engine) as session:
        session.add(
            Coach(key="melody", name="Melody", policy={"timezone": "Europe/London"}, created_at=NOW)
        )
        session.commit()
    engine.dispose()

    upgrade(db_url)

    engine = make_engine(db_url)
    with Session(engine) as session:
        coach = session.exec(select(Coach)).one()
    engine.dispose()
    assert (coach.key, coach.name, coach.policy) == (
        "melody",
        "Melody",
        {"timezone": "Europe/London"},
    )
    assert coach.created_at == NOW
